"""Shared fixtures: a test copy of the demo site, and real servers for every variant.

Every server they start is checked (tests/serverchecks.py): the shared ones after each test
(a test that provokes an error line declares it: `@pytest.mark.server_stderr(r"regex")`)
and when they stop. Also the one rule for missing prerequisites (a tool like wrk, an
optional variant or peer): a local run skips the test, saying what is missing; under
`CI=true` the test fails, so CI is never green because something it was meant to check was
absent."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bench.targets.process import ServerProcess
from server.variants import VARIANTS
from tests.serverchecks import check_stderr, stop_and_check
from tests.underload import start_hogs, stop_hogs

PROJECT = Path(__file__).resolve().parent.parent
VARIANT_NAMES = list(VARIANTS)
SECRET = b"outside the root: must never be served\n"
ON_CI = os.environ.get("CI", "").lower() == "true"
# Debian's chromium; GitHub's Ubuntu runners ship Google Chrome. STATICBENCH_CHROMIUM overrides.
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_chromium() -> str | None:
    """The headless browser the report test drives, or None."""
    return os.environ.get("STATICBENCH_CHROMIUM") or next(
        (found for name in BROWSERS if (found := shutil.which(name))), None
    )


def _find_nginx() -> str | None:
    from bench.targets.nginx import find_nginx

    return find_nginx()


def _find_wrk() -> str | None:
    from bench.engines.wrk.command import find_wrk

    return find_wrk()


TOOLS: dict[str, Callable[[], str | None]] = {
    "chromium": find_chromium,
    "nginx": _find_nginx,
    "wrk": _find_wrk,
}


def missing(reason: str) -> None:
    """A prerequisite is absent: skip the test here, fail it under CI=true."""
    if ON_CI:
        pytest.fail(f"CI=true: {reason}; CI must run this test, not skip it", pytrace=False)
    pytest.skip(reason)


def require_tool(name: str) -> str:
    """The path of an external tool (a key of TOOLS); `missing` when it is not installed."""
    found = TOOLS[name]()
    if found is None:
        missing(f"{name} is not installed (apt-get install {name})")
    assert found is not None
    return found


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--under-load",
        action="store_true",
        help="run with a bounded CPU busy loop on every core (tests/underload.py)",
    )


_HOGS = pytest.StashKey[list[subprocess.Popen[bytes]]]()
UNDER_LOAD_TIMEOUT_FACTOR = 3


@pytest.hookimpl(tryfirst=True)  # before pytest-timeout reads its setting
def pytest_configure(config: pytest.Config) -> None:
    """With --under-load, start the busy loops before the first test: once, in the process
    that runs the tests or, under pytest-xdist (`-n`), in the controller, not per worker.

    The per-test timeout (a guard against hangs, not a measurement) grows by
    UNDER_LOAD_TIMEOUT_FACTOR there: a report build that takes 40 s took over 120 s with
    the busy loops and two workers sharing two cores.
    """
    if not config.getoption("--under-load"):
        return
    timeout = config.getoption("timeout", None) or float(config.getini("timeout") or 0)
    if timeout:
        config.option.timeout = timeout * UNDER_LOAD_TIMEOUT_FACTOR
    if not hasattr(config, "workerinput"):
        config.stash[_HOGS] = start_hogs()


def pytest_unconfigure(config: pytest.Config) -> None:
    """Stop the busy loops, by PID, however the session ended."""
    stop_hogs(config.stash.get(_HOGS, []))


def pytest_report_header(config: pytest.Config) -> str | None:
    hogs = config.stash.get(_HOGS, [])
    return f"under load: busy loops {[hog.pid for hog in hogs]}, one per CPU" if hogs else None


# The test files that take longest (their tests' seconds summed, measured on 2 cores beside
# other work), longest first. On pytest-xdist workers the collection starts with them, and
# noxfile.py passes `--no-loadscope-reorder` so that `--dist loadfile` hands files out in
# this order: by default xdist orders files by their number of tests, which put these (few
# tests, each long) last, where one worker ran them while the other had finished. Longest
# first, the two workers end together. A stale list costs time, never a result.
LONGEST_FIRST = (
    "tests/test_robustness.py",
    "tests/test_slow_clients.py",
    "tests/bench/report/test_report.py",
    "tests/bench/run/test_open_model.py",
    "tests/bench/engines/test_lean_locust.py",
    "tests/bench/run/test_bench_cli.py",
    "tests/bench/run/test_runner.py",
    "tests/test_server_options.py",
    "tests/bench/report/test_report_loads.py",
    "tests/bench/report/test_choices.py",
    "tests/test_cli.py",
    "tests/test_shutdown.py",
    "tests/test_behaviour.py",
    "tests/bench/test_interactive.py",
    "tests/test_readers.py",
    "tests/bench/engines/test_latency.py",
    "tests/bench/engines/test_frozen_generator.py",
    "tests/test_protocol.py",
    "tests/bench/test_layout.py",
    "tests/bench/engines/test_lean_client.py",
    "tests/test_under_load_option.py",
    "tests/bench/engines/test_window_mark.py",
    "tests/bench/engines/test_locust_clock.py",
    "tests/bench/report/test_verdict.py",
    "tests/bench/targets/test_conformance.py",
    "tests/bench/engines/test_task_loop.py",
    "tests/bench/engines/test_wrk_engine.py",
    "tests/test_workers.py",
    "tests/bench/targets/test_peers.py",
    "tests/bench/report/test_regression_gate.py",
    "tests/test_response.py",
)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On xdist workers, the files of LONGEST_FIRST first; the others after them, and the
    tests within each file, stay in the order collected (a stable sort)."""
    if not hasattr(config, "workerinput"):
        return
    rank = {path: place for place, path in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::", 1)[0], len(rank)))


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Apply the `tool(name)` and `missing(reason)` markers before the test's fixtures."""
    for mark in item.iter_markers("tool"):
        require_tool(*mark.args)
    for mark in item.iter_markers("missing"):
        missing(*mark.args)


def _generated_static() -> Path:
    """The demo site with its generated large files in place."""
    subprocess.run([sys.executable, str(PROJECT / "scripts" / "make_static.py")], check=True)
    return PROJECT / "static"


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the demo site plus traps: a secret beside the root, symlinks out and in."""
    base = tmp_path_factory.mktemp("site")
    root = base / "root"
    shutil.copytree(_generated_static(), root)
    (base / "secret.txt").write_bytes(SECRET)
    os.symlink(base / "secret.txt", root / "escape.txt")
    os.symlink(root / "index.html", root / "alias.html")
    os.mkfifo(root / "fifo")
    return root


def _skip_if_unavailable(name: str) -> list[pytest.MarkDecorator]:
    variant = VARIANTS[name]
    return [] if variant.available() else [pytest.mark.missing(f"{name} needs {variant.requires}")]


def variant_params() -> list[object]:
    """Every registered variant × cache mode (its default reader); unavailable ones are
    `missing`, not hidden."""
    return [
        pytest.param((name, cache), id=f"{name}-cache_{cache}", marks=_skip_if_unavailable(name))
        for name in VARIANT_NAMES
        for cache in VARIANTS[name].caches
    ]


def reader_params() -> list[object]:
    """(variant, cache, reader): every other reader of the Protocol variant on each loop, with
    the cache off (so the reader serves every request); the default is in `variant_params`."""
    return [
        pytest.param(
            (name, "off", reader),
            id=f"{name}-cache_off-reader_{reader}",
            marks=_skip_if_unavailable(name),
        )
        for name, variant in VARIANTS.items()
        if variant.style == "protocol"
        for reader in variant.readers[1:]
    ]


def each_variant() -> list[object]:
    """Every registered variant once (default cache); unavailable ones are `missing`."""
    return [pytest.param(name, id=name, marks=_skip_if_unavailable(name)) for name in VARIANT_NAMES]


def each_style(cache: str | None = None) -> list[object]:
    """One variant per I/O style (the first registered: asyncio's loop), for slow tests.

    For tests of what a style's two variants share (send paths, stalls, memory, the store's
    options, workers): both loops run the same shell code, so every loop would double
    their time for little. What the loop itself does (accepting, EMFILE, signals, shutdown,
    clients that leave) stays on `each_variant`.
    With `cache`, only styles that have that cache mode (the blog style has no `on`).
    """
    chosen: dict[str, str] = {}
    for name, variant in VARIANTS.items():
        if cache is None or cache in variant.caches:
            chosen.setdefault(variant.style, name)
    return [pytest.param(name, id=name, marks=_skip_if_unavailable(name))
            for name in chosen.values()]  # fmt: skip


def each_style_cache() -> list[object]:
    """(variant, cache): one variant per I/O style (see `each_style`) × every cache it has."""
    chosen = {param.values[0] for param in each_style()}  # type: ignore[attr-defined]
    return [param for param in variant_params() if param.values[0][0] in chosen]  # type: ignore[attr-defined]


def one_request_per_connection(variant: str) -> bool:
    """Whether the variant closes after every response (the blog style, by design)."""
    return VARIANTS[variant].style == "blog"


def variant_of(server: ServerProcess) -> str:
    """The --variant a ServerProcess was started with."""
    return server.args[server.args.index("--variant") + 1]


def shared_server(cell: tuple[str, ...], site: Path) -> Iterator[ServerProcess]:
    """Run a (variant, cache) or (variant, cache, reader) server for a shared fixture."""
    variant, cache, *reader = cell
    args = ["--variant", variant, "--cache", cache, "--root", str(site)]
    args += ["--max-connections", "2000", *(["--reader", *reader] if reader else [])]
    with ServerProcess(args) as running:
        yield running
        stop_and_check(running, since=_CHECKED_UP_TO.pop(running.url, 0))


@pytest.fixture(scope="session", params=variant_params())
def server(request: pytest.FixtureRequest, site: Path) -> Iterator[ServerProcess]:
    """A running server of one variant and cache mode, shared by the tests that use it."""
    yield from shared_server(request.param, site)


_CHECKED_UP_TO: dict[str, int] = {}  # a shared server's URL -> stderr already checked


@pytest.fixture(autouse=True)
def _shared_server_checked(request: pytest.FixtureRequest) -> Iterator[None]:
    """After each test using a shared `server`: it still runs and logged nothing unexpected."""
    if "server" not in request.fixturenames:
        yield
        return
    shared: ServerProcess = request.getfixturevalue("server")
    _CHECKED_UP_TO[shared.url] = len(shared.stderr())
    yield
    expected = [
        pattern for mark in request.node.iter_markers("server_stderr") for pattern in mark.args
    ]
    # A line logged late (a connection the previous test left) lands here: say so.
    note = " during this test (or late, from a connection the previous test left)"
    _CHECKED_UP_TO[shared.url] = check_stderr(shared, _CHECKED_UP_TO[shared.url], expected, note)
    assert shared.process is not None
    assert shared.process.poll() is None, f"the shared server died: {shared.stderr()[-2000:]}"
