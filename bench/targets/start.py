"""One entry for every target a trial can load: `start_target(cell, ...)`.

A cell's variant names one of our server variants (`python -m server`, started with its
counters on), a reference peer (`bench.targets.peers`), or — with `host` — a server already
running that we neither start nor stop. Whatever it is, the caller gets a `Target` for the
`with` block and the process is always stopped after it. `original_server` starts the
original post's server, which `bench.perf` measures beside ours (it fails the conformance
gate, so the runner never loads it). `catalogue()` and `axes_of(cell)` say what our
variants can be run with and what a cell's server is, from the server's registry.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench.plan.matrix import Cell
from bench.plan.servers import NO_READER, NO_STYLE, VariantModes
from bench.targets.peers import PEERS, start_peer
from bench.targets.process import PinnedProcess, ServerProcess, free_port
from server.variants import VARIANTS

Cpus = tuple[int, ...] | None


@dataclass(frozen=True, slots=True)
class Target:
    """The server a trial loads: its URL, and what we know of it when we started it."""

    url: str
    pid: int | None = None  # None: not ours to sample (a --host server)
    stats_dir: Path | None = None  # where it writes its own counters (our server only)


@contextmanager
def start_target(
    cell: Cell, *, root: Path, cpus: Cpus, raw: Path, host: str | None = None
) -> Iterator[Target]:
    """The cell's server, serving `root` pinned to `cpus` (logs in `raw`), for the block."""
    if host is not None:
        yield Target(host)
        return
    start = _start_peer if cell.variant in PEERS else _start_ours
    with start(cell, root, cpus, raw) as target:
        yield target


def catalogue(*, available: bool = True) -> tuple[VariantModes, ...]:
    """What each of our variants can be run with, in registry order (only those that can
    run here, unless `available` is False)."""
    return tuple(
        VariantModes(v.name, v.style, v.loop, tuple(v.caches), tuple(v.readers))
        for v in VARIANTS.values()
        if v.available() or not available
    )


def axes_of(cell: Cell) -> dict[str, str]:
    """The cell's I/O style and loop: our variant's, from the registry; n/a for a peer or
    a --host server."""
    variant = VARIANTS.get(cell.variant)
    if variant is None:
        return {"style": NO_STYLE, "loop": NO_STYLE}
    return {"style": variant.style, "loop": variant.loop}


def original_server(root: Path, cpus: Cpus, project: Path) -> PinnedProcess:
    """The original post's server (`bench.targets.original_blog`) on a free port; a context
    manager like every target. It runs from `project` so its module imports."""
    port = free_port()
    argv = [sys.executable, "-m", "bench.targets.original_blog", "--port", str(port)]
    return PinnedProcess([*argv, "--root", str(root)], port, cpus=cpus, cwd=str(project))


@contextmanager
def _start_peer(cell: Cell, root: Path, cpus: Cpus, raw: Path) -> Iterator[Target]:
    with start_peer(cell.variant, root, cpus, raw) as peer:
        yield Target(peer.url, peer.pid)


@contextmanager
def _start_ours(cell: Cell, root: Path, cpus: Cpus, raw: Path) -> Iterator[Target]:
    """`python -m server` for the cell's variant, cache and reader, its counters in
    `raw/server`."""
    stats_dir = raw / "server"
    stats_dir.mkdir(exist_ok=True)
    args = [
        "--variant", cell.variant, "--cache", cell.cache, "--root", str(root),
        "--stats-dir", str(stats_dir),
    ]  # fmt: skip
    if cell.reader != NO_READER:
        args += ["--reader", cell.reader]
    with ServerProcess(args, cpus=cpus, own_group=True) as server:
        yield Target(server.url, server.pid, stats_dir)
