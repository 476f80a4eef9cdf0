"""Locust scenarios, one small file each; every file also runs alone with `locust -f`.

This module maps the scenario names (`bench.plan.axes.SCENARIOS`) to their files without
importing locust (which patches with gevent on import), so the runner can use them.
"""

from __future__ import annotations

from pathlib import Path

from bench.plan.axes import SCENARIOS

__all__ = ["SCENARIOS", "WINDOW_MARK_ENV", "scenario_file"]

HERE = Path(__file__).resolve().parent
# The file a locust process writes, once its warm-up is forgotten, with that moment's
# time.monotonic(): the runner opens the server's cost window then (see LoadRun).
WINDOW_MARK_ENV = "STATICBENCH_WINDOW_MARK"


def scenario_file(name: str) -> Path:
    """The locustfile of scenario `name`."""
    if name not in SCENARIOS:
        raise KeyError(f"unknown scenario {name!r}; known: {', '.join(SCENARIOS)}")
    return HERE / f"{name}.py"
