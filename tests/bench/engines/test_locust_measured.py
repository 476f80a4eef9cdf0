"""What a locust trial measured: locust's CSV summary, corrected by its processes' own files.

Against real locust output (tests/bench/fixtures/locust/multi_*: a master and two workers)
with process windows written as `bench.engines.locust.latency.ProcessWindow` writes them.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from bench.engines.locust.engine import locust_measured
from bench.engines.locust.latency import WINDOW_SUFFIX

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "locust"
MASTER_COUNTED = 27_459  # the multi fixture's Aggregated request count
WARMUP_S = 2  # what the fixture ran with


def trial(tmp_path: Path, windows: dict[int, dict[str, float]]) -> Path:
    """A trial's raw directory: the fixture's CSV files and one window file per process."""
    for suffix in ("_stats.csv", "_stats_history.csv", "_failures.csv", "_exceptions.csv"):
        shutil.copy(FIXTURES / f"multi{suffix}", tmp_path / f"locust{suffix}")
    (tmp_path / "hdr").mkdir()
    for pid, window in windows.items():
        (tmp_path / "hdr" / f"{pid}{WINDOW_SUFFIX}").write_text(json.dumps(window))
    return tmp_path


def test_counts_are_the_processes_own_when_the_master_missed_reports(tmp_path: Path) -> None:
    # The workers recorded 2,000 requests (10 failed) more than the master's summary holds,
    # as when their last reports arrive after the master stopped listening.
    windows = {
        1: {"start": 0.0, "stop": 4.0, "requests": 14_000, "recorded": 14_700, "failures": 4},
        2: {"start": 0.5, "stop": 4.5, "requests": 14_000, "recorded": 14_759, "failures": 6},
    }
    measured = locust_measured(trial(tmp_path, windows), WARMUP_S, windowed=True)
    assert (measured.requests, measured.failures) == (MASTER_COUNTED + 2_000, 10)
    assert measured.requests_per_s == pytest.approx(7_000.0)  # each over its own window


def test_older_windows_without_counts_keep_the_masters(tmp_path: Path) -> None:
    windows = {1: {"start": 0.0, "stop": 4.0, "requests": 28_000}}
    measured = locust_measured(trial(tmp_path, windows), WARMUP_S, windowed=True)
    assert (measured.requests, measured.failures) == (MASTER_COUNTED, 0)
    assert measured.requests_per_s == pytest.approx(7_000.0)


def test_an_unwindowed_trial_is_the_masters_summary(tmp_path: Path) -> None:
    windows = {1: {"start": 0.0, "stop": 4.0, "requests": 1, "recorded": 1, "failures": 1}}
    measured = locust_measured(trial(tmp_path, windows), WARMUP_S, windowed=False)
    assert (measured.requests, measured.failures) == (MASTER_COUNTED, 0)
