"""Locust as a load engine: one trial's processes, its CSV summary and merged µs latency.

It owns the order of a locust trial (start, sleep through the warm-up, open the window,
sleep through the load, close it, wait for locust to exit) and turns what locust left in
the trial's raw directory into a `Measured`: the CSV summary (`bench.results.locust_csv`)
and the processes' merged HDR histograms (`bench.engines.locust.latency`), unless a locust
process froze meanwhile (`bench.engines.locust.stalls`). Locust is never
imported here: gevent must not patch the runner's process.
"""

from __future__ import annotations

from dataclasses import asdict, replace
from pathlib import Path

from bench.engines.interface import EngineError, LoadPlan, Window
from bench.engines.locust.latency import (
    MERGED,
    merge_directory,
    process_totals,
    save,
    summarise_histogram,
    windowed_rate,
)  # fmt: skip
from bench.engines.locust.processes import LoadFailed, LoadRun, locust_command
from bench.engines.locust.stalls import frozen
from bench.plan.axes import LOCUST
from bench.results.figures import NO_LATENCY, LatencySummary, Measured
from bench.results.locust_csv import LocustCsvError, read_summary


class LocustEngine:
    """Locust's FastHttpUser scenarios, headless, in one process or a master with workers."""

    name = LOCUST

    def unavailable(self) -> str | None:
        """Why locust cannot run here, or None."""
        try:
            locust_command()
        except LoadFailed as error:
            return str(error)
        return None

    def version(self) -> str | None:
        """None: locust's version is among the packages run.json records."""
        return None

    def workers(self, plan: LoadPlan) -> int:
        """Local and remote worker processes."""
        return plan.load_workers + plan.remote_workers

    def processes(self, plan: LoadPlan) -> int:
        """The master alone, or its local workers."""
        return plan.load_workers or 1

    def run(self, plan: LoadPlan, url: str, window: Window) -> Measured:
        """Run locust for the trial and read what it measured; raises EngineError."""
        cell = plan.trial.cell
        user_rate = plan.target_rps / cell.users if plan.target_rps > 0 else 0.0
        load = LoadRun(
            locust_command(), plan.trial, url, plan.raw, duration=plan.duration,
            warmup=plan.warmup, cpus=plan.cpus, load_workers=plan.load_workers,
            remote_workers=plan.remote_workers, master_bind=plan.master_bind,
            user_rate=user_rate,
        )  # fmt: skip
        with load:
            opened = load.window_opened()
            window.begin(load.pids)
            load.sleep_until(load.window_closes(opened))
            window.end()
            load.wait()
        # Local workers only: remote ones write no window, and a sum without them is short.
        # The open model always: its windows count requests by their planned send time.
        windowed = plan.remote_workers == 0 and (plan.load_workers > 0 or user_rate > 0)
        try:
            return locust_measured(plan.raw, plan.warmup, windowed=windowed)
        except LocustCsvError as error:
            raise EngineError(str(error)) from error


def locust_measured(raw: Path, warmup: int, *, windowed: bool) -> Measured:
    """Locust's CSV summary and the merged latency histograms of one trial.

    `windowed` (local workers only): the rate adds up the processes' own windows, and the
    request and failure counts are the processes' own (bench.engines.locust.latency), since
    the master's history moves only when a worker reports and its totals can miss the last
    reports. A locust process that froze makes the trial fail first, with that reason
    (bench.engines.locust.stalls): whatever its files say then is about locust.
    """
    stall = frozen(raw / "hdr")
    if stall is not None:
        raise EngineError(stall.reason())
    summary = read_summary(raw / "locust", warmup_s=warmup)
    measured = Measured(**asdict(summary), latency=_merged_latency(raw))
    if not windowed:
        return measured
    try:
        rate, window = windowed_rate(raw / "hdr")
    except ValueError:
        return measured
    size = summary.bytes_per_s / summary.requests_per_s if summary.requests_per_s > 0 else 0.0
    measured = replace(measured, requests_per_s=rate, window_s=window, bytes_per_s=rate * size)
    try:
        requests, failures = process_totals(raw / "hdr")
    except ValueError:
        return measured
    return replace(measured, requests=requests, failures=failures)


def _merged_latency(raw: Path) -> LatencySummary:
    """Merge the locust processes' histograms, keep the merged one beside the results."""
    try:
        merged = merge_directory(raw / "hdr")
    except ValueError:
        return NO_LATENCY
    save(merged, raw / MERGED)
    return summarise_histogram(merged)
