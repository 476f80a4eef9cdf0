"""What every load engine is to the runner (locust, wrk): one interface, the same figures.

An engine drives one trial's load at a URL and returns a `Measured`
(`bench.results.figures`): the same figures for every engine, so the results table has one
shape. It opens and closes the runner's cost window itself (`Window.begin` once the
warm-up is over, `Window.end` once the load has stopped), because only the engine knows
when those moments are. Engines are found by name in `bench.engines.registry`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from bench.plan.matrix import Trial
from bench.results.figures import Measured


class EngineError(Exception):
    """The load did not produce a measurement (crashed, hung, not installed, unreadable)."""


class Window(Protocol):
    """The runner's measured window: server and load-side costs are sampled inside it."""

    def begin(self, load_pids: list[int]) -> None:
        """The warm-up is over; `load_pids` are the load processes (their trees are sampled)."""

    def end(self) -> None:
        """The load has stopped."""


@dataclass(frozen=True, slots=True)
class LoadPlan:
    """One trial's load, as the runner asks for it; `raw` takes the engine's own files."""

    trial: Trial
    raw: Path
    duration: int
    warmup: int
    cpus: tuple[int, ...] | None
    target_rps: float  # the open model's target; NaN under the closed model
    load_workers: int = 0  # local worker processes besides the master (0: one process)
    remote_workers: int = 0  # workers on other machines the master waits for
    master_bind: str = "127.0.0.1"  # where the master listens for remote workers


class Engine(Protocol):
    """A load generator the runner can use without knowing which one it is."""

    name: str

    def unavailable(self) -> str | None:
        """Why it cannot run on this machine (one line), or None when it can."""

    def version(self) -> str | None:
        """Its version line for run.json, or None when it needs no record there."""

    def workers(self, plan: LoadPlan) -> int:
        """The results table's `load_workers`: worker processes it adds beyond its own."""

    def processes(self, plan: LoadPlan) -> int:
        """How many load processes it runs locally (at most one CPU each)."""

    def run(self, plan: LoadPlan, url: str, window: Window) -> Measured:
        """Warm up, then measure the trial's load at `url`; raises EngineError."""
