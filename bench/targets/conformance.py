"""The gate every server passes before it is measured: is it a correct static server?

A fast wrong server is not a result. Four checks with raw bytes on one or two sockets:
a known file comes back 200 with its exact Content-Length and bytes, a missing file is a
404, two requests on one connection are both answered (or the first answer says
`Connection: close`, which is also correct), and `..` cannot reach outside the root.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

KNOWN = "/index.html"
MISSING = "/no-such-file-staticbench.html"
TRAVERSALS = ("/../../../../etc/passwd", "/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd")
TIMEOUT = 3.0


@dataclass(frozen=True, slots=True)
class Reply:
    """One response as read off the wire."""

    status: int
    headers: dict[str, str]
    body: bytes
    framed: bool  # False: no Content-Length, the body ran until the server closed


def check(url: str, site: Path) -> list[str]:
    """What is wrong with the server at `url` serving `site`; empty when it passes."""
    parts = urlsplit(url)
    address = (parts.hostname or "127.0.0.1", parts.port or 80)
    problems: list[str] = []
    for probe in (_known_file, _missing_file, _keep_alive, _traversal):
        try:
            problems += probe(address, site)
        except (OSError, ValueError) as error:
            problems.append(f"{probe.__name__.strip('_').replace('_', ' ')}: {error}")
    return problems


def _known_file(address: tuple[str, int], site: Path) -> list[str]:
    expected = (site / KNOWN.lstrip("/")).read_bytes()
    with _connect(address) as sock:
        reply = _exchange(sock, KNOWN, close=True)
    if reply.status != 200:
        return [f"GET {KNOWN}: status {reply.status}, expected 200"]
    length = reply.headers.get("content-length")
    if length != str(len(expected)):
        return [f"GET {KNOWN}: Content-Length {length}, expected {len(expected)}"]
    if reply.body != expected:
        return [f"GET {KNOWN}: body differs from the file"]
    return []


def _missing_file(address: tuple[str, int], site: Path) -> list[str]:
    with _connect(address) as sock:
        reply = _exchange(sock, MISSING, close=True)
    return [] if reply.status == 404 else [f"GET {MISSING}: status {reply.status}, expected 404"]


def _keep_alive(address: tuple[str, int], site: Path) -> list[str]:
    with _connect(address) as sock:
        first = _exchange(sock, KNOWN, close=False)
        if first.headers.get("connection", "").lower() == "close":
            return []  # the server said it closes: correct, if not persistent
        second = _exchange(sock, KNOWN, close=True)
    if (first.status, second.status) != (200, 200):
        return [f"two requests on one connection: {first.status}, {second.status}"]
    return []


def _traversal(address: tuple[str, int], site: Path) -> list[str]:
    problems = []
    for target in TRAVERSALS:
        with _connect(address) as sock:
            reply = _exchange(sock, target, close=True)
        if reply.status == 200 or b"root:" in reply.body:
            problems.append(f"GET {target}: status {reply.status} — escapes the root")
    return problems


def _connect(address: tuple[str, int]) -> socket.socket:
    return socket.create_connection(address, timeout=TIMEOUT)


def _exchange(sock: socket.socket, target: str, *, close: bool) -> Reply:
    """Send one GET and read exactly one response (framed by Content-Length)."""
    connection = "Connection: close\r\n" if close else ""
    sock.sendall(
        f"GET {target} HTTP/1.1\r\nHost: {sock.getpeername()[0]}\r\n{connection}\r\n".encode()
    )
    data = b""
    while b"\r\n\r\n" not in data:
        data += _receive(sock)
    head, _, body = data.partition(b"\r\n\r\n")
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
    """A close-delimited body: everything until the server closes (bounded by TIMEOUT)."""
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def _receive(sock: socket.socket) -> bytes:
    chunk = sock.recv(65536)
    if not chunk:
        raise ValueError("connection closed before a whole response arrived")
    return chunk
