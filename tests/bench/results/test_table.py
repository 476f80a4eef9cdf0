"""The results table's schema history: older tables are read in today's shape."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import pandas as pd
import pytest

from bench.results.table import (
    COLUMNS,
    CSV_NAME,
    LEGACY_VARIANTS,
    SCHEMA_VERSION,
    name_servers,
    rate_short,
    read_results,
)
from server.variants import VARIANTS

FIXTURES = Path(__file__).parents[1] / "fixtures"
V1_RUN = FIXTURES / "run_small"
V2_RUN = FIXTURES / "schema2" / "sample"
LEGACY = {  # variant → (style, loop, reader) as every run before schema 5 had them
    "blog": ("blog", "asyncio", "aiofile"), "threaded": ("threaded", "none", "blocking"),
    "asyncio": ("protocol", "asyncio", "aiofile"), "uvloop": ("protocol", "uvloop", "aiofile"),
}  # fmt: skip


def _older(tmp_path: Path, version: int) -> Path:
    """A copy of the schema-2 sample as a table of `version` (its later columns added)."""
    frame = pd.read_csv(V2_RUN / CSV_NAME, keep_default_na=False, na_values=["", "nan"])
    if version >= 3:
        frame = frame.assign(engine="locust", load="closed", target_rps=math.nan, rate_short=False)
    if version >= 4:
        frame = frame.assign(client="lean")
    frame.loc[frame.index[:2], "variant"] = "nginx"  # a peer among them
    frame.loc[frame.index[:2], "cache"] = "n/a"
    frame.assign(schema_version=version).to_csv(tmp_path / CSV_NAME, index=False)
    return tmp_path


@pytest.mark.parametrize("version", [1, 2, 3, 4])
def test_an_older_table_gets_the_style_loop_and_reader_of_its_time(
    tmp_path: Path, version: int
) -> None:
    frame = read_results(V1_RUN if version == 1 else _older(tmp_path, version))
    for row in frame.itertuples():
        expected = LEGACY.get(str(row.variant), ("n/a", "n/a", "n/a"))
        assert (row.style, row.loop, row.reader) == expected, row.variant
        assert row.default_reader == row.reader  # before schema 5 no other reader existed
    assert version == 1 or (frame["variant"] == "nginx").sum() == 2
    assert list(name_servers(frame)["variant"]) == list(frame["variant"])


def test_the_legacy_variants_agree_with_the_registry() -> None:
    """A name keeps its design: the registry still has each old variant as it was."""
    for name, (style, loop, _) in LEGACY_VARIANTS.items():
        assert (VARIANTS[name].style, VARIANTS[name].loop) == (style, loop)


def test_two_readers_of_one_variant_are_two_servers(tmp_path: Path) -> None:
    frame = read_results(V1_RUN).head(2).assign(
        schema_version=SCHEMA_VERSION, variant="asyncio", style="protocol", loop="asyncio",
        cache="off", reader=["aiofile", "thread"], default_reader="aiofile",
    )  # fmt: skip
    frame.to_csv(tmp_path / CSV_NAME, index=False)
    again = read_results(tmp_path)
    assert list(again["reader"]) == ["aiofile", "thread"]  # schema 5 is kept as written
    assert list(name_servers(again)["variant"]) == ["asyncio", "asyncio·thread"]


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
