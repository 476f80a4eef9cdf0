"""The open model with real locust runs: planned send times, coordinated-omission
correction, target vs achieved rate, and sweep targets taken from the measured maximum."""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.engines.locust.latency import merge_directory, summarise_histogram
from bench.engines.locust.processes import LoadRun, locust_command
from bench.plan.matrix import Cell, Trial
from bench.results.locust_csv import read_summary
from bench.results.table import FAILED, OK
from bench.run.runner import Runner
from bench.run.settings import RunnerSettings, split_cpus
from bench.targets.process import PinnedProcess, free_port
from tests.conftest import PROJECT
from tests.underload import start_hogs, stop_hogs

pytestmark = pytest.mark.slow

USERS = 10
USER_RATE = 50.0  # 10 users × 50/s = 500 requests/s, far below any server's limit here
STALL_MS = 200.0


@pytest.fixture
def stalling_server() -> Iterator[PinnedProcess]:
    """A server that blocks its loop for 200 ms on its 600th request (~1.2 s into the load)."""
    port = free_port()
    argv = [
        sys.executable, "-m", "tests.bench.stall_server", "--port", str(port),
        "--stall-after", "600", "--stall-ms", str(STALL_MS),
    ]  # fmt: skip
    with PinnedProcess(argv, port, cwd=str(PROJECT), own_group=True) as server:
        yield server


def _run(url: str, raw: Path, user_rate: float) -> tuple[float, float, float]:
    """One 3 s locust run with no warm-up: (corrected p99 µs, corrected max µs, locust p99 ms)."""
    raw.mkdir()
    trial = Trial(Cell("stall", "n/a", "small", USERS), 1)
    load = LoadRun(
        locust_command(), trial, url, raw, duration=3, warmup=0, cpus=None, user_rate=user_rate
    )
    with load:
        load.wait()
    latency = summarise_histogram(merge_directory(raw / "hdr"))
    return latency.p99_us, latency.max_us, read_summary(raw / "locust", warmup_s=0).p99_ms


def test_a_stall_is_charged_to_every_request_planned_during_it(
    stalling_server: PinnedProcess, tmp_path: Path
) -> None:
    # 500 req/s planned: ~100 requests fall inside the 200 ms stall, ~50 of them wait over
    # 100 ms — above 1% of ~1,500. Only the ≤10 in flight saw the stall themselves.
    p99_us, max_us, locust_p99_ms = _run(stalling_server.url, tmp_path / "open", USER_RATE)
    assert max_us >= 0.9 * STALL_MS * 1000
    assert p99_us >= 100_000, "the open model's p99 must include the stall"
    assert locust_p99_ms < 100, "locust's own (uncorrected) p99 sees only the few in flight"


def test_the_closed_model_hides_the_same_stall(
    stalling_server: PinnedProcess, tmp_path: Path
) -> None:
    # The control: without planned times, the stall delays only the requests in flight.
    p99_us, max_us, _ = _run(stalling_server.url, tmp_path / "closed", 0.0)
    assert max_us >= 0.9 * STALL_MS * 1000  # the stall happened
    assert p99_us < 100_000


def _runner(tmp_path: Path) -> Runner:
    server_cpus, load_cpus = split_cpus(sorted(os.sched_getaffinity(0)))
    settings = RunnerSettings(duration=3, warmup=1, server_cpus=server_cpus, load_cpus=load_cpus)
    return Runner(settings, tmp_path)


@pytest.mark.solo  # within 3% on a quiet machine: not beside another worker
def test_the_open_model_holds_a_reachable_target(tmp_path: Path) -> None:
    row = _runner(tmp_path).run(Trial(Cell("uvloop", "on", "small", 20, load="400/s"), 1))
    assert row.status == OK, row.reason
    assert row.target_rps == 400
    assert row.requests_per_s == pytest.approx(400, rel=0.03)
    assert row.rate_short is False
    assert row.failures == 0


def test_the_open_model_counts_what_was_planned_with_a_busy_loop_on_the_load_core(
    tmp_path: Path,
) -> None:
    """Users slowed by a busy loop fall behind and catch up; requests are counted in the
    window their planned send time falls in, so the catch-up never inflates the rate."""
    runner = _runner(tmp_path)
    load_cpus = runner.settings.load_cpus
    hogs = start_hogs(load_cpus if load_cpus else None, limit=60)
    try:
        # 400/s: within what one locust process does on half a core (~2.5k/s on a whole one)
        row = runner.run(Trial(Cell("uvloop", "on", "small", 20, load="400/s"), 1))
    finally:
        stop_hogs(hogs)
    assert row.status == OK, row.reason
    assert row.requests_per_s == pytest.approx(400, rel=0.05)


def test_an_unreachable_target_is_marked_short(tmp_path: Path) -> None:
    # One load process with the lean client held 99.8k of 100k/s on a fast machine: 1M/s
    # is ~10x what any run here has reached.
    row = _runner(tmp_path).run(Trial(Cell("uvloop", "on", "small", 20, load="1000000/s"), 1))
    assert row.status == OK, row.reason
    assert row.requests_per_s < 0.95 * 1_000_000
    assert row.rate_short is True


@pytest.mark.solo  # within 3% on a quiet machine: not beside another worker
def test_a_sweep_point_takes_its_target_from_the_measured_maximum(tmp_path: Path) -> None:
    runner = _runner(tmp_path)
    closed = Cell("threaded", "on", "small", 10)
    half = Cell("threaded", "on", "small", 10, load="50%")
    orphan = runner.run(Trial(Cell("asyncio", "on", "small", 10, load="50%"), 1))
    assert orphan.status == FAILED
    assert "no maximum" in orphan.reason
    maximum = runner.run(Trial(closed, 1))
    assert maximum.status == OK, maximum.reason
    assert math.isnan(maximum.target_rps)
    point = runner.run(Trial(half, 1))
    assert point.status == OK, point.reason
    assert point.target_rps == pytest.approx(maximum.requests_per_s / 2)
    assert point.requests_per_s == pytest.approx(point.target_rps, rel=0.03)


def test_workers_share_the_target_rate(tmp_path: Path) -> None:
    # The rate travels to workers as a custom locust option; a worker without it would run
    # the closed model and overshoot the target by far.
    server_cpus, load_cpus = split_cpus(sorted(os.sched_getaffinity(0)))
    settings = RunnerSettings(
        duration=3, warmup=1, server_cpus=server_cpus, load_cpus=load_cpus, load_workers=2
    )
    row = Runner(settings, tmp_path).run(Trial(Cell("uvloop", "on", "small", 20, load="800/s"), 1))
    assert row.status == OK, row.reason
    assert row.load_workers == 2
    assert row.requests_per_s == pytest.approx(800, rel=0.05)
    assert row.hdr_count >= row.requests > 0
