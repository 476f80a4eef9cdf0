"""server.store and server.readers: what each store and reader returns, when it reads, and how
soon a change shows."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest

from server.config import CACHE_MODES, READERS, Reader
from server.files import MISSING, FileEntry, Lookup, Redirect, SiteRoot
from server.readers import READER_CLASSES
from server.stats import ServerStats
from server.store import AlruStore, CachedStore, ReadingStore, StoreConfig, build_store

THRESHOLD = 1024  # bytes; bigger files are streamed
MAX_AGE = 0.05  # seconds
CONFIG = StoreConfig(stream_threshold=THRESHOLD, max_age=MAX_AGE)


@pytest.fixture
def site(tmp_path: Path) -> Path:
    (tmp_path / "sub").mkdir()
    (tmp_path / "small.txt").write_bytes(b"hello")
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "edge.bin").write_bytes(b"e" * THRESHOLD)
    (tmp_path / "big.bin").write_bytes(b"b" * (THRESHOLD + 1))
    (tmp_path / "sub" / "index.html").write_bytes(b"<p>sub</p>")
    return tmp_path


def make(
    kind: type[ReadingStore], root: Path, reader: Reader = "aiofile", **config: float
) -> tuple[ReadingStore, ServerStats]:
    """A store of `kind` over `root`, with a small stream threshold and a short max_age."""
    stats = ServerStats()
    return kind(SiteRoot(str(root)), replace(CONFIG, **config), stats, reader), stats


def body(found: Lookup) -> bytes | None:
    assert isinstance(found, FileEntry), found
    return found.body


def replace_contents(path: Path, data: bytes) -> None:
    """Rewrite a file and move its mtime a second on, as a later edit would."""
    before = path.stat().st_mtime_ns
    path.write_bytes(data)
    os.utime(path, ns=(before + 10**9, before + 10**9))


BOTH = pytest.mark.parametrize("kind", [ReadingStore, CachedStore])


# -- what comes back -------------------------------------------------------------------------


@BOTH
@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("/small.txt", b"hello"),
        ("/empty.txt", b""),
        ("/edge.bin", b"e" * THRESHOLD),  # at the threshold: still held in memory
        ("/big.bin", None),  # above it: streamed by the shell
        ("/sub/", b"<p>sub</p>"),
    ],
)
def test_bodies(site: Path, kind: type[ReadingStore], key: str, expected: bytes | None) -> None:
    store, stats = make(kind, site)
    assert body(store.lookup_blocking(key)) == expected
    assert stats.file_reads == (0 if expected is None else 1)


@BOTH
@pytest.mark.parametrize(
    "key",
    ["/small.txt", "/empty.txt", "/big.bin", "/sub/", "/sub", "/nope", "/%2e%2e/etc/passwd"],
)
def test_async_and_blocking_agree(site: Path, kind: type[ReadingStore], key: str) -> None:
    async_store, _ = make(kind, site)
    blocking_store, _ = make(kind, site)
    assert asyncio.run(async_store.lookup(key)) == blocking_store.lookup_blocking(key)


@BOTH
def test_missing_and_redirect(site: Path, kind: type[ReadingStore]) -> None:
    store, stats = make(kind, site)
    assert store.lookup_blocking("/nope") is MISSING
    assert store.lookup_blocking("/sub") == Redirect("/sub/")
    assert stats.file_reads == 0


@pytest.mark.parametrize("reader", READERS)
@pytest.mark.parametrize(
    ("cache", "kind"), [("off", ReadingStore), ("on", CachedStore), ("alru", AlruStore)]
)
def test_build_store_picks_the_classes(
    site: Path, cache: str, kind: type[ReadingStore], reader: Reader
) -> None:
    assert cache in CACHE_MODES
    store = build_store(SiteRoot(str(site)), cache, reader, StoreConfig(), ServerStats())  # type: ignore[arg-type]
    assert type(store) is kind
    assert isinstance(store, ReadingStore)
    assert type(store.reader) is READER_CLASSES[reader]


# -- readers ---------------------------------------------------------------------------------

KEYS = ["/small.txt", "/empty.txt", "/edge.bin", "/big.bin", "/sub/", "/sub", "/nope", "/%2e%2e/x"]


@pytest.mark.parametrize("reader", READERS)
def test_every_reader_agrees_with_the_blocking_path(site: Path, reader: Reader) -> None:
    store, stats = make(ReadingStore, site, reader)

    async def both() -> list[tuple[Lookup, Lookup]]:
        return [(await store.lookup(key), store.lookup_blocking(key)) for key in KEYS]

    for awaited, blocking in asyncio.run(both()):
        assert awaited == blocking
    assert stats.file_reads == 2 * 4  # four keys name small files, each read both ways


@pytest.mark.parametrize(
    ("reader", "answers_now"), [("aiofile", False), ("thread", False), ("blocking", True)]
)
def test_only_the_blocking_reader_answers_without_awaiting(
    site: Path, reader: Reader, answers_now: bool
) -> None:
    """Cache off: the blocking reader reads on the spot (no task); the others must be awaited."""
    store, stats = make(ReadingStore, site, reader)
    found = store.lookup_now("/small.txt")
    assert (found is not None) is answers_now
    if answers_now:
        assert body(found) == b"hello"  # type: ignore[arg-type]
        assert store.lookup_now("/sub") == Redirect("/sub/")
        assert store.lookup_now("/nope") is MISSING
    assert stats.file_reads == (1 if answers_now else 0)


def test_thread_reader_resolves_and_reads_off_the_loop_thread(
    site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Resolve, stat, open and read run in ONE pool thread, never on the loop's thread."""
    store, _ = make(ReadingStore, site, "thread")
    threads: list[str] = []
    real_resolve = SiteRoot.resolve

    def watched(self: SiteRoot, key: str) -> Lookup:
        threads.append(threading.current_thread().name)
        return real_resolve(self, key)

    monkeypatch.setattr(SiteRoot, "resolve", watched)

    async def load() -> tuple[Lookup, str]:
        return await store.lookup("/small.txt"), threading.current_thread().name

    found, loop_thread = asyncio.run(load())
    assert body(found) == b"hello"
    assert len(threads) == 1
    assert threads[0] != loop_thread


