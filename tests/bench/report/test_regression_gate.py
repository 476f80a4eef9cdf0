"""`--fail-on-regression` when a cell the baseline measured is gone from this run: dropped
from the matrix, or every trial of it failed. Either way the gate must fail, naming it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from bench.results.table import FAILED
from bench.run.cli import main
from tests.bench.synthetic_run import FIXTURE

CELL = {"variant": "uvloop", "cache": "on", "scenario": "small"}
# The gate reads tables, which are the same without charts (tests/bench/report/test_report.py).
GATE = ["--baseline", str(FIXTURE), "--fail-on-regression", "50", "--no-charts"]


def without_cell(tmp_path: Path, how: str) -> Path:
    """A copy of the fixture run in which CELL was dropped, or all its trials failed."""
    copy = Path(shutil.copytree(FIXTURE, tmp_path / how))
    frame = pd.read_csv(copy / "results.csv", keep_default_na=False, na_values=["", "nan"])
    chosen = (frame[list(CELL)] == pd.Series(CELL)).all(axis=1)
    assert chosen.sum() >= 1, "the fixture has no such cell"
    if how == "dropped":
        frame = frame[~chosen]
    else:
        frame.loc[chosen, "status"] = FAILED
        frame.loc[chosen, "reason"] = "stalled"
    frame.to_csv(copy / "results.csv", index=False)
    return copy


@pytest.mark.parametrize("how", ["dropped", "all-failed"])
def test_a_vanished_baseline_cell_fails_the_gate(
    tmp_path: Path, how: str, capsys: pytest.CaptureFixture[str]
) -> None:
    run = without_cell(tmp_path, how)
    assert main(["report", str(run), *GATE]) == 1
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("regr")]
    assert len(lines) == 1, lines
    assert all(value in lines[0] for value in CELL.values())
    assert "not measured in this run" in lines[0]


def test_the_same_run_against_itself_passes_the_gate(tmp_path: Path) -> None:
    """The control: nothing vanished, nothing regressed."""
    run = Path(shutil.copytree(FIXTURE, tmp_path / "same"))
    assert main(["report", str(run), *GATE]) == 0
