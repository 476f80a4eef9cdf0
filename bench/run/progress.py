"""What the user sees while a run goes on: which trial of how many, its headline, time left.

Locust's own chatter goes to each trial's log file, never here.
"""

from __future__ import annotations

import math
import sys
import time
from typing import TextIO

from bench.plan.axes import LOCUST
from bench.plan.matrix import CLOSED, Trial
from bench.plan.servers import server_name
from bench.results.table import OK, ResultRow


class Progress:
    """Prints one line per trial and an estimate of the time left."""

    def __init__(self, total: int, per_trial_s: float, stream: TextIO = sys.stdout) -> None:
        self.total = total
        self.per_trial_s = per_trial_s  # the estimate until real trials are timed
        self.stream = stream
        self.done = 0
        self.began = time.monotonic()

    def starting(self, trial: Trial) -> None:
        """Announce a trial before it runs."""
        cell = trial.cell
        width = len(str(self.total))
        engine = f" {cell.client}" if cell.engine == LOCUST else f" {cell.engine}"
        load = "" if cell.load == CLOSED else f" open {cell.load}"
        self._write(
            f"[{self.done + 1:>{width}}/{self.total}] {cell.scenario} u{cell.users}{engine}{load} "
            f"{server_name(cell.variant, cell.reader, cell.default_reader)} cache={cell.cache} "
            f"r{trial.repeat} … "
        )

    def finished(self, row: ResultRow) -> None:
        """Its headline figures (or why it failed) and the time left."""
        self.done += 1
        self._write(f"{headline(row)} · {self._eta()}\n")

    def _eta(self) -> str:
        elapsed = time.monotonic() - self.began
        left = (self.total - self.done) * (elapsed / self.done if self.done else self.per_trial_s)
        return (
            f"{_duration(left)} left" if self.done < self.total else f"done in {_duration(elapsed)}"
        )

    def _write(self, text: str) -> None:
        self.stream.write(text)
        self.stream.flush()


def headline(row: ResultRow) -> str:
    """`9,812 req/s · p99 4 ms · 0 failures`, or the reason a trial failed."""
    if row.status != OK:
        return f"FAILED: {row.reason[:160]}"
    failures = "" if math.isnan(row.failures) else f" · {row.failures:,.0f} failures"
    target = "" if math.isnan(row.target_rps) else f" of {row.target_rps:,.0f} target"
    short = " (SHORT of target)" if row.rate_short else ""
    bound = " (generator-bound)" if row.generator_bound else ""
    p99 = _ms(row.hdr_p99_us / 1000 if not math.isnan(row.hdr_p99_us) else row.p99_ms)
    return (
        f"{row.requests_per_s:,.0f} req/s{target}{short}{bound} · p99 {p99} ms{failures}"
        f" · runner overhead {row.overhead_s:.1f} s"
    )


def _ms(value: float) -> str:
    """3 significant digits, never in exponent form: `0.412`, `37.2`, `1,940`."""
    return f"{value:,.0f}" if value >= 100 else f"{value:.3g}"


def _duration(seconds: float) -> str:
    minutes, rest = divmod(max(0, round(seconds)), 60)
    return f"{minutes}m{rest:02d}s" if minutes else f"{rest}s"