# -- cache off -------------------------------------------------------------------------------


def test_reading_store_reads_every_time(site: Path) -> None:
    store, stats = make(ReadingStore, site)
    for expected_reads in (1, 2, 3):
        assert store.lookup_now("/small.txt") is None
        assert body(store.lookup_blocking("/small.txt")) == b"hello"
        assert stats.file_reads == expected_reads
    assert body(asyncio.run(store.lookup("/small.txt"))) == b"hello"
    assert (stats.file_reads, stats.cache_hits, stats.cache_misses) == (4, 0, 0)


def test_reading_store_sees_changes_at_once(site: Path) -> None:
    store, _ = make(ReadingStore, site, max_age=60)
    store.lookup_blocking("/small.txt")
    replace_contents(site / "small.txt", b"changed!")
    assert body(store.lookup_blocking("/small.txt")) == b"changed!"


# -- cache on --------------------------------------------------------------------------------


def test_hits_and_misses_are_counted(site: Path) -> None:
    store, stats = make(CachedStore, site, max_age=60)
    assert store.lookup_now("/small.txt") is None  # not loaded yet
    assert body(store.lookup_blocking("/small.txt")) == b"hello"
    assert (stats.cache_hits, stats.cache_misses, stats.file_reads) == (0, 1, 1)
    assert body(store.lookup_now("/small.txt")) == b"hello"
    assert body(store.lookup_blocking("/small.txt")) == b"hello"
    assert body(asyncio.run(store.lookup("/small.txt"))) == b"hello"
    assert (stats.cache_hits, stats.cache_misses, stats.file_reads) == (3, 1, 1)


def test_outcomes_without_files_are_cached_too(site: Path) -> None:
    store, stats = make(CachedStore, site, max_age=60)
    store.lookup_blocking("/nope")
    store.lookup_blocking("/big.bin")
    assert store.lookup_now("/nope") is MISSING
    assert body(store.lookup_now("/big.bin")) is None
    assert (stats.cache_hits, stats.cache_misses, stats.file_reads) == (2, 2, 0)


