"""bench.report with engines, load models and reference peers (schema 3): open-model cells
get their own table (target, achieved, the short mark) and the latency-vs-load chart, never
bars; cells run under both engines get the capacity check; older tables still render and a
baseline of an older schema matches the locust/closed-model cells.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from bench.report import build_report
from bench.report.diff import Verdict, compare
from bench.results.table import read_results
from bench.run.cli import main
from tests.bench.report.test_report import NO_CHARTS, html_tables, md_tables, row_of
from tests.bench.synthetic_run import write_synthetic_run

# A real schema-2 run (the sample report of 2026-11-25): its results.csv and run.json.
SAMPLE = Path(__file__).resolve().parents[1] / "fixtures" / "schema2" / "sample"
SHORT = "uvloop-on-small-u50-lean-open50pct-r2"  # the one trial that falls short of its target
# nox's `--dist loadfile` runs this file on one xdist worker: `mixed_run` is built once.


@pytest.fixture(scope="module")
def mixed_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Closed and open loads (two shares, one fixed rate), a peer, one short repeat; its
    report built."""
    run = write_synthetic_run(
        tmp_path_factory.mktemp("mixed") / "run", variants=("blog", "uvloop"),
        scenarios=("small",), loads=("closed", "10%", "50%", "1000/s"), peers=("nginx",),
        short={SHORT}, measures=True,
    )  # fmt: skip
    build_report(run)
    return run


@pytest.fixture(scope="module")
def mixed_tables(mixed_run: Path) -> dict[str, list[dict[str, str]]]:
    return html_tables((mixed_run / "report.html").read_text())


def test_open_table_shows_target_achieved_and_the_short_mark_of_exactly_the_short_cell(
    mixed_run: Path, mixed_tables: dict[str, list[dict[str, str]]]
) -> None:
    results = read_results(mixed_run)
    opened = results[results["load"] != "closed"]
    cells = opened.groupby(["variant", "cache", "load"])
    table = mixed_tables["Open model · small · 50 users"]
    assert len(table) == cells.ngroups == 3 * 5  # blog on/off, uvloop on/off, nginx × 3 loads
    for (variant, cache, load), trials in cells:
        row = row_of(mixed_tables, "Open model · small · 50 users", variant=variant,
                     cache=cache, load=load)  # fmt: skip
        target, achieved = trials["target_rps"].median(), trials["requests_per_s"].median()
        assert row["target req/s"] == f"{target:,.0f}"
        assert row["achieved req/s"] == f"{achieved:,.0f}"
        assert row["achieved/target"] == f"{achieved / target:.1%}"
        assert row["p99 µs"] == f"{trials['hdr_p99_us'].median():,.0f}"
        short = (variant, cache, load) == ("uvloop", "on", "50%")
        assert row["marks"] == ("short of target 1/3" if short else "—"), (variant, cache, load)
    assert row_of(mixed_tables, "Open model · small · 50 users", load="1000/s",
                  variant="nginx")["target req/s"] == "1,000"  # fmt: skip
    html = (mixed_run / "report.html").read_text()
    assert html.count('<tr class="marked">') == 1
    assert '<tr class="marked"><td>uvloop</td><td>on</td><td>50%</td>' in html
    summary = (mixed_run / "summary.md").read_text()
    assert (
        "open model: 1 cell(s) short of target (see Every cell · open model): uvloop cache=on"
        in summary
    )
    assert "no readable locust history" not in summary  # open trials' raw/ names: Cell.label


def test_open_cells_are_not_in_the_closed_model_tables_and_peers_stand_beside_ours(
    mixed_run: Path, mixed_tables: dict[str, list[dict[str, str]]]
) -> None:
    results = read_results(mixed_run)
    maxima = results[results["load"] == "closed"]
    table = mixed_tables["small · 50 users"]
    assert len(table) == 5  # one row per closed cell: an open cell here would add rows
    for (variant, cache), trials in maxima.groupby(["variant", "cache"]):
        row = row_of(mixed_tables, "small · 50 users", variant=variant, cache=cache)
        assert row["req/s"] == f"{trials['requests_per_s'].median():,.0f}"
    peer = row_of(mixed_tables, "small · 50 users", variant="nginx")
    assert (peer["cache"], peer["speed-up vs blog"]) == ("n/a", "n/a")
    summary = (mixed_run / "summary.md").read_text()  # the peer is ranked beside ours
    assert (
        "- small · 50 users · cache=off — by requests/s (the server set the pace): nginx first"
        in summary
    )
    verdict = md_tables(summary)["small · 50 users · cache=on — ranked by requests/s"]
    assert [row["variant"] for row in verdict] == ["nginx (peer)", "uvloop", "blog"]


