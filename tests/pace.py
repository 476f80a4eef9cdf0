"""Controls measured in the same test, for bounds that must hold on a busy machine.

A test that bounds how long something takes measures first how long the same server takes
to answer plain requests right now (`pace(port)`), and bounds the time under test by a
multiple of that (`Pace.bound`): on a busy machine (`pytest --under-load`) the bound
stretches as the server does. `bound(below=...)` names what the failure would look like
(e.g. a request that waits for a one-second timeout): the bound must stay under it, so the
test can still fail; a machine too slow to tell the two apart fails the test saying so.

`cpu_available(cpus)`: how much of each CPU a busy loop pinned there gets right now, for a
test whose premise is the bench's own (a pinned process has its CPU to itself).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass

from bench.measure.sampling import TreeSampler
from tests.rawhttp import request

CONTROL_REQUESTS = 5
# A request under test may take this many times the control's median request...
FACTOR = 10.0
# ...or this long, whichever is more: a scheduler hiccup the control's median does not
# show (a CFS slice behind a busy loop on each core is a few ms; on this shared machine a
# plain request now and then takes 100-170 ms while other suites run).
FLOOR_S = 0.25


@dataclass(frozen=True, slots=True)
class Pace:
    """How long plain requests took just now: the control (median and slowest)."""

    median_s: float
    slowest_s: float

    def bound(self, *, below: float, factor: float = FACTOR) -> float:
        """The time a request under test may take; fails when it would not stay under `below`
        (the failure's own duration), since then the test could no longer tell."""
        bound = max(FLOOR_S, factor * self.median_s)
        assert bound < below, (
            f"plain requests take {self.median_s * 1000:.0f} ms (median; slowest"
            f" {self.slowest_s * 1000:.0f} ms) right now, so the bound ({bound:.2f} s) is not"
            f" under {below:.2f} s: too slow to tell a pass from a fail"
        )
        return bound


def pace(port: int, target: str = "/index.html", requests: int = CONTROL_REQUESTS) -> Pace:
    """The control: `requests` plain GETs, each on its own connection, timed."""
    took = []
    for _ in range(requests):
        began = time.monotonic()
        response = request(port, target)
        took.append(time.monotonic() - began)
        assert response.status == 200, f"the control request got {response.status}"
    return Pace(statistics.median(took), max(took))


_SPIN = "import time\nend = time.monotonic() + {limit}\nwhile time.monotonic() < end: pass"


def cpu_available(cpus: Iterable[int], seconds: float = 0.5) -> dict[int, float]:
    """The share of each CPU that a busy loop pinned to it got over `seconds` (1.0: all of
    it; ~0.5 beside another busy process), all CPUs measured at once."""
    spinners = {
        cpu: subprocess.Popen(
            [sys.executable, "-c", _SPIN.format(limit=seconds + 5)],
            preexec_fn=lambda cpu=cpu: os.sched_setaffinity(0, {cpu}),
        )
        for cpu in cpus
    }
    try:
        time.sleep(0.3)  # past the interpreters' start-up
        samplers = {cpu: TreeSampler(spinner.pid) for cpu, spinner in spinners.items()}
        for sampler in samplers.values():
            sampler.begin()
        time.sleep(seconds)
        return {cpu: sampler.end().share(1) for cpu, sampler in samplers.items()}
    finally:
        for spinner in spinners.values():
            spinner.kill()
            spinner.wait()
