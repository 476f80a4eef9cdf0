"""Everything a server process is told at start, in one frozen value."""

from __future__ import annotations

from dataclasses import dataclass, field

from server.store import StoreConfig


@dataclass(frozen=True, slots=True)
class ServerConfig:
    """Options shared by every variant; the CLI builds one, tests and the bench too."""

    variant: str = "asyncio"
    cache: bool = True
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
