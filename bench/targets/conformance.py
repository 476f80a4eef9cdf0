"""The gate every server passes before it is measured: is it a correct static server?

A fast wrong server is not a result. Four checks with raw bytes on one or two sockets
(`bench.targets.probe`): a known file comes back 200 with its exact Content-Length and
bytes, a missing file is a 404, two requests on one connection are both answered (or the
first answer says `Connection: close`, which is also correct), and `..` cannot reach
outside the root.
"""

from __future__ import annotations

import socket
from pathlib import Path
from urllib.parse import urlsplit

from bench.targets.probe import exchange

KNOWN = "/index.html"
MISSING = "/no-such-file-staticbench.html"
TRAVERSALS = ("/../../../../etc/passwd", "/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd")
TIMEOUT = 3.0


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
        reply = exchange(sock, KNOWN, close=True)
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
        reply = exchange(sock, MISSING, close=True)
    return [] if reply.status == 404 else [f"GET {MISSING}: status {reply.status}, expected 404"]


def _keep_alive(address: tuple[str, int], site: Path) -> list[str]:
    with _connect(address) as sock:
        first = exchange(sock, KNOWN, close=False)
        if first.headers.get("connection", "").lower() == "close":
            return []  # the server said it closes: correct, if not persistent
        second = exchange(sock, KNOWN, close=True)
    if (first.status, second.status) != (200, 200):
        return [f"two requests on one connection: {first.status}, {second.status}"]
    return []


def _traversal(address: tuple[str, int], site: Path) -> list[str]:
    problems = []
    for target in TRAVERSALS:
        with _connect(address) as sock:
            reply = exchange(sock, target, close=True)
        if reply.status == 200 or b"root:" in reply.body:
            problems.append(f"GET {target}: status {reply.status} — escapes the root")
    return problems


def _connect(address: tuple[str, int]) -> socket.socket:
    return socket.create_connection(address, timeout=TIMEOUT)
