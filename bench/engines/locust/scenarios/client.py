"""The lean HTTP/1.1 client the scenarios load with: one persistent connection, no frills.

It owns the socket of one locust user: TCP_NODELAY, request bytes built once per distinct
request, one response read per request and framed strictly (`bench.scenarios.framing`).
Inside locust `socket` is gevent's (locust monkey-patches on import), so a blocked read
yields to the other users; outside locust the same code runs on plain sockets (the tests).
It never imports locust: reporting each outcome through locust's `request` event is the
base user's job (`bench.scenarios.base`).

Any error — a framing error, a short body, an unexpected close, a timeout — raises
`ClientError` and drops the connection, so no later request reads a misframed byte. A
reply that says `Connection: close` (or an HTTP/1.0 one without keep-alive) closes the
connection after it; the next request opens a new one.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Mapping

from bench.engines.locust.scenarios.framing import HttptoolsParser, Parser, Response

DEFAULT_TIMEOUT_S = 60.0  # locust's FastHttpUser default (network_timeout)
RECV_SIZE = 256 * 1024
MAX_CACHED_REQUESTS = 1024  # distinct requests kept as bytes (range's random headers: not all)

RequestKey = tuple[str, str, tuple[tuple[str, str], ...]]


class ClientError(Exception):
    """The request got no well-framed response; the connection was dropped."""


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
        self._new_parser = parser
        self._host_line = f"Host: {host}:{port}\r\n"
        self._requests: dict[RequestKey, bytes] = {}
        self._sock: socket.socket | None = None
        self._parser: Parser = parser()

    def request(self, method: str, path: str, headers: Mapping[str, str] | None = None) -> Response:
        """Send one request and read its response; ClientError on any failure."""
        data = self._request_bytes(method, path, headers)
        deadline = time.perf_counter() + self.timeout
        try:
            sock = self._sock or self._connect()
            sock.sendall(data)
            response = self._read(sock, method == "HEAD", deadline)
        except Exception as error:  # framing, OSError, timeout: all drop the connection
            self.close()
            raise ClientError(_describe(error)) from error
        if not response.keep_alive:
            self.close()
        return response

    def close(self) -> None:
        """Drop the connection (and anything buffered from it)."""
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        self._parser = self._new_parser()

    def _connect(self) -> socket.socket:
        sock = socket.create_connection(self.address, timeout=self.timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._sock = sock
        self.connections += 1
        return sock

    def _read(self, sock: socket.socket, head_request: bool, deadline: float) -> Response:
        parser = self._parser
        while True:
            response = parser.next_response(head_request)
            if response is not None:
                return response
            if time.perf_counter() > deadline:
                raise TimeoutError(f"no whole response within {self.timeout:g} s")
            data = sock.recv(RECV_SIZE)  # the socket's timeout bounds each wait
            if not data:
                return self._at_close(head_request)
            parser.feed(data)

    def _at_close(self, head_request: bool) -> Response:
        response = self._parser.at_eof(head_request)
        if response is None:
            raise ConnectionResetError("the server closed the connection before replying")
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


def _describe(error: Exception) -> str:
    """One line for locust's failure table (it groups failures by this text)."""
    if isinstance(error, TimeoutError | socket.timeout):
        return f"timeout: {error}" if str(error) else "timeout"
    return f"{type(error).__name__}: {error}"
