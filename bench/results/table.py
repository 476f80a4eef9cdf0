"""The results table: one tidy row per trial, with a versioned schema.

It owns the row (its columns are the identity of a trial and the fields of the measurement
dataclasses in `bench.results.figures`, in a fixed order), the schema history, and
reading/writing `results.csv` (one format: an optional Parquet copy went untested and
unread). A failed trial is a row too, with its reason and NaN figures — never zeros, which
would read as measurements.

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
  5 — what our server was: its I/O `style` and `loop`, the `reader` it read files with and
      the variant's `default_reader` (all n/a for a peer); `cache` may be alru. Older
      tables read with the four variants of their time (`LEGACY_VARIANTS`) and their
      readers: aiofile on an event loop, blocking in threads.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import pandas as pd

from bench.plan.servers import server_name
from bench.results.figures import Costs, LatencySummary, LoadFigures, Measured

SCHEMA_VERSION = 5
CSV_NAME = "results.csv"

OK = "ok"
FAILED = "failed"
NAN = math.nan


@dataclass(frozen=True)
class Identity:
    """Which trial a row is, and whether it produced a measurement."""

    schema_version: int
    variant: str
    style: str  # our server's I/O style (protocol, streams, sockets, blog, threaded); n/a
    loop: str  # asyncio | uvloop | none (threads); n/a for a peer
    cache: str  # off | on | alru; n/a for a peer
    reader: str  # aiofile | thread | blocking; n/a for a peer
    default_reader: str  # the variant's own reader (a label names any other); n/a for a peer
    scenario: str
    users: int
    engine: str  # locust | wrk
    client: str  # locust's HTTP client: lean | fasthttp; n/a for wrk
    load: str  # closed | "<n>/s" (open model, fixed target) | "<n>%" (of the measured maximum)
    repeat: int
    load_workers: int
    status: str  # OK or FAILED
    reason: str  # why a trial failed; empty when OK


@dataclass(frozen=True)
class Timing:
    """The runner's own time for a trial, and when it began."""

    overhead_s: float  # start, readiness, stop: the trial's time outside the load
    started_at: str  # UTC, ISO 8601


@dataclass(frozen=True)
class OpenModel:
    """The open model's target and whether it was reached (NaN and False when closed)."""

    target_rps: float
    rate_short: bool  # achieved requests/s more than RATE_TOLERANCE below the target


# The columns, in this order: identity, load figures, timing, µs latency, costs, open model.
# Each group is defined once (bench.results.figures for what is measured); bases are listed
# last-first because a dataclass takes its fields from the base furthest back in its MRO.
@dataclass(frozen=True)
class ResultRow(OpenModel, Costs, LatencySummary, Timing, LoadFigures, Identity):
    """One trial. Latencies in milliseconds (as the engine measures them) and µs (hdr_*),
    rates per second."""


COLUMNS = [field.name for field in fields(ResultRow)]
_FLAGS = [field.name for field in fields(ResultRow) if field.type in ("bool", bool)]
_MEASURED = (LoadFigures, LatencySummary, Costs, OpenModel)
_MEASURES = tuple(
    field.name for part in _MEASURED for field in fields(part) if field.name not in _FLAGS
)
RATE_TOLERANCE = 0.05

# What later schemas added, as an older table is read: NaN, or the value every older run had.
V2_MEASURES = tuple(
    field.name
    for part in (LatencySummary, Costs)
    for field in fields(part)
    if field.name in _MEASURES
)
_ADDED: dict[int, dict[str, object]] = {
    2: {**dict.fromkeys(V2_MEASURES, NAN), "generator_bound": False},
    3: {"engine": "locust", "load": "closed", "target_rps": NAN, "rate_short": False},
    4: {"client": "fasthttp"},  # wrk rows are corrected to n/a as they are read
}
NOT_OURS = "n/a"
# (style, loop, reader) of every variant a table older than schema 5 can hold.
LEGACY_VARIANTS = {
    "blog": ("blog", "asyncio", "aiofile"),
    "threaded": ("threaded", "none", "blocking"),
    "asyncio": ("protocol", "asyncio", "aiofile"),
    "uvloop": ("protocol", "uvloop", "aiofile"),
}


