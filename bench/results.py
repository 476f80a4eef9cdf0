"""The results table: one tidy row per trial, with a versioned schema.

It owns the column names and their meaning, and reading/writing `results.csv` (and
`results.parquet` when pyarrow is installed). A failed trial is a row too, with its
reason and NaN figures — never zeros, which would read as measurements.

Schema history:
  1 — first version: identity, status, counts, rate, latency percentiles, bytes/s,
      window and runner overhead.
  2 — µs latency from merged HDR histograms (hdr_*), the server's cost over the window
      (CPU share, CPU µs per request, capacity, peak RSS/fds/threads, cache hit ratio),
      the load generator's CPU share and the generator_bound mark.
  3 — the engine (locust or wrk) and the load model: `load` (closed, a fixed open-model
      target "5000/s", or a sweep share "50%"), the resolved target_rps and the
      rate_short mark (achieved rate more than 5% below the target).
  4 — the locust HTTP client (`client`: lean or fasthttp; n/a for wrk). Older tables read
      as fasthttp (every locust run before it used FastHttpUser).
"""

from __future__ import annotations

import importlib.util
import math
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import pandas as pd

SCHEMA_VERSION = 4
CSV_NAME = "results.csv"
PARQUET_NAME = "results.parquet"

OK = "ok"
FAILED = "failed"
NAN = math.nan


@dataclass(frozen=True, slots=True)
class ResultRow:
    """One trial. Latencies in milliseconds (as locust measures them), rates per second."""

    schema_version: int
    variant: str
    cache: str
    scenario: str
    users: int
    engine: str  # locust | wrk
    client: str  # locust's HTTP client: lean | fasthttp; n/a for wrk
    load: str  # closed | "<n>/s" (open model, fixed target) | "<n>%" (of the measured maximum)
    repeat: int
    load_workers: int
    status: str  # OK or FAILED
    reason: str  # why a trial failed; empty when OK
    requests: float
    failures: float
    requests_per_s: float
    mean_ms: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    p999_ms: float
    max_ms: float
    bytes_per_s: float
    window_s: float  # seconds the rate was measured over
    overhead_s: float  # the runner's own time for this trial: start, readiness, stop
    started_at: str  # UTC, ISO 8601
    hdr_count: float  # requests in the merged latency histogram (all of locust's)
    hdr_p50_us: float
    hdr_p90_us: float
    hdr_p99_us: float
    hdr_p999_us: float
    hdr_p9999_us: float
    hdr_max_us: float
    server_cpu_share: float  # of the server's CPUs, over the measured window
    cpu_us_per_request: float  # server CPU (user + system) per request it counted
    capacity_rps: float  # requests/s the server would reach at 100% of its CPUs
    rss_mb: float  # the server's peak resident memory
    server_fds: float
    server_threads: float
    cache_hit_ratio: float  # from the server's own counters over the window
    load_cpu_share: float  # of the load generator's CPUs
    generator_bound: bool  # load above ~90% of its CPUs while the server had headroom
    target_rps: float  # the open model's target; NaN under the closed model
    rate_short: bool  # open model: achieved requests/s more than RATE_TOLERANCE below target


COLUMNS = [field.name for field in fields(ResultRow)]
_MEASURES = (
    "requests", "failures", "requests_per_s", "mean_ms", "p50_ms", "p90_ms", "p99_ms",
    "p999_ms", "max_ms", "bytes_per_s", "window_s", "hdr_count", "hdr_p50_us", "hdr_p90_us",
    "hdr_p99_us", "hdr_p999_us", "hdr_p9999_us", "hdr_max_us", "server_cpu_share",
    "cpu_us_per_request", "capacity_rps", "rss_mb", "server_fds", "server_threads",
    "cache_hit_ratio", "load_cpu_share", "target_rps",
)  # fmt: skip
RATE_TOLERANCE = 0.05

# What later schemas added, as an older table is read: NaN, or the value every older run had.
V2_MEASURES = _MEASURES[_MEASURES.index("hdr_count") : _MEASURES.index("target_rps")]
_ADDED: dict[int, dict[str, object]] = {
    2: {**dict.fromkeys(V2_MEASURES, NAN), "generator_bound": False},
    3: {"engine": "locust", "load": "closed", "target_rps": NAN, "rate_short": False},
    4: {"client": "fasthttp"},  # wrk rows are corrected to n/a as they are read
}


def best_p99_ms(frame: pd.DataFrame) -> pd.Series:
    """p99 in ms from the µs histograms where a row has them, else the engine's own figure
    (tables older than schema 2)."""
    return frame["hdr_p99_us"].div(1000).fillna(frame["p99_ms"])


def rate_short(target_rps: float, achieved_rps: float) -> bool:
    """The open model fell short: achieved more than RATE_TOLERANCE below its target."""
    return target_rps > 0 and not achieved_rps >= target_rps * (1 - RATE_TOLERANCE)


def failed_row(identity: dict[str, Any], reason: str, overhead_s: float = NAN) -> ResultRow:
    """A row for a trial that produced no measurement, saying why."""
    measures: dict[str, Any] = dict.fromkeys(_MEASURES, NAN)
    return ResultRow(
        schema_version=SCHEMA_VERSION, status=FAILED, reason=_one_line(reason),
        overhead_s=overhead_s, generator_bound=False, rate_short=False,
        **{**measures, **identity},
    )  # fmt: skip


def _one_line(reason: str, limit: int = 500) -> str:
    """Reasons go into a CSV cell: one line, bounded (the full text is in the trial's log)."""
    flat = " | ".join(line.strip() for line in reason.strip().splitlines() if line.strip())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def write_results(rows: list[ResultRow], directory: Path) -> list[Path]:
    """Write the table (CSV always, Parquet when pyarrow is present); the paths written."""
    frame = pd.DataFrame([asdict(row) for row in rows], columns=COLUMNS)
    written = [directory / CSV_NAME]
    frame.to_csv(written[0], index=False)
    if importlib.util.find_spec("pyarrow") is not None:
        written.append(directory / PARQUET_NAME)
        frame.to_parquet(written[1], index=False)
    return written


def read_results(directory: Path) -> pd.DataFrame:
    """The table of a run directory, in the current schema (older versions are upgraded:
    columns they did not have are NaN, never zero); raises ValueError for unknown ones."""
    frame = pd.read_csv(directory / CSV_NAME, keep_default_na=False, na_values=["", "nan"])
    versions = set(frame["schema_version"]) if len(frame) else {SCHEMA_VERSION}
    if not versions <= set(range(1, SCHEMA_VERSION + 1)):
        raise ValueError(
            f"{directory / CSV_NAME}: schema version {versions}, expected <= {SCHEMA_VERSION}"
        )
    oldest = min(versions) if len(frame) else 1  # a header-only table: add what it lacks
    for version, added in _ADDED.items():
        if version > oldest:
            frame = frame.assign(**{k: v for k, v in added.items() if k not in frame})
    if oldest < 4:
        frame.loc[(frame["schema_version"] < 4) & (frame["engine"] != "locust"), "client"] = "n/a"
    missing = [column for column in COLUMNS if column not in frame.columns]
    if missing:
        raise ValueError(f"{directory / CSV_NAME}: missing columns {missing}")
    # A table with no failure has an all-empty reason column, which pandas reads as floats.
    frame["reason"] = frame["reason"].astype(object).fillna("")
    return frame
