"""A frozen load generator: the stalls each locust process saw of its own event loop.

Each locust process notes every time its loop stood still for STALL_RECORD_S or longer
(`bench.engines.locust.scenarios.loopwatch`), with what its thread did meanwhile (from
/proc/thread-self/schedstat): ran (a greenlet held the loop), waited for a CPU (the
process was starved) or neither (blocked in a system call, stopped, or its virtual CPU
did not run). A generator that stood
still sent nothing and read nothing: the trial then measured the generator, not the
server. The figures of such a trial are wrong however they read ("no request after the
warm-up", a short rate, the open model's lateness charged to the server), so the trial
fails with this reason instead. Read in the runner's process: no gevent, no locust.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

SUFFIX = ".loop.json"  # beside each process's histogram
STALL_RECORD_S = 0.5  # a process records each stall at least this long
# A trial fails when a locust process stood still this long. A loop that wakes 4 times a
# second was at worst ~0.1 s late in a trial on a loaded 2-core machine; a frozen one
# misses 4 wake-ups (and ~400 requests in the solo test's trial) in this time.
FROZEN_LIMIT_S = 1.0


@dataclass(frozen=True, slots=True)
class Stall:
    """One span (wall clock) in which a locust process's loop stood still."""

    start: float
    end: float
    cpu_s: float  # the loop thread ran this long meanwhile (NaN: unknown)
    runqueue_s: float  # it waited this long for a CPU while runnable (NaN: unknown)
    pid: int = 0

    @property
    def seconds(self) -> float:
        """How long the loop stood still."""
        return self.end - self.start

    def cause(self) -> str:
        """What the thread did meanwhile, in words."""
        if not self.cpu_s >= 0 or not self.runqueue_s >= 0:  # NaN: no schedstat here
            return "what it did meanwhile is unknown"
        if self.runqueue_s >= self.seconds / 2:
            return f"it waited {self.runqueue_s:.1f} s for a CPU (the machine starved it)"
        if self.cpu_s >= self.seconds / 2:
            return f"it ran {self.cpu_s:.1f} s without yielding (a greenlet held the loop)"
        idle = max(0.0, self.seconds - self.cpu_s - self.runqueue_s)
        return (
            f"for {idle:.1f} s it neither ran nor waited for a CPU: blocked in a system call"
            " (e.g. on the disk), stopped, or its virtual CPU did not run"
        )

    def reason(self) -> str:
        """The failed trial's reason."""
        at = time.strftime("%H:%M:%S", time.gmtime(self.start))
        return (
            f"the load generator froze: locust process {self.pid}'s event loop stood still"
            f" for {self.seconds:.1f} s from {at} UTC; {self.cause()}. It sent and read"
            " nothing meanwhile, so the trial measured it, not the server"
        )


def worst_stall(directory: Path) -> Stall | None:
    """The longest stall any locust process in `directory` (`*.loop.json`) recorded."""
    stalls = [
        Stall(**record, pid=int(path.name.split(".")[0]))
        for path in sorted(directory.glob(f"*{SUFFIX}"))
        for record in _stalls(path)
    ]
    return max(stalls, key=lambda stall: stall.seconds, default=None)


def frozen(directory: Path, limit: float = FROZEN_LIMIT_S) -> Stall | None:
    """The worst stall if it lasted `limit` or longer: the trial's generator froze."""
    stall = worst_stall(directory)
    return stall if stall is not None and stall.seconds >= limit else None


def _stalls(path: Path) -> list[dict[str, float]]:
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []  # a process killed while writing: its histogram is missing too
    stalls: list[dict[str, float]] = record.get("stalls", [])
    return stalls
