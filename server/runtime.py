"""What every shell is handed: the site, the counters, the socket, and how to say "ready".

It owns building the core (root → store → site) from a config, writing the counters on
SIGUSR1 and at exit, and the one log line an unexpected error gets. Shells own only I/O.
"""

from __future__ import annotations

import logging
import signal
import socket
from collections.abc import Callable
from dataclasses import dataclass

from server.config import ServerConfig
from server.files import SiteRoot
from server.static import StaticSite
from server.stats import ServerStats
from server.store import build_store

log = logging.getLogger("staticbench")

# Seconds a shell stops accepting after accept() failed (e.g. out of file descriptors):
# retrying at once would spin on the still-readable listener and flood the log.
ACCEPT_RETRY_DELAY = 1.0


@dataclass
class ServerContext:
    """One server process's shared state, handed to its shell."""

    config: ServerConfig
    listener: socket.socket
    site: StaticSite
    stats: ServerStats
    on_ready: Callable[[], None]

    def write_stats(self) -> None:
        """Hand the counters over (see `server.stats`), if a stats directory was given."""
        if self.config.stats_dir is None:
            return
        cache = "on" if self.config.cache else "off"
        try:
            self.stats.write(self.config.stats_dir, self.config.variant, cache)
        except OSError as error:  # e.g. the directory was removed: never crash the server for it
            log.error("cannot write stats to %s: %s", self.config.stats_dir, error)

    def report_crash(self, where: str, error: BaseException) -> None:
        """One log line for an unexpected error; the server goes on."""
        self.stats.internal_errors += 1
        log.error("unexpected error in %s: %s: %s", where, type(error).__name__, error)


def build_context(
    config: ServerConfig, listener: socket.socket, on_ready: Callable[[], None]
) -> ServerContext:
    """Build the core for `config`; raises NotADirectoryError for a bad root."""
    stats = ServerStats()
    store = build_store(SiteRoot(config.root), config.cache, config.store, stats)
    return ServerContext(config, listener, StaticSite(store), stats, on_ready)


def serve(context: ServerContext, shell: Callable[[ServerContext], None]) -> None:
    """Run `shell` until it shuts down, with the counters written on SIGUSR1 and at exit."""
    signal.signal(signal.SIGUSR1, lambda *_: context.write_stats())
    try:
        shell(context)
    finally:
        context.write_stats()
