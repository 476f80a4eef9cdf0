"""The matrix's new axes: engines, load models (closed, fixed rates, sweep shares), peers."""

from __future__ import annotations

import pytest

from bench.plan.matrix import (
    CLOSED,
    NO_CACHE,
    NO_CLIENT,
    Cell,
    Matrix,
    equal_load,
    equal_target,
    fixed_rate,
    is_equal,
    is_share,
    share_of,
)

SWEEP = (CLOSED, "10%", "50%")


def test_labels_name_engine_and_load_only_when_not_the_default() -> None:
    # FastHttpUser cells keep the names every run before the lean client gave them, so an
    # older run's raw files are still found; the lean client (the default) says so.
    assert Cell("uvloop", "on", "small", 50, client="fasthttp").label == "uvloop-on-small-u50"
    assert Cell("uvloop", "on", "small", 50).label == "uvloop-on-small-u50-lean"
    wrk = Cell("uvloop", "on", "small", 50, "wrk", client=NO_CLIENT)
    assert wrk.label == "uvloop-on-small-u50-wrk"
    half = Cell("uvloop", "on", "small", 50, load="50%")
    assert half.label == "uvloop-on-small-u50-lean-open50pct"
    assert half.closed == Cell("uvloop", "on", "small", 50)
    fixed = Cell("nginx", NO_CACHE, "small", 5, load="2500/s", client="fasthttp")
    assert fixed.label == "nginx-na-small-u5-open2500"


def test_the_client_axis_applies_to_locust_only() -> None:
    matrix = Matrix(
        ("uvloop",), ("on",), ("small",), (50,), 1, engines=("locust", "wrk"),
        clients=("lean", "fasthttp"),
    )  # fmt: skip
    cells = [(cell.engine, cell.client) for cell in matrix.cells()]
    assert cells == [("locust", "lean"), ("locust", "fasthttp"), ("wrk", NO_CLIENT)]


def test_load_specs() -> None:
    assert is_share("25%")
    assert not is_share("2500/s")
    assert share_of("25%") == pytest.approx(0.25)
    assert fixed_rate("2500/s") == 2500


def test_every_share_comes_after_its_closed_cell_in_the_first_repeat() -> None:
    matrix = Matrix(("asyncio", "uvloop"), ("on", "off"), ("small",), (10,), 2, loads=SWEEP)
    first_repeat = [trial.cell for trial in matrix.trials() if trial.repeat == 1]
    for index, cell in enumerate(first_repeat):
        if cell.load != CLOSED:
            assert cell.closed in first_repeat[:index]
    assert len(matrix.cells()) == 2 * 2 * len(SWEEP)


def test_peers_have_no_cache_axis() -> None:
    matrix = Matrix(("uvloop",), ("on", "off"), ("small",), (10,), 1, peers=("nginx",))
    servers = {(cell.variant, cell.cache) for cell in matrix.cells()}
    assert servers == {("uvloop", "on"), ("uvloop", "off"), ("nginx", NO_CACHE)}


def test_wrk_runs_only_simple_gets_under_the_closed_model() -> None:
    matrix = Matrix(
        ("uvloop",), ("on",), ("small", "mixed"), (10,), 1,
        engines=("locust", "wrk"), loads=(CLOSED, "50%"),
    )  # fmt: skip
    wrk = [cell for cell in matrix.cells() if cell.engine == "wrk"]
    assert wrk == [Cell("uvloop", "on", "small", 10, "wrk", CLOSED, NO_CLIENT)]
    assert len([cell for cell in matrix.cells() if cell.engine == "locust"]) == 4
    skipped = matrix.skipped()
    assert any("mixed" in line for line in skipped)
    assert any("open model" in line for line in skipped)


def test_equal_loads_run_after_every_closed_cell_of_their_scenario() -> None:
    loads = (CLOSED, "50%", equal_load())
    matrix = Matrix(("blog", "uvloop"), ("on", "off"), ("small", "close"), (10,), 2, loads=loads)
    first_repeat = [trial.cell for trial in matrix.trials() if trial.repeat == 1]
    for index, cell in enumerate(first_repeat):
        if is_equal(cell.load):
            closed_here = {c for c in matrix.cells() if c.panel == cell.panel and c.load == CLOSED}
            assert closed_here <= set(first_repeat[:index]), cell
    assert [cell.scenario for cell in first_repeat[:12]] == ["small"] * 12  # scenario-major
    assert len(matrix.cells()) == 2 * 2 * 2 * len(loads)
    assert Cell("uvloop", "on", "small", 50, load="equal50%").label == (
        "uvloop-on-small-u50-lean-equal50pct"
    )
    assert is_equal("equal50%")
    assert not is_share("equal50%")
    assert share_of("equal50%") == 0.5


def test_the_equal_rate_is_below_every_maximum_and_rounded_down() -> None:
    maxima = [1798.2, 3454.8, 7167.6]
    assert equal_target("equal50%", maxima) == 890  # 899.1 down to two significant digits
    assert equal_target("equal50%", [12_345.0]) == 6100
    assert equal_target("equal25%", [30.0]) == 7.5  # below 10: not rounded
    for share in (10, 50, 90):
        assert equal_target(f"equal{share}%", maxima) <= share / 100 * min(maxima)
