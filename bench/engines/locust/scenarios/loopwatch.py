"""How late locust's own event loop ran: the evidence a stalled trial lacked (issue 15).

A trial can record no request for seconds after its warm-up. Either the locust process
itself froze (its hub blocked, or the process got no CPU), or it ran and its users waited
on a server that did not answer; its CSV files cannot tell which. A greenlet that asks to
wake every PERIOD_S and notes how late it woke can: its worst lateness is how long the
loop stood still. Each stall of STALL_RECORD_S or more is kept with what the loop's thread
did meanwhile (/proc/thread-self/schedstat: CPU time, time waiting for a CPU), so the
runner can fail the trial with the cause (`bench.engines.locust.stalls`). Four wake-ups
and four small reads a second cost nothing next to the load.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import gevent

from bench.engines.locust.stalls import STALL_RECORD_S, SUFFIX

__all__ = ["PERIOD_S", "SUFFIX", "LoopWatch", "thread_times"]

PERIOD_S = 0.25
MAX_STALLS = 20  # the longest ones are kept
_SCHEDSTAT = "/proc/thread-self/schedstat"  # ns on CPU, ns waiting on a runqueue, slices
_NO_TIMES = (math.nan, math.nan)


def thread_times() -> tuple[float, float]:
    """(s on a CPU, s runnable but waiting for one) of the calling thread; NaN off Linux."""
    try:
        with open(_SCHEDSTAT, encoding="ascii") as handle:
            ran, waited = handle.read().split()[:2]
    except (OSError, ValueError):
        return _NO_TIMES
    return int(ran) / 1e9, int(waited) / 1e9


class LoopWatch:
    """The worst lateness of a periodic wake-up and when (time.time()) it ended, and every
    stall of `record_s` or more with what the thread did meanwhile."""

    def __init__(self, period: float = PERIOD_S, record_s: float = STALL_RECORD_S) -> None:
        self.period = period
        self.record_s = record_s
        self.max_lag_s = 0.0
        self.at = float("nan")
        self.stalls: list[dict[str, float]] = []
        self._greenlet: gevent.Greenlet[[], None] | None = None
        self._asked = math.nan  # perf_counter when the watch last went to sleep
        self._times = _NO_TIMES  # the thread's times then

    def start(self) -> None:
        """Watch from now on (once; a second call is ignored)."""
        if self._greenlet is None:
            self._greenlet = gevent.spawn(self._watch)

    def stop(self) -> None:
        """Stop watching; a stall still under way counts up to now."""
        if self._greenlet is None or math.isnan(self._asked):
            return
        self._woke()
        self._asked = math.nan
        self._greenlet.kill(block=False)

    def _watch(self) -> None:
        while True:
            self._asked, self._times = time.perf_counter(), thread_times()
            gevent.sleep(self.period)
            if math.isnan(self._asked):  # stopped while it slept
                return
            self._woke()

    def _woke(self) -> None:
        """Note how late the wake-up came, and keep a stall long enough to matter."""
        lag = time.perf_counter() - self._asked - self.period
        now = time.time()
        if lag > self.max_lag_s:
            self.max_lag_s, self.at = lag, now
        if lag >= self.record_s:
            ran, waited = thread_times()
            before_ran, before_waited = self._times
            stall = {"start": now - lag, "end": now, "cpu_s": ran - before_ran,
                     "runqueue_s": waited - before_waited}  # fmt: skip
            self.stalls = sorted([*self.stalls, stall], key=lambda s: s["start"] - s["end"])
            del self.stalls[MAX_STALLS:]

    def save(self, path: Path, retries: int) -> None:
        """Write what was seen, and the lean clients' retries after an idle close."""
        record = {"max_lag_s": self.max_lag_s, "at": self.at, "retries": retries,
                  "stalls": self.stalls}  # fmt: skip
        path.write_text(json.dumps(record) + "\n", encoding="utf-8")
