"""How busy a set of CPU cores was over a `with` block (psutil's per-CPU times).

Unlike a process tree's CPU time (`bench.measure.sampling`), it counts everything on those
cores: processes and the kernel's network work (e.g. loopback softirq, charged to no process).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Self

import psutil


class CoreBusy:
    """How busy some CPUs were during a `with` block: `busy` 1.0 = never idle.

    With no CPUs given (nothing pinned) `busy` stays None.
    """

    def __init__(self, cpus: Sequence[int] | None) -> None:
        self.cpus = list(cpus or ())
        self.busy: float | None = None
        self._idle = self._wall = 0.0

    def _idle_seconds(self) -> float:
        per_cpu = psutil.cpu_times(percpu=True)
        return sum(per_cpu[cpu].idle + getattr(per_cpu[cpu], "iowait", 0.0) for cpu in self.cpus)

    def __enter__(self) -> Self:
        self._idle, self._wall = self._idle_seconds(), time.monotonic()
        return self

    def __exit__(self, *exc_info: object) -> None:
        wall = (time.monotonic() - self._wall) * len(self.cpus)
        if wall > 0:
            idle = self._idle_seconds() - self._idle
            self.busy = max(0.0, min(1.0, 1.0 - idle / wall))
