"""The perf benchmark's results: a data model with its targets, and its JSON form.

It owns what was measured (rows), the targets from the issue and the pure verdicts derived
from them. It neither measures nor formats text; `bench.perf.render` reads these objects and
`to_json` gives the same content as a versioned, self-describing record.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from bench.engines.wrk.command import WrkResult
from server.variants import VARIANTS

SCHEMA = "staticbench.perf/3"
MB = 1_000_000
NGINX = "nginx"
# nginx made to close every connection, as the blog variants do by design (issue 11: the
# post's one request per connection): the 1 MiB table compares them with it too.
NGINX_CLOSE = "nginx-close"
CLOSES_BY_DESIGN = tuple(name for name, variant in VARIANTS.items() if variant.style == "blog")
# The ceiling sketch (bench/perf/ceiling.py) on each loop, and which variant runs on which.
CEILINGS = {"ceiling-asyncio": "asyncio", "ceiling-uvloop": "uvloop"}
CEILING_OF = {
    name: f"ceiling-{variant.loop}" for name, variant in VARIANTS.items() if variant.loop != "none"
}
# Close-per-request: our blog variant against the original post's design.
CLOSE_TARGET = ("blog", "original", 3.0)
RSS_LIMIT_MB = 60.0
IDLE_CONNECTIONS = 1000
IDLE_LIMIT_MB = 30.0
IDLE_TARGETED = frozenset({"asyncio", "uvloop"})
# A row measured with another reader than its variant's own is named VARIANT:READER.
READER_SEPARATOR = ":"

PASS, MISS, NONE, INVALID = "PASS", "MISS", "—", "INVALID"


def verdict(value: float | None, target: float | None, *, at_most: bool = False) -> str:
    """PASS/MISS against a target, '—' when there is no target or no value."""
    if value is None or target is None:
        return NONE
    ok = value < target if at_most else value >= target
    return PASS if ok else MISS


@dataclass(frozen=True, slots=True)
class LoadRow:
    """One server under one wrk load; `result` is None when it could not be measured.

    `server_core`/`load_core`: busy share (0–1) of the server's and of wrk's pinned cores
    during the measured run, None when nothing was pinned; `server_cpu_s`: the CPU seconds
    of the server's own process tree in that run (what other processes cost is not in it).
    """

    server: str
    result: WrkResult | None
    note: str = ""
    server_core: float | None = None
    load_core: float | None = None
    server_cpu_s: float | None = None  # the server's own process tree: user + system seconds
    rounds: tuple[float, ...] = ()  # every round's req/s, when this row is their median

    @property
    def spread(self) -> float | None:
        """(max - min) / median of the rounds' req/s; None for fewer than two rounds."""
        if len(self.rounds) < 2 or self.result is None or not self.result.requests_per_s:
            return None
        return (max(self.rounds) - min(self.rounds)) / self.result.requests_per_s

    @property
    def cpu_us_per_request(self) -> float | None:
        """The server process tree's CPU time per response, in µs (other processes excluded)."""
        if self.server_cpu_s is None or self.result is None or not self.result.requests:
            return None
        return self.server_cpu_s * 1e6 / self.result.requests


def median_rows(rounds: Sequence[list[LoadRow]]) -> list[LoadRow]:
    """One row per server from rounds of the same table: the round with the median req/s
    (the lower middle one for an even count), which keeps its own latencies and CPU, and
    every round's req/s. A server that was not measured in every round shows why, not a
    figure from fewer rounds than the others have."""
    by_server: dict[str, list[LoadRow | None]] = {}
    for number, rows in enumerate(rounds):
        for row in rows:
            by_server.setdefault(row.server, [None] * len(rounds))[number] = row
    return [_median(server, rows) for server, rows in by_server.items()]


