"""What a load engine hands the runner, whichever engine it is (locust or wrk).

An engine drives one trial's load at a URL and returns a `Measured`: the same figures for
every engine, so the results table has one shape. It opens and closes the runner's cost
window itself (`Window.begin` once the warm-up is over, `Window.end` once the load has
stopped), because only the engine knows when those moments are.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from bench.latency import LatencySummary

LOCUST = "locust"
WRK = "wrk"
ENGINES = (LOCUST, WRK)


def unsupported(engine: str, scenario: str, open_model: bool) -> str | None:
    """Why `engine` cannot run `scenario` (under the open model), or None when it can."""
    if engine == LOCUST:
        return None
    if open_model:
        return "wrk has no open model (it only measures the maximum); use locust"
    from bench.wrk_engine import unsupported as wrk_unsupported  # wrk's own list

    return wrk_unsupported(scenario)


class Window(Protocol):
    """The runner's measured window: server and load-side costs are sampled inside it."""

    def begin(self, load_pids: list[int]) -> None:
        """The warm-up is over; `load_pids` are the load processes (their trees are sampled)."""

    def end(self) -> None:
        """The load has stopped."""


@dataclass(frozen=True, slots=True)
class LoadFigures:
    """A trial's load-side figures as the engine measured them; NaN where it had none.
    Latencies in ms are the engine's own (locust's are rounded to whole ms below 100 ms)."""

    requests: float
    failures: float
    requests_per_s: float
    mean_ms: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    p999_ms: float
    max_ms: float
    bytes_per_s: float
    window_s: float


@dataclass(frozen=True, slots=True)
class Measured(LoadFigures):
    """The figures and the µs latency histogram's summary (corrected for coordinated
    omission in the open model)."""

    latency: LatencySummary
