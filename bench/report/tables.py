"""The report's tables as text cells, ready for HTML or Markdown; owns number formatting.

Every table is a `Table` (title, caption, header, rows, one CSS class per row), built from
`bench.report.stats` / `bench.report.diff` frames. Marks (failed repeats, generator-bound,
short of target) go into every row they concern. The full per-panel tables here are the
closed model's; `bench.report.load_tables` has the open model's and the engines',
`bench.report.verdict_tables` the verdict's compact ones.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd

from bench.plan.axes import LOCUST
from bench.plan.matrix import CLOSED
from bench.report.diff import Verdict
from bench.report.stats import KEYS, PANEL, REFERENCE, closed, marks, panel_title
from bench.results.table import OK

CI_CAPTION = (
    "req/s: median of the OK repeats; 95% CI: Student-t interval of the mean over repeats "
    "(n/a with fewer than 2; lower bound clipped at 0). Rank: 1 + the number of variants "
    "(same cache) whose interval lies entirely above; variants with overlapping intervals "
    "are listed as not distinguishable. Speed-up: median req/s over blog's, same scenario "
    "and cache (n/a for a reference peer: it has no cache axis). Latencies: the engine's own, "
    "medians over repeats (locust rounds below 100 ms to whole ms). Server CPU: the server's "
    "CPU share over the measured window (median); a generator-bound cell near 100% had the "
    "server at its own limit too, one well below it had room that locust could not fill."
)
DIFF_CAPTION = (
    "Change: difference of the means over OK repeats, in % of the baseline's mean, with a "
    "Welch 95% interval. Inside the noise when the interval contains 0; worse/better when "
    "it does not. --fail-on-regression PCT fails when a cell's req/s interval lies entirely "
    "below -PCT% (no interval: its change), or a cell measured in the baseline has no OK "
    "trial here."
)
OPTIONAL = {
    "hdr_p50_us": "p50 µs (HDR)", "hdr_p99_us": "p99 µs (HDR)",
    "server_cpu_share": "server CPU", "cpu_us_per_request": "CPU µs/req",
    "capacity_rps": "capacity req/s",
    "rss_mb": "RSS MB", "cache_hit_ratio": "cache hits",
}  # fmt: skip


@dataclass(frozen=True)
class Table:
    """A rendered-agnostic table: text cells, a CSS class per row."""

    title: str
    caption: str
    header: list[str]
    rows: list[list[str]]
    classes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Alarm:
    """The comparison's one-sentence verdict; `raised` when some cell regressed."""

    text: str
    raised: bool


Section = tuple[str, list[Table]]


@dataclass(frozen=True)
class Page:
    """What report.html and summary.md say, in reading order: the verdict sentences, the
    baseline's alarm, what each choice buys, the compact tables, the environment, the
    sections always shown, and the full per-cell sections (collapsed in report.html, left
    out of summary.md)."""

    title: str
    verdict: list[str]
    alarm: Alarm | None
    answer: list[Table]
    environment: Table
    sections: list[Section]
    details: list[Section]
    choices: list[Table] = field(default_factory=list)


def rate(value: float) -> str:
    """Requests/s, whole numbers with thousands separators."""
    return "—" if _missing(value) else f"{value:,.0f}"


def ms(value: float) -> str:
    """A latency: 3 significant digits (locust's own resolution is 1 ms)."""
    return "—" if _missing(value) else f"{value:,.3g}" if value < 1000 else f"{value:,.0f}"


