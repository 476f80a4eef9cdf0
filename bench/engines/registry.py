"""The engine registry: names → load engines, the one place an engine is added.

The runner, the CLI and the campaign ask it for an engine by the cell's name and use only
the `bench.engines.interface.Engine` interface; none of them branches on a name. The names
are `bench.plan.axes.ENGINES`, which the matrix and the report read without importing this.
"""

from __future__ import annotations

from bench.engines.interface import Engine
from bench.engines.locust.engine import LocustEngine
from bench.engines.wrk.engine import WrkEngine

ENGINES: dict[str, Engine] = {engine.name: engine for engine in (LocustEngine(), WrkEngine())}


def engine_named(name: str) -> Engine:
    """The engine called `name`; KeyError naming the known ones."""
    try:
        return ENGINES[name]
    except KeyError:
        raise KeyError(f"unknown engine {name!r}; known: {', '.join(ENGINES)}") from None
