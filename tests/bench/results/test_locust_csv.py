"""bench.results.locust_csv against real locust 2.47 output (tests/bench/fixtures/locust,
captured by capture_locust.py): values as pandas reads them, steady rates worked by hand from
the rows, NaN for "no data", and a clear error naming the file for anything missing or garbled.
"""

from __future__ import annotations

import math
import shutil
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from bench.results.locust_csv import LocustCsvError, read_exceptions, read_failures, read_summary

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "locust"
SUFFIXES = ("_stats.csv", "_stats_history.csv", "_failures.csv", "_exceptions.csv")
# fixture -> STATICBENCH_WARMUP it ran with (see capture_locust.CASES)
MEASURED = {"single": 1, "single_reset": 2, "multi": 2, "failing": 1}
READERS: dict[str, Callable[[Path], object]] = {
    "_stats.csv": lambda prefix: read_summary(prefix, warmup_s=1),
    "_stats_history.csv": lambda prefix: read_summary(prefix, warmup_s=1),
    "_failures.csv": read_failures,
    "_exceptions.csv": read_exceptions,
}


def copy_run(name: str, tmp_path: Path) -> Path:
    """A writable copy of one captured run; its prefix."""
    for suffix in SUFFIXES:
        shutil.copy(FIXTURES / f"{name}{suffix}", tmp_path / f"{name}{suffix}")
    return tmp_path / name


def history(name: str) -> pd.DataFrame:
    """The Aggregated rows of a fixture's history, as pandas reads them."""
    frame = pd.read_csv(FIXTURES / f"{name}_stats_history.csv")
    return frame[frame["Name"] == "Aggregated"].reset_index(drop=True)


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


@pytest.mark.parametrize("name", MEASURED)
def test_aggregated_row_is_what_pandas_reads(name: str) -> None:
    frame = pd.read_csv(FIXTURES / f"{name}_stats.csv")
    row = frame[frame["Name"] == "Aggregated"].iloc[0]
    summary = read_summary(FIXTURES / name, warmup_s=MEASURED[name])
    assert summary.requests == row["Request Count"]
    assert summary.failures == row["Failure Count"]
    assert summary.mean_ms == row["Average Response Time"]
    assert (summary.p50_ms, summary.p90_ms) == (row["50%"], row["90%"])
    assert (summary.p99_ms, summary.p999_ms) == (row["99%"], row["99.9%"])
    assert summary.max_ms == row["Max Response Time"]
    assert summary.bytes_per_s == summary.requests_per_s * row["Average Content Size"]


def test_single_process_rate_from_rows_after_the_warmup() -> None:
    rows = history("single")  # STATICBENCH_WARMUP=1; no drop: the reset met a count of 0
    assert list(rows["Total Request Count"]) == [0, 1218, 7718, 14036]
    assert list(rows["Timestamp"].diff().dropna()) == [1, 1, 1]
    # Row 1 may race the reset at 1 s, so the window is rows 2..3.
    summary = read_summary(FIXTURES / "single", warmup_s=1)
    assert summary.requests_per_s == (14036 - 7718) / 1
    assert summary.window_s == 1.0


def test_history_with_a_reset_uses_only_rows_after_it() -> None:
    rows = history("single_reset")  # STATICBENCH_WARMUP=2: a second of counts, then the reset
    assert list(rows["Total Request Count"]) == [0, 6542, 1458, 8196, 14242]
    summary = read_summary(FIXTURES / "single_reset", warmup_s=2)
    assert summary.requests_per_s == (14242 - 1458) / 2
    assert summary.window_s == 2.0


def test_the_last_drop_is_the_reset_whatever_warmup_is_passed() -> None:
    summary = read_summary(FIXTURES / "single_reset", warmup_s=0)
    assert summary.requests_per_s == (14242 - 1458) / 2


def test_distributed_rate_uses_rows_where_worker_reports_arrived() -> None:
    rows = history("multi")  # --processes 2: the master's count moves every 3 s
    assert list(rows["Total Request Count"]) == [0, 0, 0, 0, 5078, 5078, 5078, 19554, 19554, 27459]
    assert list(rows["User Count"]) == [0, 0, 10, 10, 10, 10, 10, 10, 10, 0]
    # The last row is after the users stopped; rows 5, 6 and 8 only repeat stale counts.
    summary = read_summary(FIXTURES / "multi", warmup_s=2)
    assert summary.requests_per_s == (19554 - 5078) / 3
    assert summary.window_s == 3.0


def test_short_distributed_run_cannot_be_measured() -> None:
    assert list(history("multi_short")["Total Request Count"]) == [0, 0, 0, 0, 7277, 7277, 19476]
    with pytest.raises(LocustCsvError, match=r"multi_short_stats_history\.csv: 1 rows"):
        read_summary(FIXTURES / "multi_short", warmup_s=1)


def test_requests_that_raised_are_exceptions_not_requests_or_failures() -> None:
    # The original server sends "Content-Encoding: UTF-8": locust's client raises before the
    # scenario can judge the answer, so the run has no requests, no failures, no rate.
    assert read_exceptions(FIXTURES / "notfound_original") == [
        ("Unknown content encoding: utf-8", 1677)
    ]
    assert read_failures(FIXTURES / "notfound_original") == []
    with pytest.raises(LocustCsvError, match=r"notfound_original_stats_history\.csv: 0 rows"):
        read_summary(FIXTURES / "notfound_original", warmup_s=1)


