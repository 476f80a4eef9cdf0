"""Issue 15's stall, made on purpose: locust stopped (SIGSTOP) for a while just after its
users connected, across the end of the warm-up. Frozen for ~5 s, a trial used to fail with
"0 rows with a new request count after the warm-up ... (run longer?)" and 20 requests
that met connections the server had closed at its 5 s keep-alive timeout; frozen for less,
it passed with figures that measured locust. Now it fails with the cause. The control: a
server that stalls as long is not blamed on locust."""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from bench.engines.interface import EngineError
from bench.engines.locust.engine import locust_measured
from bench.engines.locust.processes import LoadRun, locust_command
from bench.plan.matrix import Cell, Trial
from bench.results.figures import Measured
from bench.targets.process import PinnedProcess, free_port
from tests.conftest import PROJECT

pytestmark = pytest.mark.slow

USERS = 10
USER_RATE = 50.0  # 500 requests/s in all
FREEZE_S = 2.0  # twice bench.engines.locust.stalls.FROZEN_LIMIT_S
WARMUP_S = 1
CONNECT_LIMIT_S = 60.0  # until locust's users hold their connections, on a busy machine


@pytest.fixture
def server(request: pytest.FixtureRequest) -> Iterator[PinnedProcess]:
    """tests/bench/stall_server: it blocks its loop for FREEZE_S on its `stall_after`-th
    request (~0.5 s into the load when 250; never when huge)."""
    port = free_port()
    argv = [
        sys.executable, "-m", "tests.bench.stall_server", "--port", str(port),
        "--stall-after", str(request.param), "--stall-ms", str(FREEZE_S * 1000),
    ]  # fmt: skip
    with PinnedProcess(argv, port, cwd=str(PROJECT), own_group=True) as running:
        yield running


def connected(pid: int) -> bool:
    """Whether locust process `pid` holds a connection per user."""
    try:
        held = psutil.Process(pid).net_connections("tcp")
    except psutil.Error:
        return False
    return sum(connection.status == psutil.CONN_ESTABLISHED for connection in held) >= USERS


def load(url: str, raw: Path, *, freeze: bool) -> Measured:
    """One open-model trial (1 s warm-up, 2 s measured), locust stopped for FREEZE_S from
    0.3 s after its users connected when `freeze`."""
    raw.mkdir()
    trial = Trial(Cell("stall", "n/a", "small", USERS), 1)
    run = LoadRun(
        locust_command(), trial, url, raw, duration=2, warmup=WARMUP_S, cpus=None,
        user_rate=USER_RATE,
    )  # fmt: skip
    with run:
        if freeze:
            (pid,) = run.pids
            deadline = time.monotonic() + CONNECT_LIMIT_S
            while not connected(pid):
                assert time.monotonic() < deadline, "locust's users never connected"
                time.sleep(0.02)
            time.sleep(0.3)
            os.kill(pid, signal.SIGSTOP)
            try:
                time.sleep(FREEZE_S)
            finally:
                os.kill(pid, signal.SIGCONT)  # a stopped locust would not hear SIGTERM
        run.wait()
    return locust_measured(raw, WARMUP_S, windowed=True)


@pytest.mark.parametrize("server", [10**9], indirect=True)
def test_a_frozen_locust_fails_its_trial_with_the_cause(
    server: PinnedProcess, tmp_path: Path
) -> None:
    with pytest.raises(EngineError) as failed:
        load(server.url, tmp_path / "raw", freeze=True)
    reason = str(failed.value)
    assert reason.startswith("the load generator froze: locust process"), reason
    seconds = float(reason.split(" stood still for ")[1].split(" s ")[0])  # in all
    assert seconds >= 0.9 * FREEZE_S
    assert "neither ran nor waited for a CPU" in reason  # stopped: not starved, not busy


@pytest.mark.parametrize("server", [250], indirect=True)
def test_a_server_that_stalls_as_long_is_not_blamed_on_locust(
    server: PinnedProcess, tmp_path: Path
) -> None:
    measured = load(server.url, tmp_path / "raw", freeze=False)
    assert measured.latency.hdr_max_us >= 0.9 * FREEZE_S * 1e6  # the server did stall
    assert measured.requests > 0
