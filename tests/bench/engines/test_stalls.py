"""A frozen load generator fails its trial with the cause (bench.engines.locust.stalls),
before anything is read from what locust wrote meanwhile."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from bench.engines.interface import EngineError
from bench.engines.locust.engine import locust_measured
from bench.engines.locust.stalls import FROZEN_LIMIT_S, Stall, frozen, worst_stall
from bench.results.locust_csv import LocustCsvError

START = 1_796_140_000.0


def write_watch(hdr: Path, pid: int, *stalls: tuple[float, float, float, float]) -> None:
    """A process's loop record, as bench.engines.locust.scenarios.loopwatch writes it."""
    hdr.mkdir(parents=True, exist_ok=True)
    records = [
        {"start": START + begin, "end": START + end, "cpu_s": cpu, "runqueue_s": queue}
        for begin, end, cpu, queue in stalls
    ]
    record = {"max_lag_s": 0.0, "at": START, "retries": 0, "stalls": records}
    (hdr / f"{pid}.loop.json").write_text(json.dumps(record) + "\n")


def test_the_process_that_stood_still_longest_in_all_is_found(tmp_path: Path) -> None:
    write_watch(tmp_path, 11, (1.0, 2.6, 0.0, 0.0))
    # a starved process gets a few ms a second: stalls under a second each add up
    write_watch(tmp_path, 12, (0.5, 1.4, 0.1, 0.8), (3.0, 3.9, 0.0, 0.9))
    write_watch(tmp_path, 13)
    (tmp_path / "14.loop.json").write_text('{"max_lag_s": 0.1, "at": 1.0, "retries": 0}\n')
    (tmp_path / "15.loop.json").write_text('{"max_lag_s": 0.1, "at"')  # killed mid-write
    stall = worst_stall(tmp_path)
    assert stall is not None
    assert (stall.pid, stall.start, stall.count) == (12, START + 0.5, 2)
    assert (stall.seconds, stall.cpu_s, stall.runqueue_s) == pytest.approx((1.8, 0.1, 1.7))
    assert "in 2 stalls" in stall.reason()
    assert "waited 1.7 s for a CPU" in stall.reason()
    assert frozen(tmp_path) == stall
    assert frozen(tmp_path, limit=1.9) is None


def test_no_record_is_no_stall(tmp_path: Path) -> None:
    write_watch(tmp_path, 11)
    assert worst_stall(tmp_path) is None
    assert worst_stall(tmp_path / "missing") is None


@pytest.mark.parametrize(
    ("cpu_s", "runqueue_s", "cause"),
    [
        (0.1, 4.0, "waited 4.0 s for a CPU"),
        (4.5, 0.2, "ran 4.5 s without yielding"),
        (0.1, 0.2, "for 4.7 s it neither ran nor waited for a CPU"),
        (math.nan, math.nan, "unknown"),
    ],
)
def test_the_cause_says_what_the_loop_thread_did(
    cpu_s: float, runqueue_s: float, cause: str
) -> None:
    stall = Stall(7, START, 5.0, 1, cpu_s, runqueue_s)
    assert cause in stall.cause()
    assert stall.reason().startswith("the load generator froze: locust process 7's event loop")
    assert "for 5.0 s once from " in stall.reason()


def test_a_frozen_generator_fails_the_trial_before_its_files_are_read(tmp_path: Path) -> None:
    # The stall of issue 15: no locust CSV could say more than "no request after the
    # warm-up", and here there is none at all (the freeze is the reason, not a missing file).
    write_watch(tmp_path / "hdr", 4242, (0.3, 5.7, 0.02, 0.01))
    with pytest.raises(EngineError, match="the load generator froze: locust process 4242"):
        locust_measured(tmp_path, warmup=1, windowed=True)


def test_a_stall_under_the_limit_is_left_to_the_figures(tmp_path: Path) -> None:
    short = FROZEN_LIMIT_S * 0.45
    write_watch(tmp_path / "hdr", 4242, (0.3, 0.3 + short, 0.0, 0.0), (2.0, 2.0 + short, 0, 0))
    with pytest.raises(LocustCsvError, match=r"_stats\.csv: missing"):
        locust_measured(tmp_path, warmup=1, windowed=True)
