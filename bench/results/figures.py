"""What a trial measures, one dataclass per source: the one place each measured figure is defined.

`LoadFigures` is what the load engine saw (locust's or wrk's own counts and ms latencies),
`LatencySummary` the µs percentiles of the merged HDR histogram (corrected for coordinated
omission in the open model), `Costs` what the server and the load side spent over the
measured window. The results table's columns are these fields (`bench.results.table`), so
a figure added here is a column there. Values only: nothing here measures or formats.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

NAN = math.nan


@dataclass(frozen=True)
class LoadFigures:
    """A trial's load-side figures as the engine measured them; NaN where it had none.
    Latencies in ms are the engine's own (locust's are rounded to whole ms below 100 ms)."""

    requests: float
    failures: float
    requests_per_s: float
    mean_ms: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    p999_ms: float
    max_ms: float
    bytes_per_s: float
    window_s: float  # seconds the rate was measured over


@dataclass(frozen=True)
class LatencySummary:
    """Percentiles in microseconds from a merged HDR histogram. The fields are named as their
    results columns (`hdr_*`); the short names read the same values."""

    hdr_count: float  # requests in the merged histogram (all of locust's processes)
    hdr_p50_us: float
    hdr_p90_us: float
    hdr_p99_us: float
    hdr_p999_us: float
    hdr_p9999_us: float
    hdr_max_us: float

    @property
    def count(self) -> int:
        """Requests in the histogram."""
        return int(self.hdr_count)

    @property
    def p50_us(self) -> float:
        """Median, µs."""
        return self.hdr_p50_us

    @property
    def p90_us(self) -> float:
        """90th percentile, µs."""
        return self.hdr_p90_us

    @property
    def p99_us(self) -> float:
        """99th percentile, µs."""
        return self.hdr_p99_us

    @property
    def p999_us(self) -> float:
        """99.9th percentile, µs."""
        return self.hdr_p999_us

    @property
    def p9999_us(self) -> float:
        """99.99th percentile, µs."""
        return self.hdr_p9999_us

    @property
    def max_us(self) -> float:
        """Slowest request, µs."""
        return self.hdr_max_us


NO_LATENCY = LatencySummary(0, *[NAN] * 6)


@dataclass(frozen=True)
class Measured(LoadFigures):
    """What an engine hands the runner: its figures and the µs latency histogram's summary."""

    latency: LatencySummary


@dataclass(frozen=True)
class Costs:
    """The cost columns of a results row (NaN where a side was not observable)."""

    server_cpu_share: float  # of the server's CPUs, over the measured window
    cpu_us_per_request: float  # server CPU (user + system) per request it counted
    capacity_rps: float  # requests/s the server would reach at 100% of its CPUs
    rss_mb: float  # the server's peak resident memory
    server_fds: float  # peak
    server_threads: float  # peak
    cache_hit_ratio: float  # over the window, from the server's own counters
    load_cpu_share: float  # of the load generator's CPUs
    generator_bound: bool  # load above ~90% of its CPUs while the server had headroom


UNKNOWN_COSTS = Costs(NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, False)
