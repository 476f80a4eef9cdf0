"""A run: every trial of a matrix into one new directory under reports/.

It creates `reports/<UTC timestamp>/` (and points `reports/latest` at it), records the
environment in `run.json`, runs the trials in order with progress lines, and rewrites
the results table after every trial so an interrupted run keeps what it measured.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from bench.engines.registry import engine_named
from bench.plan.matrix import Matrix
from bench.results.environment import describe_run, utc_now, write_run_json
from bench.results.table import ResultRow, write_results
from bench.run.progress import Progress
from bench.run.runner import Runner
from bench.run.settings import RunnerSettings
from bench.targets.peers import PEERS

OVERHEAD_ESTIMATE_S = 2.5  # per trial, for the first time-left estimate


@dataclass(frozen=True, slots=True)
class RunOutcome:
    """Where the run went and what it produced."""

    directory: Path
    rows: list[ResultRow]
    interrupted: bool


def new_run_directory(root: Path) -> Path:
    """`root/<UTC timestamp>/`, created, with `root/latest` pointing at it."""
    root.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    directory = root / stamp
    suffix = 1
    while directory.exists():
        suffix += 1
        directory = root / f"{stamp}-{suffix}"
    directory.mkdir()
    link = root / "latest"
    temporary = root / f".latest-{os.getpid()}"
    temporary.unlink(missing_ok=True)
    temporary.symlink_to(directory.name)
    os.replace(temporary, link)  # atomic: readers never see no `latest`
    return directory


def run_campaign(
    matrix: Matrix, settings: RunnerSettings, out_root: Path, argv: Sequence[str]
) -> RunOutcome:
    """Run every trial; Ctrl-C stops after stopping the current trial's processes."""
    directory = new_run_directory(out_root)
    settings_record = {"matrix": asdict(matrix), "runner": _jsonable(settings)}
    record = describe_run(argv, settings_record, tools(matrix.peers, matrix.engines))
    write_run_json(directory, record)
    trials = matrix.trials()
    progress = Progress(len(trials), matrix.warmup + matrix.duration + OVERHEAD_ESTIMATE_S)
    runner = Runner(settings, directory)
    rows: list[ResultRow] = []
    interrupted = False
    try:
        for trial in trials:
            progress.starting(trial)
            rows.append(runner.run(trial))
            write_results(rows, directory)
            progress.finished(rows[-1])
    except KeyboardInterrupt:
        interrupted = True
    record["finished_at"] = utc_now()
    record["interrupted"] = interrupted
    write_run_json(directory, record)
    if not rows:
        write_results(rows, directory)
    return RunOutcome(directory, rows, interrupted)


def tools(peers: Sequence[str], engines: Sequence[str]) -> dict[str, str]:
    """Versions of the reference peers and of the engines the run uses (those that have one)."""
    found = {name: PEERS[name].describe() for name in peers}
    for name in engines:
        version = engine_named(name).version()
        if version is not None:
            found[name] = version
    return found


def _jsonable(settings: RunnerSettings) -> dict[str, object]:
    values = asdict(settings)
    values["root"] = str(settings.root)
    return values
