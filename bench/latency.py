"""Microsecond latency: HDR histograms recorded in each locust process, merged exactly.

Locust rounds response times below 100 ms to whole milliseconds before it computes
percentiles, so on loopback its p50 is 0 or 1 ms. Our scenarios record every request's
time (µs, 3 significant digits) in an HdrHistogram and each locust process writes its
encoded histogram to a file at exit; the runner merges them here — an exact merge, so a
distributed run's count equals the requests locust counted — and keeps the merged one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hdrh.histogram import HdrHistogram

LOWEST_US = 1
HIGHEST_US = 60_000_000  # one minute
SIGNIFICANT_DIGITS = 3
SUFFIX = ".hdr"
MERGED = "latency.hdr"


def new_histogram() -> HdrHistogram:
    """An empty histogram with the settings every process uses."""
    return HdrHistogram(LOWEST_US, HIGHEST_US, SIGNIFICANT_DIGITS)


@dataclass(frozen=True, slots=True)
class LatencySummary:
    """Percentiles in microseconds from a merged histogram."""

    count: int
    p50_us: float
    p90_us: float
    p99_us: float
    p999_us: float
    p9999_us: float
    max_us: float


def merge_directory(directory: Path) -> HdrHistogram:
    """Add up every process's histogram in `directory` (`*.hdr`); raises ValueError if none."""
    files = sorted(directory.glob(f"*{SUFFIX}"))
    if not files:
        raise ValueError(f"no latency histograms in {directory}")
    merged = new_histogram()
    for path in files:
        merged.add(HdrHistogram.decode(path.read_bytes().strip()))
    return merged


def summarise(histogram: HdrHistogram) -> LatencySummary:
    """The percentiles the results table keeps."""

    def at(percentile: float) -> float:
        return float(histogram.get_value_at_percentile(percentile))

    return LatencySummary(
        count=int(histogram.get_total_count()),
        p50_us=at(50), p90_us=at(90), p99_us=at(99), p999_us=at(99.9), p9999_us=at(99.99),
        max_us=float(histogram.get_max_value()),
    )  # fmt: skip


def save(histogram: HdrHistogram, path: Path) -> None:
    """Write an encoded histogram (base64 text) so reports can be redrawn later."""
    path.write_bytes(histogram.encode() + b"\n")


def load(path: Path) -> HdrHistogram:
    """Read a histogram written by `save` (or by a locust process)."""
    return HdrHistogram.decode(path.read_bytes().strip())
