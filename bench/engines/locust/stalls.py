"""A frozen load generator: the stalls each locust process saw of its own event loop.

Each locust process notes every time its loop stood still for STALL_RECORD_S or longer
(`bench.engines.locust.scenarios.loopwatch`), with what its thread did meanwhile (from
/proc/thread-self/schedstat): ran (a greenlet held the loop), waited for a CPU (the
process was starved) or neither (blocked in a system call, stopped, or its virtual CPU
did not run). A generator that stood still sent nothing and read nothing: the trial then
measured the generator, not the server. The figures of such a trial are wrong however
they read ("no request after the warm-up", a short rate, the open model's lateness
charged to the server), so the trial fails with this reason instead. Read in the runner's
process: no gevent, no locust.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

SUFFIX = ".loop.json"  # beside each process's histogram
STALL_RECORD_S = 0.5  # a process records each stall at least this long
# A trial fails when a locust process's stalls add up to this long (a starved process may
# get a few ms a second: many stalls under a second each). Its loop, waking 4 times a
# second, was at worst 0.11 s late in 24 trials of the solo test's cell (400/s) with a busy
# loop on the load CPU; frozen this long it misses 4 wake-ups and ~400 planned requests.
FROZEN_LIMIT_S = 1.0


@dataclass(frozen=True, slots=True)
class Stall:
    """What one locust process's loop did not do: its stalls, added up."""

    pid: int
    start: float  # when the first began (wall clock)
    seconds: float  # how long it stood still in all
    count: int
    cpu_s: float  # its thread ran this long meanwhile (NaN: unknown)
    runqueue_s: float  # it waited this long for a CPU while runnable (NaN: unknown)

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
        times = "once" if self.count == 1 else f"in {self.count} stalls"
        return (
            f"the load generator froze: locust process {self.pid}'s event loop stood still"
            f" for {self.seconds:.1f} s {times} from {at} UTC; {self.cause()}. It sent and"
            " read nothing meanwhile, so the trial measured it, not the server"
        )


def worst_stall(directory: Path) -> Stall | None:
    """The locust process in `directory` (`*.loop.json`) that stood still longest in all."""
    added = [
        _added(int(path.name.split(".")[0]), stalls)
        for path in sorted(directory.glob(f"*{SUFFIX}"))
        if (stalls := _stalls(path))
    ]
    return max(added, key=lambda stall: stall.seconds, default=None)


def frozen(directory: Path, limit: float = FROZEN_LIMIT_S) -> Stall | None:
    """The worst process's stalls if they add up to `limit` or more: the generator froze."""
    stall = worst_stall(directory)
    return stall if stall is not None and stall.seconds >= limit else None


def _added(pid: int, stalls: list[dict[str, float]]) -> Stall:
    return Stall(
        pid=pid,
        start=min(stall["start"] for stall in stalls),
        seconds=sum(stall["end"] - stall["start"] for stall in stalls),
        count=len(stalls),
        cpu_s=sum(stall["cpu_s"] for stall in stalls),
        runqueue_s=sum(stall["runqueue_s"] for stall in stalls),
    )


def _stalls(path: Path) -> list[dict[str, float]]:
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []  # a process killed while writing: its histogram is missing too
    stalls: list[dict[str, float]] = record.get("stalls", [])
    return stalls
