"""The loop watch, locust's evidence of its own stalls: a blocked hub shows as lateness."""

from __future__ import annotations

import json
import time
from pathlib import Path

import gevent

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
                                            "retries": 3}  # fmt: skip


def test_a_loop_that_runs_shows_no_such_lateness() -> None:
    # The control: the same watch without the block stays far below it, even on a busy machine.
    assert watched(0.0).max_lag_s < BLOCK_S / 2