def interval(low: float, high: float, unit: str = "") -> str:
    """`[low – high]`, or n/a."""
    if _missing(low) or _missing(high):
        return "n/a"
    if unit == "%":
        return f"[{low:+.1f}% – {high:+.1f}%]"
    return f"[{rate(low)} – {rate(high)}]"


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def environment_table(env: dict[str, object], notes: list[str]) -> Table:
    """Where and how the run was made (run.json)."""
    get = _getter(env)
    packages = env.get("packages") if isinstance(env.get("packages"), dict) else {}
    assert isinstance(packages, dict)
    rows = [
        ["commit", f"{get('git', 'commit')}{_dirty(get('git', 'dirty'))}"],
        ["date (UTC)", f"{get('started_at')} → {get('finished_at')}"],
        ["machine", f"{get('machine', 'cpu_model')}, {get('machine', 'cpu_count')} CPUs, "
                    f"kernel {get('machine', 'kernel')}, "
                    f"load average at start {_number(get('machine', 'load_average_at_start'))}"],
        ["pinning", f"server CPUs {get('settings', 'runner', 'server_cpus')}, "
                    f"load CPUs {get('settings', 'runner', 'load_cpus')}, "
                    f"locust workers {get('settings', 'runner', 'load_workers')}"],
        ["timing", f"{get('settings', 'matrix', 'warmup')} s warm-up + "
                   f"{get('settings', 'matrix', 'duration')} s measured, "
                   f"{get('settings', 'matrix', 'repeats')} repeats"],
        ["versions", f"Python {get('python')}; "
                     + ", ".join(f"{k} {v}" for k, v in packages.items() if v)],
        ["command", str(get("command"))],
    ]  # fmt: skip
    if env.get("interrupted"):
        rows.append(["interrupted", "yes: the run stopped early, some cells are missing"])
    rows += [["note", note] for note in notes]
    return Table("Environment", "From run.json, recorded when the run was made.", ["", ""], rows)


def _dirty(flag: object) -> str:
    if flag is True:
        return " + uncommitted changes (the figures may not match this commit)"
    return "" if flag is False else f" (uncommitted changes: {flag})"


def _number(value: object) -> str:
    return f"{value:.2f}" if isinstance(value, float) else str(value)


def _getter(env: dict[str, object]) -> Callable[..., object]:
    """`get("machine", "kernel")`: a nested run.json value, or "unknown"."""

    def get(*path: str) -> object:
        value: object = env
        for part in path:
            value = value.get(part, "unknown") if isinstance(value, dict) else "unknown"
        return "not recorded" if value is None else value

    return get


def cell_name(cell: pd.Series) -> str:
    """`uvloop cache=on small u50`, with the engine and load when they are not the default."""
    extra = "" if cell["engine"] == LOCUST else f" {cell['engine']}"
    extra += "" if cell["load"] == CLOSED else f" load={cell['load']}"
    return f"{cell['variant']} cache={cell['cache']} {cell['scenario']} u{cell['users']}{extra}"


def cell_tables(cells: pd.DataFrame) -> list[Table]:
    """One table per scenario × users × engine: every variant × cache, closed model only."""
    cells = closed(cells)
    optional = [c for c in OPTIONAL if c in cells.columns and cells[c].notna().any()]
    header = [
        "variant", "cache", "OK/total", "req/s", "95% CI", "rank", "not distinguishable from",
        f"speed-up vs {REFERENCE}", "p50 ms", "p90 ms", "p99 ms", "p99.9 ms", "failures",
        *(OPTIONAL[c] for c in optional), "marks",
    ]  # fmt: skip
    tables = []
    for panel, here in cells.groupby(PANEL, sort=False):
        rows = [_cell_row(cell, optional) for _, cell in here.iterrows()]
        classes = [_row_class(cell) for _, cell in here.iterrows()]
        tables.append(Table(panel_title(*panel), CI_CAPTION, header, rows, classes))
    return tables


def _optional(column: str, value: object) -> str:
    if column == "cache_hit_ratio":
        return "—" if _missing(value) else f"{float(value):.1%}"  # type: ignore[arg-type]
    if column == "server_cpu_share":
        return "—" if _missing(value) else f"{float(value):.0%}"  # type: ignore[arg-type]
    return ms(value)  # type: ignore[arg-type]


