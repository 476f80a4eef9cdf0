"""CI's rule for a benchmark run: `python3 .ci/bench_verdict.py RUN_DIR NOX_EXIT_CODE`.

A run directory without results or a report, a run in which every trial failed, or a
non-zero exit with every trial OK (a crash after the trials) fails CI. A few failed trials
on a busy machine pass, with their count printed: each is marked, with its reason, in the
report. Standard library only: it runs outside any virtualenv.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path


def verdict(run_dir: Path, exit_code: int) -> tuple[int, str]:
    """CI's exit code for this run and the one line that says why."""
    table = run_dir / "results.csv"
    if not table.is_file():
        return 1, f"CI: the benchmark wrote no {table} (nox exit {exit_code})"
    if not (run_dir / "report.html").is_file():
        return 1, f"CI: the benchmark's report was not built in {run_dir} (nox exit {exit_code})"
    with table.open(newline="", encoding="utf-8") as rows:
        statuses = [(row["status"], row["reason"]) for row in csv.DictReader(rows)]
    failed = [reason for status, reason in statuses if status != "ok"]
    if not statuses:
        return 1, "CI: the benchmark ran no trial"
    if len(failed) == len(statuses):
        return 1, f"CI: every one of {len(statuses)} benchmark trials failed; first: {failed[0]}"
    if failed:
        return 0, (
            f"CI: WARNING: {len(failed)} of {len(statuses)} benchmark trials failed"
            " (marked with their reasons in the report); the rest passed"
        )
    if exit_code != 0:
        return 1, f"CI: the benchmark exited {exit_code} although every trial passed"
    return 0, f"CI: all {len(statuses)} benchmark trials passed"


def main(argv: list[str]) -> int:
    """Print the verdict line; its exit code is CI's."""
    code, line = verdict(Path(argv[0]), int(argv[1]))
    print(line, file=sys.stderr if code else sys.stdout)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
