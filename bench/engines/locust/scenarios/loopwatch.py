"""How late locust's own event loop ran: the evidence a stalled trial lacked (issue 15).

A trial can record no request for seconds after its warm-up. Either the locust process
itself froze (its hub blocked, or the process got no CPU), or it ran and its users waited
on a server that did not answer; its CSV files cannot tell which. A greenlet that asks to
wake every PERIOD_S and notes how late it woke can: its worst lateness is how long the
loop stood still. Four wake-ups a second cost nothing next to the load.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import gevent

PERIOD_S = 0.25
SUFFIX = ".loop.json"  # beside each process's histogram: {"max_lag_s", "at", "retries"}


class LoopWatch:
    """The worst lateness of a periodic wake-up, and when (time.time()) it ended."""

    def __init__(self, period: float = PERIOD_S) -> None:
        self.period = period
        self.max_lag_s = 0.0
        self.at = float("nan")
        self._greenlet: gevent.Greenlet[[], None] | None = None

    def start(self) -> None:
        """Watch from now on (once; a second call is ignored)."""
        if self._greenlet is None:
            self._greenlet = gevent.spawn(self._watch)

    def stop(self) -> None:
        if self._greenlet is not None:
            self._greenlet.kill(block=False)

    def _watch(self) -> None:
        while True:
            asked = time.perf_counter()
            gevent.sleep(self.period)
            lag = time.perf_counter() - asked - self.period
            if lag > self.max_lag_s:
                self.max_lag_s, self.at = lag, time.time()

    def save(self, path: Path, retries: int) -> None:
        """Write what was seen, and the lean clients' retries after an idle close."""
        record = {"max_lag_s": self.max_lag_s, "at": self.at, "retries": retries}
        path.write_text(json.dumps(record) + "\n", encoding="utf-8")
