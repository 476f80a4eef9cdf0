"""The open model's clock: one user's planned send times at a fixed rate.

Its own module (gevent, no locust) so its arithmetic is tested in the test process. Every
time it reads is `time.perf_counter()` (CLOCK_MONOTONIC here), the same clock it sleeps
against: no sleep is ever computed across two clock bases, so a user never sleeps longer
than one interval, whatever happened before (a blocked hub, a stopped process).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

import gevent


class Schedule:
    """One user's planned send times at a fixed rate."""

    def __init__(
        self,
        rate: float,
        *,
        clock: Callable[[], float] = time.perf_counter,
        sleep: Callable[[float], object] = gevent.sleep,
    ) -> None:
        self.interval = 1.0 / rate
        self.planned: float | None = None
        self._clock, self._sleep = clock, sleep

    def next_slot(self) -> float:
        """Sleep until the next planned send time; how late (s) the request leaves.

        The first slot has a random phase, so users started together do not send in bursts.
        A user that fell behind sends at once, and the lateness is charged to the request.
        """
        now = self._clock()
        if self.planned is None:
            self.planned = now + random.uniform(0.0, self.interval)
        planned = self.planned
        self.planned += self.interval
        if planned > now:
            self._sleep(planned - now)
        return max(0.0, self._clock() - planned)