def test_trusted_until_max_age(site: Path) -> None:
    """Within max_age the cache answers from memory, without even a stat()."""
    store, stats = make(CachedStore, site, max_age=60)
    store.lookup_blocking("/small.txt")
    replace_contents(site / "small.txt", b"changed!")
    assert body(store.lookup_blocking("/small.txt")) == b"hello"
    assert stats.file_reads == 1


@pytest.mark.parametrize(
    ("new_contents", "rereads"),
    [
        pytest.param(b"a different size", 1, id="resized"),
        pytest.param(b"HELLO", 1, id="same size, newer mtime"),
        pytest.param(None, 0, id="deleted"),
    ],
)
def test_changes_show_after_max_age(site: Path, new_contents: bytes | None, rereads: int) -> None:
    path = site / "small.txt"
    store, stats = make(CachedStore, site)
    store.lookup_blocking("/small.txt")
    if new_contents is None:
        path.unlink()
    else:
        replace_contents(path, new_contents)
    time.sleep(MAX_AGE * 1.5)
    assert store.lookup_now("/small.txt") is None  # expired and changed: must be loaded again
    found = store.lookup_blocking("/small.txt")
    if new_contents is None:
        assert found is MISSING
    else:
        assert body(found) == new_contents
        assert isinstance(found, FileEntry)
        assert found.mtime_ns == path.stat().st_mtime_ns
    assert stats.file_reads == 1 + rereads


def test_unchanged_entry_is_revalidated_not_reread(site: Path) -> None:
    store, stats = make(CachedStore, site)
    store.lookup_blocking("/small.txt")
    time.sleep(MAX_AGE * 1.5)
    assert body(store.lookup_blocking("/small.txt")) == b"hello"
    assert (stats.cache_hits, stats.cache_misses, stats.file_reads) == (1, 1, 1)


def test_new_file_shows_after_max_age(site: Path) -> None:
    store, _ = make(CachedStore, site)
    assert store.lookup_blocking("/late.txt") is MISSING
    (site / "late.txt").write_bytes(b"here now")
    time.sleep(MAX_AGE * 1.5)
    assert body(store.lookup_blocking("/late.txt")) == b"here now"


def test_max_bytes_bound(site: Path) -> None:
    """Room for two 100-byte files (each also costs a fixed overhead), not three."""
    for name in "abc":
        (site / f"{name}.txt").write_bytes(name.encode() * 100)
    store, stats = make(CachedStore, site, max_age=60, max_bytes=2 * (100 + 512) + 100)
    for name in "abc":
        store.lookup_blocking(f"/{name}.txt")
    assert stats.cache_evictions == 1
    assert store.lookup_now("/a.txt") is None  # the least recently used went first
    assert body(store.lookup_now("/b.txt")) == b"b" * 100
    assert body(store.lookup_now("/c.txt")) == b"c" * 100


def test_file_larger_than_the_cache_is_served_not_kept(site: Path) -> None:
    store, stats = make(CachedStore, site, max_age=60, max_bytes=600)
    for expected_reads in (1, 2):
        assert body(store.lookup_blocking("/edge.bin")) == b"e" * THRESHOLD
        assert stats.file_reads == expected_reads
    assert store.lookup_now("/edge.bin") is None


# -- cache alru ------------------------------------------------------------------------------


def test_alru_counts_hits_and_misses_and_is_always_awaited(site: Path) -> None:
    store, stats = make(AlruStore, site, max_age=60)

    async def scenario() -> None:
        assert store.lookup_now("/small.txt") is None  # no synchronous hit, even when cached
        assert body(await store.lookup("/small.txt")) == b"hello"
        assert (stats.cache_hits, stats.cache_misses, stats.file_reads) == (0, 1, 1)
        for _ in range(3):
            assert body(await store.lookup("/small.txt")) == b"hello"
        assert store.lookup_now("/small.txt") is None
        assert await store.lookup("/nope") is MISSING
        assert body(await store.lookup("/big.bin")) is None  # large: metadata only, never bytes

    asyncio.run(scenario())
    assert (stats.cache_hits, stats.cache_misses, stats.file_reads) == (3, 3, 1)


