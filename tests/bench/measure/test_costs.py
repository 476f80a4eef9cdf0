"""The cost arithmetic: per-request CPU, capacity, cache hit ratio, generator-bound mark."""

from __future__ import annotations

import math

import pytest

from bench.measure.costs import costs
from bench.measure.sampling import ServerCounters, Usage


def usage(cpu_s: float, wall_s: float = 10.0) -> Usage:
    return Usage(cpu_s=cpu_s, wall_s=wall_s, peak_rss_bytes=30 * 2**20, peak_fds=60, peak_threads=3)


BEFORE = ServerCounters(requests=1_000, cache_hits=900, cache_misses=100)
AFTER = ServerCounters(requests=51_000, cache_hits=50_890, cache_misses=110)


def test_cpu_per_request_and_capacity() -> None:
    # 5 CPU-seconds for 50,000 requests: 100 µs each, so one CPU would do 10,000/s.
    found = costs(usage(9.95), 1, usage(5.0), 1, BEFORE, AFTER)
    assert found.cpu_us_per_request == pytest.approx(100.0)
    assert found.capacity_rps == pytest.approx(10_000.0)
    assert found.server_cpu_share == pytest.approx(0.5)
    assert found.cache_hit_ratio == pytest.approx(49_990 / 50_000)
    assert found.rss_mb == pytest.approx(30.0)


@pytest.mark.parametrize(
    ("load_cpu", "server_cpu", "bound"),
    [(9.8, 5.0, True), (9.8, 9.8, False), (5.0, 9.8, False), (5.0, 5.0, False)],
    ids=["load-saturated", "both-saturated", "server-saturated", "neither"],
)
def test_generator_bound_only_when_the_load_is_full_and_the_server_is_not(
    load_cpu: float, server_cpu: float, bound: bool
) -> None:
    assert costs(usage(load_cpu), 1, usage(server_cpu), 1, BEFORE, AFTER).generator_bound is bound


def test_shares_are_per_cpu() -> None:
    found = costs(usage(18.0), 2, usage(9.5), 1, BEFORE, AFTER)
    assert found.load_cpu_share == pytest.approx(0.9)
    assert found.generator_bound is False  # 90% is not above 90%


def test_an_unobserved_server_gives_nan_never_zero() -> None:
    found = costs(usage(9.8), 1, None, 1, None, None)
    assert math.isnan(found.cpu_us_per_request)
    assert math.isnan(found.capacity_rps)
    assert found.generator_bound is True  # a saturated generator is still locust's number


def test_no_requests_in_the_window_is_nan() -> None:
    found = costs(usage(1.0), 1, usage(1.0), 1, BEFORE, BEFORE)
    assert math.isnan(found.cpu_us_per_request)
    assert math.isnan(found.capacity_rps)
    assert math.isnan(found.cache_hit_ratio)


def test_a_server_without_counters_is_costed_from_the_clients_rate() -> None:
    # A reference peer: 5 CPU-seconds over 10 s at 5,000 req/s → 100 µs per request.
    found = costs(usage(1.0), 1, usage(5.0), 1, None, None, client_rps=5_000.0)
    assert found.cpu_us_per_request == pytest.approx(100.0)
    assert found.capacity_rps == pytest.approx(10_000.0)
    assert math.isnan(found.cache_hit_ratio)  # no counters: unknown, not 0


def test_a_server_without_counters_or_client_rate_is_nan() -> None:
    found = costs(usage(1.0), 1, usage(5.0), 1, None, None)
    assert math.isnan(found.cpu_us_per_request)
    assert found.server_cpu_share == pytest.approx(0.5)