def test_no_data_is_nan_never_zero(tmp_path: Path) -> None:
    prefix = copy_run("single", tmp_path)
    # A stats snapshot taken before any request: "N/A" percentiles, 0 for mean, max and size.
    shutil.copy(FIXTURES / "notfound_original_stats.csv", tmp_path / "single_stats.csv")
    summary = read_summary(prefix, warmup_s=1)
    assert summary.requests == 0
    times = [summary.mean_ms, summary.p50_ms, summary.p90_ms, summary.p99_ms, summary.p999_ms]
    assert all(math.isnan(value) for value in [*times, summary.max_ms, summary.bytes_per_s])


def test_one_not_available_column_is_nan_alone(tmp_path: Path) -> None:
    prefix = copy_run("single", tmp_path)
    edit(tmp_path / "single_stats.csv", "2,8,10,10\n", "2,N/A,10,10\n")
    summary = read_summary(prefix, warmup_s=1)
    assert math.isnan(summary.p999_ms)
    assert summary.p99_ms == 2.0


def test_failures_are_the_failure_rows() -> None:
    frame = pd.read_csv(FIXTURES / "failing_failures.csv")
    failures = read_failures(FIXTURES / "failing")
    expected = zip(frame["Name"], frame["Error"], frame["Occurrences"], strict=True)
    assert failures == list(expected)
    assert ("/index.html", "CatchResponseError('expected 1073 body bytes, got 599')", 1676) in (
        failures
    )
    assert (
        sum(count for _, _, count in failures)
        == read_summary(FIXTURES / "failing", warmup_s=1).failures
    )


def test_a_run_without_failures_has_none() -> None:
    assert read_failures(FIXTURES / "single") == []
    assert read_exceptions(FIXTURES / "single") == []


@pytest.mark.parametrize("suffix", ["_stats.csv", "_stats_history.csv"])
def test_missing_file_is_named(tmp_path: Path, suffix: str) -> None:
    prefix = copy_run("single", tmp_path)
    (tmp_path / f"single{suffix}").unlink()
    with pytest.raises(LocustCsvError, match=f"single{suffix}: missing"):
        read_summary(prefix, warmup_s=1)


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_empty_file_is_named(tmp_path: Path, suffix: str) -> None:
    prefix = copy_run("single", tmp_path)
    (tmp_path / f"single{suffix}").write_text("")
    with pytest.raises(LocustCsvError, match=f"single{suffix}: empty"):
        READERS[suffix](prefix)


def test_stats_without_an_aggregated_row(tmp_path: Path) -> None:
    prefix = copy_run("single", tmp_path)
    stats = tmp_path / "single_stats.csv"
    lines = stats.read_text().splitlines(keepends=True)
    stats.write_text("".join(line for line in lines if ",Aggregated," not in line))
    with pytest.raises(LocustCsvError, match=r"single_stats\.csv: 0 'Aggregated' rows"):
        read_summary(prefix, warmup_s=1)


def test_history_without_an_aggregated_row(tmp_path: Path) -> None:
    prefix = copy_run("single", tmp_path)
    history_file = tmp_path / "single_stats_history.csv"
    history_file.write_text(history_file.read_text().splitlines(keepends=True)[0])
    with pytest.raises(LocustCsvError, match=r"single_stats_history\.csv: no 'Aggregated' rows"):
        read_summary(prefix, warmup_s=1)


def test_garbled_cell_is_named(tmp_path: Path) -> None:
    prefix = copy_run("single", tmp_path)
    edit(tmp_path / "single_stats.csv", ",Aggregated,14036,", ",Aggregated,lots,")
    with pytest.raises(LocustCsvError, match=r"single_stats\.csv: 'Request Count' is 'lots'"):
        read_summary(prefix, warmup_s=1)


def test_missing_column_is_named(tmp_path: Path) -> None:
    prefix = copy_run("single", tmp_path)
    edit(tmp_path / "single_stats.csv", ",99.9%,", ",99.95%,")
    with pytest.raises(LocustCsvError, match=r"single_stats\.csv: no column '99\.9%'"):
        read_summary(prefix, warmup_s=1)


def test_a_stall_at_the_end_is_not_measured(tmp_path: Path) -> None:
    prefix = copy_run("single_reset", tmp_path)
    history_file = tmp_path / "single_reset_stats_history.csv"
    last = history_file.read_text().splitlines()[-1]  # the last Aggregated row
    stamp = int(last.split(",")[0])
    flat = [last.replace(str(stamp), str(stamp + k), 1) for k in range(1, 5)]
    history_file.write_text(history_file.read_text() + "\n".join(flat) + "\n")
    with pytest.raises(LocustCsvError, match="last 4 s while users ran: the load stalled"):
        read_summary(prefix, warmup_s=2)


def test_rows_out_of_step_with_the_clock_are_not_measured(tmp_path: Path) -> None:
    prefix = copy_run("single_reset", tmp_path)
    edit(tmp_path / "single_reset_stats_history.csv", "1795644700,10,,", "1795644703,10,,")
    with pytest.raises(LocustCsvError, match="rows 2 writes apart are 5 s apart, not ~2 s"):
        read_summary(prefix, warmup_s=2)
