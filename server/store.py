"""File stores: where a response's bytes come from — `--cache off|on|alru` over a reader.

`ReadingStore` (cache off) asks the reader (`server.readers`) on every request;
`CachedStore` (cache on) keeps lookups and small files' bytes in a `BoundedLru` and
revalidates an entry against the file system once it is older than `max_age` seconds, so
a changed file is never served stale for longer than that (on an event loop, whose hits
read a `CoarseClock`, up to its `RESOLUTION` longer); `AlruStore` (cache alru) is the
blog post's choice, `async_lru.alru_cache` around the reader's async load, with `ttl` =
`max_age` so a changed file is read again after that. Files above `stream_threshold` are
never held in memory: their metadata is returned and the shell streams them.

Every store answers in three ways, one per kind of shell: `lookup_now` (synchronous: what
needs no awaiting — a fresh cache entry, or anything at all with the `blocking` reader;
None means await `lookup`), `lookup` (async) and `lookup_blocking` (the threaded shell).
"""

from __future__ import annotations

import threading
import time

from async_lru import alru_cache

from server.cache import BoundedLru
from server.clock import CoarseClock
from server.config import CacheMode, Reader, StoreConfig
from server.files import FileEntry, FileStore, Lookup, SiteRoot
from server.readers import make_reader
from server.stats import ServerStats

__all__ = [
    "AlruStore",
    "CachedStore",
    "FileStore",
    "ReadingStore",
    "StoreConfig",
    "build_store",
]

_ENTRY_OVERHEAD = 512  # bytes charged per cache entry besides the file's contents


class ReadingStore:
    """Cache off: every request resolves the path and reads the file again."""

    def __init__(
        self,
        root: SiteRoot,
        config: StoreConfig,
        stats: ServerStats,
        reader: Reader = "aiofile",
        clock: CoarseClock | None = None,
    ) -> None:
        self.config = config
        self.stats = stats
        self.reader = make_reader(reader, root, config, stats)
        self.clock = CoarseClock() if clock is None else clock  # advanced by an event loop

    def lookup_now(self, key: str) -> Lookup | None:
        """Read on the spot if the reader works on the loop thread; else None (await)."""
        return self.reader.load_blocking(key) if self.reader.inline else None

    def hit(self, key: str) -> FileEntry | None:
        """A file held in memory, fresh, counted as a hit; None (nothing counted): no cache."""
        return None

    async def lookup(self, key: str) -> Lookup:
        """Resolve `key` and read a small file, the reader's way."""
        return await self.reader.load(key)

    def lookup_blocking(self, key: str) -> Lookup:
        """Resolve `key` and read a small file with blocking calls."""
        return self.reader.load_blocking(key)


