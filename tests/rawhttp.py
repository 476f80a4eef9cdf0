"""A deliberately small HTTP/1.1 client for tests: raw bytes out, parsed responses in.

HTTP client libraries normalise paths (`..`), add headers and retry; traversal and
malformed-input tests need to send exactly the bytes they mean.
"""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class RawResponse:
    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


def connect(port: int, timeout: float = 5.0) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def exchange(port: int, raw: bytes, *, timeout: float = 5.0) -> bytes:
    """Send `raw`, then read until the server closes (or `timeout` passes)."""
    with connect(port, timeout) as sock:
        sock.sendall(raw)
        return read_until_closed(sock, timeout)


def read_until_closed(
    sock: socket.socket, timeout: float = 5.0, *, must_close: bool = False
) -> bytes:
    """Everything until the server closes, or until `timeout` (an error if `must_close`)."""
    deadline = time.monotonic() + timeout
    chunks = []
    while time.monotonic() < deadline:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            chunk = sock.recv(1 << 16)
        except TimeoutError:
            break
        except ConnectionResetError:
            return b"".join(chunks)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
    if must_close:
        raise AssertionError(f"connection still open after {timeout} s")
    return b"".join(chunks)


def parse_responses(data: bytes, *, head_only: bool = False) -> list[RawResponse]:
    """Split a byte stream into responses framed by Content-Length (no chunked here)."""
    responses = []
    while data:
        head, sep, rest = data.partition(b"\r\n\r\n")
        if not sep:
            raise ValueError(f"incomplete response head: {data[:200]!r}")
        status_line, *lines = head.decode("latin-1").split("\r\n")
        headers: dict[str, str] = {}
        for line in lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        status = int(status_line.split(" ")[1])
        length = 0
        if not head_only and status not in (204, 304):
            length = int(headers.get("content-length", "0"))
        if len(rest) < length:
            raise ValueError(f"short body: {len(rest)} of {length} bytes")
        responses.append(RawResponse(status, headers, rest[:length]))
        data = rest[length:]
    return responses


def request(
    port: int,
    target: str,
    *,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    version: str = "HTTP/1.1",
) -> RawResponse:
    """One request on its own connection (Connection: close), parsed."""
    fields = {"Host": "127.0.0.1", "Connection": "close", **(headers or {})}
    head = f"{method} {target} {version}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in fields.items())
    data = exchange(port, head.encode("latin-1") + b"\r\n")
    (response,) = parse_responses(data, head_only=method == "HEAD")
    return response
