"""The lean HTTP/1.1 client the scenarios load with: one persistent connection, no frills.

It owns the socket of one locust user: TCP_NODELAY, request bytes built once per distinct
request, one response read per request and framed strictly (`bench.scenarios.framing`).
It does its own I/O on gevent's hub: a plain non-blocking socket, one read watcher per
connection, and after each send it waits for the reply before reading. gevent's socket
wrapper (pure Python) tries the read first, which on a busy connection is a failed system
call and an exception per request; together its layers cost ~20–35 µs per request here
(README, "The lean client"). Outside locust (the tests) the same code runs on the same hub.
It never imports locust: reporting each outcome through locust's `request` event is the
base user's job (`bench.scenarios.base`).

Any error — a framing error, a short body, an unexpected close, a timeout — raises
`ClientError` and drops the connection, so no later request reads a misframed byte. A
reply that says `Connection: close` (or an HTTP/1.0 one without keep-alive) closes the
connection after it; the next request opens a new one.

One exception, the race every keep-alive client meets (RFC 9112 §9.3.1; urllib3 and
browsers do the same): a server may close a connection it found idle just as the next
request leaves. When a *reused* connection ends (EOF or reset) before any byte of the reply,
an idempotent request is sent once more on a fresh connection and `retries` counts it. A
fresh connection that fails the same way is a failure, as is any close after a reply began.
"""

from __future__ import annotations

import _socket
import errno
import os
import socket
from collections.abc import Callable, Mapping
from contextlib import suppress
from typing import Any

from gevent import get_hub, getcurrent
from gevent.socket import SOCK_STREAM, getaddrinfo

from bench.engines.locust.scenarios.framing import HttptoolsParser, Parser, Response

DEFAULT_TIMEOUT_S = 60.0  # locust's FastHttpUser default (network_timeout)
RECV_SIZE = 256 * 1024
MAX_CACHED_REQUESTS = 1024  # distinct requests kept as bytes (range's random headers: not all)
IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"})  # RFC 9110 §9.2.2
READ, WRITE = 1, 2  # libev's event masks

RequestKey = tuple[str, str, tuple[tuple[str, str], ...]]


class ClientError(Exception):
    """The request got no well-framed response; the connection was dropped."""


class ClosedBeforeReply(ConnectionResetError):
    """The connection ended (EOF or reset) before any byte of the reply arrived."""


class RequestTimeout(TimeoutError):
    """No whole response within the client's timeout (raised into the waiting greenlet)."""


