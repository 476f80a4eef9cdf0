"""The loop watch, locust's evidence of its own stalls: a blocked hub shows as lateness."""

from __future__ import annotations

import json
import time
from pathlib import Path

import gevent
import pytest

from bench.engines.locust.scenarios.loopwatch import LoopWatch

PERIOD_S = 0.05
BLOCK_S = 0.6  # the test process is not monkey-patched: time.sleep blocks gevent's hub


def watched(block_s: float) -> LoopWatch:
    """A watch over 0.3 s of an idle loop, with the hub blocked for `block_s` in the middle."""
    watch = LoopWatch(PERIOD_S)
    watch.start()
    gevent.sleep(0.15)
    time.sleep(block_s)
    gevent.sleep(0.15)
    watch.stop()
    return watch


def test_a_blocked_loop_is_seen_and_dated(tmp_path: Path) -> None:
    before = time.time()
    watch = watched(BLOCK_S)
    assert watch.max_lag_s >= BLOCK_S - PERIOD_S
    assert before + BLOCK_S <= watch.at <= time.time()
    path = tmp_path / "1.loop.json"
    watch.save(path, retries=3)
    assert json.loads(path.read_text()) == {"max_lag_s": watch.max_lag_s, "at": watch.at,
                                            "retries": 3, "stalls": watch.stalls}  # fmt: skip


def test_a_loop_that_runs_shows_no_such_lateness() -> None:
    # The control: the same watch without the block stays far below it, even on a busy machine.
    assert watched(0.0).max_lag_s < BLOCK_S / 2


def test_a_stall_is_kept_with_what_the_thread_did_meanwhile() -> None:
    # Blocked in a system call (time.sleep): the thread neither ran nor waited for a CPU.
    watch = watched(BLOCK_S)
    (stall,) = watch.stalls
    assert stall["end"] - stall["start"] == pytest.approx(watch.max_lag_s)
    assert stall["end"] == watch.at
    assert stall["cpu_s"] < 0.2 * BLOCK_S


def test_a_busy_loop_is_told_from_a_blocked_one() -> None:
    # A greenlet that computes without yielding: the thread ran, or waited for a CPU to run
    # on (a busy machine), for about the whole stall.
    watch = LoopWatch(PERIOD_S)
    watch.start()
    gevent.sleep(0.15)
    end = time.perf_counter() + BLOCK_S
    while time.perf_counter() < end:
        pass
    gevent.sleep(0.15)
    watch.stop()
    (stall,) = watch.stalls
    assert stall["cpu_s"] + stall["runqueue_s"] >= 0.8 * (stall["end"] - stall["start"])


def test_a_stall_under_way_at_stop_is_counted() -> None:
    # test_stop can come right after a freeze, before the watch's own wake-up runs.
    watch = LoopWatch(PERIOD_S)
    watch.start()
    gevent.sleep(0.15)
    time.sleep(BLOCK_S)
    watch.stop()
    assert watch.max_lag_s >= BLOCK_S - PERIOD_S
    assert len(watch.stalls) == 1
    gevent.sleep(0.15)  # the killed watch records nothing more
    assert len(watch.stalls) == 1


def test_a_short_hiccup_is_no_stall() -> None:
    watch = LoopWatch(PERIOD_S, record_s=1.0)
    watch.start()
    gevent.sleep(0.15)
    time.sleep(BLOCK_S)
    gevent.sleep(0.15)
    watch.stop()
    assert watch.max_lag_s >= BLOCK_S - PERIOD_S
    assert watch.stalls == []
