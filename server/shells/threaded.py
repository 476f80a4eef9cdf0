"""Blocking sockets served by a bounded pool of threads.

One selector thread (`server.shells.selecting`) watches the listening socket and every
connection that is waiting for bytes; when a connection has some, it is handed to a pool
thread, which reads them, answers every complete request, and hands the connection back.
Sends never block: when a client's socket buffer is full, the rest of the response goes
back to the selector, which resumes it on writability: idle connections, half-sent heads
and slow readers cost no thread.
"""

from __future__ import annotations

import contextlib
import queue
import signal
import threading
import time

from server.listener import reset_on_close
from server.protocol import ProtocolError
from server.response import Response
from server.runtime import ServerContext
from server.shells.answers import answer_blocking
from server.shells.outgoing import FileShrank, Outgoing
from server.shells.selecting import Client, Next, SelectorThread
from server.static import error_response

_RECV_SIZE = 64 * 1024


class ThreadedServer(SelectorThread):
    """The pool of threads, fed by the selector thread."""

    def __init__(self, context: ServerContext) -> None:
        super().__init__(context)
        self.work: queue.SimpleQueue[Client | None] = queue.SimpleQueue()

    def serve(self) -> None:
        """Start the pool, run the selector until SIGINT/SIGTERM, then stop the pool."""
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: self.request_stop())
        for _ in range(self.config.threads):
            threading.Thread(target=self._work, daemon=True).start()
        self.run_selector()
        for _ in range(self.config.threads):
            self.work.put(None)

    def to_pool(self, client: Client) -> None:
        with self.lock:
            self.active += 1
        self.work.put(client)

    def _work(self) -> None:
        while (client := self.work.get()) is not None:
            try:
                client.then = self._serve(client)
            except Exception as error:
                self.context.report_crash("threaded worker", error)
                client.then = Next.DROP
            with self.lock:
                self.active -= 1
            if client.then is Next.READ and self.selector.shared and not self.stopping:
                # Itself, no hand-back through the selector thread. OSError: shutdown's
                # `_close_idle` closed it meanwhile.
                with contextlib.suppress(OSError):
                    self._park(client)
                continue
            self.handed_back.put(client)
            self.wake()

    def _serve(self, client: Client) -> Next:
        """Answer what the client sent; say what the selector does next. One read per turn,
        never a wait for the rest of a head: slow senders cannot occupy the whole pool."""
        try:
            data = client.sock.recv(_RECV_SIZE)
        except BlockingIOError:  # the bytes the selector saw are gone: none after all
            return self._answer_complete(client)
        except OSError:
            return Next.DROP
        if not data:
            return Next.DROP
        if not client.parser.has_partial_request:
            client.head_started = time.monotonic()
        client.parser.feed(data)
        return self._answer_complete(client)

    def _answer_complete(self, client: Client) -> Next:
        """Answer complete requests until one must wait for the socket, or none is left."""
        while True:
            try:
                request = client.parser.next()
            except ProtocolError as error:
                return self._send(client, error_response(error))
            if request is None:
                return Next.READ
            response = answer_blocking(self.context, request)
            then = self._send(client, response.closing() if self.stopping else response)
            if then is not Next.READ:
                return then

    def _send(self, client: Client, response: Response) -> Next:
        """Send what fits without blocking; the selector finishes the rest (Next.WRITE)."""
        try:
            client.outgoing = Outgoing(response, sendfile=self.config.sendfile)
            done = client.outgoing.push(client.sock)
        except OSError as error:
            return self.failed(client, error)
        return self.finish(client) if done else Next.WRITE

    def finish(self, client: Client) -> Next:
        """A response is all out: count it; keep the connection unless it must close."""
        outgoing = client.outgoing
        assert outgoing is not None
        client.outgoing = None
        outgoing.close()
        self.count(response=outgoing.response)
        if outgoing.response.streamed_span() is not None:
            with self.lock:
                self.context.stats.copied_responses += outgoing.copied
                self.context.stats.sendfile_responses += not outgoing.copied
        client.last_active = time.monotonic()
        return Next.CLOSE if outgoing.response.close else Next.READ

    def failed(self, client: Client, error: OSError) -> Next:
        """A send failed: a client that left is counted, anything else is logged."""
        self.abandon(client)
        if isinstance(error, ConnectionError):
            self.context.peer_gone()
        elif not isinstance(error, FileShrank):
            self.context.report_crash("threaded send", error)
        return Next.DROP

    def abandon(self, client: Client) -> None:
        """Give up a send: let go of its file; the close will reset the connection."""
        if client.outgoing is not None:
            client.outgoing.close()
            client.outgoing = None
        reset_on_close(client.sock)

    def count(
        self, *, response: Response | None = None, connection: bool = False, refused: bool = False
    ) -> None:
        """Counters are shared by threads: `+=` is not atomic, so take the lock."""
        stats = self.context.stats
        with self.lock:
            if response is not None:
                stats.requests += 1
                stats.errors_4xx_5xx += response.status >= 400
            stats.connections += connection
            stats.refused_connections += refused


def run(context: ServerContext) -> None:
    """Serve with non-blocking sockets, a selector and a thread pool."""
    ThreadedServer(context).serve()
