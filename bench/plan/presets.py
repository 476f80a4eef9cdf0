"""The matrices `python -m bench run` offers: default, --quick (CI) and --full.

Each is built from the variants that exist (`VariantModes`, from the server's registry), so
a preset plans only what this commit's server has. The default picks the cells that answer
the most of "what does each choice buy" in about ten minutes on two cores:
- every I/O style × loop with the cache on, on `small` (uvloop over asyncio per style;
  protocol over streams over sockets per loop; keep-alive sockets over blog);
- the other cache modes (off, alru) on one variant per loop (on over off, alru vs on);
- the other readers with the cache off on one asyncio variant (each reader against the rest);
- `close` (a new connection per request) on the post's design and the fastest of ours.
`--full` measures every mode of every variant on every scenario at two user counts.
"""

from __future__ import annotations

from collections.abc import Sequence

from bench.plan.matrix import CLOSED, Block, Matrix, equal_load
from bench.plan.servers import VariantModes

ALL_SCENARIOS = ("small", "close", "large", "notfound", "mixed", "range")
WITH_EQUAL = (CLOSED, equal_load())  # the maximum, and latency at one rate every server sustains
NAMES = ("default", "quick", "full")
ON = "on"
OFF = "off"
# The cache axis a user's --variants or --reader crosses when --cache is not given.
PRODUCT_CACHES = (ON, OFF)


def preset(name: str, catalogue: Sequence[VariantModes]) -> Matrix:
    """The preset `name` (one of NAMES) over the variants in `catalogue`."""
    variants = tuple(modes.name for modes in catalogue if ON in modes.caches)
    cached = _cached_elsewhere(catalogue)
    if name == "full":
        every = tuple(Block((m.name,), m.caches, m.readers) for m in catalogue)
        return Matrix(
            (), (), ALL_SCENARIOS, (10, 50), 3, duration=10, loads=WITH_EQUAL, extra=every,
            catalogue=tuple(catalogue),
        )  # fmt: skip
    caches = (*cached, *_cache_blocks(catalogue, quick=name == "quick"))
    if name == "quick":  # CI: one repeat, no reader or close block: under 3 minutes
        return Matrix(
            variants, (ON,), ("small",), (50,), 1, duration=3, warmup=1, loads=WITH_EQUAL,
            extra=caches, catalogue=tuple(catalogue),
        )  # fmt: skip
    # Default: at most ~96 trials × (1 s warm-up + 3 s measured + the runner's 2 s tail
    # + ~0.6 s start/stop), about 11 minutes (13 on a loaded machine).
    extra = (*caches, *_reader_blocks(catalogue), *_close_blocks(catalogue))
    return Matrix(
        variants, (ON,), ("small",), (50,), 3, duration=3, warmup=1, loads=WITH_EQUAL,
        extra=extra, catalogue=tuple(catalogue),
    )  # fmt: skip


def _cached_elsewhere(catalogue: Sequence[VariantModes]) -> tuple[Block, ...]:
    """A variant without our cache is measured with the one it has (the post's design
    caches with alru only), so no style × loop drops out of the cached comparison."""
    return tuple(Block((m.name,), (_cached(m),)) for m in catalogue if ON not in m.caches)


def _cached(modes: VariantModes) -> str:
    """The variant's cache: ours, else the post's alru, else what it has."""
    return next((mode for mode in (ON, "alru") if mode in modes.caches), modes.caches[0])


def _pick(catalogue: Sequence[VariantModes], loop: str, most: str) -> VariantModes | None:
    """The variant of `loop` with the most modes on the `most` axis ("caches" or
    "readers"), the Protocol style first among equals (the fastest: a mode's cost shows)."""
    mine = [modes for modes in catalogue if modes.loop == loop]
    if not mine:
        return None
    return min(mine, key=lambda m: (-len(getattr(m, most)), m.style != "protocol"))


def _loops(catalogue: Sequence[VariantModes]) -> list[str]:
    return list(dict.fromkeys(m.loop for m in catalogue if m.loop != "none"))


def _cache_blocks(catalogue: Sequence[VariantModes], *, quick: bool) -> tuple[Block, ...]:
    """Cache off (and alru, unless quick) on one variant per event loop."""
    blocks = []
    for loop in _loops(catalogue):
        modes = _pick(catalogue, loop, "caches")
        others = tuple(c for c in (modes.caches if modes else ()) if c != ON)
        if modes and others:
            blocks.append(Block((modes.name,), others[:1] if quick else others))
    return tuple(blocks)


def _reader_blocks(catalogue: Sequence[VariantModes]) -> tuple[Block, ...]:
    """The readers other than its own, cache off, on one variant of asyncio's loop."""
    modes = _pick(catalogue, "asyncio", "readers")
    if modes is None or len(modes.readers) < 2 or OFF not in modes.caches:
        return ()
    return (Block((modes.name,), (OFF,), modes.readers[1:]),)


def _close_blocks(catalogue: Sequence[VariantModes]) -> tuple[Block, ...]:
    """`close`, closed model only, for the post's design and our fastest (uvloop's
    Protocol, else asyncio's): what a new connection per request costs each."""
    chosen = [m for m in catalogue if m.style == "blog" and m.loop == "asyncio"][:1]
    for loop in ("uvloop", "asyncio"):
        fastest = [m for m in catalogue if m.style == "protocol" and m.loop == loop]
        if fastest:
            chosen.append(fastest[0])
            break
    return tuple(
        Block((m.name,), (_cached(m),), scenarios=("close",), loads=(CLOSED,)) for m in chosen
    )
