"""Running trials: start the target, load it with an engine, always stop both.

The runner only moves processes and files. For each trial it asks `bench.targets` for the
cell's server (`start_target`: ours, a reference peer, or the --host one), checks it with
the conformance gate (real requests), asks `bench.engines.registry` for the cell's engine
and lets it run the load pinned to the load CPUs, samples what both sides cost over the
measured window (`bench.measure.costs`), and turns the figures into one results row
(`bench.results.table`). It never branches on an engine's or a target's kind. A sweep's
open-model trials take their target from the cell's first closed-model trial. Locust is
never imported here: gevent must not patch this process.
"""

from __future__ import annotations

import math
import os
import time
from pathlib import Path
from typing import Any

from bench.engines.interface import Engine, EngineError, LoadPlan
from bench.engines.registry import engine_named
from bench.measure.costs import CostProbe
from bench.plan.matrix import (
    CLOSED,
    Cell,
    Trial,
    equal_target,
    fixed_rate,
    is_equal,
    is_share,
    share_of,
)
from bench.results.environment import utc_now
from bench.results.figures import Costs, Measured
from bench.results.table import ResultRow, failed_row, measured_row
from bench.run.settings import RunnerSettings
from bench.targets import conformance
from bench.targets.process import ChildStartError
from bench.targets.start import axes_of, start_target


class TrialFailed(Exception):
    """Why a trial produced no measurement (recorded in the results, the run goes on)."""


class Runner:
    """Runs trials into a run directory; one instance per run."""

    def __init__(self, settings: RunnerSettings, out: Path) -> None:
        self.settings = settings
        self.out = out
        self.maxima: dict[Cell, float] = {}  # closed cell → its first measured requests/s
        self.equal_rates: dict[tuple[str, int, str, str], float] = {}  # panel → its equal load

    def run(self, trial: Trial) -> ResultRow:
        """Measure one trial; a failure becomes a row with its reason, never an exception."""
        started_at, began = utc_now(), time.monotonic()
        raw = self.out / "raw" / trial.label
        raw.mkdir(parents=True, exist_ok=True)
        engine = engine_named(trial.cell.engine)
        plan = self._plan(trial, raw, math.nan)
        try:
            plan = self._plan(trial, raw, self._target_rps(trial.cell))
            load_seconds, measured, costs = self._measure(engine, plan)
            overhead = time.monotonic() - began - load_seconds
            identity = self._identity(engine, plan, started_at)
            row = measured_row(
                identity, measured, costs, overhead_s=overhead, target_rps=plan.target_rps
            )
        except (TrialFailed, EngineError, ChildStartError, OSError) as e:
            identity = self._identity(engine, plan, started_at) | {"target_rps": plan.target_rps}
            return failed_row(identity, str(e), time.monotonic() - began)
        if trial.cell.load == CLOSED:
            self.maxima.setdefault(trial.cell, row.requests_per_s)
        return row

    def _plan(self, trial: Trial, raw: Path, target_rps: float) -> LoadPlan:
        settings = self.settings
        return LoadPlan(
            trial, raw, duration=settings.duration, warmup=settings.warmup,
            cpus=settings.load_cpus, target_rps=target_rps, load_workers=settings.load_workers,
            remote_workers=settings.remote_workers, master_bind=settings.master_bind,
        )  # fmt: skip

    def _target_rps(self, cell: Cell) -> float:
        """The open model's target (NaN when closed); a share of the cell's maximum."""
        if cell.load == CLOSED:
            return math.nan
        if is_equal(cell.load):
            return self._equal_rps(cell)
        if not is_share(cell.load):
            return fixed_rate(cell.load)
        maximum = self.maxima.get(cell.closed)
        if maximum is None or not maximum > 0:
            raise TrialFailed(f"no maximum to take {cell.load} of: the closed-model trial failed")
        return share_of(cell.load) * maximum

    def _equal_rps(self, cell: Cell) -> float:
        """The equal load of the cell's panel, from the maxima measured so far (the matrix
        runs every closed cell of a panel before its first equal-load cell)."""
        if cell.panel not in self.equal_rates:
            maxima = [rps for c, rps in self.maxima.items() if c.panel == cell.panel and rps > 0]
            if not maxima:
                raise TrialFailed(
                    f"no closed-model maximum in this scenario to take {cell.load} of"
                )
            self.equal_rates[cell.panel] = equal_target(cell.load, maxima)
        return self.equal_rates[cell.panel]

    def _measure(self, engine: Engine, plan: LoadPlan) -> tuple[float, Measured, Costs]:
        """Gate, serve and load; the seconds the load ran (the rest is overhead) and figures."""
        settings = self.settings
        with start_target(
            plan.trial.cell, root=settings.root, cpus=settings.server_cpus, raw=plan.raw,
            host=settings.host,
        ) as target:  # fmt: skip
            problems = conformance.check(target.url, settings.root)
            if problems:
                raise TrialFailed(
                    "not benchmarked, fails the conformance gate: " + "; ".join(problems)
                )
            began = time.monotonic()
            probe = CostProbe(
                self._load_cpu_count(engine, plan), target.pid,
                len(settings.server_cpus or os.sched_getaffinity(0)), target.stats_dir,
            )  # fmt: skip
            measured = engine.run(plan, target.url, probe)
            return time.monotonic() - began, measured, probe.costs(measured.requests_per_s)

    def _load_cpu_count(self, engine: Engine, plan: LoadPlan) -> int:
        """How many CPUs the load could use: its pinned CPUs, at most one per process."""
        cpus = len(self.settings.load_cpus or os.sched_getaffinity(0))
        return max(1, min(cpus, engine.processes(plan)))

    def _identity(self, engine: Engine, plan: LoadPlan, started_at: str) -> dict[str, Any]:
        cell = plan.trial.cell
        return {
            "variant": cell.variant, **axes_of(cell), "cache": cell.cache, "reader": cell.reader,
            "default_reader": cell.default_reader, "scenario": cell.scenario,
            "users": cell.users, "engine": cell.engine, "client": cell.client, "load": cell.load,
            "repeat": plan.trial.repeat, "started_at": started_at,
            "load_workers": engine.workers(plan),
        }  # fmt: skip
