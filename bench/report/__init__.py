"""Reports: a run directory's results table turned into report.html, summary.md and charts.

`build_report(run_dir, baseline)` reads only what the run wrote (results.csv, run.json and
locust's history CSVs under raw/) — it never runs anything, so a report can be rebuilt at
any time. Numbers: `stats`, `diff`; charts: `charts`, `timeline`; text: `tables`, `html`,
`markdown`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from bench.report import charts, timeline
from bench.report.diff import Verdict, compare, regressions
from bench.report.html import render_page
from bench.report.inputs import ReportInputError, RunData, load_run
from bench.report.markdown import render_summary
from bench.report.palette import Palette
from bench.report.stats import cell_stats
from bench.report.tables import (
    Alarm,
    Table,
    cell_tables,
    diff_table,
    environment_table,
    failed_table,
    headlines,
)

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
    run_dir: Path, baseline: Path | None = None, fail_on_regression: float | None = None
) -> ReportFiles:
    """Write report.html, summary.md and charts/*.png into `run_dir`; return their paths.

    ReportInputError when `run_dir` (or `baseline`) is not a readable run directory.
    `fail_on_regression` only adds its verdict to the page; the caller decides the exit code.
    """
    run = load_run(run_dir)
    base = load_run(baseline, with_history=False) if baseline is not None else None
    cells = cell_stats(run.results)
    drawn = _charts(run, cells, run_dir / CHARTS_DIR)
    sections: list[tuple[str, list[Table]]] = []
    diff, verdict = None, None
    if base is not None:
        diff = compare(run.results, base.results)
        table = diff_table(diff, base.directory.resolve().name, cells)
        sections.append(("Against the baseline", [table]))
        verdict = _verdict(diff, fail_on_regression)
    sections.append(("Per scenario", cell_tables(cells)))
    failed = failed_table(run.results)
    if failed is not None:
        sections.append(("Failures", [failed]))
    title = f"staticbench report — run {run_dir.resolve().name}"
    environment = environment_table(run.environment, run.notes)
    lines = headlines(cells) if not cells.empty else ["(no trials)"]
    html = run_dir / HTML_NAME
    html.write_text(
        render_page(title, environment, lines, sections, drawn, verdict), encoding="utf-8"
    )
    markdown = run_dir / MARKDOWN_NAME
    markdown.write_text(
        render_summary(title, environment, lines, sections, verdict), encoding="utf-8"
    )
    return ReportFiles(html, markdown, [chart.path for chart in drawn], diff)


def _charts(run: RunData, cells: pd.DataFrame, out: Path) -> list[charts.Chart]:
    """Every chart the data supports, in reading order."""
    out.mkdir(exist_ok=True)
    for stale in out.glob("*.png"):  # a rebuild must not leave charts of an older build
        stale.unlink()
    if cells.empty:
        return []
    palette = Palette(cells["variant"].astype(str))
    drawn = [
        charts.throughput_chart(cells, run.results, palette, out),
        charts.latency_chart(cells, palette, out),
        charts.cache_chart(cells, palette, out),
    ]
    optional = [
        timeline.resource_chart(cells, palette, out),
        timeline.sweep_chart(cells, palette, out),
    ]
    for scenario, users in charts.panels(cells):
        optional.append(
            timeline.timeline_chart(run.history, cells, scenario, users, palette, run.warmup_s, out)
        )
    return drawn + [chart for chart in optional if chart is not None]


def _verdict(diff: pd.DataFrame, pct: float | None) -> Alarm:
    """One sentence on the comparison, naming the cells that regressed."""
    failing = diff[diff["rps_verdict"] == Verdict.WORSE] if pct is None else regressions(diff, pct)
    names = ", ".join(
        f"{r.variant} cache={r.cache} {r.scenario} u{r.users}" for r in failing.itertuples()
    )
    if pct is None:
        text = f"{len(failing)} cell(s) slower than the baseline beyond the noise (req/s)"
    elif failing.empty:
        text = f"No cell regressed by more than {pct:g}% beyond the noise"
    else:
        text = f"{len(failing)} cell(s) regressed by more than {pct:g}% beyond the noise"
    return Alarm(f"{text}: {names}." if names else f"{text}.", raised=not failing.empty)
