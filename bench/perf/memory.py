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

from bench.measure.sampling import tree_rss
from bench.perf.verdicts import IDLE_CONNECTIONS, MemoryRow
from bench.targets.probe import exchange


def raise_nofile(needed: int) -> int:
    """Raise the soft RLIMIT_NOFILE towards `needed` (capped by the hard limit); returns it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    return soft


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
            exchange(conn, path, close=False)  # a whole keep-alive response, left open
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
