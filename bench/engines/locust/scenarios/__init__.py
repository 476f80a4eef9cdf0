"""Locust scenarios, one small file each; every file also runs alone with `locust -f`.

This module maps the scenario names (`bench.plan.axes.SCENARIOS`) to their files without
importing locust (which patches with gevent on import), so the runner can use them.
"""

from __future__ import annotations

from pathlib import Path

from bench.plan.axes import SCENARIOS

__all__ = ["SCENARIOS", "scenario_file"]

HERE = Path(__file__).resolve().parent


def scenario_file(name: str) -> Path:
    """The locustfile of scenario `name`."""
    if name not in SCENARIOS:
        raise KeyError(f"unknown scenario {name!r}; known: {', '.join(SCENARIOS)}")
    return HERE / f"{name}.py"
