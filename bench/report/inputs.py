"""What a report reads from a run directory: the results table, run.json, locust's history.

Never runs anything. Only locust keeps a history (wrk reports once, at the end); a locust
trial whose history is missing or unreadable is left out of the over-time charts and
counted in `notes`; a directory without a results table is an error.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from bench.plan.axes import LOCUST
from bench.plan.matrix import Cell, Trial
from bench.results.environment import RUN_JSON
from bench.results.locust_csv import LocustCsvError, read_history
from bench.results.table import CSV_NAME, OK, name_servers, read_results

HISTORY_KEYS = [
    "scenario", "users", "engine", "client", "load", "variant", "cache", "reader",
    "default_reader", "repeat",
]  # fmt: skip


class ReportInputError(Exception):
    """The directory is not a run this report can read (one line for the user)."""


@dataclass(frozen=True)
class RunData:
    """One run as the report sees it."""

    directory: Path
    results: pd.DataFrame
    environment: dict[str, Any]  # run.json; {} when it is missing
    history: pd.DataFrame  # HISTORY_KEYS + HistoryPoint fields, one row per history row
    notes: list[str] = field(default_factory=list)

    @property
    def warmup_s(self) -> float:
        """The warm-up each trial had (NaN when run.json does not say)."""
        matrix = self.environment.get("settings", {}).get("matrix", {})
        return float(matrix.get("warmup", math.nan))


def load_run(directory: Path, *, with_history: bool = True) -> RunData:
    """Read a run directory; ReportInputError when it has no readable results table."""
    if not directory.is_dir():
        raise ReportInputError(f"{directory}: not a directory")
    if not (directory / CSV_NAME).is_file():
        raise ReportInputError(f"{directory}: no {CSV_NAME} (is it a run directory?)")
    try:
        results = read_results(directory)
    except (ValueError, KeyError, pd.errors.ParserError) as error:
        raise ReportInputError(f"{directory / CSV_NAME}: {error}") from None
    notes: list[str] = []
    environment = _environment(directory, notes)
    history = _history(directory, results, notes) if with_history else _empty_history()
    # From here on a server is named with its reader when that is not its variant's own.
    return RunData(directory, name_servers(results), environment, name_servers(history), notes)


def _environment(directory: Path, notes: list[str]) -> dict[str, Any]:
    try:
        record = json.loads((directory / RUN_JSON).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        notes.append(f"{RUN_JSON} unreadable ({error}): the environment is unknown")
        return {}
    return record if isinstance(record, dict) else {}


def _history(directory: Path, results: pd.DataFrame, notes: list[str]) -> pd.DataFrame:
    """Every OK locust trial's history rows, tagged with the trial's identity."""
    frames = []
    missing = 0
    ran = results[(results["status"] == OK) & (results["engine"] == LOCUST)]
    for trial in ran.itertuples(index=False):
        cell = Cell(
            str(trial.variant), str(trial.cache), str(trial.scenario), int(trial.users),
            str(trial.engine), str(trial.load), str(trial.client), str(trial.reader),
            str(trial.default_reader),
        )  # fmt: skip
        prefix = directory / "raw" / Trial(cell, int(trial.repeat)).label / "locust"
        try:
            points = read_history(prefix)
        except LocustCsvError:
            missing += 1
            continue
        frame = pd.DataFrame([asdict(point) for point in points])
        identity = {key: getattr(trial, key) for key in HISTORY_KEYS}
        frames.append(frame.assign(**identity))
    if missing:
        notes.append(f"{missing} OK locust trial(s) have no readable locust history: not over time")
    return pd.concat(frames, ignore_index=True) if frames else _empty_history()


def _empty_history() -> pd.DataFrame:
    return pd.DataFrame(columns=[*HISTORY_KEYS, "elapsed_s", "requests_per_s", "p99_ms"])
