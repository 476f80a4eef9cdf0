"""Reports: a run directory's results table turned into report.html, summary.md and charts.

`build_report(run_dir, baseline)` reads only what the run wrote (results.csv, run.json and
locust's history CSVs under raw/) — it never runs anything, so a report can be rebuilt at
any time. Closed-model cells (each server's maximum) get the per-panel tables and bar
charts; open-model cells their own tables and the latency-vs-load chart; cells run under
both engines the capacity check. Numbers: `stats`, `diff`, `agreement`; charts: `charts`,
`timeline`, `load_charts`; text: `tables`, `load_tables`, `html`, `markdown`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from bench.report import charts, load_charts, timeline
from bench.report.agreement import agreement
from bench.report.diff import Verdict, compare, regressions
from bench.report.html import render_page
from bench.report.inputs import ReportInputError, RunData, load_run
from bench.report.load_tables import agreement_headline, agreement_table, open_tables
from bench.report.markdown import render_markdown_summary
from bench.report.palette import Palette
from bench.report.stats import cell_stats, closed, panels
from bench.report.tables import (
    Alarm,
    Table,
    cell_name,
    cell_tables,
    diff_table,
    environment_table,
    failed_table,
    headlines,
)  # fmt: skip

__all__ = ["ReportFiles", "ReportInputError", "build_report", "regressions"]
Section = tuple[str, list[Table]]
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
    run_dir: Path, baseline: Path | None = None, fail_on_regression: float | None = None
) -> ReportFiles:
    """Write report.html, summary.md and charts/*.png into `run_dir`; return their paths.

    ReportInputError when `run_dir` (or `baseline`) is not a readable run directory.
    `fail_on_regression` only adds its verdict to the page; the caller decides the exit code.
    """
    run = load_run(run_dir)
    base = load_run(baseline, with_history=False) if baseline is not None else None
    cells = cell_stats(run.results)
    pairs = agreement(cells)
    drawn = _charts(run, cells, pairs, run_dir / CHARTS_DIR)
    sections: list[Section] = []
    diff, verdict = None, None
    if base is not None:
        diff = compare(run.results, base.results)
        table = diff_table(diff, base.directory.resolve().name, cells)
        sections.append(("Against the baseline", [table]))
        verdict = _verdict(diff, fail_on_regression)
    sections += _sections(run, cells, pairs)
    title = f"staticbench report — run {run_dir.resolve().name}"
    environment = environment_table(run.environment, run.notes)
    lines = headlines(cells) + agreement_headline(pairs) if not cells.empty else ["(no trials)"]
    html = run_dir / HTML_NAME
    html.write_text(
        render_page(title, environment, lines, sections, drawn, verdict), encoding="utf-8"
    )
    markdown = run_dir / MARKDOWN_NAME
    markdown.write_text(
        render_markdown_summary(title, environment, lines, sections, verdict), encoding="utf-8"
    )
    return ReportFiles(html, markdown, [chart.path for chart in drawn], diff)


def _sections(run: RunData, cells: pd.DataFrame, pairs: pd.DataFrame) -> list[Section]:
    """The run's own tables, each section only when it has something to show."""
    found: list[tuple[str, list[Table | None]]] = [
        ("Per scenario (closed model: each server's maximum)", [*cell_tables(cells)]),
        ("Open model (a target rate)", [*open_tables(cells)]),
        ("Engines", [agreement_table(pairs)]),
        ("Failures", [failed_table(run.results)]),
    ]
    kept = [(name, [t for t in tables if t is not None]) for name, tables in found]
    return [(name, tables) for name, tables in kept if tables]


def _charts(
    run: RunData, cells: pd.DataFrame, pairs: pd.DataFrame, out: Path
) -> list[charts.Chart]:
    """Every chart the data supports, in reading order."""
    out.mkdir(exist_ok=True)
    for stale in out.glob("*.png"):  # a rebuild must not leave charts of an older build
        stale.unlink()
    if cells.empty:
        return []
    palette = Palette(cells["variant"].astype(str))
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
    return [chart for chart in drawn if chart is not None]


def _verdict(diff: pd.DataFrame, pct: float | None) -> Alarm:
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
