"""Why our own LRU: a warm `async_lru.alru_cache` hit against `BoundedLru` and the store.

pytest-benchmark has no async support, so every case runs the same harness: one event
loop kept for the whole test, and a round is `loop.run_until_complete(batch())` where
`batch` makes OPS lookups of a warm key. Starting and finishing the loop run is thus
amortised over OPS lookups and is the same for every case; `test_harness_only` measures
it (with an empty loop body) so it can be subtracted. Per-lookup figures are the round
mean / OPS, recorded as `per_op_ns` in each benchmark's extra_info (see the saved JSON).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

import pytest
from async_lru import alru_cache
from pytest_benchmark.fixture import BenchmarkFixture

from server.cache import BoundedLru
from server.files import Lookup, SiteRoot
from server.stats import ServerStats
from server.store import CachedStore, StoreConfig

OPS = 1000
KEY = "/kb.txt"

Batch = Callable[[], Coroutine[Any, Any, None]]


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


@pytest.fixture
def store(tmp_path: Path) -> CachedStore:
    (tmp_path / "kb.txt").write_bytes(b"x" * 1024)
    store = CachedStore(SiteRoot(str(tmp_path)), StoreConfig(), ServerStats())
    store.lookup_blocking(KEY)
    return store


def run_batches(benchmark: BenchmarkFixture, loop: asyncio.AbstractEventLoop, batch: Batch) -> None:
    """Benchmark rounds of OPS lookups and record the mean cost of one lookup."""
    benchmark(lambda: loop.run_until_complete(batch()))
    benchmark.extra_info["ops_per_round"] = OPS
    if benchmark.stats is not None:  # None under --benchmark-disable
        benchmark.extra_info["per_op_ns"] = round(benchmark.stats.stats.mean / OPS * 1e9, 1)


@pytest.mark.benchmark(group="lru: per round of 1000 lookups")
def test_harness_only(benchmark: BenchmarkFixture, loop: asyncio.AbstractEventLoop) -> None:
    async def batch() -> None:
        for _ in range(OPS):
            pass

    run_batches(benchmark, loop, batch)


@pytest.mark.benchmark(group="lru: per round of 1000 lookups")
def test_alru_cache_hit(
    benchmark: BenchmarkFixture, loop: asyncio.AbstractEventLoop, store: CachedStore
) -> None:
    @alru_cache(maxsize=1024)
    async def lookup(key: str) -> Lookup:
        return store.reader.root.resolve(key)

    loop.run_until_complete(lookup(KEY))  # warm: every lookup below is a hit

    async def batch() -> None:
        for _ in range(OPS):
            await lookup(KEY)

    run_batches(benchmark, loop, batch)
    assert lookup.cache_info().misses == 1


@pytest.mark.benchmark(group="lru: per round of 1000 lookups")
def test_bounded_lru_awaited(
    benchmark: BenchmarkFixture, loop: asyncio.AbstractEventLoop, store: CachedStore
) -> None:
    """Same shape as the alru case (a coroutine call and an await per lookup)."""
    lru: BoundedLru[str, Lookup] = BoundedLru(1024, 1 << 20)
    lru.put(KEY, store.reader.root.resolve(KEY), 1)

    async def lookup(key: str) -> Lookup | None:
        return lru.get(key)

    async def batch() -> None:
        for _ in range(OPS):
            await lookup(KEY)

    run_batches(benchmark, loop, batch)


@pytest.mark.benchmark(group="lru: per round of 1000 lookups")
def test_bounded_lru_direct(
    benchmark: BenchmarkFixture, loop: asyncio.AbstractEventLoop, store: CachedStore
) -> None:
    """What the event-loop shells do: a plain call, no await at all."""
    lru: BoundedLru[str, Lookup] = BoundedLru(1024, 1 << 20)
    lru.put(KEY, store.reader.root.resolve(KEY), 1)

    async def batch() -> None:
        for _ in range(OPS):
            lru.get(KEY)

    run_batches(benchmark, loop, batch)


@pytest.mark.benchmark(group="lru: per round of 1000 lookups")
def test_cached_store_hit(
    benchmark: BenchmarkFixture, loop: asyncio.AbstractEventLoop, store: CachedStore
) -> None:
    """CachedStore.lookup_now: the LRU plus its lock, clock read and age check."""

    async def batch() -> None:
        for _ in range(OPS):
            store.lookup_now(KEY)

    run_batches(benchmark, loop, batch)
    assert store.stats.cache_hits >= OPS
