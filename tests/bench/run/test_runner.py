"""The runner with real servers and real locust processes on 127.0.0.1.

Every scenario turns a wrong answer into failures (and a right one into none); a locust
that fails, or a server that cannot start, is a failed row with its reason and leaves no
process behind; every scenario file also runs alone with `locust -f`. The matrix's order
and the presets' time budgets are plain unit tests.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil
import pytest

import bench.engines.locust.engine as locust_engine
from bench.engines.locust.processes import MEASURE_TAIL_S
from bench.engines.locust.scenarios import SCENARIOS, scenario_file
from bench.plan.matrix import CLOSED, Cell, Matrix, Trial
from bench.plan.presets import preset
from bench.results.locust_csv import read_failures
from bench.results.table import FAILED, OK, ResultRow
from bench.run.runner import Runner
from bench.run.settings import RunnerSettings, split_cpus
from bench.targets.process import ChildProcess, PinnedProcess, ServerProcess
from bench.targets.start import catalogue
from tests.bench.synthetic_run import ISSUE11_CATALOGUE
from tests.conftest import PROJECT
from tests.pace import cpu_available
from tests.serverchecks import checked_server

STATIC = PROJECT / "static"
PARALLEL_TRIALS = 4  # short trials at once: 2 cores, and failures need no precise rate
STARTUP_S = 1.0  # per trial: server and locust start-up, readiness, stop (measured ~0.5-1.5)

# What each scenario reports when the site is static/docs: a different /index.html, and no
# /generated/, /css/ or not_found.html (404 with another body). `notfound` meets a site
# where its paths exist, with the not-found page's very bytes: only the 200 is wrong.
WRONG_ANSWER = {
    "small": "body bytes",
    "close": "body bytes",
    "large": "expected 200, got 404",
    "mixed": "expected",
    "range": "expected 206, got 404",
    "notfound": "expected 404, got 200",
}
MISSING_PATHS = 100  # bench/engines/locust/scenarios/notfound.py asks for /missing/<0..99>.html
# nox's `--dist loadfile` runs this file on one xdist worker: `checked_trials` (nine locust
# runs) is built once.


class Descendants:
    """Every process descending from this one while a block runs, sampled; none may outlive it.

    Sampling also sees processes that are orphaned later (e.g. locust's forked workers),
    which a look at the children after the block would miss. psutil handles remember each
    process's start time, so a recycled PID is never mistaken for one of ours.
    """

    def __init__(self, interval: float = 0.05) -> None:
        self.seen: dict[int, tuple[psutil.Process, str]] = {}  # pid: (handle, command line)
        self.listening: set[tuple[str, int]] = set()  # every TCP address they listened on
        self.before = {child.pid for child in psutil.Process().children(recursive=True)}
        self._interval = interval
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> Descendants:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._done.set()
        self._thread.join()

    def _sample(self) -> None:
        while not self._done.is_set():
            for child in psutil.Process().children(recursive=True):
                if child.pid not in self.before:
                    self._note(child)
            self._done.wait(self._interval)

    def _note(self, child: psutil.Process) -> None:
        known, cmdline = self.seen.get(child.pid, (child, ""))
        self.seen[child.pid] = (known, _cmdline(child) or cmdline)  # exec follows fork
        try:
            connections = child.net_connections(kind="tcp")
        except psutil.Error:  # gone meanwhile
            return
        listening = [c.laddr for c in connections if c.status == psutil.CONN_LISTEN]
        self.listening.update((address.ip, address.port) for address in listening)

    def matching(self, text: str) -> list[psutil.Process]:
        """The sampled processes whose command line contains `text`."""
        return [process for process, cmdline in self.seen.values() if text in cmdline]

    def alive(self) -> list[psutil.Process]:
        """Sampled processes still running (zombies excluded); they are killed, then listed."""
        alive = [process for process, _ in self.seen.values() if _running(process)]
        for process in alive:
            process.kill()
        return alive


def _running(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _cmdline(process: psutil.Process) -> str:
    try:
        return " ".join(process.cmdline())
    except psutil.Error:
        return ""


def _settings(url: str | None, root: Path = STATIC) -> RunnerSettings:
    """Short trials, unpinned (tests share the machine), against `url` when given."""
    return RunnerSettings(
        duration=2, warmup=1, server_cpus=None, load_cpus=None, host=url, root=root
    )


def _root_of(server: ChildProcess) -> Path:
    """The site a test server serves (its --root)."""
    return Path(server.argv[server.argv.index("--root") + 1]).resolve(strict=False)


def _trial(scenario: str, variant: str = "external", users: int = 2) -> Trial:
    return Trial(Cell(variant, "n/a" if variant == "external" else "on", scenario, users), 1)


@pytest.fixture(scope="module")
def right_site() -> Iterator[ServerProcess]:
    """Our server on the demo site the scenarios expect."""
    with checked_server(["--root", str(STATIC)]) as server:
        yield server


@pytest.fixture(scope="module")
def wrong_site() -> Iterator[ServerProcess]:
    """Our server on another site: other sizes, missing files."""
    with checked_server(["--root", str(STATIC / "docs")]) as server:
        yield server


@pytest.fixture(scope="module")
def found_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """Our server on a site where `notfound`'s paths exist, holding the not-found page."""
    root = tmp_path_factory.mktemp("found")
    (root / "missing").mkdir()
    page = (STATIC / "not_found.html").read_bytes()
    shutil.copy(STATIC / "index.html", root)  # what the conformance gate fetches
    for number in range(MISSING_PATHS):
        (root / "missing" / f"{number}.html").write_bytes(page)
    with checked_server(["--root", str(root)]) as server:
        yield server


@pytest.fixture(scope="module")
def checked_trials(
    tmp_path_factory: pytest.TempPathFactory,
    right_site: ServerProcess,
    wrong_site: ServerProcess,
    found_site: ServerProcess,
    original_blog: PinnedProcess,
) -> dict[str, tuple[ResultRow, Path]]:
    """Every scenario against a wrong server, and `mixed` against the right one, at once.

    Keyed by scenario ("original" for `notfound` against the original post's server,
    "right" for the converse); each with its raw directory. Running them together keeps
    the set short; each runner only starts its own locust. The conformance gate is given
    the site each server really serves, so the wrong answers reach locust's checks.
    """
    out = tmp_path_factory.mktemp("checked")
    jobs = {name: (name, wrong_site) for name in SCENARIOS}
    jobs["notfound"] = ("notfound", found_site)
    jobs["original"] = ("notfound", original_blog)
    jobs["right"] = ("mixed", right_site)

    def run(key: str) -> tuple[ResultRow, Path]:
        scenario, server = jobs[key]
        runner = Runner(_settings(server.url, root=_root_of(server)), out / key)
        trial = _trial(scenario)
        return runner.run(trial), out / key / "raw" / trial.label

    with ThreadPoolExecutor(PARALLEL_TRIALS) as pool:
        return dict(zip(jobs, pool.map(run, jobs), strict=True))


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_wrong_answers_are_failures(
    checked_trials: dict[str, tuple[ResultRow, Path]], scenario: str
) -> None:
    row, raw = checked_trials[scenario]
    assert row.status == OK, row.reason
    assert row.requests > 0
    assert row.failures > 0, f"{scenario}: a wrong server went unnoticed"
    errors = [error for _, error, _ in read_failures(raw / "locust")]
    assert errors, f"{scenario}: failures counted but none recorded"
    assert any(WRONG_ANSWER[scenario] in error for error in errors), errors


def test_original_blog_is_not_benchmarked(
    checked_trials: dict[str, tuple[ResultRow, Path]],
) -> None:
    """The original post's server fails the conformance gate (no Content-Length, 200 for
    a missing file, traversal): the trial is failed with those reasons, never measured."""
    row, _ = checked_trials["original"]
    assert row.status == FAILED
    assert "conformance gate" in row.reason
    assert "expected 404" in row.reason
    assert "escapes the root" in row.reason
    assert math.isnan(row.requests)


def test_right_answers_are_no_failures(checked_trials: dict[str, tuple[ResultRow, Path]]) -> None:
    row, raw = checked_trials["right"]
    assert row.status == OK, row.reason
    assert row.requests > 0
    assert row.failures == 0, read_failures(raw / "locust")
    assert row.window_s > 0
    assert row.requests_per_s > 0


@pytest.mark.parametrize(
    ("code", "stderr"),
    [
        pytest.param(3, "", id="exit-3"),
        # A traceback exits 1 like "some requests failed"; with no stats it is a crash.
        pytest.param(1, "RuntimeError: locust broke", id="crash-exit-1"),
    ],
)
def test_locust_failure_stops_the_server(
    tmp_path: Path, code: int, stderr: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = Runner(_settings(None), tmp_path)
    script = f"import sys, time; time.sleep(0.5); sys.stderr.write({stderr!r}); sys.exit({code})"
    fake = [sys.executable, "-c", script]  # a real process that fails
    monkeypatch.setattr(locust_engine, "locust_command", lambda: fake)
    with Descendants() as children:
        row = runner.run(_trial("small", variant="asyncio"))
    assert row.status == FAILED
    assert re.search(rf"locust exited \(?{code}\b", row.reason), row.reason
    assert stderr in row.reason
    assert math.isnan(row.requests)
    assert children.matching("-m server"), "the trial never started a server"
    assert not children.alive(), "a process outlived its trial"


def test_server_that_cannot_start_is_a_failed_row(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-site"
    runner = Runner(_settings(None, root=missing), tmp_path)
    with Descendants() as children:
        row = runner.run(_trial("small", variant="asyncio"))
    assert row.status == FAILED
    assert f"root directory not found: {missing}" in row.reason  # the server's own stderr
    assert row.overhead_s >= 0
    assert not children.alive()


def test_every_scenario_runs_alone(right_site: ServerProcess) -> None:
    """`locust -f bench/engines/locust/scenarios/<name>.py` from the project root, no
    STATICBENCH_* set."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("STATICBENCH_")}
    locust = Path(sys.executable).with_name("locust")
    runs: dict[str, subprocess.Popen[str]] = {}
    with Descendants() as children:
        try:
            for name in SCENARIOS:
                argv = [
                    str(locust), "-f", str(scenario_file(name).relative_to(PROJECT)),
                    "--headless", "-u", "2", "-r", "2", "-t", "2s", "--host", right_site.url,
                    "--only-summary",
                ]  # fmt: skip
                runs[name] = subprocess.Popen(
                    argv, cwd=PROJECT, env=env, text=True,
                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                )  # fmt: skip
            outputs = {name: run.communicate(timeout=60)[0] for name, run in runs.items()}
        finally:
            for run in runs.values():
                if run.poll() is None:
                    run.kill()
                    run.wait()
    for name, run in runs.items():
        assert run.returncode == 0, f"{name}: exit {run.returncode}\n{outputs[name][-3000:]}"
        assert "Aggregated" in outputs[name]
    assert not children.alive()


def test_trials_are_interleaved() -> None:
    matrix = Matrix(("a", "b"), ("on",), ("small",), (10,), repeats=3)
    order = [(trial.cell.variant, trial.repeat) for trial in matrix.trials()]
    assert order == [("a", 1), ("b", 1), ("b", 2), ("a", 2), ("a", 3), ("b", 3)]


def test_cells_are_scenario_major() -> None:
    matrix = Matrix(("a", "b"), ("on", "off"), ("small", "close"), (10,), repeats=1)
    labels = [cell.label for cell in matrix.cells()]
    assert labels[:4] == [
        "a-on-small-u10-lean", "a-off-small-u10-lean", "b-on-small-u10-lean", "b-off-small-u10-lean"
    ]  # fmt: skip
    assert len(labels) == len(set(labels)) == 8
    assert {trial.label for trial in matrix.trials()} == {f"{label}-r1" for label in labels}


def _estimated_s(matrix: Matrix) -> float:
    """What a trial costs: warm-up, measured window, the runner's tail, start-up and stop."""
    per_trial = matrix.warmup + matrix.duration + MEASURE_TAIL_S + STARTUP_S
    return len(matrix.trials()) * per_trial


@pytest.mark.parametrize("variants", ["registered", "issue 11"])
@pytest.mark.parametrize(("name", "budget_s"), [("quick", 180), ("default", 12 * 60)])
def test_presets_fit_their_budget(name: str, budget_s: float, variants: str) -> None:
    modes = catalogue() if variants == "registered" else ISSUE11_CATALOGUE
    assert _estimated_s(preset(name, modes)) < budget_s


def test_descendants_sees_orphans() -> None:
    """The leak check itself: a grandchild whose parent exits is still seen, then killed."""
    sleeper = [sys.executable, "-c", "import time; time.sleep(30)"]
    spawn = f"import subprocess, time; subprocess.Popen({sleeper!r}); time.sleep(0.5)"
    with Descendants() as children:
        subprocess.run([sys.executable, "-c", spawn], check=True, timeout=10)
        time.sleep(0.2)
    left = children.alive()
    assert len(left) == 1


# -- the cost of a trial, on real runs ------------------------------------------------------


def _pinned_trial(
    tmp_path: Path,
    variant: str,
    cache: str,
    scenario: str,
    users: int,
    client: str = "lean",
    load: str = CLOSED,
) -> ResultRow:
    """One real trial, pinned as the bench pins it (server CPU 0, load the rest)."""
    server_cpus, load_cpus = split_cpus(sorted(os.sched_getaffinity(0)))
    if server_cpus is None:
        pytest.skip("needs 2 CPUs to pin the server and the load apart")
    settings = RunnerSettings(duration=3, warmup=1, server_cpus=server_cpus, load_cpus=load_cpus)
    cell = Cell(variant, cache, scenario, users, client=client, load=load)
    row = Runner(settings, tmp_path).run(Trial(cell, 1))
    assert row.status == OK, row.reason
    return row


def _costs_are_sane(row: ResultRow) -> None:
    # Sane per-request cost on loopback: more than a few µs, less than a few ms.
    assert 5 < row.cpu_us_per_request < 5_000, row
    assert row.capacity_rps == pytest.approx(1e6 / row.cpu_us_per_request, rel=1e-6)
    assert row.hdr_count >= row.requests > 0  # the histogram also holds the tail
    assert row.hdr_p50_us <= row.hdr_p99_us <= row.hdr_max_us
    assert 10 < row.rss_mb < 200


# A pinned busy loop gets at least this share of its CPU on a machine whose CPUs are free.
OWN_CPU = 0.9


@pytest.mark.solo  # its premise: CPUs of its own
def test_a_saturated_generator_is_marked(tmp_path: Path) -> None:
    """uvloop serving from memory needs far less CPU per request than FastHttpUser spends:
    locust is the bottleneck, on CPUs of their own.

    The premise is the bench's: each side has its pinned CPU to itself. The control, a
    busy loop pinned to each CPU first, says whether it holds right now; when another
    process shares a CPU (`--under-load`, or the suite beside other work), each side gets
    a fair share of its CPU, either may be the bottleneck and no CPU share can say which
    (measured: locust used 36% of its CPU, the server's side starved too), so the test
    skips, saying so; the quiet run checks it.
    """
    available = cpu_available(sorted(os.sched_getaffinity(0))[:2])
    if min(available.values()) < OWN_CPU:
        shares = ", ".join(f"CPU {cpu}: {share:.0%}" for cpu, share in available.items())
        pytest.skip(f"the CPUs are shared right now (a pinned busy loop gets {shares})")
    bound = _pinned_trial(tmp_path / "bound", "uvloop", "on", "small", 50, client="fasthttp")
    assert bound.load_cpu_share > 0.9, bound
    assert bound.generator_bound is True
    _costs_are_sane(bound)
    assert bound.cache_hit_ratio == pytest.approx(1.0, abs=0.01)


def test_an_unsaturated_generator_is_not_marked(tmp_path: Path) -> None:
    """A paced load (200 req/s, open model) far below both sides' capacity, whoever shares
    their CPUs: locust is mostly asleep, and the mark stays off."""
    free = _pinned_trial(tmp_path / "free", "asyncio", "off", "close", 10, load="200/s")
    assert free.load_cpu_share < 0.5, free
    assert free.generator_bound is False
    _costs_are_sane(free)
    assert math.isnan(free.cache_hit_ratio)  # no cache: no lookups counted
