"""The reader axis on real servers: a slow path resolution never stalls the event loop with
the `aiofile` and `thread` readers, and (the control that proves the test can fail) does
with `blocking`, which resolves on the loop thread as nginx does.

The slow file system is simulated without FUSE: tests/slow_resolve_server.py makes one trap
path's `SiteRoot.resolve` sleep SLEEP seconds. Bounds come from SLEEP, with margin for a
busy 2-core machine: the other client is answered in under SLEEP / 2, or (blocking) waits
at least SLEEP * 3 / 4.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from bench.targets.process import ServerProcess
from server.variants import VARIANTS
from tests.conftest import missing
from tests.rawhttp import connect, parse_responses, read_until_closed, request
from tests.serverchecks import stop_and_check
from tests.slow_resolve_server import STARTED

TRAP = "/slow.html"
SLEEP = 2.0  # seconds the trap's resolution takes


class SlowResolveServer(ServerProcess):
    """A ServerProcess run through tests/slow_resolve_server.py, with TRAP SLEEP s slow."""

    def __init__(self, args: Sequence[str]) -> None:
        super().__init__(args)
        self.argv = [sys.executable, "-m", "tests.slow_resolve_server", TRAP, str(SLEEP)]
        self.argv += self.args


def loop_cells() -> list[object]:
    """Each reader of the Protocol variant on each loop (asyncio's and uvloop's)."""
    return [
        pytest.param(name, reader, id=f"{name}-reader_{reader}")
        for name, variant in VARIANTS.items()
        if variant.style == "protocol"
        for reader in variant.readers
    ]


def wait_for_line(server: ServerProcess, text: str, timeout: float) -> None:
    """Return once `text` is on the server's stderr; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while text not in server.stderr():
        assert time.monotonic() < deadline, f"no {text!r} within {timeout} s: {server.stderr()}"
        time.sleep(0.01)


@pytest.mark.slow
@pytest.mark.parametrize(("variant", "reader"), loop_cells())
def test_slow_resolution_stalls_other_clients_only_with_the_blocking_reader(
    variant: str, reader: str, tmp_path: Path
) -> None:
    if not VARIANTS[variant].available():
        missing(f"{variant} needs {VARIANTS[variant].requires}")
    (tmp_path / "slow.html").write_bytes(b"slow " * 20)
    (tmp_path / "index.html").write_bytes(b"fast " * 20)
    args = ["--variant", variant, "--cache", "off", "--reader", reader, "--root", str(tmp_path)]
    with SlowResolveServer(args) as running:
        with connect(running.port, timeout=SLEEP * 3) as slow:
            slow.sendall(b"GET /slow.html HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            wait_for_line(running, STARTED, timeout=10.0)  # the trap's resolution is under way
            asked = time.monotonic()
            other = request(running.port, "/index.html")
            waited = time.monotonic() - asked
            (trapped,) = parse_responses(read_until_closed(slow, SLEEP * 3))
        stop_and_check(running)
    assert (other.status, other.body) == (200, b"fast " * 20)
    assert (trapped.status, trapped.body) == (200, b"slow " * 20)
    if reader == "blocking":
        assert waited >= SLEEP * 3 / 4, f"blocking reader: answered in {waited:.2f} s, not stalled"
    else:
        assert waited < SLEEP / 2, f"{reader} reader: the loop stalled {waited:.2f} s on a resolve"
