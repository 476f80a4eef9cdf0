"""File stores: where a response's bytes come from, with the cache on or off.

`ReadingStore` (cache off) resolves and reads the file on every request; `CachedStore`
(cache on) keeps lookups and small files' bytes in a `BoundedLru` and revalidates an
entry against the file system once it is older than `max_age` seconds, so a changed file
is never served stale for longer than that. Files above `stream_threshold` are never held
in memory: their metadata is returned and the shell streams them (sendfile where it can).

Every store answers in three ways, one per kind of shell: `cached` (synchronous, only
what is already in memory — the event-loop shells' fast path), `lookup` (async, reads
with aiofile) and `lookup_blocking` (for the threaded shell).
"""

from __future__ import annotations

import threading
import time

from aiofile import AIOFile

from server.cache import BoundedLru
from server.config import CacheMode, StoreConfig
from server.files import FileEntry, FileStore, Lookup, SiteRoot
from server.stats import ServerStats

__all__ = ["CachedStore", "FileStore", "ReadingStore", "StoreConfig", "build_store"]

_ENTRY_OVERHEAD = 512  # bytes charged per cache entry besides the file's contents
_READ_ATTEMPTS = 3


class ReadingStore:
    """Cache off: every request resolves the path and reads the file again."""

    def __init__(self, root: SiteRoot, config: StoreConfig, stats: ServerStats) -> None:
        self.root = root
        self.config = config
        self.stats = stats
        # The threaded shell shares one store across threads, and `+=` is not atomic.
        self._lock = threading.Lock()

    def cached(self, key: str) -> Lookup | None:
        """Nothing is ever cached."""
        return None

    async def lookup(self, key: str) -> Lookup:
        """Resolve `key` and read a small file with aiofile."""
        for _ in range(_READ_ATTEMPTS):
            found = self.root.resolve(key)
            if not self._wants_body(found):
                return found
            assert isinstance(found, FileEntry)
            async with AIOFile(found.real_path, "rb") as handle:
                body = await handle.read(found.size + 1, 0)
            assert isinstance(body, bytes)  # binary mode
            loaded = self._with_body(found, body)
            if loaded is not None:
                return loaded
        raise OSError("file kept changing while being read")

    def lookup_blocking(self, key: str) -> Lookup:
        """Resolve `key` and read a small file with a blocking read."""
        for _ in range(_READ_ATTEMPTS):
            found = self.root.resolve(key)
            if not self._wants_body(found):
                return found
            assert isinstance(found, FileEntry)
            with open(found.real_path, "rb") as handle:
                body = handle.read(found.size + 1)
            loaded = self._with_body(found, body)
            if loaded is not None:
                return loaded
        raise OSError("file kept changing while being read")

    def _wants_body(self, found: Lookup) -> bool:
        return isinstance(found, FileEntry) and found.size <= self.config.stream_threshold

    def _with_body(self, found: FileEntry, body: bytes) -> FileEntry | None:
        """The entry with its bytes, or None when the file changed size under us."""
        with self._lock:
            self.stats.file_reads += 1
        if len(body) != found.size:
            return None
        return found.with_body(body)


class CachedStore(ReadingStore):
    """Cache on: lookups and small files' bytes kept in a bounded LRU, revalidated by age."""

    def __init__(self, root: SiteRoot, config: StoreConfig, stats: ServerStats) -> None:
        super().__init__(root, config, stats)
        self._entries: BoundedLru[str, tuple[Lookup, float]] = BoundedLru(
            config.max_entries, config.max_bytes
        )

    def cached(self, key: str) -> Lookup | None:
        """The cached outcome for `key` if it is still valid; None means load it."""
        with self._lock:
            item = self._entries.get(key)
            if item is None:
                return None
            if time.monotonic() - item[1] <= self.config.max_age:
                self.stats.cache_hits += 1
                return item[0]
        # Too old to trust: check the file system (outside the lock), keep it if unchanged.
        if not self._still_valid(key, item[0]):
            return None
        with self._lock:
            self.stats.cache_hits += 1
        return item[0]

    async def lookup(self, key: str) -> Lookup:
        """Cached outcome, or load it (aiofile) and cache it."""
        found = self.cached(key)
        if found is None:
            found = await super().lookup(key)
            self._remember(key, found)
        return found

    def lookup_blocking(self, key: str) -> Lookup:
        """Cached outcome, or load it (blocking read) and cache it."""
        found = self.cached(key)
        if found is None:
            found = super().lookup_blocking(key)
            self._remember(key, found)
        return found

    def _still_valid(self, key: str, found: Lookup) -> bool:
        """Re-resolve an old entry; keep it (fresh again) only if nothing changed."""
        current = self.root.resolve(key)
        unchanged = (
            current.identity() == found.identity()
            if isinstance(current, FileEntry) and isinstance(found, FileEntry)
            else current == found
        )
        with self._lock:
            if unchanged:
                self._entries.put(key, (found, time.monotonic()), _cost(found))
            else:
                self._entries.pop(key)
        return unchanged

    def _remember(self, key: str, found: Lookup) -> None:
        with self._lock:
            self.stats.cache_misses += 1
            self._entries.put(key, (found, time.monotonic()), _cost(found))
            self.stats.cache_evictions = self._entries.evictions


def _cost(found: Lookup) -> int:
    body = found.body if isinstance(found, FileEntry) else None
    return _ENTRY_OVERHEAD + (len(body) if body is not None else 0)


def build_store(
    root: SiteRoot, cache: CacheMode, config: StoreConfig, stats: ServerStats
) -> FileStore:
    """The store for `--cache`: the only place that choice is made."""
    return (CachedStore if cache == "on" else ReadingStore)(root, config, stats)
