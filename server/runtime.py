"""What every shell is handed: the site, the counters, the socket, and how to say "ready".

It owns building the core (root → store → site) from a config, writing the counters on
SIGUSR1 and at exit, and the one log line an unexpected error gets. Shells own only I/O.
"""

from __future__ import annotations

import logging
import signal
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from server.clock import CoarseClock
from server.config import ServerConfig
from server.files import SiteRoot
from server.static import StaticSite
from server.stats import ServerStats
from server.store import build_store

log = logging.getLogger("staticbench")

# Seconds a shell stops accepting after accept() failed (e.g. out of file descriptors):
# retrying at once would spin on the still-readable listener and flood the log.
ACCEPT_RETRY_DELAY = 1.0
# Seconds between two info lines about clients that left or stalled: each is counted, but
# a client must not control the log volume.
_CLIENT_LOG_EVERY = 1.0


@dataclass
class ServerContext:
    """One server process's shared state, handed to its shell."""

    config: ServerConfig
    listener: socket.socket
    site: StaticSite
    stats: ServerStats
    on_ready: Callable[[], None]
    clock: CoarseClock = field(default_factory=CoarseClock)  # the store's; a loop advances it
    _quiet_until: float = 0.0  # no client-event log line before this monotonic time
    _lock: threading.Lock = field(default_factory=threading.Lock)  # the threaded shell

    def write_stats(self) -> None:
        """Hand the counters over (see `server.stats`), if a stats directory was given."""
        config = self.config
        if config.stats_dir is None:
            return
        try:
            self.stats.write(config.stats_dir, config.variant, str(config.cache), config.reader)
        except OSError as error:  # e.g. the directory was removed: never crash the server for it
            log.error("cannot write stats to %s: %s", config.stats_dir, error)

    def report_crash(self, where: str, error: BaseException) -> None:
        """One log line for an unexpected error; the server goes on."""
        self.stats.internal_errors += 1
        log.error("unexpected error in %s: %s: %s", where, type(error).__name__, error)

    def accept_failed(self, error: BaseException) -> None:
        """accept() failed (e.g. out of file descriptors); the shell backs off and retries."""
        with self._lock:
            self.stats.accept_failures += 1
        log.warning("cannot accept connections for now (%s); retrying", error)

    def peer_gone(self) -> None:
        """A client went away mid-response: its own business, counted, never a 500."""
        with self._lock:
            self.stats.client_disconnects += 1
        self._log_rarely("a client left mid-response")

    def send_timed_out(self) -> None:
        """A client made no progress reading for --send-timeout and was dropped."""
        with self._lock:
            self.stats.send_timeouts += 1
        self._log_rarely("a client stalled for --send-timeout and was dropped")

    def _log_rarely(self, what: str) -> None:
        now = time.monotonic()
        with self._lock:
            if now < self._quiet_until:
                return
            self._quiet_until = now + _CLIENT_LOG_EVERY
            left, stalled = self.stats.client_disconnects, self.stats.send_timeouts
        log.info("%s (so far: %d left mid-response, %d stalled)", what, left, stalled)


def build_context(
    config: ServerConfig, listener: socket.socket, on_ready: Callable[[], None]
) -> ServerContext:
    """Build the core for `config`; raises NotADirectoryError for a bad root."""
    stats = ServerStats()
    assert config.cache is not None, "fill the variant's own first (Variant.configured)"
    assert config.reader is not None, "fill the variant's own first (Variant.configured)"
    clock = CoarseClock()
    root = SiteRoot(config.root)
    store = build_store(root, config.cache, config.reader, config.store, stats, clock)
    return ServerContext(config, listener, StaticSite(store), stats, on_ready, clock)


def serve(context: ServerContext, shell: Callable[[ServerContext], None]) -> None:
    """Run `shell` until it shuts down, with the counters written on SIGUSR1 and at exit."""
    signal.signal(signal.SIGUSR1, lambda *_: context.write_stats())
    try:
        shell(context)
    finally:
        context.write_stats()
