"""Reports: a run directory's results table turned into report.html, summary.md and charts.

`build_report(run_dir, baseline)` reads only what the run wrote (results.csv, run.json and
locust's history CSVs under raw/) — it never runs anything, so a report can be rebuilt at
any time. The verdict comes first (`verdict`: per scenario × cache, the variants ranked by
the metric valid there, with paired intervals; its sentences), then what each design
choice buys (`choices`: paired ratios of servers that differ in one choice), the verdict's
compact tables and two answer charts, the environment, and every cell's full table
collapsed below. Numbers: `stats`, `verdict`, `choices`, `diff`, `agreement`; charts:
`verdict_charts`, `charts`, `timeline`, `load_charts`; text: `verdict_tables`,
`choice_tables`, `tables`, `load_tables`, `html`, `markdown`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from bench.report import charts, load_charts, timeline, verdict_charts
from bench.report.agreement import agreement
from bench.report.choice_tables import choice_table
from bench.report.choices import what_choices_buy
from bench.report.diff import Verdict, compare, regressions
from bench.report.html import render_page
from bench.report.inputs import ReportInputError, RunData, load_run
from bench.report.load_tables import agreement_headline, agreement_table, open_tables
from bench.report.markdown import render_markdown_summary
from bench.report.palette import Palette
from bench.report.stats import cell_stats, closed, panels
from bench.report.tables import (
    Alarm,
    Page,
    Section,
    Table,
    cell_name,
    cell_tables,
    diff_table,
    environment_table,
    failed_table,
    shortfall,
)  # fmt: skip
from bench.report.verdict import EqualLoad, GroupVerdict, equal_loads, verdicts
from bench.report.verdict_tables import (
    equal_load_line,
    equal_load_tables,
    verdict_line,
    verdict_tables,
)  # fmt: skip

__all__ = ["ReportFiles", "ReportInputError", "build_report", "regressions"]
HTML_NAME = "report.html"
MARKDOWN_NAME = "summary.md"
CHARTS_DIR = "charts"


@dataclass(frozen=True)
class ReportFiles:
    """What a report wrote, and the baseline comparison it made (None without a baseline)."""

    html: Path
    markdown: Path
    charts: list[Path]
    diff: pd.DataFrame | None


def build_report(
    run_dir: Path,
    baseline: Path | None = None,
    fail_on_regression: float | None = None,
    *,
    charts: bool = True,
) -> ReportFiles:
    """Write report.html, summary.md and charts/*.png into `run_dir`; return their paths.

    ReportInputError when `run_dir` (or `baseline`) is not a readable run directory.
    `fail_on_regression` only adds its verdict to the page; the caller decides the exit code.
    `charts=False` writes the same pages without charts: drawing them is ~85% of a build
    (matplotlib), which a regression gate reading only the exit code and tables never needs.
    """
    run = load_run(run_dir)
    base = load_run(baseline, with_history=False) if baseline is not None else None
    cells = cell_stats(run.results)
    pairs = agreement(cells)
    groups = verdicts(run.results)
    loads = equal_loads(run.results)
    answer, drawn = _charts(run, cells, pairs, (groups, loads), run_dir / CHARTS_DIR, charts)
    sections: list[Section] = []
    diff, alarm = None, None
    if base is not None:
        diff = compare(run.results, base.results)
        table = diff_table(diff, base.directory.resolve().name, cells)
        sections.append(("Against the baseline", [table]))
        alarm = _alarm(diff, fail_on_regression)
    failed = failed_table(run.results)
    sections += [("Failures", [failed])] if failed is not None else []
    page = Page(
        title=f"staticbench report — run {run_dir.resolve().name}",
        verdict=_verdict_lines(cells, pairs, groups, loads),
        alarm=alarm,
        answer=verdict_tables(groups) + equal_load_tables(cells, loads),
        environment=environment_table(run.environment, run.notes),
        sections=sections,
        details=_details(cells, pairs),
        choices=[t for t in [choice_table(what_choices_buy(run.results))] if t is not None],
    )
    html = run_dir / HTML_NAME
    html.write_text(render_page(page, answer, drawn), encoding="utf-8")
    markdown = run_dir / MARKDOWN_NAME
    markdown.write_text(render_markdown_summary(page), encoding="utf-8")
    paths = [chart.path for chart in [*answer, *drawn]]
    return ReportFiles(html, markdown, paths, diff)


def _verdict_lines(
    cells: pd.DataFrame, pairs: pd.DataFrame, groups: list[GroupVerdict], loads: list[EqualLoad]
) -> list[str]:
    """The sentences at the top: one per scenario × cache, where each equal load came from,
    the engines' agreement and any open-model shortfall."""
    if cells.empty:
        return ["(no trials)"]
    lines = [verdict_line(group) for group in groups]
    lines += [equal_load_line(equal) for equal in loads]
    return lines + agreement_headline(pairs) + shortfall(cells)


def _details(cells: pd.DataFrame, pairs: pd.DataFrame) -> list[Section]:
    """The full per-cell tables, each section only when it has something to show."""
    found: list[tuple[str, list[Table | None]]] = [
        (
            "Every cell · closed model (each server's maximum; its latency includes locust's "
            "own queue and is not ranked)",
            [*cell_tables(cells)],
        ),
        ("Every cell · open model (a target rate)", [*open_tables(cells)]),
        ("Engines", [agreement_table(pairs)]),
    ]
    kept = [(name, [t for t in tables if t is not None]) for name, tables in found]
    return [(name, tables) for name, tables in kept if tables]


def _charts(
    run: RunData,
    cells: pd.DataFrame,
    pairs: pd.DataFrame,
    verdict: tuple[list[GroupVerdict], list[EqualLoad]],
    out: Path,
    draw: bool = True,
) -> tuple[list[charts.Chart], list[charts.Chart]]:
    """The answer charts, then every other chart the data supports, in reading order (none
    unless `draw`)."""
    out.mkdir(exist_ok=True)
    for stale in out.glob("*.png"):  # a rebuild must not leave charts of an older build
        stale.unlink()
    if cells.empty or not draw:
        return [], []
    palette = Palette(cells["variant"].astype(str))
    groups, loads = verdict
    answer = [
        verdict_charts.answer_chart(groups, palette, out),
        verdict_charts.equal_latency_chart(cells, loads, palette, out),
    ]
    maxima = closed(cells)
    drawn: list[charts.Chart | None] = []
    if not maxima.empty:  # a run may be all fixed open-model targets
        drawn += [
            charts.throughput_chart(maxima, run.results, palette, out),
            charts.latency_chart(maxima, palette, out),
            charts.cache_chart(maxima, palette, out),
            timeline.resource_chart(maxima, palette, out),
        ]
    drawn += [
        load_charts.sweep_chart(cells, palette, out),
        load_charts.agreement_chart(pairs, palette, out),
    ]
    for panel in panels(maxima):
        drawn.append(
            timeline.timeline_chart(run.history, maxima, panel, palette, run.warmup_s, out)
        )
    return [c for c in answer if c is not None], [c for c in drawn if c is not None]


def _alarm(diff: pd.DataFrame, pct: float | None) -> Alarm:
    """One sentence on the comparison, naming the cells that regressed."""
    failing = diff[diff["rps_verdict"] == Verdict.WORSE] if pct is None else regressions(diff, pct)
    names = ", ".join(cell_name(row) for _, row in failing.iterrows())
    if pct is None:
        text = f"{len(failing)} cell(s) slower than the baseline beyond the noise (req/s)"
    elif failing.empty:
        text = f"No cell regressed by more than {pct:g}% beyond the noise"
    else:
        text = f"{len(failing)} cell(s) regressed by more than {pct:g}% beyond the noise"
    return Alarm(f"{text}: {names}." if names else f"{text}.", raised=not failing.empty)
