"""One colour per variant and one look per cache mode, for every chart of every report.

Known variants keep their colour from run to run (so two reports compare at a glance);
others take the next free colour in order of appearance.
"""

from __future__ import annotations

from collections.abc import Iterable

KNOWN_VARIANTS = ("blog", "threaded", "asyncio", "uvloop", "external")
_COLOURS = (
    "#8c564b", "#1f77b4", "#2ca02c", "#9467bd", "#7f7f7f",  # the known variants, in order
    "#ff7f0e", "#17becf", "#e377c2", "#bcbd22", "#d62728",  # red last: it reads as "bad"
)  # fmt: skip
CACHE_ORDER = ("on", "off")
CACHE_STYLE = {  # cache mode -> (bar hatch, bar alpha, line style)
    "on": ("", 0.9, "-"),
    "off": ("//", 0.45, "--"),
}
_OTHER_CACHE = ("xx", 0.6, ":")


def ordered(values: Iterable[str], known: tuple[str, ...]) -> list[str]:
    """The distinct values, known ones first in their order, then the rest sorted."""
    distinct = set(values)
    return [v for v in known if v in distinct] + sorted(distinct - set(known))


class Palette:
    """Colours for the variants of one report."""

    def __init__(self, variants: Iterable[str]) -> None:
        self.variants = ordered(variants, KNOWN_VARIANTS)
        spare = iter(_COLOURS[len(KNOWN_VARIANTS) :])
        self._colours = {}
        for name in self.variants:
            if name in KNOWN_VARIANTS:
                self._colours[name] = _COLOURS[KNOWN_VARIANTS.index(name)]
            else:
                self._colours[name] = next(spare, "#333333")

    def colour(self, variant: str) -> str:
        """The variant's colour (dark grey for one this palette was not built with)."""
        return self._colours.get(variant, "#333333")


def cache_style(cache: str) -> tuple[str, float, str]:
    """(hatch, alpha, line style) of a cache mode."""
    return CACHE_STYLE.get(cache, _OTHER_CACHE)
