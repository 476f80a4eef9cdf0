"""What a run measures: cells (server × scenario × users × engine × client × load), repeated,
interleaved. A server is a variant with its cache mode and reader (`bench.plan.servers`).

A matrix is a product of its axes, plus `extra` blocks: more servers measured beside the
product (on some of its scenarios and loads only), so a preset can ask for the cells that
answer the most questions without crossing every axis with every other.

Repeats are interleaved — every cell once, then every cell again, in reverse order on odd
repeats — so slow drift of a shared machine spreads over all cells instead of biasing the
ones measured last. The presets `nox -s bench` offers are in `bench.plan.presets`.

A cell's load is `closed` (N users, no think time: the maximum), a fixed open-model target
(`"5000/s"`), a share of the same cell's measured maximum (`"50%"`, a sweep point: the
runner resolves it from the first closed trial, which always runs before it), or the equal
load (`"equal50%"`: that share of the slowest closed maximum among all servers of the
scenario, so every server is measured at one offered rate; its cells run after every closed
cell of their scenario).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable
from dataclasses import dataclass, replace

from bench.plan.axes import FASTHTTP, LEAN, LOCUST, unsupported
from bench.plan.servers import NO_READER, Server, VariantModes, servers

CLOSED = "closed"
NO_CACHE = "n/a"  # the cache axis of a reference peer (it has its own, or none)
NO_CLIENT = "n/a"  # the client axis of an engine that is not locust (wrk is its own client)
SWEEP_SHARES = (10, 25, 50, 75, 90)  # % of the maximum, for --sweep
EQUAL_PREFIX = "equal"
EQUAL_SHARE = 50  # the presets' equal load: % of the slowest closed maximum of the scenario


def equal_load(share: float = EQUAL_SHARE) -> str:
    """The equal load at `share`% of the slowest maximum: `"equal50%"`."""
    return f"{EQUAL_PREFIX}{share:g}%"


def is_equal(load: str) -> bool:
    """`"equal50%"`: one offered rate for every server of the scenario."""
    return load.startswith(EQUAL_PREFIX) and load.endswith("%")


def is_share(load: str) -> bool:
    """`"50%"`: a share of the cell's own measured maximum."""
    return load.endswith("%") and not is_equal(load)


def share_of(load: str) -> float:
    """The fraction a share or equal load asks for: `"50%"`, `"equal50%"` → 0.5."""
    return float(load.removeprefix(EQUAL_PREFIX).removesuffix("%")) / 100


def equal_target(load: str, maxima: Iterable[float]) -> float:
    """The equal load's rate: its share of the slowest maximum, rounded down to two
    significant digits (`0.5 × 1,798` → 890) so that it stays below every maximum."""
    slowest = min(maxima)
    rate = share_of(load) * slowest
    if not rate >= 10:
        return rate
    step = 10.0 ** (math.floor(math.log10(rate)) - 1)
    return math.floor(rate / step) * step


def fixed_rate(load: str) -> float:
    """The target of a fixed open-model load: `"5000/s"` → 5000.0."""
    return float(load.removesuffix("/s"))


def load_suffix(load: str) -> str:
    """File-name-safe: `` (closed), `-open5000`, `-open50pct`."""
    if load == CLOSED:
        return ""
    if is_equal(load):
        return f"-equal{share_of(load) * 100:g}pct"
    if is_share(load):
        return f"-open{share_of(load) * 100:g}pct"
    return f"-open{fixed_rate(load):g}"


@dataclass(frozen=True, slots=True)
class Cell:
    """One configuration to measure."""

    variant: str  # one of ours, or a reference peer
    cache: str  # "on" | "off" | NO_CACHE
    scenario: str
    users: int
    engine: str = LOCUST
    load: str = CLOSED
    client: str = LEAN  # locust's HTTP client; NO_CLIENT for wrk
    reader: str = NO_READER  # how our server reads a file; NO_READER for anyone else's
    default_reader: str = NO_READER  # the variant's own reader (the label omits it)

    @property
    def label(self) -> str:
        """A short, file-name-safe name, e.g. `uvloop-on-small-u50-lean`,
        `uvloop-off-thread-small-u50-lean-open50pct` (a reader not the variant's own),
        `nginx-na-small-u50-wrk`. FastHttpUser cells carry no client suffix: that is how
        every run before the lean client named them."""
        engine = "" if self.engine == LOCUST else f"-{self.engine}"
        client = "" if self.client in (FASTHTTP, NO_CLIENT) else f"-{self.client}"
        cache = self.cache.replace("/", "")
        reader = "" if self.reader in (self.default_reader, NO_READER) else f"-{self.reader}"
        return (
            f"{self.variant}-{cache}{reader}-{self.scenario}-u{self.users}{engine}{client}"
            f"{load_suffix(self.load)}"
        )

    @property
    def server(self) -> Server:
        """What is loaded: the variant, its cache and reader."""
        return Server(self.variant, self.cache, self.reader, self.default_reader)

    @property
    def closed(self) -> Cell:
        """The same cell under the closed model: where a share load takes its maximum from."""
        return replace(self, load=CLOSED)

    @property
    def panel(self) -> tuple[str, int, str, str]:
        """(scenario, users, engine, client): the servers an equal load is shared by."""
        return self.scenario, self.users, self.engine, self.client


