"""The verdict on synthetic runs with known figures: a 2× difference under drift is a win with
the paired interval recomputed here by hand, an equal pair is not distinguishable, a
generator-bound run is ranked by CPU per request at the equal load and says so, the equal
load is below every maximum, and the compact tables hold the computed numbers.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bench.plan.matrix import CLOSED, equal_load
from bench.report import build_report
from bench.report.verdict import Metric, paired_ratio, verdicts
from bench.results.table import read_results
from tests.bench.report.test_report import md_tables, row_of
from tests.bench.synthetic_run import write_synthetic_run

T_975_DF2 = 4.302652729911275  # three blocks
EQUAL = (CLOSED, equal_load())


def by_hand(a: pd.Series, b: pd.Series) -> tuple[float, float, float]:
    """a over b, paired by repeat: exp(mean log-ratio) ± t(0.975, n-1)·sd/√n, by hand."""
    logs = np.log(a.to_numpy() / b.to_numpy())
    half = T_975_DF2 * logs.std(ddof=1) / math.sqrt(len(logs))
    return math.exp(logs.mean()), math.exp(logs.mean() - half), math.exp(logs.mean() + half)


def closed_rates(results: pd.DataFrame, variant: str) -> pd.Series:
    chosen = (results["variant"] == variant) & (results["load"] == CLOSED)
    return results[chosen].set_index("repeat")["requests_per_s"].sort_index()


def test_a_2x_difference_under_drift_is_a_win_with_the_paired_interval(tmp_path: Path) -> None:
    run = write_synthetic_run(
        tmp_path / "run", variants=("blog", "uvloop"), caches=("on",), scenarios=("small",),
        rates={"blog": 2500.0, "uvloop": 5000.0}, drift=0.25, seed=3,
    )  # fmt: skip
    results = read_results(run)
    uvloop, blog = closed_rates(results, "uvloop"), closed_rates(results, "blog")
    assert uvloop.max() / uvloop.min() > 1.2  # the drift is there: repeats differ a lot
    ratio, low, high = by_hand(uvloop, blog)
    assert 1 < low < 2 < high  # it holds the true ratio and excludes 1
    assert high / low < 1.25  # pairing cancelled the drift
    summary = build_report(run, charts=False).markdown.read_text()
    assert f"uvloop beats blog by {ratio:.2f}× [{low:.2f} – {high:.2f}] (requests/s)" in summary
    row = row_of(md_tables(summary), "small · 50 users · cache=on — ranked by requests/s",
                 variant="uvloop")  # fmt: skip
    assert (row["rank"], row["vs blog"]) == ("1", "beats")
    assert row["× blog [95%]"] == f"{ratio:.2f}× [{low:.2f} – {high:.2f}]"
    assert row["req/s"] == f"{uvloop.median():,.0f}"


def test_an_equal_pair_is_not_distinguishable(tmp_path: Path) -> None:
    run = write_synthetic_run(
        tmp_path / "run", variants=("blog", "asyncio", "uvloop"), caches=("on",),
        scenarios=("small",), rates={"asyncio": 5000.0, "uvloop": 5000.0}, drift=0.25, seed=5,
    )  # fmt: skip
    results = read_results(run)
    (verdict,) = verdicts(results)
    first, second = verdict.entries[0].variant, verdict.entries[1].variant
    assert {first, second} == {"asyncio", "uvloop"}
    ratio, low, high = by_hand(closed_rates(results, first), closed_rates(results, second))
    assert low < 1 < high
    summary = build_report(run, charts=False).markdown.read_text()
    expected = (
        f"{first} and {second} not distinguishable (ratio {ratio:.2f} [{low:.2f} – {high:.2f}], "
        "requests/s)"
    )
    assert expected in summary
    table = md_tables(summary)["small · 50 users · cache=on — ranked by requests/s"]
    assert [row["rank"] for row in table] == ["1", "1", "3"]  # the pair shares first place
    assert [row["vs blog"] for row in table] == ["beats", "beats", "—"]


def test_a_generator_bound_run_is_ranked_by_cpu_per_request_at_the_equal_load(
    tmp_path: Path,
) -> None:
    run = write_synthetic_run(
        tmp_path / "run", scenarios=("small",), loads=EQUAL, measures=True, drift=0.2,
        extra={"generator_bound": True},
    )  # fmt: skip
    results = read_results(run)
    equal = results[results["load"] == "equal50%"]
    rate = float(equal["target_rps"].iloc[0])
    assert (equal["target_rps"] == rate).all()  # one offered rate for every server
    groups = verdicts(results)
    assert [(g.cache, g.metric, g.load) for g in groups] == [
        ("on", Metric.CPU, "equal50%"), ("off", Metric.CPU, "equal50%")
    ]  # fmt: skip
    summary = build_report(run, charts=False).markdown.read_text()
    for cache in ("on", "off"):
        head = (
            f"- small · 50 users · cache={cache} — by server CPU µs per request at {rate:,.0f} "
            "req/s (locust set the pace of the closed runs, so req/s would rank locust): "
        )
        assert head in summary
        here = equal[equal["cache"] == cache]
        cost = here.groupby("variant")["cpu_us_per_request"].median().sort_values()
        title = f"small · 50 users · cache={cache} — ranked by server CPU µs per request at "
        table = md_tables(summary)[f"{title}{rate:,.0f} req/s"]
        assert [row["variant"] for row in table] == list(cost.index)  # cheapest first
        for row in table:
            assert float(row["CPU µs/req"]) == pytest.approx(cost[row["variant"]], rel=5e-3)
            blog = here[here["variant"] == "blog"].set_index("repeat")["cpu_us_per_request"]
            mine = here[here["variant"] == row["variant"]].set_index("repeat")
            if row["variant"] != "blog":  # capacity ratio: blog's cost over this one's
                ratio, low, high = by_hand(blog.sort_index(), mine["cpu_us_per_request"])
                assert row["× blog [95%]"] == f"{ratio:.2f}× [{low:.2f} – {high:.2f}]"
            closed = results[(results["load"] == "closed") & (results["cache"] == cache)]
            share = closed[closed["variant"] == row["variant"]]["server_cpu_share"].median()
            assert row["marks"] == f"generator-bound (closed; server CPU {share:.0%})"


def test_the_equal_load_is_below_every_maximum_and_the_report_says_which(tmp_path: Path) -> None:
    run = write_synthetic_run(
        tmp_path / "run", scenarios=("small", "close"), loads=EQUAL, measures=True, drift=0.1
    )
    results = read_results(run)
    summary = build_report(run, charts=False).markdown.read_text()
    for scenario in ("small", "close"):
        here = results[results["scenario"] == scenario]
        closed = here[here["load"] == CLOSED]
        target = here.loc[here["load"] == "equal50%", "target_rps"].unique()
        assert len(target) == 1
        assert target[0] < closed["requests_per_s"].min()  # every trial of every variant
        first = closed[closed["repeat"] == 1]
        slowest = first.loc[first["requests_per_s"].idxmin()]
        assert target[0] <= 0.5 * slowest["requests_per_s"]
        line = (
            f"{scenario} · 50 users: equal load {target[0]:,.0f} req/s offered to every server "
            f"= 50% of the slowest closed-model maximum ({slowest['variant']} cache="
            f"{slowest['cache']}, {slowest['requests_per_s']:,.0f} req/s in its first repeat)"
        )
        assert line in summary
        latency = md_tables(summary)[
            f"Latency at {target[0]:,.0f} req/s offered · {scenario} · 50 users"
        ]
        assert len(latency) == 8
        for row in latency:
            cell = here[(here["load"] == "equal50%") & (here["variant"] == row["variant"])
                        & (here["cache"] == row["cache"])]  # fmt: skip
            assert row["p99 µs"] == f"{cell['hdr_p99_us'].median():,.0f}"


def test_every_compact_table_has_at_most_8_columns(tmp_path: Path) -> None:
    run = write_synthetic_run(
        tmp_path / "run", scenarios=("small",), loads=EQUAL, measures=True, peers=("nginx",),
        extra={"generator_bound": True},
    )  # fmt: skip
    tables = md_tables(build_report(run, charts=False).markdown.read_text())
    compact = [title for title in tables if "ranked by" in title or title.startswith("Latency")]
    assert len(compact) == 3
    for title in compact:
        assert all(len(row) <= 8 for row in tables[title]), title
    assert not any(title == "small · 50 users" for title in tables)  # full table: html only


def test_one_block_gives_no_interval_and_no_pair_none() -> None:
    one = paired_ratio({1: 200.0}, {1: 100.0})
    assert (one.value, one.blocks, one.has_interval, one.distinct) == (2.0, 1, False, False)
    none = paired_ratio({1: 200.0}, {2: 100.0})
    assert none.blocks == 0
    assert math.isnan(none.value)
    steady = paired_ratio({1: 200.0, 2: 400.0, 3: 100.0}, {1: 100.0, 2: 200.0, 3: 50.0})
    assert (steady.value, steady.low, steady.high) == pytest.approx((2.0, 2.0, 2.0))
    assert steady.distinct  # drift × 4 between blocks, the same ratio in each: certain
