"""Locust's CSV output read into one summary: the only module that knows its files and columns.

It sits with the results, not with the locust engine: these files stay in a run's raw
directory, and the report reads their history long after the engine is gone (and on a
machine without locust).

`locust --csv PREFIX --csv-full-history` (2.47) writes PREFIX_stats.csv (a snapshot rewritten
every second, so the last one is up to a second old), PREFIX_stats_history.csv (rows appended
every second; with --processes the master's, whose counts move only when workers report),
PREFIX_failures.csv and PREFIX_exceptions.csv. It never imports locust (gevent patching) and
never invents a number: "N/A" and "no data" become NaN; an unmeasurable rate raises.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

from bench.results.figures import LoadFigures

STATS = "_stats.csv"
HISTORY = "_stats_history.csv"
FAILURES = "_failures.csv"
EXCEPTIONS = "_exceptions.csv"
AGGREGATED = "Aggregated"
NOT_AVAILABLE = "N/A"
# locust.stats.CSV_STATS_INTERVAL_SEC: the writer sleeps this long between history rows, so
# rows are ~1.00 s apart (measured: 29 rows in 29 s with no drift past a whole second).
ROW_INTERVAL_S = 1.0
# locust.runners.WORKER_REPORT_INTERVAL: with --processes, the master's counts stay flat this
# long between worker reports. A count flat for longer while users run means the load stalled.
REPORT_INTERVAL_S = 3.0

_TIMES = {  # LoadFigures field -> _stats.csv column, all in ms
    "mean_ms": "Average Response Time",
    "p50_ms": "50%",
    "p90_ms": "90%",
    "p99_ms": "99%",
    "p999_ms": "99.9%",
    "max_ms": "Max Response Time",
}
_STATS_COLUMNS = (
    "Name",
    "Request Count",
    "Failure Count",
    "Average Content Size",
    *_TIMES.values(),
)
_HISTORY_COLUMNS = ("Timestamp", "User Count", "Name", "Total Request Count")
# With --csv-full-history these are locust's "current" percentiles: over a sliding window of
# about the last 10 s (locust.stats.CURRENT_RESPONSE_TIME_PERCENTILE_WINDOW; shorter at the
# start), written as 0 until that window exists.
_WINDOW_TIMES = {"p50_ms": "50%", "p99_ms": "99%", "max_ms": "100%"}
_FAILURE_COLUMNS = ("Name", "Error", "Occurrences")
_EXCEPTION_COLUMNS = ("Message", "Count")


class LocustCsvError(Exception):
    """A locust CSV file is missing, empty or garbled, or cannot support a measurement."""


@dataclass(frozen=True)
class _Row:
    """One Aggregated row of the history: its position (one per writer tick) and counts."""

    tick: int
    timestamp: int
    users: int
    requests: int


def read_summary(prefix: Path, *, warmup_s: float) -> LoadFigures:
    """The Aggregated stats of a run, with its steady rate measured after `warmup_s`."""
    path = _file(prefix, STATS)
    row = _aggregated(_read(path, _STATS_COLUMNS), path)
    requests = _integer(row, "Request Count", path)
    # With no requests locust writes 0 for the mean, max and size: no data, not a measurement.
    times = {field: _number(row, column, path) for field, column in _TIMES.items()}
    size = _number(row, "Average Content Size", path)
    if requests == 0:
        times = dict.fromkeys(times, math.nan)
        size = math.nan
    rate, window = _steady_rate(prefix, warmup_s=warmup_s)
    return LoadFigures(
        requests=requests,
        failures=_integer(row, "Failure Count", path),
        requests_per_s=rate,
        bytes_per_s=rate * size,
        window_s=window,
        **times,
    )


@dataclass(frozen=True)
class HistoryPoint:
    """One history row (Aggregated): the rate over the second before it, the window's latency."""

    elapsed_s: float  # since the first row
    users: int
    requests: int  # cumulative; drops to ~0 where the stats were reset after the warm-up
    requests_per_s: float  # delta of the count over the row interval; NaN on the first and a reset
    p50_ms: float  # over locust's sliding ~10 s window; NaN before it has one
    p99_ms: float


def read_history(prefix: Path) -> list[HistoryPoint]:
    """The run over time, one point per history row (about one a second)."""
    path = _file(prefix, HISTORY)
    rows = _read(path, _HISTORY_COLUMNS + tuple(_WINDOW_TIMES.values()))
    aggregated = [row for row in rows if row["Name"] == AGGREGATED]
    points: list[HistoryPoint] = []
    previous: int | None = None
    for tick, row in enumerate(aggregated):
        count = _integer(row, "Total Request Count", path)
        rate = math.nan if previous is None or count < previous else count - previous
        times = {field: _number(row, column, path) for field, column in _WINDOW_TIMES.items()}
        if not times["max_ms"]:  # 0 (no window yet) or NaN (N/A: no requests)
            times = dict.fromkeys(times, math.nan)
        points.append(
            HistoryPoint(
                elapsed_s=tick * ROW_INTERVAL_S,
                users=_integer(row, "User Count", path),
                requests=count,
                requests_per_s=rate / ROW_INTERVAL_S,
                p50_ms=times["p50_ms"],
                p99_ms=times["p99_ms"],
            )
        )
        previous = count
    return points


def read_failures(prefix: Path) -> list[tuple[str, str, int]]:
    """(name, error, occurrences) of every failure row: requests answered wrongly."""
    path = _file(prefix, FAILURES)
    rows = _read(path, _FAILURE_COLUMNS)
    return [(row["Name"], row["Error"], _integer(row, "Occurrences", path)) for row in rows]