@dataclass(frozen=True, slots=True)
class Trial:
    """One measurement of a cell: its `repeat`-th (from 1)."""

    cell: Cell
    repeat: int

    @property
    def label(self) -> str:
        """The cell's label and the repeat, e.g. `uvloop-on-small-u50-r2`."""
        return f"{self.cell.label}-r{self.repeat}"


@dataclass(frozen=True, slots=True)
class Block:
    """More servers measured beside a matrix's product: variants × caches × readers (empty:
    each variant's own), on the matrix's scenarios (or these instead) at the matrix's loads
    (or only those of them listed here)."""

    variants: tuple[str, ...]
    caches: tuple[str, ...]
    readers: tuple[str, ...] = ()
    scenarios: tuple[str, ...] | None = None
    loads: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class Matrix:
    """The axes of a run, its repeats, and each trial's timing (whole seconds)."""

    variants: tuple[str, ...]
    caches: tuple[str, ...]
    scenarios: tuple[str, ...]
    users: tuple[int, ...]
    repeats: int = 3
    duration: int = 10
    warmup: int = 2
    engines: tuple[str, ...] = (LOCUST,)
    clients: tuple[str, ...] = (LEAN,)  # locust's HTTP clients (wrk cells have none)
    loads: tuple[str, ...] = (CLOSED,)  # a share load needs CLOSED before it
    peers: tuple[str, ...] = ()
    readers: tuple[str, ...] = ()  # empty: each variant's own reader
    extra: tuple[Block, ...] = ()
    catalogue: tuple[VariantModes, ...] = ()  # what each of our variants has (bench.run's)

    def _blocks(self) -> list[Block]:
        return [Block(self.variants, self.caches, self.readers), *self.extra]

    def _servers(self, block: Block, peers: tuple[str, ...]) -> list[Server]:
        ours, _ = servers(block.variants, block.caches, block.readers, self.catalogue)
        return ours + [Server(peer, NO_CACHE) for peer in peers]

    def _engines(self) -> list[tuple[str, str]]:
        """(engine, client): locust once per client, any other engine once, clientless."""
        return [
            (engine, client)
            for engine in self.engines
            for client in (self.clients if engine == LOCUST else (NO_CLIENT,))
        ]

    def _combinations(self) -> list[Cell]:
        cells: dict[Cell, None] = {}
        for index, block in enumerate(self._blocks()):
            peers = () if index else self.peers  # beside the matrix's own product only
            loads = [load for load in self.loads if block.loads is None or load in block.loads]
            axes = itertools.product(
                block.scenarios or self.scenarios, self.users, self._engines(),
                self._servers(block, peers), loads,
            )  # fmt: skip
            for scenario, users, (engine, client), server, load in axes:
                cell = Cell(
                    server.variant, server.cache, scenario, users, engine, load, client,
                    server.reader, server.default_reader,
                )  # fmt: skip
                cells.setdefault(cell)
        return list(cells)

    def cells(self) -> list[Cell]:
        """Every combination an engine can run, scenario-major so related cells sit together
        (each cell's closed load just before its shares, the equal loads after every closed
        cell of their panel: the runner needs all their maxima first)."""
        runnable = [cell for cell in self._combinations() if _unsupported(cell) is None]
        panels = list(dict.fromkeys(cell.panel for cell in runnable))
        return sorted(runnable, key=lambda cell: (panels.index(cell.panel), is_equal(cell.load)))

    def skipped(self) -> list[str]:
        """One line per kind of combination not measured: one no engine here can run, or a
        server mode a variant lacks (a list axis crossed it)."""
        reasons = {_unsupported(cell) for cell in self._combinations()}
        for block in self._blocks():
            reasons |= set(servers(block.variants, block.caches, block.readers, self.catalogue)[1])
        return sorted(reason for reason in reasons if reason is not None)

    def trials(self) -> list[Trial]:
        """All trials, interleaved: repeat-major, alternate repeats in reverse order."""
        cells = self.cells()
        trials: list[Trial] = []
        for repeat in range(1, self.repeats + 1):
            order = cells if repeat % 2 else list(reversed(cells))
            trials.extend(Trial(cell, repeat) for cell in order)
        return trials


def _unsupported(cell: Cell) -> str | None:
    reason = unsupported(cell.engine, cell.scenario, cell.load != CLOSED)
    return f"{cell.engine} × {cell.scenario}: {reason}" if reason else None
