"""One colour per variant and one look per cache mode, for every chart of every report.

Known variants keep their colour from run to run (so two reports compare at a glance);
others take the next free colour in order of appearance. Reference peers (nginx, aiohttp,
uvicorn) come after ours, in neutral greys, so they read as yardsticks rather than rivals.
"""

from __future__ import annotations

from collections.abc import Iterable

from bench.plan.axes import PEER_NAMES
from bench.plan.matrix import NO_CACHE

OURS = (
    "blog", "threaded", "asyncio", "uvloop", "external", "sockets", "sockets-uvloop",
    "streams", "streams-uvloop", "blog-uvloop",
)  # fmt: skip
_COLOURS = (
    "#8c564b", "#1f77b4", "#2ca02c", "#9467bd", "#7f7f7f",  # ours, in order
    "#ff7f0e", "#ffbb78", "#17becf", "#9edae5", "#c49c94",  # issue 11's styles × loops
    "#e377c2", "#bcbd22", "#98df8a", "#c5b0d5", "#f7b6d2",  # others (a reader not its own)
    "#dbdb8d", "#aec7e8", "#d62728",  # red last: it reads as "bad"
)  # fmt: skip
_PEER_COLOURS = ("#2f2f2f", "#a6a6a6", "#6f8aa6", "#b8a07e")  # charcoal, grey, slate, sand
CACHE_ORDER = ("on", "alru", "off", NO_CACHE)
CACHE_STYLE = {  # cache mode -> (bar hatch, bar alpha, line style)
    "on": ("", 0.9, "-"),
    "alru": ("..", 0.7, "-."),
    "off": ("//", 0.45, "--"),
    NO_CACHE: ("", 0.9, "-"),  # a peer: drawn plainly, its colour says what it is
}
_OTHER_CACHE = ("xx", 0.6, ":")


def ordered(values: Iterable[str], known: tuple[str, ...]) -> list[str]:
    """The distinct values, known ones first in their order, then the rest sorted."""
    distinct = set(values)
    return [v for v in known if v in distinct] + sorted(distinct - set(known))


class Palette:
    """Colours for the variants of one report."""

    def __init__(self, variants: Iterable[str]) -> None:
        names = set(variants)
        peers = [name for name in PEER_NAMES if name in names]
        self.variants = ordered(names - set(PEER_NAMES), OURS) + peers
        spare = iter(_COLOURS[len(OURS) :])
        self._colours = {}
        for name in self.variants:
            if name in OURS:
                self._colours[name] = _COLOURS[OURS.index(name)]
            elif is_peer(name):
                index = PEER_NAMES.index(name) % len(_PEER_COLOURS)
                self._colours[name] = _PEER_COLOURS[index]
            else:
                self._colours[name] = next(spare, "#333333")

    def colour(self, variant: str) -> str:
        """The variant's colour (dark grey for one this palette was not built with)."""
        return self._colours.get(variant, "#333333")


def is_peer(variant: str) -> bool:
    """A reference peer, not one of ours."""
    return variant in PEER_NAMES


def cache_style(cache: str) -> tuple[str, float, str]:
    """(hatch, alpha, line style) of a cache mode."""
    return CACHE_STYLE.get(cache, _OTHER_CACHE)