class CachedStore(ReadingStore):
    """Cache on: lookups and small files' bytes kept in a bounded LRU, revalidated by age.

    Each entry is kept with its deadline: the monotonic time after which it is re-checked.
    """

    def __init__(
        self,
        root: SiteRoot,
        config: StoreConfig,
        stats: ServerStats,
        reader: Reader = "aiofile",
        clock: CoarseClock | None = None,
    ) -> None:
        super().__init__(root, config, stats, reader, clock)
        # The threaded shell shares one store across threads, and `+=` is not atomic.
        self._lock = threading.Lock()
        self._entries: BoundedLru[str, tuple[Lookup, float]] = BoundedLru(
            config.max_entries, config.max_bytes
        )

    def lookup_now(self, key: str) -> Lookup | None:
        """A fresh entry; with the blocking reader also a re-check or a load on the spot.

        Only ever called on an event loop's thread, the one thread that touches the store
        there: once the loop advances the clock, a hit takes no lock and reads no clock.
        """
        clock = self.clock
        if clock.ticking:
            item = self._entries.get(key)
            if item is not None and clock.now <= item[1]:
                self.stats.cache_hits += 1
                return item[0]
        if self.reader.inline:
            return self.lookup_blocking(key)
        fresh, _ = self._cached(key)
        return fresh

    def hit(self, key: str) -> FileEntry | None:
        """A fresh entry holding its file's bytes, counted as a hit; else None, nothing counted.

        The express lane's lookup (`server.express`): on an event loop's thread only, like
        `lookup_now`'s first step, but it never reads, so a None changes nothing.
        """
        clock = self.clock
        item = self._entries.get(key) if clock.ticking else None
        if item is None or clock.now > item[1]:
            return None
        found = item[0]
        if not isinstance(found, FileEntry) or found.body is None:
            return None
        self.stats.cache_hits += 1
        return found

    async def lookup(self, key: str) -> Lookup:
        """Cached outcome, or load it (the reader's way) and cache it."""
        fresh, stale = self._cached(key)
        if fresh is not None:
            return fresh
        if stale is not None and self._revalidated(key, stale, await self.reader.resolve(key)):
            return stale
        return self._remember(key, await self.reader.load(key))

    def lookup_blocking(self, key: str) -> Lookup:
        """Cached outcome, or load it (blocking read) and cache it."""
        fresh, stale = self._cached(key)
        if fresh is not None:
            return fresh
        if stale is not None and self._revalidated(key, stale, self.reader.resolve_blocking(key)):
            return stale
        return self._remember(key, self.reader.load_blocking(key))

    def _cached(self, key: str) -> tuple[Lookup | None, Lookup | None]:
        """(fresh, stale): an entry within max_age (counted a hit), or an older one to re-check."""
        with self._lock:
            item = self._entries.get(key)
            if item is None:
                return None, None
            if time.monotonic() <= item[1]:
                self.stats.cache_hits += 1
                return item[0], None
        return None, item[0]

    def _revalidated(self, key: str, found: Lookup, current: Lookup) -> bool:
        """Keep an old entry (fresh again, a hit) only if the file system shows no change."""
        unchanged = (
            current.identity() == found.identity()
            if isinstance(current, FileEntry) and isinstance(found, FileEntry)
            else current == found
        )
        with self._lock:
            if unchanged:
                self.stats.cache_hits += 1
                self._entries.put(key, (found, self._deadline()), _cost(found))
            else:
                self._entries.pop(key)
        return unchanged

    def _remember(self, key: str, found: Lookup) -> Lookup:
        with self._lock:
            self.stats.cache_misses += 1
            self._entries.put(key, (found, self._deadline()), _cost(found))
            self.stats.cache_evictions = self._entries.evictions
        return found

    def _deadline(self) -> float:
        return time.monotonic() + self.config.max_age


class AlruStore(ReadingStore):
    """Cache alru: the blog post's `alru_cache` (entries bounded, `ttl` = max_age).

    It has no synchronous hit: every lookup, hit or miss, is a coroutine the shell awaits —
    that is the post's cost, measured as it is. It bounds entries, not bytes (alru_cache
    has no byte budget); large files are cached as metadata only, like every store does.
    """

    def __init__(
        self,
        root: SiteRoot,
        config: StoreConfig,
        stats: ServerStats,
        reader: Reader = "aiofile",
        clock: CoarseClock | None = None,
    ) -> None:
        super().__init__(root, config, stats, reader, clock)
        self._load = alru_cache(maxsize=config.max_entries, ttl=config.max_age)(self._miss)

    def lookup_now(self, key: str) -> Lookup | None:
        """Never: alru_cache answers only by being awaited."""
        return None

    async def lookup(self, key: str) -> Lookup:
        """The cached outcome, or the reader's load, through alru_cache."""
        # Every call counts as a hit; `_miss`, which alru runs only on a miss, moves it to the
        # misses. Exact once the miss has run, and it adds nothing to the hit path.
        self.stats.cache_hits += 1
        return await self._load(key)

    def lookup_blocking(self, key: str) -> Lookup:
        """alru_cache serves coroutines only; the registry keeps it off the threaded variant."""
        raise RuntimeError("--cache alru needs an event-loop variant")

    async def _miss(self, key: str) -> Lookup:
        self.stats.cache_hits -= 1
        self.stats.cache_misses += 1
        return await self.reader.load(key)


def _cost(found: Lookup) -> int:
    body = found.body if isinstance(found, FileEntry) else None
    return _ENTRY_OVERHEAD + (len(body) if body is not None else 0)


_STORES: dict[CacheMode, type[ReadingStore]] = {
    "off": ReadingStore,
    "on": CachedStore,
    "alru": AlruStore,
}


def build_store(
    root: SiteRoot,
    cache: CacheMode,
    reader: Reader,
    config: StoreConfig,
    stats: ServerStats,
    clock: CoarseClock | None = None,
) -> FileStore:
    """The store for `--cache` over the reader for `--reader`: the only place they are chosen."""
    return _STORES[cache](root, config, stats, reader, clock)
