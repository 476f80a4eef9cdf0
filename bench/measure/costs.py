"""Server-side cost and generator saturation over a trial's measured window.

Requests per second under locust say as much about locust as about the server when
locust is the bottleneck. What the server spent per request does not: its CPU time
(user + system, whole process tree) divided by the requests it counted itself, over
the same window. From it, the capacity the server would reach at 100% of its CPUs. The
load side is sampled too: a trial whose load processes were above ~90% of their CPUs
while the server had headroom is *generator-bound* — its requests/s are locust's.
"""

from __future__ import annotations

import math
from pathlib import Path

import psutil

from bench.measure.sampling import ServerCounters, TreeSampler, Usage, server_counters
from bench.results.figures import UNKNOWN_COSTS, Costs

SATURATED = 0.9  # a side above this share of its CPUs is the bottleneck
NAN = math.nan


class CostProbe:
    """The runner's measured window (a `bench.engines.interface.Window`): watches the server,
    when we started it, and the load processes the engine names when the window opens."""

    def __init__(
        self,
        load_cpus: int,
        server_pid: int | None = None,
        server_cpus: int = 1,
        stats_dir: Path | None = None,
    ) -> None:
        self.load: list[TreeSampler] = []
        self.load_cpus = load_cpus
        self.server = TreeSampler(server_pid) if server_pid is not None else None
        self.server_pid = server_pid
        self.server_cpus = server_cpus
        self.stats_dir = stats_dir
        self._counters_at_begin: ServerCounters | None = None
        self._samples: tuple[Usage, Usage | None, ServerCounters | None] | None = None

    def begin(self, load_pids: list[int]) -> None:
        """Open the window (after the warm-up)."""
        self._counters_at_begin = self._counters()
        self.load = [sampler for pid in load_pids if (sampler := _sampler(pid)) is not None]
        for sampler in self.load:
            sampler.begin()
        if self.server is not None:
            self.server.begin()

    def end(self) -> None:
        """Close the window (once the load has stopped)."""
        load = combined([sampler.end() for sampler in self.load])
        server = self.server.end() if self.server is not None else None
        self._samples = (load, server, self._counters())

    def costs(self, client_rps: float = NAN) -> Costs:
        """The window's costs; `client_rps` stands in for a server without its own counters
        (a reference peer): its requests are the load's rate over the window."""
        if self._samples is None:
            return UNKNOWN_COSTS
        load, server, after = self._samples
        return costs(
            load, self.load_cpus, server, self.server_cpus, self._counters_at_begin, after,
            client_rps=client_rps,
        )  # fmt: skip

    def _counters(self) -> ServerCounters | None:
        if self.server_pid is None or self.stats_dir is None:
            return None
        return server_counters(self.server_pid, self.stats_dir)


def _sampler(pid: int) -> TreeSampler | None:
    """A sampler of a load process, or None when it already exited (the engine reports why)."""
    try:
        return TreeSampler(pid)
    except psutil.NoSuchProcess:
        return None


def combined(usages: list[Usage]) -> Usage:
    """Several trees over the same window as one (CPU and peaks added)."""
    return Usage(
        cpu_s=sum(u.cpu_s for u in usages),
        wall_s=max((u.wall_s for u in usages), default=0.0),
        peak_rss_bytes=sum(u.peak_rss_bytes for u in usages),
        peak_fds=sum(u.peak_fds for u in usages),
        peak_threads=sum(u.peak_threads for u in usages),
    )


def costs(
    load: Usage,
    load_cpus: int,
    server: Usage | None,
    server_cpus: int,
    before: ServerCounters | None,
    after: ServerCounters | None,
    *,
    client_rps: float = NAN,
) -> Costs:
    """Pure arithmetic from the samples: per-request cost, capacity, saturation.

    Requests are the server's own count over the window; without its counters, the
    client's rate times the window (`client_rps`, NaN: unknown).
    """
    load_share = load.share(load_cpus)
    if server is None:
        # Nothing known of the server: a saturated generator still means locust's number.
        return Costs(NAN, NAN, NAN, NAN, NAN, NAN, NAN, load_share, load_share > SATURATED)
    requests: float
    if before is not None and after is not None:
        requests = after.requests - before.requests
        hits = after.cache_hits - before.cache_hits
        lookups = hits + after.cache_misses - before.cache_misses
    else:
        requests, hits, lookups = client_rps * server.wall_s, 0, 0
    per_request = server.cpu_s / requests * 1e6 if requests > 0 else NAN
    server_share = server.share(server_cpus)
    return Costs(
        server_cpu_share=server_share,
        cpu_us_per_request=per_request,
        capacity_rps=server_cpus * 1e6 / per_request if per_request > 0 else NAN,
        rss_mb=server.peak_rss_bytes / 2**20,
        server_fds=server.peak_fds,
        server_threads=server.peak_threads,
        cache_hit_ratio=hits / lookups if lookups else NAN,
        load_cpu_share=load_share,
        generator_bound=load_share > SATURATED and server_share < SATURATED,
    )
