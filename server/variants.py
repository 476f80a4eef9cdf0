"""The variant registry: names → shells, loaded lazily.

Tests and the bench ask this module which variants exist and which can run here; a
missing optional dependency (uvloop) makes its variant unavailable, never breaks import.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from server.config import CacheMode, Reader, ServerConfig

if TYPE_CHECKING:
    from server.runtime import ServerContext

Shell = Callable[["ServerContext"], None]

# The first reader is the default. Measured (wrk, cache off, server pinned): the blocking
# read costs about half the CPU per request of a thread-pool hop and a fifth of aiofile's,
# so the event-loop variants default to it; the blog post's variants keep its aiofile.
READERS_FASTEST_FIRST: tuple[Reader, ...] = ("blocking", "thread", "aiofile")
READERS_OF_THE_POST: tuple[Reader, ...] = ("aiofile", "thread", "blocking")
# The post caches with alru_cache or not at all: its variants have no other cache.
CACHES_OF_THE_POST: tuple[CacheMode, ...] = ("alru", "off")


@dataclass(frozen=True, slots=True)
class Variant:
    """One I/O design: where its shell lives and what it needs installed."""

    name: str
    summary: str
    entry: str  # "module:function"
    style: str  # the I/O style: protocol, streams, sockets, blog, threaded
    loop: str  # the event loop: asyncio, uvloop; "none" for threads
    requires: str | None = None
    caches: tuple[CacheMode, ...] = ("off", "on", "alru")
    readers: tuple[Reader, ...] = READERS_FASTEST_FIRST  # the first is the default

    def available(self) -> bool:
        """Whether its optional dependency is importable here."""
        return self.requires is None or importlib.util.find_spec(self.requires) is not None

    def load(self) -> Shell:
        """Import and return the shell function."""
        module_name, _, function = self.entry.partition(":")
        shell: Shell = getattr(importlib.import_module(module_name), function)
        return shell

    @property
    def default_cache(self) -> CacheMode:
        """The cache it runs with when none is asked for: ours, else its first."""
        return "on" if "on" in self.caches else self.caches[0]

    def configured(self, config: ServerConfig) -> ServerConfig:
        """`config` with this variant's own cache and reader where it names none;
        ValueError for a mode it lacks."""
        if config.cache is None:
            config = replace(config, cache=self.default_cache)
        if config.cache not in self.caches:
            caches = ", ".join(self.caches)
            raise ValueError(f"variant {self.name} has no --cache {config.cache} (it has {caches})")
        if config.reader is None:
            return replace(config, reader=self.readers[0])
        if config.reader not in self.readers:
            readers = ", ".join(self.readers)
            raise ValueError(
                f"variant {self.name} has no --reader {config.reader} (it has {readers})"
            )
        return config


VARIANTS: dict[str, Variant] = {
    variant.name: variant
    for variant in (
        Variant(
            "blog",
            "the blog post's design: sock_accept/sock_recv/sock_sendall, a task per client, "
            "one request per connection",
            "server.shells.sockets:run_one_request",
            style="blog",
            loop="asyncio",
            caches=CACHES_OF_THE_POST,
            readers=READERS_OF_THE_POST,
        ),
        Variant(
            "blog-uvloop",
            "the blog post's design on uvloop's event loop",
            "server.shells.sockets:run_one_request",
            style="blog",
            loop="uvloop",
            requires="uvloop",
            caches=CACHES_OF_THE_POST,
            readers=READERS_OF_THE_POST,
        ),
        Variant(
            "threaded",
            "blocking sockets, a bounded thread pool, a selector for idle keep-alive connections",
            "server.shells.threaded:run",
            style="threaded",
            loop="none",
            caches=("off", "on"),  # alru_cache serves coroutines only
            readers=("blocking",),
        ),
        Variant(
            "asyncio",
            "asyncio.Protocol with keep-alive, pipelining and write flow control",
            "server.shells.aio:run",
            style="protocol",
            loop="asyncio",
        ),
        Variant(
            "uvloop",
            "the asyncio.Protocol shell on uvloop's event loop",
            "server.shells.aio:run",
            style="protocol",
            loop="uvloop",
            requires="uvloop",
        ),
        Variant(
            "streams",
            "StreamReader/StreamWriter, a task per connection, keep-alive, pipelining, drain()",
            "server.shells.streams:run",
            style="streams",
            loop="asyncio",
        ),
        Variant(
            "streams-uvloop",
            "the streams shell on uvloop's event loop",
            "server.shells.streams:run",
            style="streams",
            loop="uvloop",
            requires="uvloop",
        ),
        Variant(
            "sockets",
            "sock_accept/sock_recv/sock_sendall, a task per connection, keep-alive, pipelining",
            "server.shells.sockets:run",
            style="sockets",
            loop="asyncio",
        ),
        Variant(
            "sockets-uvloop",
            "the sockets shell on uvloop's event loop",
            "server.shells.sockets:run",
            style="sockets",
            loop="uvloop",
            requires="uvloop",
        ),
    )
}


def available_variants() -> list[str]:
    """Names of the variants that can run on this machine, in registry order."""
    return [name for name, variant in VARIANTS.items() if variant.available()]