def _cell_row(cell: pd.Series, optional: list[str]) -> list[str]:
    rank = "n/a" if _missing(cell["rank"]) else f"{int(cell['rank'])}"
    speedup = "n/a" if _missing(cell["speedup"]) else f"{cell['speedup']:.2f}×"
    extra = [_optional(c, cell[c]) for c in optional]
    reasons = [f"failed: {_short(reason)}" for reason in cell["failed_reasons"]]
    return [
        str(cell["variant"]), str(cell["cache"]), f"{cell['n_ok']}/{cell['n_total']}",
        rate(cell["rps_median"]), interval(cell["rps_low"], cell["rps_high"]), rank,
        "n/a" if rank == "n/a" else ", ".join(cell["indistinct"]) or "—", speedup,
        ms(cell["p50_ms"]), ms(cell["p90_ms"]), ms(cell["p99_ms"]), ms(cell["p999_ms"]),
        rate(cell["failures"]), *extra, "; ".join([*marks(cell), *reasons]) or "—",
    ]  # fmt: skip


def _short(text: str, limit: int = 90) -> str:
    """A reason cut to fit a table cell (the Failed trials table has it whole)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _row_class(cell: pd.Series) -> str:
    found = marks(cell)
    return "failed" if any(m.startswith("failed") for m in found) else "marked" if found else ""


def shortfall(cells: pd.DataFrame) -> list[str]:
    """One sentence when some open-model cell fell short of its target; [] otherwise."""
    short = cells[cells["load"] != CLOSED]
    short = short[short["rate_short"]]
    if short.empty:
        return []
    names = [cell_name(cell) for _, cell in short.iterrows()]
    more = f" and {len(names) - 6} more" if len(names) > 6 else ""  # the tables list them all
    text = f"open model: {len(short)} cell(s) short of target (see Every cell · open model)"
    return [f"{text}: {', '.join(names[:6])}{more}"]


def diff_table(diff: pd.DataFrame, baseline: str, cells: pd.DataFrame) -> Table:
    """Each cell against the baseline run: req/s and p99 change with their intervals."""
    header = [
        "scenario", "users", "engine", "load", "variant", "cache", "req/s baseline",
        "req/s now", "Δ req/s",
        "95% CI", "req/s verdict", "p99 ms baseline", "p99 ms now", "Δ p99", "95% CI",
        "p99 verdict", "OK repeats now/baseline", "marks now",
    ]  # fmt: skip
    flags = {tuple(c[k] for k in KEYS): "; ".join(marks(c)) for _, c in cells.iterrows()}
    rows, classes = [], []
    for _, d in diff.iterrows():
        rows.append([
            str(d["scenario"]), str(d["users"]), str(d["engine"]), str(d["load"]),
            str(d["variant"]), str(d["cache"]),
            rate(d["rps_base"]), rate(d["rps_new"]), _pct(d["rps_change_pct"]),
            interval(d["rps_low_pct"], d["rps_high_pct"], "%"), str(d["rps_verdict"]),
            ms(d["p99_base"]), ms(d["p99_new"]), _pct(d["p99_change_pct"]),
            interval(d["p99_low_pct"], d["p99_high_pct"], "%"), str(d["p99_verdict"]),
            f"{d['n_new']}/{d['n_base']}", flags.get(tuple(d[k] for k in KEYS)) or "—",
        ])  # fmt: skip
        classes.append(_diff_class(d))
    return Table(f"Against the baseline {baseline}", DIFF_CAPTION, header, rows, classes)


def _pct(value: float) -> str:
    return "—" if _missing(value) else f"{value:+.1f}%"


def _diff_class(d: pd.Series) -> str:
    verdicts = {d["rps_verdict"], d["p99_verdict"]}
    if Verdict.WORSE in verdicts or Verdict.ONLY_BASELINE in verdicts:
        return "regression"
    return "better" if Verdict.BETTER in verdicts else "noise"


def failed_table(results: pd.DataFrame) -> Table | None:
    """Every failed trial with its reason; None when none failed."""
    failed = results[results["status"] != OK]
    if failed.empty:
        return None
    columns = ["scenario", "users", "engine", "load", "variant", "cache", "repeat", "reason"]
    rows = [[str(v) for v in row] for row in failed[columns].itertuples(index=False)]
    return Table("Failed trials", "From the results table.", columns, rows, ["failed"] * len(rows))
