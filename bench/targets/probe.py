"""The small HTTP client the harness checks servers with: raw bytes on a plain socket.

It owns the one GET request the bench writes by hand and the two ways of reading the
answer: `http_status` (the status line only: "is it up?") and `exchange` (one whole
response, framed by Content-Length, for the conformance gate and the idle-memory probe).
No HTTP library: clients normalise `..` away, and the gate must send it as written.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass

HEAD_END = b"\r\n\r\n"


@dataclass(frozen=True, slots=True)
class Reply:
    """One response as read off the wire."""

    status: int
    headers: dict[str, str]
    body: bytes
    framed: bool  # False: no Content-Length, the body ran until the server closed


def get_request(target: str, host: str, *, close: bool) -> bytes:
    """`GET target HTTP/1.1` with a Host header, and `Connection: close` when asked."""
    connection = "Connection: close\r\n" if close else ""
    return f"GET {target} HTTP/1.1\r\nHost: {host}\r\n{connection}\r\n".encode()


def http_status(port: int, path: str = "/index.html", timeout: float = 2.0) -> int:
    """Status code of one GET with Connection: close; raises OSError/ValueError on failure."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as conn:
        conn.sendall(get_request(path, f"127.0.0.1:{port}", close=True))
        head = conn.recv(4096)
    parts = head.split(b" ", 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/"):
        raise ValueError(f"not an HTTP response: {head[:40]!r}")
    return int(parts[1])


def exchange(sock: socket.socket, target: str, *, close: bool) -> Reply:
    """Send one GET and read exactly one response (framed by Content-Length)."""
    sock.sendall(get_request(target, sock.getpeername()[0], close=close))
    data = b""
    while HEAD_END not in data:
        data += _receive(sock)
    head, _, body = data.partition(HEAD_END)
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if "content-length" not in headers:
        if not close:
            raise ValueError(f"GET {target}: no Content-Length on a persistent connection")
        return Reply(int(status_line.split(" ")[1]), headers, body + _rest(sock), framed=False)
    length = int(headers["content-length"])
    while len(body) < length:
        body += _receive(sock)
    return Reply(int(status_line.split(" ")[1]), headers, body[:length], framed=True)


def _rest(sock: socket.socket) -> bytes:
    """A close-delimited body: everything until the server closes (bounded by its timeout)."""
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def _receive(sock: socket.socket) -> bytes:
    chunk = sock.recv(65536)
    if not chunk:
        raise ValueError("connection closed before a whole response arrived")
    return chunk
