"""What a run measures: cells (variant × cache × scenario × users), repeated, interleaved.

Repeats are interleaved — every cell once, then every cell again, in reverse order on odd
repeats — so slow drift of a shared machine spreads over all cells instead of biasing the
ones measured last. Presets are the matrices `nox -s bench` offers.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Cell:
    """One configuration to measure."""

    variant: str
    cache: str  # "on" | "off"
    scenario: str
    users: int

    @property
    def label(self) -> str:
        """A short, file-name-safe name, e.g. `uvloop-on-small-u50`."""
        return f"{self.variant}-{self.cache}-{self.scenario}-u{self.users}"


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
class Matrix:
    """The axes of a run, its repeats, and each trial's timing (whole seconds)."""

    variants: tuple[str, ...]
    caches: tuple[str, ...]
    scenarios: tuple[str, ...]
    users: tuple[int, ...]
    repeats: int = 3
    duration: int = 10
    warmup: int = 2

    def cells(self) -> list[Cell]:
        """Every combination of the axes, scenario-major so related cells sit together."""
        axes = itertools.product(self.scenarios, self.users, self.variants, self.caches)
        return [Cell(variant, cache, scenario, users) for scenario, users, variant, cache in axes]

    def trials(self) -> list[Trial]:
        """All trials, interleaved: repeat-major, alternate repeats in reverse order."""
        cells = self.cells()
        trials: list[Trial] = []
        for repeat in range(1, self.repeats + 1):
            order = cells if repeat % 2 else list(reversed(cells))
            trials.extend(Trial(cell, repeat) for cell in order)
        return trials


ALL_VARIANTS = ("blog", "threaded", "asyncio", "uvloop")
MAIN_SCENARIOS = ("small", "close", "mixed")
ALL_SCENARIOS = ("small", "close", "large", "notfound", "mixed", "range")

PRESETS: dict[str, Matrix] = {
    # Every variant × cache on/off on the main scenarios, 3 repeats: about 10 minutes
    # (72 trials × 1 s warm-up + 5 s measured + the runner's 2 s tail + ~1 s start/stop).
    "default": Matrix(ALL_VARIANTS, ("on", "off"), MAIN_SCENARIOS, (50,), 3, duration=5, warmup=1),
    # CI: every variant × cache on/off on the 1 KiB page, once: under 3 minutes.
    "quick": Matrix(ALL_VARIANTS, ("on", "off"), ("small",), (50,), 1, duration=3, warmup=1),
    # Every combination: every scenario, two load levels.
    "full": Matrix(ALL_VARIANTS, ("on", "off"), ALL_SCENARIOS, (10, 50), 3, duration=10),
}
