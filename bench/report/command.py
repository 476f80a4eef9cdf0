"""`python -m bench report RUN_DIR [--baseline OTHER] [--fail-on-regression PCT] [--no-charts]`,
and the report a benchmark run builds when it ends. Exit codes: 0 built (and nothing regressed),
1 a cell regressed beyond --fail-on-regression, 2 a path is not a readable run directory.
"""

from __future__ import annotations

import sys
from pathlib import Path

from bench.report import ReportInputError, build_report, regressions
from bench.report.tables import cell_name


def report_command(
    run_dir: Path, baseline: Path | None, fail_pct: float | None, *, charts: bool = True
) -> int:
    """Build the report (without charts unless `charts`), print where it went; the exit code."""
    if fail_pct is not None and baseline is None:
        print(
            "python -m bench report: error: --fail-on-regression needs --baseline", file=sys.stderr
        )
        return 2
    try:
        files = build_report(run_dir, baseline, fail_pct, charts=charts)
    except ReportInputError as error:
        print(f"python -m bench report: error: {error}", file=sys.stderr)
        return 2
    print(f"report: {files.html} (summary: {files.markdown.name}, {len(files.charts)} charts)")
    if fail_pct is None or files.diff is None:
        return 0
    failing = regressions(files.diff, fail_pct)
    for _, cell in failing.iterrows():
        print(
            f"regression: {cell_name(cell)}: req/s {cell['rps_change_pct']:+.1f}% "
            f"[{cell['rps_low_pct']:+.1f}%, {cell['rps_high_pct']:+.1f}%] ({cell['rps_verdict']})",
            file=sys.stderr,
        )
    return 1 if len(failing) else 0


def report_after_run(run_dir: Path) -> None:
    """The report of a run just made; a report that cannot be built never fails the run."""
    try:
        files = build_report(run_dir)
    except Exception as error:  # the measurements are safe on disk whatever went wrong here
        print(
            f"report: not built ({type(error).__name__}: {error}); "
            f"retry with: python -m bench report {run_dir}"
        )
        return
    print(f"report: {files.html} (summary.md and charts/ beside it)")
