"""Running trials: start the server, load it with an engine, always stop both.

The runner only moves processes and files. For each trial it starts the server pinned to
the server CPUs — `python -m server`, or a reference peer (`bench.peers`), unless `--host`
names a server already running — checks it with the conformance gate (real requests), runs
the load engine pinned to the load CPUs — locust (`bench.load`: warm-up first, forgotten by
the scenario when it ends) or wrk (`bench.wrk_engine`) — samples what both sides cost over
the measured window (`bench.costs`), and turns the engine's figures into one results row.
A sweep's open-model trials take their target from the cell's first closed-model trial.
Locust is never imported here: gevent must not patch this process.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

from bench import conformance
from bench.costs import CostProbe, Costs
from bench.engine import WRK, LoadFigures, Measured
from bench.environment import utc_now
from bench.latency import (
    MERGED,
    LatencySummary,
    merge_directory,
    save,
    summarise,
    windowed_rate,
)  # fmt: skip
from bench.load import LoadFailed, LoadRun, locust_command
from bench.locust_csv import LocustCsvError, read_summary
from bench.matrix import CLOSED, Cell, Trial, fixed_rate, is_share, share_of
from bench.peers import PEERS, start_peer
from bench.results import OK, SCHEMA_VERSION, ResultRow, failed_row, rate_short
from bench.wrk import WrkError
from bench.wrk_engine import run_wrk_trial
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
        self.maxima: dict[Cell, float] = {}  # closed cell → its first measured requests/s

    def run(self, trial: Trial) -> ResultRow:
        """Measure one trial; a failure becomes a row with its reason, never an exception."""
        started_at, began = utc_now(), time.monotonic()
        raw = self.out / "raw" / trial.label
        raw.mkdir(parents=True, exist_ok=True)
        target_rps = math.nan
        try:
            target_rps = self._target_rps(trial.cell)
            load_seconds, measured, costs = self._measure(trial, raw, target_rps)
            overhead = time.monotonic() - began - load_seconds
            row = self._row(trial, started_at, overhead, measured, costs, target_rps)
        except (TrialFailed, LoadFailed, WrkError, ChildStartError, LocustCsvError, OSError) as e:
            identity = self._identity(trial, started_at) | {"target_rps": target_rps}
            return failed_row(identity, str(e), time.monotonic() - began)
        if trial.cell.load == CLOSED:
            self.maxima.setdefault(trial.cell, row.requests_per_s)
        return row

    def _target_rps(self, cell: Cell) -> float:
        """The open model's target (NaN when closed); a share of the cell's maximum."""
        if cell.load == CLOSED:
            return math.nan
        if not is_share(cell.load):
            return fixed_rate(cell.load)
        maximum = self.maxima.get(cell.closed)
        if maximum is None or not maximum > 0:
            raise TrialFailed(f"no maximum to take {cell.load} of: the closed-model trial failed")
        return share_of(cell.load) * maximum

    def _measure(self, trial: Trial, raw: Path, target_rps: float) -> tuple[float, Measured, Costs]:
        """Gate, serve and load; the seconds the load ran (the rest is overhead) and figures."""
        with self._server(trial, raw) as target:
            problems = conformance.check(target.url, self.settings.root)
            if problems:
                raise TrialFailed(
                    "not benchmarked, fails the conformance gate: " + "; ".join(problems)
                )
            began = time.monotonic()
            probe = CostProbe(
                self._load_cpu_count(trial.cell), target.pid,
                len(self.settings.server_cpus or os.sched_getaffinity(0)), target.stats_dir,
            )  # fmt: skip
            measured = self._load(trial, target.url, raw, probe, target_rps)
            return time.monotonic() - began, measured, probe.costs(measured.requests_per_s)

    def _load(
        self, trial: Trial, url: str, raw: Path, probe: CostProbe, target_rps: float
    ) -> Measured:
        """Run the cell's engine; it opens and closes the probe's window."""
        settings, cell = self.settings, trial.cell
        if cell.engine == WRK:
            return run_wrk_trial(
                cell.scenario, url, raw, duration=settings.duration, warmup=settings.warmup,
                connections=cell.users, cpus=settings.load_cpus, window=probe,
            )  # fmt: skip
        user_rate = target_rps / cell.users if target_rps > 0 else 0.0
        load = LoadRun(
            self.locust, trial, url, raw, duration=settings.duration,
            warmup=settings.warmup, cpus=settings.load_cpus, load_workers=settings.load_workers,
            remote_workers=settings.remote_workers, master_bind=settings.master_bind,
            user_rate=user_rate,
        )  # fmt: skip
        with load:
            load.sleep_until(load.measured_from)
            probe.begin(load.pids)
            load.sleep_until(load.load_ends_at)
            probe.end()
            load.wait()
        # Local workers only: remote ones write no window, and a sum without them is short.
        windowed = settings.load_workers > 0 and settings.remote_workers == 0
        return _locust_measured(raw, settings.warmup, windowed=windowed)

    def _load_cpu_count(self, cell: Cell) -> int:
        """How many CPUs the load could use: its pinned CPUs, at most one per process."""
        cpus = len(self.settings.load_cpus or os.sched_getaffinity(0))
        processes = 1 if cell.engine == WRK else self.settings.load_workers or 1
        return max(1, min(cpus, processes))

    @contextmanager
    def _server(self, trial: Trial, raw: Path) -> Iterator[Target]:
        """Our server, started for this trial (with its counters on), a reference peer,
        or the --host one."""
        if self.settings.host is not None:
            yield Target(self.settings.host)
            return
        cell = trial.cell
        if cell.variant in PEERS:
            with start_peer(
                cell.variant, self.settings.root, self.settings.server_cpus, raw
            ) as peer:
                yield Target(peer.url, peer.pid)
            return
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
            "users": cell.users, "engine": cell.engine, "client": cell.client, "load": cell.load,
            "repeat": trial.repeat, "started_at": started_at,
            "load_workers": (
                0 if cell.engine == WRK
                else self.settings.load_workers + self.settings.remote_workers
            ),
        }  # fmt: skip

    def _row(
        self, trial: Trial, started_at: str, overhead: float, measured: Measured, costs: Costs,
        target_rps: float,
    ) -> ResultRow:  # fmt: skip
        latency = measured.latency
        figures = {field.name: getattr(measured, field.name) for field in fields(LoadFigures)}
        return ResultRow(
            schema_version=SCHEMA_VERSION, status=OK, reason="", overhead_s=overhead,
            **figures, hdr_count=latency.count, hdr_p50_us=latency.p50_us,
            hdr_p90_us=latency.p90_us, hdr_p99_us=latency.p99_us, hdr_p999_us=latency.p999_us,
            hdr_p9999_us=latency.p9999_us, hdr_max_us=latency.max_us, target_rps=target_rps,
            rate_short=rate_short(target_rps, measured.requests_per_s),
            **asdict(costs), **self._identity(trial, started_at),
        )  # fmt: skip


def _locust_measured(raw: Path, warmup: int, *, windowed: bool) -> Measured:
    """Locust's CSV summary and the merged latency histograms of one trial.

    `windowed` (local workers only): the rate adds up the processes' own windows
    (bench.latency), since the master's history moves only when a worker reports.
    """
    summary = read_summary(raw / "locust", warmup_s=warmup)
    measured = Measured(**asdict(summary), latency=_merged_latency(raw))
    if not windowed:
        return measured
    try:
        rate, window = windowed_rate(raw / "hdr")
    except ValueError:
        return measured
    size = summary.bytes_per_s / summary.requests_per_s if summary.requests_per_s > 0 else 0.0
    return replace(measured, requests_per_s=rate, window_s=window, bytes_per_s=rate * size)


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
