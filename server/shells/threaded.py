"""Blocking sockets served by a bounded pool of threads.

One selector thread watches the listening socket and every connection that is waiting
for bytes; when a connection has some, it is handed to a pool thread, which reads them,
answers every complete request with blocking calls, and hands the connection back. So
idle connections and half-sent heads cost no thread (the selector's sweep enforces the
head and keep-alive timeouts), and only a client that stops reading holds a thread, until
the send timeout.
"""

from __future__ import annotations

import contextlib
import os
import queue
import selectors
import signal
import socket
import threading
import time
from dataclasses import dataclass, field

from server.listener import tune_connection
from server.protocol import ProtocolError, RequestParser
from server.response import Response, text_response
from server.runtime import ACCEPT_RETRY_DELAY, ServerContext
from server.static import error_response, internal_error

_RECV_SIZE = 64 * 1024
_SWEEP_EVERY = 1.0


@dataclass(eq=False)
class Client:
    """A connection and its parser; owned by the selector or by one pool thread at a time."""

    sock: socket.socket
    parser: RequestParser = field(default_factory=RequestParser)
    last_active: float = field(default_factory=time.monotonic)
    head_started: float = 0.0  # when the first bytes of the pending request arrived


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
        self.idle: dict[socket.socket, Client] = {}
        self.active = 0  # clients held by pool threads
        self.lock = threading.Lock()  # guards `active` and the counters
        self.stopping = False
        self.accept_resumes_at: float | None = None  # set while accepting is paused

    def serve(self) -> None:
        """Run the selector loop until SIGINT/SIGTERM, then shut down gracefully."""
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: self._request_stop())
        for _ in range(self.config.threads):
            threading.Thread(target=self._work, daemon=True).start()
        self.selector.register(self.context.listener, selectors.EVENT_READ, "listener")
        self.selector.register(self.wake_reader, selectors.EVENT_READ, "wake")
        self.context.on_ready()
        next_sweep = time.monotonic() + _SWEEP_EVERY
        while not self.stopping:
            for key, _ in self.selector.select(timeout=_SWEEP_EVERY):
                self._on_ready(key.data)
            self._resume_accepting_when_due()
            if time.monotonic() >= next_sweep:
                self._sweep(time.monotonic())
                next_sweep = time.monotonic() + _SWEEP_EVERY
        self._shut_down()

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
            self._dispatch(data)

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
        if self.accept_resumes_at is not None and time.monotonic() >= self.accept_resumes_at:
            self.accept_resumes_at = None
            self.selector.register(self.context.listener, selectors.EVENT_READ, "listener")

    def _admit(self, sock: socket.socket) -> None:
        if len(self.idle) + self.active >= self.config.max_connections:
            with contextlib.suppress(OSError):
                sock.send(text_response(503, "too many connections", close=True).payload())
            sock.close()
            self._count(refused=True)
            return
        tune_connection(sock)
        self._count(connection=True)
        self._park(Client(sock))

    def _park(self, client: Client) -> None:
        """Watch an idle connection for its next request."""
        client.last_active = time.monotonic()
        self.idle[client.sock] = client
        self.selector.register(client.sock, selectors.EVENT_READ, client)

    def _dispatch(self, client: Client) -> None:
        self.selector.unregister(client.sock)
        del self.idle[client.sock]
        with self.lock:
            self.active += 1
        self.work.put(client)

    def _take_back_clients(self) -> None:
        with contextlib.suppress(BlockingIOError):
            self.wake_reader.recv(4096)
        while not self.handed_back.empty():
            client = self.handed_back.get()
            if self.stopping:
                client.sock.close()
            else:
                self._park(client)

    def _sweep(self, now: float) -> None:
        """Close connections past the head timeout (with 408) or the keep-alive timeout."""
        config = self.config
        for client in list(self.idle.values()):
            if client.parser.has_partial_request:
                if now - client.head_started > config.head_timeout:
                    late = ProtocolError(408, "request head not received in time")
                    self._drop(client, error_response(late))
            elif now - client.last_active > config.keepalive_timeout:
                self._drop(client)

    def _drop(self, client: Client, farewell: Response | None = None) -> None:
        """Close a watched connection, first sending `farewell` if it fits without waiting."""
        self.selector.unregister(client.sock)
        del self.idle[client.sock]
        if farewell is not None:
            client.sock.setblocking(False)  # the selector thread must never block on a client
            with contextlib.suppress(OSError):
                client.sock.send(farewell.payload())
                self._count(response=farewell)
        client.sock.close()

    def _shut_down(self) -> None:
        """Stop accepting, close idle connections, give busy ones the grace period."""
        if self.accept_resumes_at is None:
            self.selector.unregister(self.context.listener)
        self.context.listener.close()
        for client in list(self.idle.values()):
            self._drop(client)
        deadline = time.monotonic() + self.config.grace
        while self.active and time.monotonic() < deadline:
            time.sleep(0.05)
        for _ in range(self.config.threads):
            self.work.put(None)

    # -- pool threads ---------------------------------------------------------------------

    def _work(self) -> None:
        while (client := self.work.get()) is not None:
            try:
                keep = self._serve(client)
            except Exception as error:
                self.context.report_crash("threaded worker", error)
                keep = False
            with self.lock:
                self.active -= 1
            if keep and not self.stopping:
                self.handed_back.put(client)
                self._wake()
            else:
                client.sock.close()

    def _serve(self, client: Client) -> bool:
        """Answer what the client sent; True to hand the connection back to the selector.

        One read per turn, never a wait for the rest of a head: slow senders must not be
        able to occupy every thread of the pool.
        """
        data = self._receive(client)
        if data is None:
            return False
        if not client.parser.has_partial_request:
            client.head_started = time.monotonic()
        client.parser.feed(data)
        return self._answer_complete(client)

    def _receive(self, client: Client) -> bytes | None:
        """The bytes the selector saw arrive (maybe none after all); None once it closed."""
        client.sock.setblocking(False)
        try:
            data = client.sock.recv(_RECV_SIZE)
        except BlockingIOError:
            return b""
        except OSError:
            return None
        return data or None

    def _answer_complete(self, client: Client) -> bool:
        """Answer every complete request; False once the connection must close."""
        while True:
            try:
                request = client.parser.next()
            except ProtocolError as error:
                self._send(client, error_response(error))
                return False
            if request is None:
                return True
            try:
                response = self.site.respond_blocking(request)
            except Exception as error:
                self.context.report_crash("respond_blocking", error)
                response = internal_error()
            if self.stopping:
                response = response.closing()
            if not self._send(client, response) or response.close:
                return False

    def _send(self, client: Client, response: Response) -> bool:
        """Send one response with a send timeout; False if the client failed us."""
        sock = client.sock
        sock.settimeout(self.config.send_timeout)
        try:
            sock.sendall(response.payload())
            span = response.streamed_span()
            if span is not None:
                with open(span.path, "rb") as file:
                    if sock.sendfile(file, span.offset, span.length) != span.length:
                        return False  # the file shrank under us: framing is broken
                self._count(sendfile=True)
        except OSError:
            return False
        client.last_active = time.monotonic()
        self._count(response=response)
        return True

    def _count(
        self,
        *,
        response: Response | None = None,
        connection: bool = False,
        refused: bool = False,
        sendfile: bool = False,
    ) -> None:
        """Counters are shared by threads: `+=` is not atomic, so take the lock."""
        stats = self.stats
        with self.lock:
            if response is not None:
                stats.requests += 1
                stats.errors_4xx_5xx += response.status >= 400
            stats.connections += connection
            stats.refused_connections += refused
            if sendfile:
                # socket.sendfile uses os.sendfile where the OS has it, else send().
                if hasattr(os, "sendfile"):
                    stats.sendfile_responses += 1
                else:
                    stats.copied_responses += 1


def run(context: ServerContext) -> None:
    """Serve with blocking sockets and a thread pool."""
    ThreadedServer(context).serve()
