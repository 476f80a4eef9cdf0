"""Microsecond latency: HDR histograms recorded in each locust process, merged exactly.

Locust rounds response times below 100 ms to whole milliseconds before it computes
percentiles, so on loopback its p50 is 0 or 1 ms. Our scenarios record every request's
time (µs, 3 significant digits) in an HdrHistogram and each locust process writes its
encoded histogram to a file at exit; the runner merges them here (an exact merge) and
keeps the merged one.

Each process also notes its measured window (from its warm-up reset to its stop, on its
own clock) beside its histogram, with the requests and failures it recorded, so a
distributed run's figures are exact: the rate is the sum of every process's count over its
own window. Locust's master sees workers' counts only when they report (every 3 s), which
on a window of a few seconds is off by a report's worth, and at quit it waits a fixed
0.5 s for their last reports (locust PR #1025): on a busy machine those arrive later and
the master's totals miss the run's last seconds (7,025 of 9,135 requests, under load).
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

from hdrh.histogram import HdrHistogram

from bench.results.figures import LatencySummary

LOWEST_US = 1
HIGHEST_US = 60_000_000  # one minute
SIGNIFICANT_DIGITS = 3
SUFFIX = ".hdr"
MERGED = "latency.hdr"
WINDOW_SUFFIX = ".window.json"


def new_histogram() -> HdrHistogram:
    """An empty histogram with the settings every process uses."""
    return HdrHistogram(LOWEST_US, HIGHEST_US, SIGNIFICANT_DIGITS)


class CountingRecorder:
    """Latencies (whole µs) counted in a dict and folded into an HdrHistogram in bulk.

    hdrh's `record_value` is plain Python (~2–3 µs a call); at the lean client's rate that
    was the dearest part of the listener. A dict count per value costs a tenth of it and
    `record_value(value, count)` gives the same histogram. `histogram` folds what is
    pending first; the dict is folded whenever it holds `limit` distinct values, so its
    size stays bounded whatever the spread of latencies.
    """

    def __init__(self, limit: int = 20_000) -> None:
        self._histogram = new_histogram()
        self._pending: dict[int, int] = {}
        self._limit = limit

    def record(self, value_us: int) -> None:
        """Count one latency (µs, within LOWEST_US..HIGHEST_US)."""
        pending = self._pending
        pending[value_us] = pending.get(value_us, 0) + 1
        if len(pending) >= self._limit:
            self._fold()

    def _fold(self) -> None:
        record = self._histogram.record_value
        for value, count in self._pending.items():
            record(value, count)
        self._pending = {}

    @property
    def histogram(self) -> HdrHistogram:
        """Everything recorded so far."""
        self._fold()
        return self._histogram

    def reset(self) -> None:
        """Forget everything recorded (the warm-up)."""
        self._pending = {}
        self._histogram.reset()


def merge_directory(directory: Path) -> HdrHistogram:
    """Add up every process's histogram in `directory` (`*.hdr`); raises ValueError if none."""
    files = sorted(directory.glob(f"*{SUFFIX}"))
    if not files:
        raise ValueError(f"no latency histograms in {directory}")
    merged = new_histogram()
    for path in files:
        merged.add(HdrHistogram.decode(path.read_bytes().strip()))
    return merged


def summarise_histogram(histogram: HdrHistogram) -> LatencySummary:
    """The percentiles the results table keeps."""

    def at(percentile: float) -> float:
        return float(histogram.get_value_at_percentile(percentile))

    return LatencySummary(
        hdr_count=int(histogram.get_total_count()), hdr_p50_us=at(50), hdr_p90_us=at(90),
        hdr_p99_us=at(99), hdr_p999_us=at(99.9), hdr_p9999_us=at(99.99),
        hdr_max_us=float(histogram.get_max_value()),
    )  # fmt: skip


def save(histogram: HdrHistogram, path: Path) -> None:
    """Write an encoded histogram (base64 text) so reports can be redrawn later."""
    path.write_bytes(histogram.encode() + b"\n")


def load(path: Path) -> HdrHistogram:
    """Read a histogram written by `save` (or by a locust process)."""
    return HdrHistogram.decode(path.read_bytes().strip())


class ProcessWindow:
    """One locust process's measured window on its own wall clock (test start or warm-up
    reset → test stop), written beside its histogram.

    In the open model a request belongs to the window its *planned* send time falls in:
    users that fell behind during the warm-up catch up inside the window, and counting
    their backlog there overshot the target (+15% on a busy machine). `planned` counts the
    requests planned inside the window and completed before it closed; the window then ends
    at the last of those planned times, not at locust's stop (users plan nothing while
    they are being stopped, and that tail would read as a shortfall).
    """

    def __init__(self) -> None:
        self.start = math.nan
        self.stop = math.nan
        self.planned: int | None = None  # None: the closed model (no planned times)
        self.last_planned = math.nan
        self.failures = 0  # since the window opened, as locust counts them after its reset

    def begin(self) -> None:
        """The window opens (again, after the warm-up)."""
        self.start, self.stop = time.time(), math.nan
        self.planned, self.last_planned = None, math.nan
        self.failures = 0

    def failed(self) -> None:
        """A request failed (it is also in the histogram, as every request is)."""
        self.failures += 1

    def end(self) -> None:
        """The load stopped."""
        self.stop = time.time()

    def completed(self, planned_at: float) -> None:
        """An open-model request planned at `planned_at` (wall clock) has completed."""
        self.planned = self.planned or 0
        if planned_at >= self.start and math.isnan(self.stop):
            self.planned += 1
            if math.isnan(self.last_planned) or planned_at > self.last_planned:
                self.last_planned = planned_at

    def save(self, path: Path, recorded: int) -> None:
        """Write the window and the requests counted in it (open model: planned in it), with
        all `recorded` since it opened and the failures among them; nothing for a process
        that sent none (a master) or never started."""
        requests, stop = recorded, self.stop
        if self.planned is not None:
            requests, stop = self.planned, min(stop, self.last_planned)
        if requests > 0 and stop > self.start:
            window = {"start": self.start, "stop": stop, "requests": requests}
            window |= {"recorded": recorded, "failures": self.failures}
            path.write_text(json.dumps(window) + "\n", encoding="utf-8")


def windowed_rate(directory: Path) -> tuple[float, float]:
    """Requests/s of all processes (each over its own window) and the mean window in s;
    raises ValueError when no process wrote a window."""
    windows = _windows(directory)
    seconds = [window["stop"] - window["start"] for window in windows]
    rate = sum(window["requests"] / span for window, span in zip(windows, seconds, strict=True))
    return rate, sum(seconds) / len(seconds)


def process_totals(directory: Path) -> tuple[int, int]:
    """Requests and failures all processes recorded after their warm-up resets (what
    locust's master should have counted, without the reports it missed); ValueError when
    no process wrote a window or one lacks them."""
    windows = _windows(directory)
    try:
        return sum(int(w["recorded"]) for w in windows), sum(int(w["failures"]) for w in windows)
    except KeyError as missing:
        raise ValueError(f"a process window in {directory} lacks {missing}") from None


def _windows(directory: Path) -> list[dict[str, float]]:
    windows = [
        json.loads(path.read_text(encoding="utf-8"))
        for path in sorted(directory.glob(f"*{WINDOW_SUFFIX}"))
    ]
    if not windows:
        raise ValueError(f"no process windows in {directory}")
    return windows