class LeanClient:
    """One connection to `host:port`, opened on first use and reopened after a close."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        timeout: float = DEFAULT_TIMEOUT_S,
        parser: Callable[[], Parser] = HttptoolsParser,
    ) -> None:
        self.address = (host, port)
        self.timeout = timeout
        self.connections = 0  # opened so far: how often a close forced a reconnect
        self.retries = 0  # requests sent again after a reused connection closed unanswered
        self._new_parser = parser
        self._host_line = f"Host: {host}:{port}\r\n"
        self._requests: dict[RequestKey, bytes] = {}
        self._hub = get_hub()
        self._sock: _socket.socket | None = None
        self._addresses: list[tuple[int, Any]] | None = None  # resolved on first connect
        self._readable: Any = None  # the connection's read watcher
        self._parser: Parser = parser()

    def request(self, method: str, path: str, headers: Mapping[str, str] | None = None) -> Response:
        """Send one request and read its response; ClientError on any failure."""
        data = self._request_bytes(method, path, headers)
        # One timer bounds the whole exchange; when it fires it raises RequestTimeout in
        # this greenlet, wherever it waits. (A libev timer keeps its remaining time when
        # stopped, so it is not reused.)
        deadline = self._hub.loop.timer(self.timeout)
        deadline.start(getcurrent().throw, RequestTimeout, update=True)
        try:
            response = self._exchange(method, data)
        except Exception as error:  # framing, OSError, timeout: all drop the connection
            self.close()
            raise ClientError(self._describe(error)) from error
        finally:
            deadline.close()
        if not response.keep_alive:
            self.close()
        return response

    def _exchange(self, method: str, data: bytes) -> Response:
        """Send and read; once more on a fresh connection if a reused one closed unanswered."""
        reused = self._sock is not None
        try:
            return self._send_and_read(self._sock or self._connect(), method, data)
        except ClosedBeforeReply:
            if not reused or method not in IDEMPOTENT:
                raise
        self.close()
        self.retries += 1
        return self._send_and_read(self._connect(), method, data)

    def _send_and_read(self, sock: _socket.socket, method: str, data: bytes) -> Response:
        try:
            self._send(sock, data)
        except (ConnectionResetError, BrokenPipeError) as error:
            raise ClosedBeforeReply(f"the server closed the connection: {error}") from error
        return self._read(sock, method == "HEAD")

    def close(self) -> None:
        """Drop the connection (and anything buffered from it)."""
        if self._sock is not None:
            self._readable.close()
            self._sock.close()
            self._sock, self._readable = None, None
        self._parser = self._new_parser()

    def _connect(self) -> _socket.socket:
        """A new connection to the first address that takes it (the request's timer bounds
        the wait). The name is resolved once per client: gevent's resolver hands every
        lookup to a thread, which cost `close` (a connection per request) ~40% of its CPU."""
        if self._addresses is None:
            self._addresses = [
                (family, address)
                for family, _, _, _, address in getaddrinfo(*self.address, type=SOCK_STREAM)
            ]
        failure: OSError = ConnectionError(f"no address for {self.address[0]}")
        for family, address in self._addresses:
            try:
                sock = self._connect_to(family, address)
            except OSError as error:
                failure = error
                continue
            self._sock, self._readable = sock, self._hub.loop.io(sock.fileno(), READ)
            self.connections += 1
            return sock
        raise failure

    def _connect_to(self, family: int, address: Any) -> _socket.socket:
        sock = _socket.socket(family, SOCK_STREAM)
        try:
            sock.setblocking(False)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            code = sock.connect_ex(address)
            if code == errno.EINPROGRESS:  # the usual answer, even on loopback
                writable = self._hub.loop.io(sock.fileno(), WRITE)
                try:
                    self._hub.wait(writable)
                finally:
                    writable.close()
                code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if code:
                raise OSError(code, os.strerror(code))
        except BaseException:
            sock.close()
            raise
        return sock

    def _send(self, sock: _socket.socket, data: bytes) -> None:
        try:  # a request fits the socket's buffer: one call, almost always
            sent = sock.send(data)
        except BlockingIOError:
            sent = 0
        while sent < len(data):  # rare: a full send buffer
            self._hub.wait(self._hub.loop.io(sock.fileno(), WRITE))
            with suppress(BlockingIOError):
                sent += sock.send(data[sent:])

    def _read(self, sock: _socket.socket, head_request: bool) -> Response:
        parser, wait, readable = self._parser, self._hub.wait, self._readable
        received = False  # any byte of this reply yet
        while True:
            response = parser.next_response(head_request)
            if response is not None:
                return response
            wait(readable)  # the reply is rarely there yet: wait first, then read
            try:
                data = sock.recv(RECV_SIZE)
            except BlockingIOError:  # a spurious wake-up
                continue
            except ConnectionResetError as error:
                if received:
                    raise
                raise ClosedBeforeReply(f"the server reset the connection: {error}") from error
            if not data:
                return self._at_close(head_request, received)
            received = True
            parser.feed(data)

    def _at_close(self, head_request: bool, received: bool) -> Response:
        response = self._parser.at_eof(head_request)
        if response is None:
            message = "the server closed the connection before replying"
            raise ConnectionResetError(message) if received else ClosedBeforeReply(message)
        return response

    def _request_bytes(self, method: str, path: str, headers: Mapping[str, str] | None) -> bytes:
        key: RequestKey = (method, path, tuple(headers.items()) if headers else ())
        data = self._requests.get(key)
        if data is None:
            fields = "".join(f"{name}: {value}\r\n" for name, value in key[2])
            data = f"{method} {path} HTTP/1.1\r\n{self._host_line}{fields}\r\n".encode("latin-1")
            if len(self._requests) < MAX_CACHED_REQUESTS:
                self._requests[key] = data
        return data

    def _describe(self, error: Exception) -> str:
        """One line for locust's failure table (it groups failures by this text)."""
        if isinstance(error, RequestTimeout):
            return f"timeout: no whole response within {self.timeout:g} s"
        if isinstance(error, TimeoutError | socket.timeout):
            return f"timeout: {error}" if str(error) else "timeout"
        return f"{type(error).__name__}: {error}"
