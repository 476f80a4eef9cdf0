"""What idle keep-alive connections cost a server, in RSS.

It owns opening N connections that have each completed one keep-alive request (so the
server holds real per-connection state, not just an accepted socket), counting how many
the server still keeps open, the RSS before and during, and raising this process's
open-file limit to allow that.
"""

from __future__ import annotations

import resource
import socket
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

from bench.perf.verdicts import IDLE_CONNECTIONS, MemoryRow
from bench.proc import tree_rss

_REQUEST = "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n"
_HEAD_END = b"\r\n\r\n"


def raise_nofile(needed: int) -> int:
    """Raise the soft RLIMIT_NOFILE towards `needed` (capped by the hard limit); returns it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    return soft


def _content_length(head: bytes) -> int:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value.strip())
    return 0


def read_response(conn: socket.socket) -> bytes:
    """One whole response with a Content-Length body (or none); returns the head."""
    data = b""
    while _HEAD_END not in data:
        chunk = conn.recv(65536)
        if not chunk:
            raise ConnectionError("closed before the response head")
        data += chunk
    head, _, body = data.partition(_HEAD_END)
    missing = _content_length(head) - len(body)
    while missing > 0:
        chunk = conn.recv(min(missing, 65536))
        if not chunk:
            raise ConnectionError("closed inside the response body")
        missing -= len(chunk)
    return head


def _still_open(conn: socket.socket) -> bool:
    conn.setblocking(False)  # with a timeout set, recv would first wait for data
    try:
        return conn.recv(1, socket.MSG_PEEK) != b""
    except BlockingIOError:
        return True  # nothing to read and no EOF: the server keeps it open
    except OSError:
        return False


@contextmanager
def idle_connections(
    port: int, count: int, path: str = "/index.html", settle: float = 0.3
) -> Iterator[int]:
    """Open `count` connections, one request each, left idle; yields how many stay open."""
    with ExitStack() as stack:
        conns: list[socket.socket] = []
        for _ in range(count):
            conn = stack.enter_context(socket.create_connection(("127.0.0.1", port), timeout=10))
            conn.sendall(_REQUEST.format(path=path, port=port).encode("ascii"))
            read_response(conn)
            conns.append(conn)
        time.sleep(settle)  # let the server finish any per-connection bookkeeping
        yield sum(_still_open(conn) for conn in conns)


def measure_memory(pid: int, url: str, name: str, note: str = "") -> MemoryRow:
    """RSS of the server's tree now, then with IDLE_CONNECTIONS idle keep-alive ones open."""
    before = tree_rss(pid)
    with idle_connections(int(url.rsplit(":", 1)[1]), IDLE_CONNECTIONS) as held:
        during = tree_rss(pid)
    if not held:
        note = (note + "; " if note else "") + "closes every connection after its response"
    delta = during - before if held else None
    return MemoryRow(name, before, IDLE_CONNECTIONS, held, delta, note)
