"""Locust as the load generator: the command lines, the processes, the wait.

One headless process, a master with N forked workers (`--processes`), or a master that
waits for workers on other machines. Locust is only ever a subprocess: importing it would
let gevent patch the runner. Each process writes its latency histogram to `hdr/`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from contextlib import ExitStack, suppress
from pathlib import Path
from types import TracebackType
from typing import Self

from bench.engines.interface import EngineError
from bench.engines.locust.scenarios import WINDOW_MARK_ENV, scenario_file
from bench.plan.matrix import Trial
from bench.results.locust_csv import STATS
from bench.targets.process import ChildProcess, free_port

PROJECT = Path(__file__).resolve().parents[3]
LOCUST_GRACE = 30.0  # seconds past its run time before a silent locust is stopped
LOCUST_STARTUP_S = 1.0  # locust's own start-up before its clock (and the warm-up) starts
# Locust runs this much longer than warm-up + duration so the window can span `duration`:
# locust writes a history row every second but none when it stops, and the reader skips the
# row that may race the warm-up reset (bench.results.locust_csv._first_measured_tick).
MEASURE_TAIL_S = 2
WORKER_WAIT = 120  # seconds a master waits for its remote workers to connect
# Seconds past the expected warm-up end the runner waits for locust to say its window
# opened (a loaded machine can take that long to import locust); then it guesses.
WINDOW_MARK_WAIT = 30.0
_POLL_S = 0.02


class LoadFailed(EngineError):
    """Locust did not produce a run (crashed, hung, or is not installed)."""


class LocustProcess(ChildProcess):
    """A headless locust process; ready at once, done when it exits."""

    def _await_ready(self, deadline: float) -> None:
        self._fail_if_exited()


def locust_command() -> list[str]:
    """locust from this environment (never imported into this process)."""
    beside = Path(sys.executable).with_name("locust")
    found = str(beside) if beside.exists() else shutil.which("locust")
    if found is None:
        raise LoadFailed("locust is not installed (pip install locust)")
    return [found]


class LoadRun:
    """Locust for one trial; a context manager that always stops every locust process."""

    def __init__(
        self,
        locust: list[str],
        trial: Trial,
        url: str,
        raw: Path,
        *,
        duration: int,
        warmup: int,
        cpus: tuple[int, ...] | None,
        load_workers: int = 0,
        remote_workers: int = 0,
        master_bind: str = "127.0.0.1",
        user_rate: float = 0.0,
    ) -> None:
        self.raw = raw
        self.warmup = warmup
        self.run_time = warmup + duration + MEASURE_TAIL_S
        self.cpus = cpus
        self.hdr_dir = raw / "hdr"
        self.window_mark = raw / "window-opened"
        self.duration = duration
        scenario = str(scenario_file(trial.cell.scenario))
        users = str(trial.cell.users)
        self.master_argv = [
            *locust, "-f", scenario, "--headless", "-u", users, "-r", users,
            "-t", f"{self.run_time}s", "--host", url, "--csv", str(raw / "locust"),
            "--csv-full-history", "--only-summary", "--stop-timeout", "2",
            "--loglevel", "WARNING", "--logfile", str(raw / "locust.log"),
        ]  # fmt: skip
        self.master_argv += ["--client", trial.cell.client]  # workers get it from the master
        if user_rate > 0:  # the open model (bench.engines.locust.scenarios.base.Schedule)
            self.master_argv += ["--user-rate", repr(user_rate)]
        self.worker_argv: list[str] = []
        self.limit = self.run_time + LOCUST_GRACE
        if remote_workers:
            self.master_argv += [
                "--master", "--master-bind-host", master_bind,
                "--expect-workers", str(load_workers + remote_workers),
                "--expect-workers-max-wait", str(WORKER_WAIT),
            ]  # fmt: skip
            self.limit += WORKER_WAIT
            if load_workers:
                self.worker_argv = [
                    *locust, "-f", scenario, "--worker", "--master-host", "127.0.0.1",
                    "--processes", str(load_workers), "--loglevel", "WARNING",
                    "--logfile", str(raw / "workers.log"),
                ]  # fmt: skip
        elif load_workers:
            # A master + N forked workers, talking over a free loopback port: locust's default
            # binds *:5557, on every interface, and fails when a concurrent run holds it.
            self.master_argv += ["--processes", str(load_workers), *_loopback_master()]
        self._stack = ExitStack()
        self.processes: list[LocustProcess] = []
        self.started = 0.0

    def __enter__(self) -> Self:
        self.hdr_dir.mkdir(exist_ok=True)
        self.started = time.monotonic()
        try:
            self.processes.append(self._start(self.master_argv, "locust.stderr"))
            if self.worker_argv:
                self.processes.append(self._start(self.worker_argv, "workers.stderr"))
        except BaseException:
            self._stack.close()
            raise
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._stack.close()

    def _start(self, argv: list[str], log: str) -> LocustProcess:
        env = {
            **os.environ,
            "STATICBENCH_WARMUP": str(self.warmup),
            "STATICBENCH_HDR_DIR": str(self.hdr_dir),
            WINDOW_MARK_ENV: str(self.window_mark),
        }
        process = LocustProcess(
            argv, cpus=self.cpus, cwd=str(PROJECT), env=env, log=self.raw / log, own_group=True
        )
        # Registered before it starts: a Ctrl-C between its start and the registration
        # would leave this locust running after the trial.
        self._stack.callback(process.close)
        return process.start()

    @property
    def pids(self) -> list[int]:
        """The locust processes we started (workers are their children)."""
        return [process.pid for process in self.processes]

    def sleep_until(self, offset: float) -> None:
        """Sleep until `offset` seconds after locust started, or until it exits."""
        master = self.processes[0].process
        assert master is not None
        remaining = self.started + offset - time.monotonic()
        if remaining > 0:
            with suppress(subprocess.TimeoutExpired):
                master.wait(remaining)

    def window_opened(self) -> float:
        """Seconds after start when locust forgot its warm-up: what it says (the mark), or,
        if it says nothing in time (or exits), the guess of a 1 s start-up."""
        guess = LOCUST_STARTUP_S + self.warmup
        deadline = self.started + guess + WINDOW_MARK_WAIT
        master = self.processes[0].process
        assert master is not None
        while time.monotonic() < deadline and master.poll() is None:
            with suppress(OSError, ValueError):
                return float(self.window_mark.read_text(encoding="ascii")) - self.started
            time.sleep(_POLL_S)
        return guess

    def window_closes(self, opened: float) -> float:
        """Seconds after start when the measured window ends: `duration` plus the tail after
        it opened (sooner if locust stops first: `sleep_until` returns when it exits)."""
        return opened + self.duration + MEASURE_TAIL_S

    def wait(self) -> None:
        """Wait for the master; a hung or crashed locust raises LoadFailed (and is stopped)."""
        locust = self.processes[0]
        assert locust.process is not None
        try:
            code = locust.process.wait(max(1.0, self.started + self.limit - time.monotonic()))
        except subprocess.TimeoutExpired:
            raise LoadFailed(f"locust still running after {self.limit:.0f} s; stopped") from None
        # 1 means "some requests failed": counted in the results, not a broken trial — unless
        # locust crashed before it wrote any stats (a traceback exits 1 too).
        if code not in (0, 1) or not Path(f"{self.raw / 'locust'}{STATS}").exists():
            raise LoadFailed(f"locust exited {code}: {_last_lines(locust.stderr())}")


def _loopback_master() -> list[str]:
    """Options for a master and its forked workers to meet on a free port of 127.0.0.1."""
    port = str(free_port())
    return [
        "--master-bind-host", "127.0.0.1", "--master-bind-port", port,
        "--master-host", "127.0.0.1", "--master-port", port,
    ]  # fmt: skip


def _last_lines(text: str, count: int = 3) -> str:
    """The end of a child's stderr: where a traceback says what went wrong."""
    return " | ".join(text.strip().splitlines()[-count:])
