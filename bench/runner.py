"""Running trials: start the server, run locust against it, always stop both.

The runner only moves processes and files. For each trial it starts `python -m server`
pinned to the server CPUs (unless `--host` names a server already running), checks it with the
conformance gate (a real request), runs locust (`bench.load`) pinned to the load CPUs —
warm-up first, forgotten by the scenario when it ends — samples what both sides cost over
the measured window (`bench.costs`), and turns locust's CSV files and latency histograms
into one results row. Locust is never imported here: gevent must not patch this process.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench import conformance
from bench.costs import CostProbe, Costs
from bench.environment import utc_now
from bench.latency import MERGED, LatencySummary, merge_directory, save, summarise
from bench.load import LoadFailed, LoadRun, locust_command
from bench.locust_csv import LocustCsvError, read_summary
from bench.matrix import Trial
from bench.results import OK, SCHEMA_VERSION, ResultRow, failed_row
from server.spawn import ChildStartError, ServerProcess

PROJECT = Path(__file__).resolve().parent.parent
STATIC = PROJECT / "static"
NO_LATENCY = LatencySummary(0, *[math.nan] * 6)


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


@dataclass(frozen=True, slots=True)
class Target:
    """The server a trial loads: its URL, and what we know of it when we started it."""

    url: str
    pid: int | None = None
    stats_dir: Path | None = None


class Runner:
    """Runs trials into a run directory; one instance per run."""

    def __init__(self, settings: RunnerSettings, out: Path) -> None:
        self.settings = settings
        self.out = out
        self.locust = locust_command()

    def run(self, trial: Trial) -> ResultRow:
        """Measure one trial; a failure becomes a row with its reason, never an exception."""
        started_at, began = utc_now(), time.monotonic()
        raw = self.out / "raw" / trial.label
        raw.mkdir(parents=True, exist_ok=True)
        try:
            locust_seconds, costs = self._measure(trial, raw)
            # Reading the CSVs can fail too (e.g. too few history rows): a row, not a crash.
            overhead = time.monotonic() - began - locust_seconds
            return self._row(trial, raw, started_at, overhead, costs)
        except (TrialFailed, LoadFailed, ChildStartError, LocustCsvError, OSError) as error:
            return failed_row(
                self._identity(trial, started_at), str(error), time.monotonic() - began
            )

    def _measure(self, trial: Trial, raw: Path) -> tuple[float, Costs]:
        """Gate, serve and load; the seconds locust ran (the rest is overhead) and the costs."""
        with self._server(trial, raw) as target:
            problems = conformance.check(target.url, self.settings.root)
            if problems:
                raise TrialFailed(
                    "not benchmarked, fails the conformance gate: " + "; ".join(problems)
                )
            began = time.monotonic()
            costs = self._load(trial, target, raw)
            return time.monotonic() - began, costs

    def _load(self, trial: Trial, target: Target, raw: Path) -> Costs:
        """Run locust; sample both sides from the end of the warm-up to the end of the load."""
        settings = self.settings
        load = LoadRun(
            self.locust, trial, target.url, raw, duration=settings.duration,
            warmup=settings.warmup, cpus=settings.load_cpus, load_workers=settings.load_workers,
            remote_workers=settings.remote_workers, master_bind=settings.master_bind,
        )  # fmt: skip
        with load:
            probe = CostProbe(
                load.pids, self._load_cpu_count(), target.pid,
                len(settings.server_cpus or os.sched_getaffinity(0)), target.stats_dir,
            )  # fmt: skip
            load.sleep_until(load.measured_from)
            probe.begin()
            load.sleep_until(load.load_ends_at)
            costs = probe.end()
            load.wait()
        return costs

    def _load_cpu_count(self) -> int:
        """How many CPUs the load could use: its pinned CPUs, at most one per process."""
        cpus = len(self.settings.load_cpus or os.sched_getaffinity(0))
        return max(1, min(cpus, self.settings.load_workers or 1))

    @contextmanager
    def _server(self, trial: Trial, raw: Path) -> Iterator[Target]:
        """Our server, started for this trial (with its counters on), or the --host one."""
        if self.settings.host is not None:
            yield Target(self.settings.host)
            return
        cell = trial.cell
        stats_dir = raw / "server"
        stats_dir.mkdir(exist_ok=True)
        args = [
            "--variant", cell.variant, "--cache", cell.cache, "--root", str(self.settings.root),
            "--stats-dir", str(stats_dir),
        ]  # fmt: skip
        with ServerProcess(args, cpus=self.settings.server_cpus, own_group=True) as server:
            yield Target(server.url, server.pid, stats_dir)

    def _identity(self, trial: Trial, started_at: str) -> dict[str, Any]:
        cell = trial.cell
        return {
            "variant": cell.variant, "cache": cell.cache, "scenario": cell.scenario,
            "users": cell.users, "repeat": trial.repeat,
            "load_workers": self.settings.load_workers + self.settings.remote_workers,
            "started_at": started_at,
        }  # fmt: skip

    def _row(
        self, trial: Trial, raw: Path, started_at: str, overhead: float, costs: Costs
    ) -> ResultRow:
        summary = read_summary(raw / "locust", warmup_s=self.settings.warmup)
        latency = _merged_latency(raw)
        return ResultRow(
            schema_version=SCHEMA_VERSION, status=OK, reason="", overhead_s=overhead,
            requests=summary.requests, failures=summary.failures,
            requests_per_s=summary.requests_per_s, mean_ms=summary.mean_ms,
            p50_ms=summary.p50_ms, p90_ms=summary.p90_ms, p99_ms=summary.p99_ms,
            p999_ms=summary.p999_ms, max_ms=summary.max_ms, bytes_per_s=summary.bytes_per_s,
            window_s=summary.window_s, hdr_count=latency.count, hdr_p50_us=latency.p50_us,
            hdr_p90_us=latency.p90_us, hdr_p99_us=latency.p99_us, hdr_p999_us=latency.p999_us,
            hdr_p9999_us=latency.p9999_us, hdr_max_us=latency.max_us,
            **asdict(costs), **self._identity(trial, started_at),
        )  # fmt: skip


def _merged_latency(raw: Path) -> LatencySummary:
    """Merge the locust processes' histograms, keep the merged one beside the results."""
    try:
        merged = merge_directory(raw / "hdr")
    except ValueError:
        return NO_LATENCY
    save(merged, raw / MERGED)
    return summarise(merged)


def split_cpus(available: Sequence[int]) -> tuple[tuple[int, ...] | None, tuple[int, ...] | None]:
    """Default pinning: the server on the first CPU, the load on the rest (needs ≥ 2)."""
    cpus = sorted(available)
    if len(cpus) < 2:
        return None, None
    return (cpus[0],), tuple(cpus[1:])
