"""How every trial of a run is made: the settings the command line gives the runner.

Apart from the runner so that `python -m bench run` can check its command line without
importing pandas (through `bench.results`), which takes seconds on a busy machine.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]
STATIC = PROJECT / "static"


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


def split_cpus(available: Sequence[int]) -> tuple[tuple[int, ...] | None, tuple[int, ...] | None]:
    """Default pinning: the server on the first CPU, the load on the rest (needs ≥ 2)."""
    cpus = sorted(available)
    if len(cpus) < 2:
        return None, None
    return (cpus[0],), tuple(cpus[1:])
