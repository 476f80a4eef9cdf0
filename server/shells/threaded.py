"""Blocking sockets served by a bounded pool of threads.

One selector thread watches the listening socket and every connection that is waiting
for bytes; when a connection has some, it is handed to a pool thread, which reads them,
answers every complete request, and hands the connection back. Sends never block: when
a client's socket buffer is full, the rest of the response goes back to the selector,
which resumes it on writability. So idle connections, half-sent heads and slow readers cost
no thread (the selector's sweep enforces the head, keep-alive and send timeouts); the pool's
threads only do CPU work.
"""

from __future__ import annotations

import contextlib
import enum
import queue
import selectors
import signal
import socket
import threading
import time
from dataclasses import dataclass, field

from server.listener import reset_on_close, tune_connection
from server.protocol import ProtocolError, RequestParser
from server.response import Response, text_response
from server.runtime import ACCEPT_RETRY_DELAY, ServerContext
from server.shells.outgoing import FileShrank, Outgoing
from server.static import error_response, internal_error

_RECV_SIZE = 64 * 1024
_SWEEP_EVERY = 1.0
_LINGER = 2.0  # seconds a closing connection discards input while waiting for the FIN


class Next(enum.Enum):
    """What the selector does with a client a pool thread hands back."""

    READ = "wait for the next request"
    WRITE = "finish sending the response on writability"
    CLOSE = "close gracefully (FIN, then discard input until the client's FIN)"
    DROP = "close now"


@dataclass(eq=False)
class Client:
    """A connection and its parser; owned by the selector or by one pool thread at a time."""

    sock: socket.socket
    parser: RequestParser = field(default_factory=RequestParser)
    last_active: float = field(default_factory=time.monotonic)
    head_started: float = 0.0  # when the first bytes of the pending request arrived
    outgoing: Outgoing | None = None  # a response still being sent
    blocked_since: float = 0.0  # when its send last made progress
    then: Next = Next.READ  # what to do once the selector has it back
    lingering_since: float | None = None