def test_the_load_sweep_chart_is_drawn_only_when_the_run_has_open_cells(
    mixed_run: Path, tmp_path: Path
) -> None:
    assert (mixed_run / "charts" / "sweep.png").is_file()
    closed = build_report(write_synthetic_run(tmp_path / "closed", scenarios=("small",)))
    assert "sweep" not in {path.stem for path in closed.charts}
    assert not (closed.html.parent / "charts" / "sweep.png").exists()


def edit(run: Path, where: dict[str, str], column: str, values: list[float | bool]) -> None:
    """Set `column` of the trials matching `where`, one value per repeat (1, 2, 3)."""
    path = run / "results.csv"
    frame = pd.read_csv(path, keep_default_na=False, na_values=["", "nan"])
    chosen = pd.Series(True, index=frame.index)
    for key, value in where.items():
        chosen &= frame[key].astype(str) == value
    assert chosen.sum() == len(values)
    frame.loc[chosen, column] = frame.loc[chosen, "repeat"].map(lambda r: values[r - 1])
    frame.to_csv(path, index=False)


@pytest.fixture
def engines_run(tmp_path: Path) -> Path:
    """blog, asyncio and uvloop with cache on under both engines, with known figures:
    locust's estimate 40,000 req/s each; wrk measured 46,000 (+15%), 48,000 (+20%), 30,000."""
    run = write_synthetic_run(
        tmp_path / "engines", variants=("blog", "asyncio", "uvloop"), caches=("on",),
        scenarios=("small",), engines=("locust", "wrk"), measures=True,
    )  # fmt: skip
    for variant, measured in (("blog", 46_000), ("asyncio", 48_000), ("uvloop", 30_000)):
        locust, wrk = (
            {"variant": variant, "engine": "locust"},
            {"variant": variant, "engine": "wrk"},
        )
        edit(run, locust, "capacity_rps", [39_000, 40_000, 41_000])  # median 40,000
        edit(run, wrk, "requests_per_s", [measured - 500, measured, measured + 500])
        edit(run, wrk, "server_cpu_share", [0.99, 0.99, 0.98])  # saturated by wrk
        edit(run, wrk, "capacity_rps", [measured + 400, measured + 500, measured + 600])
    edit(run, {"variant": "uvloop", "engine": "locust"}, "generator_bound", [False, True, False])
    # asyncio's estimate came from a server locust kept at 25% CPU; under wrk, uvloop's
    # server was not saturated either: each verdict must say so.
    edit(run, {"variant": "asyncio", "engine": "locust"}, "server_cpu_share", [0.25] * 3)
    edit(run, {"variant": "blog", "engine": "locust"}, "server_cpu_share", [0.95] * 3)
    edit(run, {"variant": "uvloop", "engine": "wrk"}, "server_cpu_share", [0.5] * 3)
    return run


