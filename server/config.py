"""Everything a server process is told at start, in frozen values; no I/O.

Reading a config imports nothing but dataclasses: the stores (aiofile) are built from it
later, by `server.store.build_store`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

# Where a response's bytes come from when they are not in memory (see `server.store`).
CacheMode = Literal["off", "on", "alru"]
Reader = Literal["aiofile", "thread", "blocking"]
CACHE_MODES: tuple[CacheMode, ...] = ("off", "on", "alru")
READERS: tuple[Reader, ...] = ("aiofile", "thread", "blocking")


@dataclass(frozen=True, slots=True)
class StoreConfig:
    """Tuning shared by both stores."""

    stream_threshold: int = 256 * 1024  # larger files are streamed, never held in memory
    max_entries: int = 1024
    max_bytes: int = 64 * 1024 * 1024
    max_age: float = 1.0  # seconds a cached entry is trusted before it is re-checked


@dataclass(frozen=True, slots=True)
class ServerConfig:
    """Options shared by every variant; the CLI builds one, tests and the bench too."""

    variant: str = "asyncio"
    # off: read every time; on: our bounded LRU; alru: the post's. None: the variant's own
    # (ours where it has it; the post's variants cache with alru only).
    cache: CacheMode | None = None
    reader: Reader | None = None  # how a file not in memory is read; None: the variant's default
    sendfile: bool = True  # large files with os.sendfile; off: copied through a small buffer
    host: str = "127.0.0.1"
    port: int = 8080
    root: str = "static"
    workers: int = 1
    backlog: int = 1024
    threads: int = 32  # threaded variant's pool size
    max_connections: int = 10_000
    head_timeout: float = 10.0  # seconds to receive a whole request head
    keepalive_timeout: float = 5.0  # seconds an idle persistent connection is kept
    send_timeout: float = 30.0  # seconds a send may make no progress before the client is dropped
    grace: float = 5.0  # seconds in-flight responses get at shutdown
    stats_dir: str | None = None
    store: StoreConfig = field(default_factory=StoreConfig)
