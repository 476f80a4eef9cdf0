"""HDR latency: percentiles agree with exact ones, merges are exact, counts match locust."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.engines.locust.latency import (
    WINDOW_SUFFIX,
    CountingRecorder,
    ProcessWindow,
    load,
    merge_directory,
    new_histogram,
    process_totals,
    save,
    summarise_histogram,
    windowed_rate,
)  # fmt: skip
from bench.targets.process import ServerProcess, free_port
from tests.conftest import PROJECT
from tests.serverchecks import checked_server

LOCUST = str(Path(sys.executable).with_name("locust"))


def exact_percentile(samples: list[int], percentile: float) -> int:
    """The nearest-rank percentile: the smallest sample with at least p% at or below it."""
    ordered = sorted(samples)
    rank = max(1, -(-len(ordered) * percentile // 100))
    return ordered[int(rank) - 1]


def test_percentiles_agree_with_exact_ones_within_three_digits() -> None:
    rng = random.Random(7)
    samples = [int(rng.lognormvariate(6, 1)) + 1 for _ in range(50_000)]  # ~400 µs median
    histogram = new_histogram()
    for value in samples:
        histogram.record_value(value)
    found = summarise_histogram(histogram)
    assert found.count == len(samples)
    for percentile, value in [(50, found.p50_us), (90, found.p90_us), (99, found.p99_us),
                              (99.9, found.p999_us)]:  # fmt: skip
        exact = exact_percentile(samples, percentile)
        assert value == pytest.approx(exact, rel=2e-3, abs=1), percentile
    assert found.max_us == pytest.approx(max(samples), rel=1e-3)


def test_merging_two_workers_is_exact(tmp_path: Path) -> None:
    first, second = new_histogram(), new_histogram()
    for value in range(1, 1001):
        first.record_value(value)
    for value in range(5000, 7001):
        second.record_value(value)
    save(first, tmp_path / "1.hdr")
    save(second, tmp_path / "2.hdr")
    merged = merge_directory(tmp_path)
    assert merged.get_total_count() == 1000 + 2001
    assert merged.get_max_value() == pytest.approx(7000, rel=1e-3)
    assert merged.get_min_value() == 1
    assert load(tmp_path / "1.hdr").get_total_count() == 1000


@pytest.mark.parametrize("limit", [3, 20_000], ids=["folded-often", "folded-at-the-end"])
def test_counted_latencies_give_the_histogram_recorded_one_by_one(limit: int) -> None:
    rng = random.Random(3)
    samples = [int(rng.lognormvariate(6, 1.5)) + 1 for _ in range(5_000)]
    direct, counted = new_histogram(), CountingRecorder(limit=limit)
    for value in samples:
        direct.record_value(value)
        counted.record(value)
    histogram = counted.histogram
    assert histogram.encode() == direct.encode()
    assert histogram.get_total_count() == len(samples)
    assert (histogram.get_min_value(), histogram.get_max_value()) == (
        direct.get_min_value(), direct.get_max_value(),
    )  # fmt: skip
    counted.reset()  # the warm-up forgotten: what is pending too
    counted.record(42)
    assert counted.histogram.get_total_count() == 1


def test_no_histograms_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no latency histograms"):
        merge_directory(tmp_path)


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    with checked_server(["--root", str(PROJECT / "static")]) as running:
        yield running


@pytest.mark.parametrize("processes", [0, 2], ids=["one-process", "master-and-2-workers"])
def test_merged_count_equals_what_locust_counted(
    server: ServerProcess, tmp_path: Path, processes: int
) -> None:
    argv = [
        LOCUST, "-f", "bench/engines/locust/scenarios/small.py", "--headless", "-u", "4",
        "-r", "4", "-t", "4s",
        "--host", server.url, "--only-summary", "--loglevel", "WARNING",
    ]  # fmt: skip
    if processes:
        port = str(free_port())  # not locust's default *:5557, which a parallel run may hold
        argv += ["--processes", str(processes), "--master-bind-host", "127.0.0.1"]
        argv += ["--master-bind-port", port, "--master-host", "127.0.0.1", "--master-port", port]
    env = {**os.environ, "STATICBENCH_HDR_DIR": str(tmp_path)}
    done = subprocess.run(argv, cwd=PROJECT, env=env, capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    assert len(list(tmp_path.glob("*.hdr"))) == processes + 1  # the master's is empty
    locust_total = int((tmp_path / "locust-total.txt").read_text())
    assert locust_total > 0
    merged = merge_directory(tmp_path).get_total_count()
    assert (merged, 0) == process_totals(tmp_path)  # each process's own count, no failures
    if processes:
        # Locust's master may miss its workers' last reports (a fixed 0.5 s wait at quit):
        # the bench counts what the processes recorded, never less than what it saw.
        assert locust_total <= merged
    else:
        assert merged == locust_total


def test_a_distributed_rate_adds_each_process_over_its_own_window(tmp_path: Path) -> None:
    # Two workers whose clocks and windows differ: 3,000 requests in 3 s, 4,000 in 4 s.
    for pid, (start, stop, requests) in {
        1: (100.0, 103.0, 3_000),
        2: (500.5, 504.5, 4_000),
    }.items():
        (tmp_path / f"{pid}{WINDOW_SUFFIX}").write_text(
            json.dumps({"start": start, "stop": stop, "requests": requests})
        )
    rate, window = windowed_rate(tmp_path)
    assert rate == pytest.approx(2_000.0)
    assert window == pytest.approx(3.5)


def test_a_window_counts_what_its_process_recorded_and_failed(tmp_path: Path) -> None:
    window = ProcessWindow()
    window.failed()  # during the warm-up: forgotten when the window opens again
    window.begin()
    for _ in range(3):
        window.failed()
    window.end()
    window.save(tmp_path / f"1{WINDOW_SUFFIX}", recorded=10)
    (tmp_path / f"2{WINDOW_SUFFIX}").write_text(
        json.dumps({"start": 1.0, "stop": 2.0, "requests": 5, "recorded": 7, "failures": 1})
    )
    assert process_totals(tmp_path) == (17, 4)


def test_a_window_without_counts_is_named(tmp_path: Path) -> None:
    (tmp_path / f"1{WINDOW_SUFFIX}").write_text(
        json.dumps({"start": 1.0, "stop": 2.0, "requests": 5})
    )
    with pytest.raises(ValueError, match="lacks 'recorded'"):
        process_totals(tmp_path)


def test_a_process_that_sent_nothing_writes_no_window(tmp_path: Path) -> None:
    window = ProcessWindow()
    window.begin()
    window.end()
    window.save(tmp_path / f"master{WINDOW_SUFFIX}", recorded=0)
    with pytest.raises(ValueError, match="no process windows"):
        windowed_rate(tmp_path)
