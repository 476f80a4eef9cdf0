"""How a file that is not in memory is found and read: `--reader aiofile|thread|blocking`.

A reader resolves a URL path (`SiteRoot.resolve`: lstat or realpath, stat) and reads a
small file's bytes; a file above the stream threshold comes back as metadata to stream.
`aiofile` (the blog post's) and `thread` keep every blocking call off the event loop:
`thread` resolves, stats, opens and reads in ONE thread-pool hop (as aiohttp does);
`aiofile` resolves in the pool, then opens and reads with aiofile. `blocking` does it all
on the caller's thread, as nginx does for files in the page cache: no hop, but a slow
disk stalls the loop. Every reader also has the blocking path the threaded shell calls.
"""

from __future__ import annotations

import asyncio
import os
import threading
from abc import ABC, abstractmethod
from typing import ClassVar

from aiofile import AIOFile

from server.config import Reader, StoreConfig
from server.files import FileEntry, Lookup, SiteRoot
from server.stats import ServerStats

__all__ = ["AiofileReader", "BlockingReader", "FileReader", "ThreadReader", "make_reader"]

_READ_ATTEMPTS = 3


class FileReader(ABC):
    """Resolves and reads; `inline` readers may run their blocking path on the loop thread."""

    inline: ClassVar[bool] = False

    def __init__(self, root: SiteRoot, config: StoreConfig, stats: ServerStats) -> None:
        self.root = root
        self.config = config
        self.stats = stats
        # The threaded shell and the thread pool call in from several threads; `+=` is not atomic.
        self._lock = threading.Lock()

    @abstractmethod
    async def resolve(self, key: str) -> Lookup:
        """What `key` names, without its bytes (a stale cache entry's re-check)."""

    @abstractmethod
    async def load(self, key: str) -> Lookup:
        """What `key` names, with a small file's bytes."""

    def resolve_blocking(self, key: str) -> Lookup:
        """`resolve` with blocking calls."""
        return self.root.resolve(key)

    def load_blocking(self, key: str) -> Lookup:
        """`load` with blocking calls: resolve, open, read, close."""
        for _ in range(_READ_ATTEMPTS):
            found = self.root.resolve(key)
            if not self._wants_body(found):
                return found
            assert isinstance(found, FileEntry)
            loaded = self._with_body(found, _read(found.real_path, found.size + 1))
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


class BlockingReader(FileReader):
    """`--reader blocking`: everything on the loop thread, no hop and no task needed."""

    inline = True

    async def resolve(self, key: str) -> Lookup:
        """Resolve on the calling thread."""
        return self.resolve_blocking(key)

    async def load(self, key: str) -> Lookup:
        """Resolve and read on the calling thread."""
        return self.load_blocking(key)


class ThreadReader(FileReader):
    """`--reader thread`: the whole blocking path in one hop to the loop's thread pool."""

    async def resolve(self, key: str) -> Lookup:
        """Resolve in the thread pool."""
        return await asyncio.get_running_loop().run_in_executor(None, self.root.resolve, key)

    async def load(self, key: str) -> Lookup:
        """Resolve, stat, open and read in one thread-pool hop."""
        return await asyncio.get_running_loop().run_in_executor(None, self.load_blocking, key)


class AiofileReader(ThreadReader):
    """`--reader aiofile`: resolve in the thread pool, then open and read with aiofile."""

    async def load(self, key: str) -> Lookup:
        """Resolve off the loop, then read with aiofile (the blog post's reads)."""
        for _ in range(_READ_ATTEMPTS):
            found = await self.resolve(key)
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


def _read(path: str, limit: int) -> bytes:
    """Up to `limit` bytes of a file, by plain os calls (a buffered file object costs more)."""
    descriptor = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        return os.read(descriptor, limit)
    finally:
        os.close(descriptor)


READER_CLASSES: dict[Reader, type[FileReader]] = {
    "aiofile": AiofileReader,
    "thread": ThreadReader,
    "blocking": BlockingReader,
}


def make_reader(
    reader: Reader, root: SiteRoot, config: StoreConfig, stats: ServerStats
) -> FileReader:
    """The reader for `--reader`: the only place that choice is made."""
    return READER_CLASSES[reader](root, config, stats)
