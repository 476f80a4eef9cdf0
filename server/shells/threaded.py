"""Blocking sockets served by a bounded pool of threads.

One selector thread watches the listening socket and every idle keep-alive connection;
when a connection has bytes, it is handed to a pool thread, which reads, answers with
blocking calls, and hands the connection back once no request is left half-read. So idle
connections cost no thread, and a slow client holds at most one thread until a timeout.
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
from server.runtime import ServerContext
from server.static import error_response, internal_error

_RECV_SIZE = 64 * 1024
_SWEEP_EVERY = 1.0


@dataclass(eq=False)
class Client:
    """A connection and its parser; owned by the selector or by one pool thread at a time."""

    sock: socket.socket
    parser: RequestParser = field(default_factory=RequestParser)
    last_active: float = field(default_factory=time.monotonic)


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
            if time.monotonic() >= next_sweep:
                self._close_idle(time.monotonic() - self.config.keepalive_timeout)
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
            except OSError as error:  # e.g. out of file descriptors: keep serving others
                self.context.report_crash("accept", error)
                return
            self._admit(sock)

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

    def _close_idle(self, idle_since: float) -> None:
        for client in [c for c in self.idle.values() if c.last_active < idle_since]:
            self.selector.unregister(client.sock)
            del self.idle[client.sock]
            client.sock.close()

    def _shut_down(self) -> None:
        """Stop accepting, close idle connections, give busy ones the grace period."""
        self.selector.unregister(self.context.listener)
        self.context.listener.close()
        self._close_idle(float("inf"))
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
        """Answer what the client sent; True to keep the connection for another request."""
        deadline = time.monotonic() + self.config.head_timeout
        while True:
            data = self._receive(client, deadline)
            if data is None:
                return False
            client.parser.feed(data)
            if not self._answer_complete(client):
                return False
            if not client.parser.has_partial_request:
                return True

    def _receive(self, client: Client, deadline: float) -> bytes | None:
        """Bytes from the client; None when it closed, failed, or missed the head deadline."""
        client.sock.settimeout(max(0.001, deadline - time.monotonic()))
        try:
            data = client.sock.recv(_RECV_SIZE)
        except TimeoutError:
            late = ProtocolError(408, "request head not received in time")
            self._send(client, error_response(late))
            return None
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