class ThreadedServer:
    """The selector loop, the pool, and graceful shutdown."""

    def __init__(self, context: ServerContext) -> None:
        self.context = context
        self.config = context.config
        self.site = context.site
        self.stats = context.stats
        self.selector = selectors.DefaultSelector()
        self.wake_reader, self.wake_writer = socket.socketpair()
        self.wake_reader.setblocking(False)
        self.handed_back: queue.SimpleQueue[Client] = queue.SimpleQueue()
        self.work: queue.SimpleQueue[Client | None] = queue.SimpleQueue()
        self.watched: dict[socket.socket, Client] = {}  # held by the selector thread
        self.active = 0  # clients held by pool threads
        self.lock = threading.Lock()  # guards `active` and the counters
        self.stopping = False
        self.accept_resumes_at: float | None = None  # set while accepting is paused
        self.next_sweep = 0.0

    def serve(self) -> None:
        """Run the selector loop until SIGINT/SIGTERM, then shut down gracefully."""
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: self._request_stop())
        for _ in range(self.config.threads):
            threading.Thread(target=self._work, daemon=True).start()
        self.selector.register(self.context.listener, selectors.EVENT_READ, "listener")
        self.selector.register(self.wake_reader, selectors.EVENT_READ, "wake")
        self.context.on_ready()
        self.next_sweep = time.monotonic() + _SWEEP_EVERY
        while not self.stopping:
            self._turn(_SWEEP_EVERY)
        self._shut_down()

    def _turn(self, timeout: float) -> None:
        """One round of the selector thread: events, the accept back-off, the sweep."""
        for key, _ in self.selector.select(timeout=timeout):
            self._on_ready(key.data)
        self._resume_accepting_when_due()
        now = time.monotonic()
        if now >= self.next_sweep:
            self._sweep(now)
            self.next_sweep = now + _SWEEP_EVERY

    def _request_stop(self) -> None:
        self.stopping = True
        self._wake()

    def _wake(self) -> None:
        with contextlib.suppress(OSError):
            self.wake_writer.send(b"\0")

    # -- the selector thread ----------------------------------------------------------

    def _on_ready(self, data: object) -> None:
        if data == "listener":
            self._accept_all()
        elif data == "wake":
            self._take_back_clients()
        else:
            assert isinstance(data, Client)
            self._on_client(data)

    def _on_client(self, client: Client) -> None:
        if client.outgoing is not None:
            self._resume_send(client)
        elif client.lingering_since is not None:
            self._discard_input(client)
        else:
            self._unwatch(client)
            self._to_pool(client)

    def _accept_all(self) -> None:
        while True:
            try:
                sock, _ = self.context.listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except ConnectionAbortedError:
                continue  # the client gave up before we accepted it
            except OSError as error:  # e.g. out of file descriptors: keep serving others
                self.context.accept_failed(error)
                self._pause_accepting()
                return
            self._admit(sock)

    def _pause_accepting(self) -> None:
        self.selector.unregister(self.context.listener)
        self.accept_resumes_at = time.monotonic() + ACCEPT_RETRY_DELAY

    def _resume_accepting_when_due(self) -> None:
        due = self.accept_resumes_at
        if due is not None and time.monotonic() >= due and not self.stopping:
            self.accept_resumes_at = None
            self.selector.register(self.context.listener, selectors.EVENT_READ, "listener")

    def _admit(self, sock: socket.socket) -> None:
        sock.setblocking(False)  # no thread ever blocks on a client
        if len(self.watched) + self.active >= self.config.max_connections:
            with contextlib.suppress(OSError):
                sock.send(text_response(503, "too many connections", close=True).payload())
            sock.close()
            self._count(refused=True)
            return
        tune_connection(sock)
        self._count(connection=True)
        self._park(Client(sock))

    def _watch(self, client: Client, events: int) -> None:
        self.watched[client.sock] = client
        self.selector.register(client.sock, events, client)

    def _unwatch(self, client: Client) -> None:
        self.selector.unregister(client.sock)
        del self.watched[client.sock]

    def _park(self, client: Client) -> None:
        """Watch an idle connection for its next request."""
        client.last_active = time.monotonic()
        self._watch(client, selectors.EVENT_READ)

    def _to_pool(self, client: Client) -> None:
        with self.lock:
            self.active += 1
        self.work.put(client)

    def _take_back_clients(self) -> None:
        with contextlib.suppress(BlockingIOError):
            self.wake_reader.recv(4096)
        while not self.handed_back.empty():
            self._take_back(self.handed_back.get())

    def _take_back(self, client: Client) -> None:
        """Do what the pool thread (or a finished send) says comes next."""
        if client.then is Next.WRITE:
            client.blocked_since = time.monotonic()
            self._watch(client, selectors.EVENT_WRITE)
        elif client.then is Next.READ and not self.stopping:
            self._park(client)
        elif client.then is Next.DROP:
            client.sock.close()
        else:
            self._linger(client)

    def _resume_send(self, client: Client) -> None:
        """The socket is writable again: send what fits, and go on once it is all out."""
        assert client.outgoing is not None
        try:
            done = client.outgoing.push(client.sock)
        except OSError as error:
            client.then = self._failed(client, error)
            done = True
        else:
            client.blocked_since = time.monotonic()
            if done:
                client.then = self._finish(client)
        if not done:
            return
        self._unwatch(client)
        if client.then is Next.READ and client.parser.has_partial_request:
            self._to_pool(client)  # pipelined requests are waiting (answered even at shutdown)
        else:
            self._take_back(client)

    def _linger(self, client: Client) -> None:
        """Close without a reset: FIN now, discard input until the client's FIN (or _LINGER).

        Closing with unread input (pipelined requests we will not answer) makes the kernel
        send RST and drop the end of the last response, still queued for the client.
        """
        with contextlib.suppress(OSError):
            client.sock.shutdown(socket.SHUT_WR)
        client.lingering_since = time.monotonic()
        self._watch(client, selectors.EVENT_READ)

    def _discard_input(self, client: Client) -> None:
        try:
            data = client.sock.recv(_RECV_SIZE)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._unwatch(client)
            client.sock.close()

    def _sweep(self, now: float) -> None:
        """Enforce the send, linger, head (408) and keep-alive timeouts."""
        for client in list(self.watched.values()):
            if client.outgoing is not None:
                self._check_stall(client, now)
            elif client.lingering_since is not None:
                if now - client.lingering_since > _LINGER:
                    self._unwatch(client)
                    client.sock.close()
            else:
                self._check_idle(client, now)

    def _check_stall(self, client: Client, now: float) -> None:
        """Drop a client whose send made no progress for the send timeout."""
        if now - client.blocked_since > self.config.send_timeout:
            self.context.send_timed_out()
            self._unwatch(client)
            self._abandon(client)
            client.sock.close()

    def _check_idle(self, client: Client, now: float) -> None:
        config = self.config
        if client.parser.has_partial_request:
            if now - client.head_started > config.head_timeout:
                late = ProtocolError(408, "request head not received in time")
                self._drop(client, error_response(late))
        elif now - client.last_active > config.keepalive_timeout:
            self._drop(client)

    def _drop(self, client: Client, farewell: Response | None = None) -> None:
        """Close a watched connection, first sending `farewell` if it fits without waiting."""
        self._unwatch(client)
        if farewell is not None:
            with contextlib.suppress(OSError):
                client.sock.send(farewell.payload())
                self._count(response=farewell)
        client.sock.close()

    def _shut_down(self) -> None:
        """Stop accepting, close idle connections, give busy ones the grace period."""
        if self.accept_resumes_at is None:
            self.selector.unregister(self.context.listener)
        self.context.listener.close()
        for client in list(self.watched.values()):
            if client.outgoing is None and client.lingering_since is None:
                self._drop(client)
        deadline = time.monotonic() + self.config.grace
        while (self.active or self._sending()) and time.monotonic() < deadline:
            self._turn(0.05)
        for _ in range(self.config.threads):
            self.work.put(None)

    def _sending(self) -> bool:
        return any(client.outgoing is not None for client in self.watched.values())

    # -- pool threads ---------------------------------------------------------------------

    def _work(self) -> None:
        while (client := self.work.get()) is not None:
            try:
                client.then = self._serve(client)
            except Exception as error:
                self.context.report_crash("threaded worker", error)
                client.then = Next.DROP
            with self.lock:
                self.active -= 1
            self.handed_back.put(client)
            self._wake()

    def _serve(self, client: Client) -> Next:
        """Answer what the client sent; say what the selector does with it next.

        One read per turn, never a wait for the rest of a head: slow senders must not be
        able to occupy every thread of the pool.
        """
        data = self._receive(client)
        if data is None:
            return Next.DROP
        if not client.parser.has_partial_request:
            client.head_started = time.monotonic()
        client.parser.feed(data)
        return self._answer_complete(client)

    def _receive(self, client: Client) -> bytes | None:
        """The bytes the selector saw arrive (maybe none after all); None once it closed."""
        try:
            data = client.sock.recv(_RECV_SIZE)
        except BlockingIOError:
            return b""
        except OSError:
            return None
        return data or None

    def _answer_complete(self, client: Client) -> Next:
        """Answer complete requests until one must wait for the socket, or none is left."""
        while True:
            try:
                request = client.parser.next()
            except ProtocolError as error:
                return self._send(client, error_response(error))
            if request is None:
                return Next.READ
            try:
                response = self.site.respond_blocking(request)
            except Exception as error:
                self.context.report_crash("respond_blocking", error)
                response = internal_error()
            if self.stopping:
                response = response.closing()
            then = self._send(client, response)
            if then is not Next.READ:
                return then

    def _send(self, client: Client, response: Response) -> Next:
        """Send what fits without blocking; the selector finishes the rest (Next.WRITE)."""
        try:
            client.outgoing = Outgoing(response, sendfile=self.config.sendfile)
            done = client.outgoing.push(client.sock)
        except OSError as error:
            return self._failed(client, error)
        return self._finish(client) if done else Next.WRITE

    def _finish(self, client: Client) -> Next:
        """A response is all out: count it; keep the connection unless it must close."""
        outgoing = client.outgoing
        assert outgoing is not None
        client.outgoing = None
        outgoing.close()
        streamed = outgoing.response.streamed_span() is not None
        self._count(response=outgoing.response, streamed=streamed, copied=outgoing.copied)
        client.last_active = time.monotonic()
        return Next.CLOSE if outgoing.response.close else Next.READ

    def _failed(self, client: Client, error: OSError) -> Next:
        """A send failed: a client that left is counted, anything else is logged."""
        self._abandon(client)
        if isinstance(error, ConnectionError):
            self.context.peer_gone()
        elif not isinstance(error, FileShrank):
            self.context.report_crash("threaded send", error)
        return Next.DROP

    def _abandon(self, client: Client) -> None:
        """Give up a send: let go of its file; the close will reset the connection."""
        if client.outgoing is not None:
            client.outgoing.close()
            client.outgoing = None
        reset_on_close(client.sock)

    def _count(
        self,
        *,
        response: Response | None = None,
        connection: bool = False,
        refused: bool = False,
        streamed: bool = False,
        copied: bool = False,
    ) -> None:
        """Counters are shared by threads: `+=` is not atomic, so take the lock."""
        stats = self.stats
        with self.lock:
            if response is not None:
                stats.requests += 1
                stats.errors_4xx_5xx += response.status >= 400
            stats.connections += connection
            stats.refused_connections += refused
            if streamed:
                stats.copied_responses += copied
                stats.sendfile_responses += not copied


def run(context: ServerContext) -> None:
    """Serve with non-blocking sockets, a selector and a thread pool."""
    ThreadedServer(context).serve()
