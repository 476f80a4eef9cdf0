"""The server axes of the matrix (variant × cache × reader) and the presets built on them.

A combination a variant lacks is skipped and said when a list axis crosses it, refused
when the variant is asked for on its own; a reader not the variant's own names its cells;
each preset plans only what the catalogue has. Checked on the registry of this commit and
on the variants issue 11 asks for (tests.bench.synthetic_run.ISSUE11_CATALOGUE).
"""

from __future__ import annotations

import pytest

from bench.plan.matrix import CLOSED, NO_CACHE, Cell, Matrix
from bench.plan.presets import NAMES, preset
from bench.plan.servers import (
    ImpossibleServer,
    Server,
    VariantModes,
    refuse_impossible,
    server_name,
    servers,
)
from bench.targets.start import catalogue
from server.variants import VARIANTS
from tests.bench.synthetic_run import ISSUE11_CATALOGUE

LOOPED = VariantModes("looped", "protocol", "asyncio", ("off", "on", "alru"), ("aiofile", "thread"))
THREADS = VariantModes("threads", "threaded", "none", ("off", "on"), ("blocking",))
CATALOGUE = (LOOPED, THREADS)


def test_a_list_axis_crossing_variants_skips_what_one_lacks_and_says_so() -> None:
    found, skipped = servers(("looped", "threads"), ("on", "alru"), ("thread",), CATALOGUE)
    assert found == [
        Server("looped", "on", "thread", "aiofile"), Server("looped", "alru", "thread", "aiofile")
    ]  # fmt: skip
    assert len(skipped) == 2
    assert all(line.startswith("threads ") for line in skipped)
    assert any("no --cache alru (it has off, on)" in line for line in skipped)


def test_no_reader_asked_means_each_variants_own() -> None:
    found, skipped = servers(("looped", "threads"), ("off",), (), CATALOGUE)
    assert [(s.variant, s.reader) for s in found] == [
        ("looped", "aiofile"),
        ("threads", "blocking"),
    ]
    assert skipped == []


def test_a_variant_asked_for_alone_with_modes_it_lacks_is_refused_in_one_line() -> None:
    with pytest.raises(ImpossibleServer) as refused:
        refuse_impossible(("threads",), ("on",), ("aiofile",), CATALOGUE)
    assert str(refused.value) == "variant threads has no --reader aiofile (it has blocking)"
    refuse_impossible(("looped", "threads"), ("on",), ("aiofile", "blocking"), CATALOGUE)


def test_only_a_reader_not_the_variants_own_names_the_cell() -> None:
    own = Cell("looped", "off", "small", 50, reader="aiofile", default_reader="aiofile")
    other = Cell("looped", "off", "small", 50, reader="thread", default_reader="aiofile")
    assert own.label == "looped-off-small-u50-lean"
    assert other.label == "looped-off-thread-small-u50-lean"
    assert Cell("looped", "off", "small", 50, load="50%", reader="thread").closed.reader == "thread"
    assert server_name("looped", "thread", "aiofile") == "looped·thread"
    assert server_name("looped", "aiofile", "aiofile") == "looped"
    assert server_name("nginx", "n/a", "n/a") == "nginx"


def test_the_matrix_crosses_readers_and_reports_what_it_skipped() -> None:
    matrix = Matrix(
        ("looped", "threads"), ("off",), ("small",), (50,), 1, readers=("aiofile", "blocking"),
        catalogue=CATALOGUE, peers=("nginx",),
    )  # fmt: skip
    found = {(c.variant, c.cache, c.reader) for c in matrix.cells()}
    assert found == {
        ("looped", "off", "aiofile"), ("threads", "off", "blocking"), ("nginx", NO_CACHE, "n/a")
    }  # fmt: skip
    assert any("looped cache=off reader=blocking" in line for line in matrix.skipped())
    assert any("threads cache=off reader=aiofile" in line for line in matrix.skipped())
    labels = [c.label for c in matrix.cells()]
    assert len(labels) == len(set(labels))


@pytest.mark.parametrize("source", ["registered", "issue 11"])
@pytest.mark.parametrize("name", NAMES)
def test_a_preset_plans_only_what_the_catalogue_has(name: str, source: str) -> None:
    modes = catalogue() if source == "registered" else ISSUE11_CATALOGUE
    known = {m.name: m for m in modes}
    matrix = preset(name, modes)
    cells = matrix.cells()
    assert cells, name
    for cell in cells:
        assert known[cell.variant].lacks(cell.cache, cell.reader) is None, cell.label
    assert matrix.skipped() == []  # a preset never asks a variant for what it lacks
    assert len({cell.label for cell in cells}) == len(cells)
    if source == "registered":
        assert {cell.variant for cell in cells} == {m.name for m in modes}  # every variant


def test_the_default_answers_every_choice_of_issue_11() -> None:
    cells = preset("default", ISSUE11_CATALOGUE).cells()
    small = {(c.variant, c.cache, c.reader) for c in cells if c.scenario == "small"}
    for modes in ISSUE11_CATALOGUE:  # every style × loop cached (the blog variants: alru)
        cached = "on" if "on" in modes.caches else "alru"
        assert (modes.name, cached, modes.default_reader) in small
    for loop in ("asyncio", "uvloop"):  # every cache mode on one variant per loop
        assert {"off", "on", "alru"} <= {c for v, c, _ in small if v == loop}
    readers = {r for v, c, r in small if v == "asyncio" and c == "off"}
    assert readers == {"aiofile", "thread", "blocking"}
    close = [c for c in cells if c.scenario == "close"]
    assert {c.variant for c in close} == {"blog", "uvloop"}
    assert {c.load for c in close} == {CLOSED}


def test_full_has_every_mode_of_every_variant() -> None:
    cells = preset("full", ISSUE11_CATALOGUE).cells()
    found = {(c.variant, c.cache, c.reader) for c in cells}
    every = {(m.name, c, r) for m in ISSUE11_CATALOGUE for c in m.caches for r in m.readers}
    assert found == every


def test_the_registry_catalogue_mirrors_the_variants() -> None:
    modes = {m.name: m for m in catalogue(available=False)}
    assert list(modes) == list(VARIANTS)
    for name, variant in VARIANTS.items():
        assert (modes[name].style, modes[name].loop) == (variant.style, variant.loop)
        assert modes[name].caches == tuple(variant.caches)
        assert modes[name].default_reader == variant.readers[0]


def test_a_variant_without_our_cache_is_measured_with_the_one_it_has() -> None:
    """If the post's design caches with alru only, it stays in the cached comparison."""
    post = VariantModes("post", "blog", "asyncio", ("off", "alru"), ("aiofile",))
    matrix = preset("default", (post, LOOPED))
    assert ("post", "alru", "small") in {(c.variant, c.cache, c.scenario) for c in matrix.cells()}
    assert ("post", "alru", "close") in {(c.variant, c.cache, c.scenario) for c in matrix.cells()}
    assert matrix.skipped() == []