def read_exceptions(prefix: Path) -> list[tuple[str, int]]:
    """(message, count) of every exception raised in a task.

    A request whose client raised (e.g. on an unknown Content-Encoding) is counted here only:
    it is neither a request nor a failure in the stats files.
    """
    path = _file(prefix, EXCEPTIONS)
    rows = _read(path, _EXCEPTION_COLUMNS)
    return [(row["Message"], _integer(row, "Count", path)) for row in rows]


def _steady_rate(prefix: Path, *, warmup_s: float) -> tuple[float, float]:
    """Requests per second after the warm-up, and the seconds it was measured over.

    From deltas of "Total Request Count" between history rows (the "Requests/s" column is a
    rolling average that starts at 0). Only rows after the stats reset count, and only rows
    where the count changed: with --processes the master's count is stale between reports.
    """
    path = _file(prefix, HISTORY)
    rows = _history(path)
    first, last = _window(rows, _first_measured_tick(rows, warmup_s), path)
    ticks = last.tick - first.tick
    # Timestamps are whole seconds (int(time.time())); ticks are not rounded, so they time the
    # window, and the timestamps only confirm that the writer kept to its interval.
    if abs((last.timestamp - first.timestamp) - ticks * ROW_INTERVAL_S) > 1:
        raise LocustCsvError(
            f"{path}: rows {ticks} writes apart are {last.timestamp - first.timestamp} s apart,"
            f" not ~{ticks * ROW_INTERVAL_S:g} s: locust's writer stalled, so the window is unknown"
        )
    window = ticks * ROW_INTERVAL_S
    return (last.requests - first.requests) / window, window


def _file(prefix: Path, suffix: str) -> Path:
    return Path(f"{prefix}{suffix}")


def _read(path: Path, columns: tuple[str, ...]) -> list[dict[str, str]]:
    """The rows of a CSV file that has at least `columns`."""
    try:
        with path.open(newline="", encoding="utf-8") as file:
            reader = csv.DictReader(file, strict=True)
            header = reader.fieldnames
            rows = list(reader)
    except FileNotFoundError:
        raise LocustCsvError(f"{path}: missing (did locust run with --csv?)") from None
    except (csv.Error, UnicodeDecodeError) as error:
        raise LocustCsvError(f"{path}: not a readable CSV file ({error})") from None
    if not header:
        raise LocustCsvError(f"{path}: empty (locust stopped before writing it?)")
    missing = [column for column in columns if column not in header]
    if missing:
        raise LocustCsvError(f"{path}: no column {', '.join(map(repr, missing))} in {header}")
    if any(None in row for row in rows):
        raise LocustCsvError(f"{path}: a row has more fields than the header")
    return rows


def _aggregated(rows: list[dict[str, str]], path: Path) -> dict[str, str]:
    """The one Aggregated row of a stats file."""
    found = [row for row in rows if row["Name"] == AGGREGATED]
    if len(found) != 1:
        raise LocustCsvError(f"{path}: {len(found)} {AGGREGATED!r} rows, expected 1")
    return found[0]


def _number(row: dict[str, str], column: str, path: Path) -> float:
    """A float cell; locust's "N/A" (no data) is NaN."""
    value = row[column]
    if value == NOT_AVAILABLE:
        return math.nan
    try:
        return float(value)
    except (TypeError, ValueError):
        raise LocustCsvError(f"{path}: {column!r} is {value!r}, not a number") from None


def _integer(row: dict[str, str], column: str, path: Path) -> int:
    """A count cell."""
    value = row[column]
    try:
        return int(value)
    except (TypeError, ValueError):
        raise LocustCsvError(f"{path}: {column!r} is {value!r}, not a count") from None


def _history(path: Path) -> list[_Row]:
    """The Aggregated rows of a history file, one per writer tick."""
    aggregated = [row for row in _read(path, _HISTORY_COLUMNS) if row["Name"] == AGGREGATED]
    if not aggregated:
        raise LocustCsvError(f"{path}: no {AGGREGATED!r} rows")
    return [
        _Row(
            tick=tick,
            timestamp=_integer(row, "Timestamp", path),
            users=_integer(row, "User Count", path),
            requests=_integer(row, "Total Request Count", path),
        )
        for tick, row in enumerate(aggregated)
    ]


def _first_measured_tick(rows: list[_Row], warmup_s: float) -> int:
    """The first tick surely after the stats reset.

    A drop in the count is the reset itself. Without one (the reset met a count of 0), the
    reset came warmup_s after locust's init, which precedes tick 0; tick floor(warmup_s) may
    race it, so the window starts one tick later.
    """
    drops = [row.tick for previous, row in pairwise(rows) if row.requests < previous.requests]
    return drops[-1] if drops else math.floor(warmup_s / ROW_INTERVAL_S) + 1


def _window(rows: list[_Row], start: int, path: Path) -> tuple[_Row, _Row]:
    """The first and last rows where a new count appeared while users ran, from `start` on."""
    changes = [
        row
        for previous, row in pairwise(rows)
        if row.tick >= start and row.users > 0 and row.requests not in (0, previous.requests)
    ]
    if len(changes) < 2:
        raise LocustCsvError(
            f"{path}: {len(changes)} rows with a new request count after the warm-up, need 2"
            f" to measure a rate (run longer? requests that raised are only in {EXCEPTIONS})"
        )
    running = [row for row in rows if row.users > 0]
    flat_s = (running[-1].tick - changes[-1].tick) * ROW_INTERVAL_S
    if flat_s > REPORT_INTERVAL_S:
        raise LocustCsvError(
            f"{path}: no request completed in the last {flat_s:g} s while users ran: the load"
            " stalled, so the window's end is unknown"
        )
    return changes[0], changes[-1]