def _with_legacy_servers(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows older than schema 5 get the style, loop and reader their variant had then."""
    old = frame["schema_version"] < 5
    unknown = (NOT_OURS,) * 3
    for index, column in enumerate(("style", "loop", "reader")):
        legacy = frame["variant"].map(lambda v, i=index: LEGACY_VARIANTS.get(str(v), unknown)[i])
        current = frame[column] if column in frame else pd.Series(NOT_OURS, index=frame.index)
        frame[column] = current.where(~old, legacy)
    frame["default_reader"] = (
        frame["default_reader"] if "default_reader" in frame else frame["reader"]
    ).where(~old, frame["reader"])
    return frame


def name_servers(frame: pd.DataFrame) -> pd.DataFrame:
    """The table with each `variant` replaced by its server's name (`asyncio·thread` for a
    reader not the variant's own): what every summary groups and labels by."""
    if frame.empty:
        return frame
    names = [
        server_name(str(v), str(r), str(d))
        for v, r, d in zip(frame["variant"], frame["reader"], frame["default_reader"], strict=True)
    ]
    return frame.assign(variant=names)


def best_p99_ms(frame: pd.DataFrame) -> pd.Series:
    """p99 in ms from the µs histograms where a row has them, else the engine's own figure
    (tables older than schema 2)."""
    return frame["hdr_p99_us"].div(1000).fillna(frame["p99_ms"])


def rate_short(target_rps: float, achieved_rps: float) -> bool:
    """The open model fell short: achieved more than RATE_TOLERANCE below its target."""
    return target_rps > 0 and not achieved_rps >= target_rps * (1 - RATE_TOLERANCE)


def failed_row(identity: dict[str, Any], reason: str, overhead_s: float = NAN) -> ResultRow:
    """A row for a trial that produced no measurement, saying why."""
    measures: dict[str, Any] = dict.fromkeys(_MEASURES, NAN) | dict.fromkeys(_FLAGS, False)
    return ResultRow(
        schema_version=SCHEMA_VERSION, status=FAILED, reason=_one_line(reason),
        overhead_s=overhead_s, **{**measures, **identity},
    )  # fmt: skip


def measured_row(
    identity: dict[str, Any], measured: Measured, costs: Costs, *, overhead_s: float,
    target_rps: float,
) -> ResultRow:  # fmt: skip
    """The row of a trial that ran: every field of its figures, latency and costs."""
    return ResultRow(
        schema_version=SCHEMA_VERSION, status=OK, reason="", overhead_s=overhead_s,
        **_values(measured, LoadFigures), **_values(measured.latency, LatencySummary),
        **_values(costs, Costs), target_rps=target_rps,
        rate_short=rate_short(target_rps, measured.requests_per_s), **identity,
    )  # fmt: skip


def _values(value: object, kind: type) -> dict[str, Any]:
    """The fields `kind` defines, read from `value` (an instance of it or of a subclass)."""
    return {field.name: getattr(value, field.name) for field in fields(kind)}


def _one_line(reason: str, limit: int = 500) -> str:
    """Reasons go into a CSV cell: one line, bounded (the full text is in the trial's log)."""
    flat = " | ".join(line.strip() for line in reason.strip().splitlines() if line.strip())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def write_results(rows: list[ResultRow], directory: Path) -> list[Path]:
    """Write the table as `results.csv`; the paths written."""
    frame = pd.DataFrame([asdict(row) for row in rows], columns=COLUMNS)
    written = [directory / CSV_NAME]
    frame.to_csv(written[0], index=False)
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
    if oldest < 5:
        frame = _with_legacy_servers(frame)
    missing = [column for column in COLUMNS if column not in frame.columns]
    if missing:
        raise ValueError(f"{directory / CSV_NAME}: missing columns {missing}")
    # A table with no failure has an all-empty reason column, which pandas reads as floats.
    frame["reason"] = frame["reason"].astype(object).fillna("")
    return frame
