"""server.store: what each store returns, when it reads, and how soon a change shows."""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import replace
from pathlib import Path

import pytest

from server.files import MISSING, FileEntry, Lookup, Redirect, SiteRoot
from server.stats import ServerStats
from server.store import CachedStore, ReadingStore, StoreConfig, build_store

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


def make(kind: type[ReadingStore], root: Path, **config: float) -> tuple[ReadingStore, ServerStats]:
    """A store of `kind` over `root`, with a small stream threshold and a short max_age."""
    stats = ServerStats()
    return kind(SiteRoot(str(root)), replace(CONFIG, **config), stats), stats


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


def test_build_store_picks_the_class(site: Path) -> None:
    root, config = SiteRoot(str(site)), StoreConfig()
    assert type(build_store(root, "on", config, ServerStats())) is CachedStore
    assert type(build_store(root, "off", config, ServerStats())) is ReadingStore


# -- cache off -------------------------------------------------------------------------------


def test_reading_store_reads_every_time(site: Path) -> None:
    store, stats = make(ReadingStore, site)
    for expected_reads in (1, 2, 3):
        assert store.cached("/small.txt") is None
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
    assert store.cached("/small.txt") is None  # not loaded yet
    assert body(store.lookup_blocking("/small.txt")) == b"hello"
    assert (stats.cache_hits, stats.cache_misses, stats.file_reads) == (0, 1, 1)
    assert body(store.cached("/small.txt")) == b"hello"
    assert body(store.lookup_blocking("/small.txt")) == b"hello"
    assert body(asyncio.run(store.lookup("/small.txt"))) == b"hello"
    assert (stats.cache_hits, stats.cache_misses, stats.file_reads) == (3, 1, 1)


def test_outcomes_without_files_are_cached_too(site: Path) -> None:
    store, stats = make(CachedStore, site, max_age=60)
    store.lookup_blocking("/nope")
    store.lookup_blocking("/big.bin")
    assert store.cached("/nope") is MISSING
    assert body(store.cached("/big.bin")) is None
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
    assert store.cached("/small.txt") is None  # expired and changed: must be loaded again
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
    assert store.cached("/a.txt") is None  # the least recently used went first
    assert body(store.cached("/b.txt")) == b"b" * 100
    assert body(store.cached("/c.txt")) == b"c" * 100


def test_file_larger_than_the_cache_is_served_not_kept(site: Path) -> None:
    store, stats = make(CachedStore, site, max_age=60, max_bytes=600)
    for expected_reads in (1, 2):
        assert body(store.lookup_blocking("/edge.bin")) == b"e" * THRESHOLD
        assert stats.file_reads == expected_reads
    assert store.cached("/edge.bin") is None