def _median(server: str, rows: list[LoadRow | None]) -> LoadRow:
    for number, row in enumerate(rows, 1):
        if row is None or row.result is None:
            why = "not measured" if row is None else row.note
            return LoadRow(server, None, f"round {number} of {len(rows)}: {why}")
    measured = [row for row in rows if row is not None]
    median = sorted(measured, key=_rate)[(len(measured) - 1) // 2]
    return replace(median, rounds=tuple(map(_rate, measured)))


def _rate(row: LoadRow) -> float:
    assert row.result is not None
    return row.result.requests_per_s


@dataclass(frozen=True, slots=True)
class MemoryRow:
    """RSS of one variant's process tree after load, and what idle connections added."""

    server: str
    rss_bytes: int
    idle_opened: int
    idle_held: int
    idle_delta_bytes: int | None
    note: str = ""

    @property
    def rss_mb(self) -> float:
        """RSS after load, in MB (10^6 bytes)."""
        return self.rss_bytes / MB

    @property
    def idle_delta_mb(self) -> float | None:
        """RSS added by the idle connections, in MB; None when none stayed open."""
        return None if self.idle_delta_bytes is None else self.idle_delta_bytes / MB

    @property
    def per_connection_kb(self) -> float | None:
        """RSS added per idle connection held, in kB."""
        if self.idle_delta_bytes is None or not self.idle_held:
            return None
        return self.idle_delta_bytes / self.idle_held / 1000


@dataclass(slots=True)
class Report:
    """Everything one `python -m bench.perf` run found, plus how and where it ran."""

    machine: dict[str, str]
    versions: dict[str, str]
    settings: dict[str, Any]
    keepalive: list[LoadRow] = field(default_factory=list)
    close: list[LoadRow] = field(default_factory=list)
    large: list[LoadRow] = field(default_factory=list)
    memory: list[MemoryRow] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Comparison:
    """A ratio column: a row's req/s over its reference's, with the targets some rows have."""

    label: str
    reference: str  # the server every row is compared with, unless `per_server` names another
    targets: dict[str, float]
    per_server: dict[str, str] = field(default_factory=dict)

    def reference_of(self, server: str) -> str | None:
        """The server `server` is compared with; None when it has none (or is the reference)."""
        variant = server.split(READER_SEPARATOR, 1)[0]
        reference = self.per_server.get(variant, self.reference if not self.per_server else None)
        return None if reference == server else reference


# Issue targets (issue 12): keep-alive against nginx (one worker) and against the ceiling
# sketch on the variant's own loop; close-per-request and the 1 MiB file against nginx.
VS_NGINX_KEEPALIVE = Comparison("nginx", NGINX, {"uvloop": 0.9, "asyncio": 0.9, "threaded": 0.5})
VS_CEILING = Comparison("ceiling", "", {"uvloop": 0.5, "asyncio": 0.5}, CEILING_OF)
VS_NGINX_CLOSE = Comparison("nginx", NGINX, {"uvloop": 0.8})
VS_ORIGINAL = Comparison(CLOSE_TARGET[1], CLOSE_TARGET[1], {CLOSE_TARGET[0]: CLOSE_TARGET[2]})
VS_NGINX_LARGE = Comparison(
    "nginx", NGINX, {name: 0.9 for name in ("blog", "threaded", "asyncio", "uvloop")}
)
# Issue 11: a kept-alive connection against the post's one request per connection.
VS_BLOG = Comparison("blog", "blog", {"sockets": 2.0, "streams": 2.0})
KEEPALIVE_COMPARISONS = (VS_NGINX_KEEPALIVE, VS_CEILING, VS_BLOG)
CLOSE_COMPARISONS = (VS_NGINX_CLOSE, Comparison("ceiling", "", {}, CEILING_OF), VS_ORIGINAL)
VS_NGINX_CLOSE_LARGE = Comparison(
    "nginx-close", NGINX_CLOSE, {"blog": 0.9}, dict.fromkeys(CLOSES_BY_DESIGN, NGINX_CLOSE)
)
LARGE_COMPARISONS = (VS_NGINX_LARGE, VS_NGINX_CLOSE_LARGE)


def rate_of(rows: list[LoadRow], server: str | None) -> float | None:
    """Requests/s of `server` in `rows`, None when absent or unmeasured."""
    for row in rows:
        if row.server == server and row.result is not None:
            return row.result.requests_per_s
    return None


def ratio(row: LoadRow, reference: float | None) -> float | None:
    """The row's requests/s divided by the reference's, when both exist."""
    if row.result is None or not reference:
        return None
    return row.result.requests_per_s / reference


Assessed = tuple[float | None, float | None, str]


def assess(rows: list[LoadRow], row: LoadRow, comparison: Comparison) -> Assessed:
    """(ratio to the comparison's reference, target, verdict) for one row."""
    value = ratio(row, rate_of(rows, comparison.reference_of(row.server)))
    target = comparison.targets.get(row.server)
    if target is not None and row.result is not None and row.result.non_2xx_3xx:
        return value, target, INVALID  # a rate of error responses meets no target
    return value, target, verdict(value, target)


def overall(outcomes: list[str]) -> str:
    """INVALID or MISS if any row's target was, PASS if one was met and none missed, else '—'."""
    for worst in (INVALID, MISS):
        if worst in outcomes:
            return worst
    return PASS if PASS in outcomes else NONE


def keepalive_assessment(report: Report, row: LoadRow) -> Assessed:
    """(ratio to nginx, target, verdict) for a keep-alive row."""
    return assess(report.keepalive, row, VS_NGINX_KEEPALIVE)


def close_assessment(report: Report, row: LoadRow) -> Assessed:
    """(ratio to the original design, target, verdict) for a close-per-request row."""
    return assess(report.close, row, VS_ORIGINAL)


def _load_json(rows: list[LoadRow], row: LoadRow, comparisons: tuple[Comparison, ...]) -> Any:
    measured = asdict(row.result) if row.result is not None else None
    if row.result is not None and measured is not None:  # JSON object keys must be strings
        measured["percentiles_ms"] = {f"{p:g}": v for p, v in measured["percentiles_ms"].items()}
        measured["errors"] = row.result.errors
    ratios = []
    for comparison in comparisons:
        value, target, outcome = assess(rows, row, comparison)
        ratios.append({"reference": comparison.reference_of(row.server), "ratio": value,
                       "target": target, "verdict": _json_verdict(outcome)})  # fmt: skip
    return {"server": row.server, "wrk": measured, "server_core": row.server_core,
            "load_core": row.load_core, "server_cpu_s": row.server_cpu_s,
            "cpu_us_per_request": row.cpu_us_per_request, "ratios": ratios,
            "rounds_requests_per_s": list(row.rounds), "spread": row.spread,
            "note": row.note}  # fmt: skip


def _json_verdict(outcome: str) -> str | None:
    return None if outcome == NONE else outcome


def _memory_json(row: MemoryRow) -> dict[str, Any]:
    targeted = row.server in IDLE_TARGETED
    return {
        **asdict(row),
        "rss_verdict": _json_verdict(verdict(row.rss_mb, RSS_LIMIT_MB, at_most=True)),
        "idle_verdict": _json_verdict(
            verdict(row.idle_delta_mb, IDLE_LIMIT_MB if targeted else None, at_most=True)
        ),
    }


def to_json(report: Report) -> dict[str, Any]:
    """The report as plain JSON data, verdicts included, tagged with its schema."""
    return {
        "schema": SCHEMA,
        "machine": report.machine,
        "versions": report.versions,
        "settings": report.settings,
        "targets": {
            "keepalive_ratio_to_nginx": VS_NGINX_KEEPALIVE.targets,
            "keepalive_ratio_to_ceiling": VS_CEILING.targets,
            "close_ratio_to_nginx": VS_NGINX_CLOSE.targets,
            "close_ratio_blog_to_original": CLOSE_TARGET[2],
            "large_ratio_to_nginx": VS_NGINX_LARGE.targets,
            "large_ratio_to_nginx_close": VS_NGINX_CLOSE_LARGE.targets,
            "rss_limit_mb": RSS_LIMIT_MB,
            "idle_connections": IDLE_CONNECTIONS,
            "idle_limit_mb": IDLE_LIMIT_MB,
        },
        "keepalive": [
            _load_json(report.keepalive, row, KEEPALIVE_COMPARISONS) for row in report.keepalive
        ],
        "close": [_load_json(report.close, row, CLOSE_COMPARISONS) for row in report.close],
        "large": [_load_json(report.large, row, LARGE_COMPARISONS) for row in report.large],
        "memory": [_memory_json(row) for row in report.memory],
        "notes": report.notes,
    }