def test_alru_serves_old_bytes_within_ttl_then_new_ones(site: Path) -> None:
    store, stats = make(AlruStore, site, max_age=0.3)
    path = site / "small.txt"

    async def scenario() -> tuple[Lookup, Lookup]:
        await store.lookup("/small.txt")
        replace_contents(path, b"changed!")
        within = await store.lookup("/small.txt")
        await asyncio.sleep(0.3 * 1.5)
        return within, await store.lookup("/small.txt")

    within, after = asyncio.run(scenario())
    assert body(within) == b"hello"
    assert body(after) == b"changed!"
    assert (stats.cache_hits, stats.cache_misses, stats.file_reads) == (1, 2, 2)


def test_alru_bounds_entries(site: Path) -> None:
    store, stats = make(AlruStore, site, max_age=60, max_entries=1)

    async def scenario() -> None:
        for key in ("/small.txt", "/sub/", "/small.txt"):
            await store.lookup(key)

    asyncio.run(scenario())
    assert (stats.cache_hits, stats.cache_misses) == (0, 3)  # one entry: each evicts the other


def test_alru_has_no_blocking_path(site: Path) -> None:
    store, _ = make(AlruStore, site)
    with pytest.raises(RuntimeError, match="event-loop variant"):
        store.lookup_blocking("/small.txt")


# -- cache on over each reader ---------------------------------------------------------------


@pytest.mark.parametrize("reader", READERS)
def test_cache_on_revalidates_through_its_reader(site: Path, reader: Reader) -> None:
    """An old, unchanged entry is re-checked (not re-read) on the async path of every reader."""
    store, stats = make(CachedStore, site, reader)

    async def scenario() -> Lookup:
        await store.lookup("/small.txt")
        await asyncio.sleep(MAX_AGE * 1.5)
        return await store.lookup("/small.txt")

    assert body(asyncio.run(scenario())) == b"hello"
    assert (stats.cache_hits, stats.cache_misses, stats.file_reads) == (1, 1, 1)


def test_cache_on_with_the_blocking_reader_answers_misses_now(site: Path) -> None:
    store, stats = make(CachedStore, site, "blocking", max_age=60)
    assert body(store.lookup_now("/small.txt")) == b"hello"  # a miss, loaded on the spot
    assert body(store.lookup_now("/small.txt")) == b"hello"  # then a hit
    assert (stats.cache_hits, stats.cache_misses, stats.file_reads) == (1, 1, 1)


class _NoLock:
    """Stands in for the store's lock where a hit must not take it."""

    def __enter__(self) -> None:
        raise AssertionError("a hit on a ticking clock took the lock")

    def __exit__(self, *_: object) -> None: ...


@pytest.mark.parametrize("reader", READERS)
def test_ticking_clock_decides_a_hit_without_the_lock(site: Path, reader: Reader) -> None:
    """On an event loop (a ticking `CoarseClock`) a hit reads the clock's `now`, not the real
    clock, and takes no lock; once the clock advances past max-age, the entry is re-checked."""
    store, stats = make(CachedStore, site, reader)
    assert isinstance(store, CachedStore)
    store.lookup_blocking("/small.txt")
    store.clock.advance()
    replace_contents(site / "small.txt", b"changed!")
    time.sleep(MAX_AGE * 1.5)  # expired by the real clock, not yet by the coarse one
    real_lock, store._lock = store._lock, _NoLock()  # type: ignore[assignment]
    assert body(store.lookup_now("/small.txt")) == b"hello"  # a hit, as of the last advance
    store._lock = real_lock
    store.clock.advance()
    found = store.lookup_now("/small.txt")
    if reader == "blocking":
        assert body(found) == b"changed!"  # re-checked on the spot, and re-read
    else:
        assert found is None  # the shell must await `lookup`
    assert stats.cache_hits == 1
