"""The results table's schema history: older tables are read in today's shape."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import pytest

from bench.results.table import COLUMNS, CSV_NAME, SCHEMA_VERSION, rate_short, read_results

FIXTURES = Path(__file__).parents[1] / "fixtures"
V1_RUN = FIXTURES / "run_small"


def test_a_schema_1_table_gains_every_later_column(tmp_path: Path) -> None:
    shutil.copy(V1_RUN / CSV_NAME, tmp_path / CSV_NAME)
    frame = read_results(tmp_path)
    assert set(COLUMNS) <= set(frame.columns)
    assert (frame["engine"] == "locust").all()
    assert (frame["load"] == "closed").all()
    assert (frame["client"] == "fasthttp").all()  # every locust run before schema 4
    assert frame["target_rps"].isna().all()
    assert frame["hdr_p99_us"].isna().all()  # unknown, never zero
    assert not frame["rate_short"].any()
    assert not frame["generator_bound"].any()


def test_a_schema_3_table_reads_as_fasthttp_for_locust_and_no_client_for_wrk(
    tmp_path: Path,
) -> None:
    frame = read_results(V1_RUN).drop(columns=["client"]).assign(schema_version=3)
    frame.loc[frame.index[-1], "engine"] = "wrk"
    frame.to_csv(tmp_path / CSV_NAME, index=False)
    clients = read_results(tmp_path)["client"].tolist()
    assert clients == ["fasthttp"] * (len(frame) - 1) + ["n/a"]


@pytest.mark.parametrize("version", [1, 2])
def test_a_header_only_older_table_is_upgraded(tmp_path: Path, version: int) -> None:
    header = (V1_RUN / CSV_NAME).read_text(encoding="utf-8").splitlines()[0]
    if version == 2:
        frame = read_results(V1_RUN)
        frame = frame.drop(columns=["engine", "load", "target_rps", "rate_short"])
        header = ",".join(frame.columns)
    (tmp_path / CSV_NAME).write_text(header + "\n", encoding="utf-8")
    frame = read_results(tmp_path)
    assert frame.empty
    assert set(COLUMNS) <= set(frame.columns)


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    frame = read_results(V1_RUN).assign(schema_version=SCHEMA_VERSION + 1)
    frame.to_csv(tmp_path / CSV_NAME, index=False)
    with pytest.raises(ValueError, match="schema version"):
        read_results(tmp_path)


@pytest.mark.parametrize(
    ("target", "achieved", "short"),
    [
        (1000.0, 1000.0, False),
        (1000.0, 950.0, False),  # exactly 5% short is within tolerance
        (1000.0, 949.0, True),
        (1000.0, math.nan, True),  # nothing measured is not "on target"
        (math.nan, 10.0, False),  # the closed model has no target
    ],
)
def test_rate_short(target: float, achieved: float, short: bool) -> None:
    assert rate_short(target, achieved) is short
