"""Running trials: start the server, run locust against it, always stop both.

The runner only moves processes and files. For each trial it starts `python -m server`
pinned to the server CPUs (unless `--host` names a server already running), checks a real
response, runs locust headless as a subprocess pinned to the load CPUs — warm-up first,
forgotten by the scenario when it ends — and turns locust's CSV files into one results
row. Locust is never imported here: gevent must not patch this process.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.environment import utc_now
from bench.locust_csv import STATS, LocustCsvError, read_summary
from bench.matrix import Trial
from bench.proc import free_port, http_status
from bench.results import OK, SCHEMA_VERSION, ResultRow, failed_row
from bench.scenarios import scenario_file
from server.spawn import ChildProcess, ChildStartError, ServerProcess

PROJECT = Path(__file__).resolve().parent.parent
STATIC = PROJECT / "static"
LOCUST_GRACE = 30.0  # seconds past its run time before a silent locust is stopped
# Locust runs this much longer than warm-up + duration so the window can span `duration`:
# locust writes a history row every second but none when it stops, and the reader skips the
# row that may race the warm-up reset (bench.locust_csv._first_measured_tick).
MEASURE_TAIL_S = 2
WORKER_WAIT = 120  # seconds a master waits for its remote workers to connect


class TrialFailed(Exception):
    """Why a trial produced no measurement (recorded in the results, the run goes on)."""


@dataclass(frozen=True, slots=True)
class RunnerSettings:
    """How every trial of a run is made."""

    duration: int
    warmup: int
    server_cpus: tuple[int, ...] | None
    load_cpus: tuple[int, ...] | None
    load_workers: int = 0  # local locust worker processes besides the master (0: one process)
    remote_workers: int = 0  # workers on other machines the master waits for
    master_bind: str = "127.0.0.1"  # where the master listens for remote workers
    host: str | None = None  # a server already running: start none
    root: Path = STATIC


class LocustProcess(ChildProcess):
    """A headless locust run; ready at once, done when it exits."""

    def _await_ready(self, deadline: float) -> None:
        self._fail_if_exited()


class Runner:
    """Runs trials into a run directory; one instance per run."""

    def __init__(self, settings: RunnerSettings, out: Path) -> None:
        self.settings = settings
        self.out = out
        self.locust = _locust_command()

    def run(self, trial: Trial) -> ResultRow:
        """Measure one trial; a failure becomes a row with its reason, never an exception."""
        started_at, began = utc_now(), time.monotonic()
        raw = self.out / "raw" / trial.label
        raw.mkdir(parents=True, exist_ok=True)
        try:
            locust_seconds = self._measure(trial, raw)
            # Reading the CSVs can fail too (e.g. too few history rows): a row, not a crash.
            return self._row(trial, raw, started_at, time.monotonic() - began - locust_seconds)
        except (TrialFailed, ChildStartError, LocustCsvError, OSError) as error:
            return failed_row(
                self._identity(trial, started_at), str(error), time.monotonic() - began
            )

    def _measure(self, trial: Trial, raw: Path) -> float:
        """Serve and load; returns the seconds locust ran (the rest is overhead)."""
        with self._server(trial) as url:
            began = time.monotonic()
            self._run_locust(trial, url, raw)
            return time.monotonic() - began

    @contextmanager
    def _server(self, trial: Trial) -> Iterator[str]:
        """The URL to load: our server, started for this trial, or the --host one."""
        if self.settings.host is not None:
            yield self.settings.host
            return
        cell = trial.cell
        args = ["--variant", cell.variant, "--cache", cell.cache, "--root", str(self.settings.root)]
        with ServerProcess(args, cpus=self.settings.server_cpus, own_group=True) as server:
            _check_serves(server)
            yield server.url

    def _run_locust(self, trial: Trial, url: str, raw: Path) -> None:
        """Run locust for warm-up + duration: one process, or a master and its workers."""
        settings = self.settings
        run_time = settings.warmup + settings.duration + MEASURE_TAIL_S
        scenario = str(scenario_file(trial.cell.scenario))
        argv = [
            *self.locust, "-f", scenario, "--headless",
            "-u", str(trial.cell.users), "-r", str(trial.cell.users), "-t", f"{run_time}s",
            "--host", url, "--csv", str(raw / "locust"), "--csv-full-history",
            "--only-summary", "--stop-timeout", "2", "--loglevel", "WARNING",
            "--logfile", str(raw / "locust.log"),
        ]  # fmt: skip
        local_workers: list[str] = []
        limit = run_time + LOCUST_GRACE
        if settings.remote_workers:
            argv += self._master_options()
            limit += WORKER_WAIT
            if settings.load_workers:
                local_workers = [
                    *self.locust, "-f", scenario, "--worker", "--master-host", "127.0.0.1",
                    "--processes", str(settings.load_workers), "--loglevel", "WARNING",
                    "--logfile", str(raw / "workers.log"),
                ]  # fmt: skip
        elif settings.load_workers:
            # A master + N forked workers, talking over a free loopback port: locust's default
            # binds *:5557, on every interface, and fails when a concurrent run holds it.
            argv += ["--processes", str(settings.load_workers), *_loopback_master()]
        with ExitStack() as stack:
            master = stack.enter_context(self._locust(argv, raw / "locust.stderr"))
            if local_workers:
                stack.enter_context(self._locust(local_workers, raw / "workers.stderr"))
            _wait(master, limit, Path(f"{raw / 'locust'}{STATS}"))

    def _master_options(self) -> list[str]:
        settings = self.settings
        expected = settings.load_workers + settings.remote_workers
        return [
            "--master", "--master-bind-host", settings.master_bind,
            "--expect-workers", str(expected), "--expect-workers-max-wait", str(WORKER_WAIT),
        ]  # fmt: skip

    def _locust(self, argv: list[str], log: Path) -> LocustProcess:
        env = {**os.environ, "STATICBENCH_WARMUP": str(self.settings.warmup)}
        return LocustProcess(
            argv, cpus=self.settings.load_cpus, cwd=str(PROJECT), env=env, log=log, own_group=True
        )

    def _identity(self, trial: Trial, started_at: str) -> dict[str, Any]:
        cell = trial.cell
        return {
            "variant": cell.variant, "cache": cell.cache, "scenario": cell.scenario,
            "users": cell.users, "repeat": trial.repeat,
            "load_workers": self.settings.load_workers + self.settings.remote_workers,
            "started_at": started_at,
        }  # fmt: skip

    def _row(self, trial: Trial, raw: Path, started_at: str, overhead: float) -> ResultRow:
        summary = read_summary(raw / "locust", warmup_s=self.settings.warmup)
        return ResultRow(
            schema_version=SCHEMA_VERSION, status=OK, reason="", overhead_s=overhead,
            requests=summary.requests, failures=summary.failures,
            requests_per_s=summary.requests_per_s, mean_ms=summary.mean_ms,
            p50_ms=summary.p50_ms, p90_ms=summary.p90_ms, p99_ms=summary.p99_ms,
            p999_ms=summary.p999_ms, max_ms=summary.max_ms, bytes_per_s=summary.bytes_per_s,
            window_s=summary.window_s, **self._identity(trial, started_at),
        )  # fmt: skip


def _locust_command() -> list[str]:
    """locust from this environment (never imported into this process)."""
    beside = Path(sys.executable).with_name("locust")
    found = str(beside) if beside.exists() else shutil.which("locust")
    if found is None:
        raise TrialFailed("locust is not installed (pip install locust)")
    return [found]


def _loopback_master() -> list[str]:
    """Options for a master and its forked workers to meet on a free port of 127.0.0.1."""
    port = str(free_port())
    return [
        "--master-bind-host", "127.0.0.1", "--master-bind-port", port,
        "--master-host", "127.0.0.1", "--master-port", port,
    ]  # fmt: skip


def _check_serves(server: ServerProcess) -> None:
    """The ready line said listening; make sure a real request gets a real answer."""
    try:
        status = http_status(server.port)
    except (OSError, ValueError) as error:
        raise TrialFailed(f"server listens but does not answer: {error}") from None
    if status != 200:
        raise TrialFailed(f"server answered GET /index.html with {status}")


def _wait(locust: LocustProcess, limit: float, stats: Path) -> None:
    """Wait for locust to finish; a hung or crashed locust fails the trial (and is stopped)."""
    assert locust.process is not None
    try:
        code = locust.process.wait(limit)
    except subprocess.TimeoutExpired:
        raise TrialFailed(f"locust still running after {limit:.0f} s; stopped") from None
    # 1 means "some requests failed": counted in the results, not a broken trial — unless
    # locust crashed before it wrote any stats (a traceback exits 1 too).
    if code not in (0, 1) or not stats.exists():
        raise TrialFailed(f"locust exited {code}: {_last_lines(locust.stderr())}")


def _last_lines(text: str, count: int = 3) -> str:
    """The end of a child's stderr: where a traceback says what went wrong."""
    return " | ".join(text.strip().splitlines()[-count:])


def split_cpus(available: Sequence[int]) -> tuple[tuple[int, ...] | None, tuple[int, ...] | None]:
    """Default pinning: the server on the first CPU, the load on the rest (needs ≥ 2)."""
    cpus = sorted(available)
    if len(cpus) < 2:
        return None, None
    return (cpus[0],), tuple(cpus[1:])
