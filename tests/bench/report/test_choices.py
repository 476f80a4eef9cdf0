"""What each choice buys, on made-up runs whose true ratios are known (tests.bench.synthetic_run).

The made-up servers' maxima are set per server, so each choice's true ratio is known and
the paired interval must contain it; the variant names are issue 11's (sockets,
streams-uvloop…), whose style and loop the table must take from the results, not the
registry. Placement, "not measured" and the reader in a cell's identity are checked too.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import pandas as pd
import pytest

from bench.plan.presets import preset
from bench.report import build_report
from bench.report.choices import Bought, what_choices_buy
from bench.report.diff import compare
from bench.report.inputs import load_run
from bench.report.stats import cell_stats
from bench.report.verdict import Metric
from tests.bench.synthetic_run import CACHE_FACTOR, ISSUE11_CATALOGUE, write_synthetic_run

RATES = {
    "blog": 2000.0, "blog-uvloop": 2600.0, "sockets": 4000.0, "sockets-uvloop": 5600.0,
    "streams": 5000.0, "streams-uvloop": 6500.0, "asyncio": 6000.0, "uvloop": 9000.0,
    "threaded": 3000.0, "asyncio·thread": 3000.0, "asyncio·blocking": 4500.0,
}  # fmt: skip


@pytest.fixture(scope="module")
def default_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default preset at issue 11's size, measured by made-up servers with drift."""
    return write_synthetic_run(
        tmp_path_factory.mktemp("choices") / "run", matrix=preset("default", ISSUE11_CATALOGUE),
        measures=True, rates=RATES, drift=0.2,
    )  # fmt: skip


def _find(found: list[Bought], question: str, better: str, than: str, **held: str) -> Bought:
    rows = [
        b for b in found
        if b.choice.question.startswith(question) and (b.better, b.than) == (better, than)
        and b.panel[0] == "small" and all(b.held.get(k) == v for k, v in held.items())
    ]  # fmt: skip
    assert len(rows) == 1, [(b.choice.question, b.better, b.than, b.held) for b in found]
    return rows[0]


@pytest.mark.parametrize(
    ("question", "better", "than", "held", "truth"),
    [
        ("uvloop over", "uvloop", "asyncio", {"cache": "on"}, 9000 / 6000),
        ("uvloop over", "uvloop", "asyncio", {"cache": "off"}, 9000 / 6000),
        ("uvloop over", "sockets-uvloop", "sockets", {}, 5600 / 4000),
        ("uvloop over", "blog-uvloop", "blog", {}, 2600 / 2000),
        ("Protocol over streams", "asyncio", "streams", {}, 6000 / 5000),
        ("Protocol over streams", "uvloop", "streams-uvloop", {}, 9000 / 6500),
        ("streams over sockets", "streams", "sockets", {}, 5000 / 4000),
        # Each as built: our cache against the post's alru (the blog variants have no `on`).
        (
            "keep-alive sockets",
            "sockets",
            "blog",
            {"cache": "own (on / alru)"},
            4000 / (2000 * CACHE_FACTOR["alru"]),
        ),
        ("cache on over off", "asyncio", "asyncio", {}, 1 / CACHE_FACTOR["off"]),
        ("alru", "uvloop", "uvloop", {}, CACHE_FACTOR["alru"]),
        ("thread-pool reads", "asyncio·thread", "asyncio", {}, 3000 / 6000),
        ("blocking reads over aiofile", "asyncio·blocking", "asyncio", {}, 4500 / 6000),
        ("blocking reads over thread", "asyncio·blocking", "asyncio·thread", {}, 4500 / 3000),
    ],
)
def test_each_choice_is_the_paired_ratio_of_the_two_servers(
    default_run: Path, question: str, better: str, than: str, held: dict[str, str], truth: float
) -> None:
    bought = _find(what_choices_buy(load_run(default_run).results), question, better, than, **held)
    assert bought.metric == Metric.RATE  # the made-up servers set the pace
    assert bought.ratio is not None
    assert bought.ratio.blocks == 3
    # Locust's made-up ±5% per trial: the interval holds the truth, drift (±20%) cancels.
    assert bought.ratio.low <= truth * 1.02
    assert truth / 1.02 <= bought.ratio.high
    assert bought.ratio.high / bought.ratio.low < 1.5


def test_a_pair_not_in_the_run_is_left_out(tmp_path: Path) -> None:
    run = write_synthetic_run(tmp_path / "run", variants=("asyncio", "uvloop"), caches=("on",))
    found = what_choices_buy(load_run(run).results)
    assert {b.choice.question for b in found} == {"uvloop over asyncio's loop"}


def test_a_pair_in_the_run_without_a_measurement_is_not_measured(tmp_path: Path) -> None:
    run = write_synthetic_run(tmp_path / "run", variants=("asyncio", "uvloop"), caches=("on",))
    path = run / "results.csv"
    frame = pd.read_csv(path, keep_default_na=False, na_values=["", "nan"])
    failed = frame["variant"] == "uvloop"
    frame["reason"] = frame["reason"].astype(object)
    frame.loc[failed, ["status", "reason"]] = ["failed", "made up"]
    frame.loc[failed, "requests_per_s"] = math.nan
    frame.to_csv(path, index=False)
    (bought,) = [b for b in what_choices_buy(load_run(run).results) if b.panel[0] == "small"]
    assert bought.ratio is None
    # With its charts: the suite's one build whose cell has no OK trial at all.
    page = build_report(run).markdown.read_text(encoding="utf-8")
    assert re.search(
        r"\| ⚠️ uvloop over asyncio's loop \| uvloop / asyncio \|.*\| not measured \|", page
    )


def test_generator_bound_pairs_are_compared_by_cpu_per_request(tmp_path: Path) -> None:
    run = write_synthetic_run(
        tmp_path / "run", variants=("asyncio", "uvloop"), caches=("on",), scenarios=("small",),
        loads=("closed", "equal50%"), measures=True, extra={"generator_bound": True},
        rates={"asyncio": 5000.0, "uvloop": 8000.0},
    )  # fmt: skip
    (bought,) = what_choices_buy(load_run(run).results)
    assert (bought.metric, bought.load) == (Metric.CPU, "equal50%")
    assert bought.ratio is not None
    assert bought.ratio.low < 8000 / 5000 < bought.ratio.high  # the inverse of CPU per request


def test_the_table_follows_the_verdict_in_both_pages(default_run: Path) -> None:
    files = build_report(default_run)
    markdown = files.markdown.read_text(encoding="utf-8")
    choices = markdown.index("### What each choice buys")
    assert markdown.rindex("\n- ", 0, choices) < choices < markdown.index("— ranked by")
    assert "| keep-alive sockets over blog" in markdown
    html = files.html.read_text(encoding="utf-8")
    choices = html.index("<h3>What each choice buys</h3>")
    assert html.index("<h2>Verdict</h2>") < choices < html.index("<figure")


def test_two_readers_of_a_variant_stay_two_cells_and_two_baseline_rows(default_run: Path) -> None:
    results = load_run(default_run).results
    cells = cell_stats(results)
    off = cells[(cells["scenario"] == "small") & (cells["cache"] == "off")]
    assert {"asyncio", "asyncio·thread", "asyncio·blocking"} <= set(off["variant"])
    assert len(off) == len(off[["variant", "load"]].drop_duplicates())
    diff = compare(results, results)
    assert len(diff) == len(cells)