def test_the_agreement_table_computes_the_ratio_and_the_verdict(engines_run: Path) -> None:
    files = build_report(engines_run)
    tables = html_tables(files.html.read_text())
    expected = {
        "blog": ("46,000", "1.15×", "agree (within 15%)", "99%", "46,500", "—"),
        "asyncio": (
            "48,000", "1.20×", "differ by 20%: estimated at 25% server CPU, a lower bound",
            "99%", "48,500", "—",
        ),
        "uvloop": (
            "30,000", "0.75×", "differ by 25%: wrk did not saturate the server either", "50%",
            "30,500", "locust: generator-bound",
        ),
    }  # fmt: skip
    assert len(tables["CPU-based capacity vs wrk"]) == len(expected)
    for variant, (measured, ratio, verdict, wrk_cpu, capacity, marks) in expected.items():
        row = row_of(tables, "CPU-based capacity vs wrk", variant=variant)
        assert (row["cache"], row["scenario"], row["users"]) == ("on", "small", "50")
        assert row["capacity estimate (locust)"] == "40,000"
        assert (row["wrk req/s"], row["wrk / estimate"], row["verdict"]) == (
            measured, ratio, verdict
        )  # fmt: skip
        assert (row["server CPU under wrk"], row["capacity estimate (wrk)"]) == (wrk_cpu, capacity)
        assert row["marks"] == marks
    assert (
        "CPU-based capacity vs wrk: 1 of 3 cell(s) agree within 15%" in files.markdown.read_text()
    )
    assert "capacity-vs-wrk" in {path.stem for path in files.charts}
    # wrk panels get their own closed-model table; wrk keeps no history, and that is no gap.
    assert row_of(tables, "small · 50 users · wrk", variant="asyncio")["req/s"] == "48,000"
    assert "no readable locust history" not in files.markdown.read_text()
    assert "timeline-small-u50" in {path.stem for path in files.charts}


def test_a_run_under_one_engine_has_no_agreement_check(mixed_run: Path) -> None:
    text = (mixed_run / "summary.md").read_text()
    assert "CPU-based capacity vs wrk" not in text
    assert not (mixed_run / "charts" / "capacity-vs-wrk.png").exists()


def test_the_schema_2_sample_still_renders(tmp_path: Path) -> None:
    copy = Path(shutil.copytree(SAMPLE, tmp_path / "sample"))
    assert set(pd.read_csv(copy / "results.csv")["schema_version"]) == {2}
    assert main(["report", str(copy)]) == 0
    tables = html_tables((copy / "report.html").read_text())
    for scenario in ("small", "close", "mixed"):
        assert len(tables[f"{scenario} · 50 users · fasthttp"]) == 8  # before the lean client
    assert not any(title.startswith("Open model") for title in tables)
    names = {path.stem for path in (copy / "charts").glob("*.png")}
    assert {"throughput", "latency", "cache", "resources"} <= names
    assert "sweep" not in names


def test_a_schema_2_baseline_matches_the_locust_closed_cells_of_a_schema_3_run(
    tmp_path: Path,
) -> None:
    run = write_synthetic_run(
        tmp_path / "v3", scenarios=("small", "close", "mixed"), engines=("locust", "wrk"),
        clients=("fasthttp",), loads=("closed", "50%"), measures=True,
    )  # fmt: skip
    diff = compare(read_results(run), read_results(SAMPLE))
    old = (diff["engine"] == "locust") & (diff["load"] == "closed")
    assert old.sum() == 24  # every cell of the sample, matched
    assert (diff.loc[old, "n_base"] == 3).all()
    assert (
        not diff.loc[old, "rps_verdict"].isin([Verdict.ONLY_CURRENT, Verdict.ONLY_BASELINE]).any()
    )
    assert set(diff.loc[~old, "rps_verdict"]) == {Verdict.ONLY_CURRENT}
    assert set(diff.loc[~old, "engine"] + " " + diff.loc[~old, "load"]) == {
        "wrk closed", "locust 50%"
    }  # fmt: skip
    assert main(["report", str(run), "--baseline", str(SAMPLE), *NO_CHARTS]) == 0
    tables = md_tables((run / "summary.md").read_text())
    row = row_of(tables, "Against the baseline sample", scenario="small", variant="uvloop",
                 cache="on", engine="locust", load="closed")  # fmt: skip
    assert row["OK repeats now/baseline"] == "3/3"


def test_each_locust_client_gets_its_own_panels(tmp_path: Path) -> None:
    run = write_synthetic_run(
        tmp_path / "clients", scenarios=("small",), clients=("lean", "fasthttp")
    )
    assert main(["report", str(run), *NO_CHARTS]) == 0
    tables = html_tables((run / "report.html").read_text())  # every cell: report.html's
    assert len(tables["small · 50 users"]) == len(tables["small · 50 users · fasthttp"]) == 8
