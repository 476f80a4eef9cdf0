"""`python -m bench run`'s server axes, parsed in-process: --variants, --cache, --reader
against a preset (no server is started here; tests/bench/run/test_bench_cli.py runs them)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.plan.matrix import Matrix
from bench.plan.presets import preset
from bench.plan.servers import ImpossibleServer
from bench.run.cli import build_parser, main, matrix_from
from tests.bench.synthetic_run import ISSUE11_CATALOGUE


def _matrix(*args: str) -> Matrix:
    return matrix_from(build_parser().parse_args(["run", *args]), ISSUE11_CATALOGUE)


def test_no_server_axis_keeps_the_presets_blocks() -> None:
    assert _matrix().cells() == preset("default", ISSUE11_CATALOGUE).cells()


def test_a_server_axis_replaces_the_presets_servers_by_its_product() -> None:
    matrix = _matrix("--variants", "asyncio,threaded", "--reader", "thread,blocking")
    found = {(c.variant, c.cache, c.reader) for c in matrix.cells()}
    assert found == {
        (variant, cache, reader)
        for variant in ("asyncio", "threaded")
        for cache in ("on", "off")
        for reader in ("thread", "blocking")
    }
    assert {c.scenario for c in matrix.cells()} == {"small"}


def test_a_list_axis_crossing_every_variant_skips_and_says_what_it_skipped() -> None:
    matrix = _matrix("--cache", "alru")  # threaded has no alru
    assert "threaded" not in {c.variant for c in matrix.cells()}
    assert any(line.startswith("threaded cache=alru") for line in matrix.skipped())
    assert {c.cache for c in matrix.cells()} == {"alru"}


def test_a_variant_named_alone_with_a_mode_it_lacks_is_refused() -> None:
    with pytest.raises(ImpossibleServer, match="variant threaded has no --cache alru"):
        _matrix("--variants", "threaded", "--cache", "alru")


def test_scenarios_apply_to_every_block() -> None:
    matrix = _matrix("--scenarios", "mixed")
    assert {c.scenario for c in matrix.cells()} == {"mixed"}
    assert {c.reader for c in matrix.cells() if c.variant == "asyncio"} == {
        "aiofile", "thread", "blocking"
    }  # fmt: skip


# The server axes' bad values, through `main` in-process (tests/bench/run/test_bench_cli.py
# runs the other bad command lines as subprocesses; each costs seconds of imports there).
BAD_AXES = {  # name → (arguments, what the one line must say)
    "unknown-reader": (["--reader", "mmap"], "unknown reader 'mmap'"),
    # Threads read with blocking calls; the event-loop cache and reader are not theirs.
    "threaded-with-aiofile": (
        ["--variants", "threaded", "--reader", "aiofile"],
        "variant threaded has no --reader",
    ),
    "threaded-with-alru": (
        ["--variants", "threaded", "--cache", "alru"],
        "variant threaded has no --cache alru",
    ),
    "reader-with-host": (["--reader", "thread", "--host", "http://127.0.0.1:9"], "--host"),
}


@pytest.mark.parametrize("name", list(BAD_AXES))
def test_a_bad_server_axis_is_one_line_and_exit_2(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "reports"
    try:
        code = main(["run", *BAD_AXES[name][0], "--out", str(out)])
    except SystemExit as exit:  # argparse's own refusals
        code = int(exit.code or 0)
    captured = capsys.readouterr()
    assert code == 2, captured.out + captured.err
    assert len(captured.err.splitlines()) == 1, captured.err
    assert "error" in captured.err
    assert BAD_AXES[name][1] in captured.err
    assert "Traceback" not in captured.err
    assert not out.exists()
