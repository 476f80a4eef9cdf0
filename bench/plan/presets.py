"""The matrices `python -m bench run` offers: default, --quick (CI) and --full."""

from __future__ import annotations

from bench.plan.matrix import CLOSED, Matrix, equal_load

ALL_VARIANTS = ("blog", "threaded", "asyncio", "uvloop")
DEFAULT_SCENARIOS = ("small", "close")  # keep-alive and one connection per request
ALL_SCENARIOS = ("small", "close", "large", "notfound", "mixed", "range")
WITH_EQUAL = (CLOSED, equal_load())  # the maximum, and latency at one rate every server sustains

PRESETS: dict[str, Matrix] = {
    # Every variant × cache on/off on two scenarios, closed maximum and equal load, 3 repeats:
    # about 11 minutes (96 trials × 1 s warm-up + 3 s measured + the runner's 2 s tail
    # + ~0.6 s start/stop). `mixed` went to --full to make room for the equal load.
    "default": Matrix(
        ALL_VARIANTS,
        ("on", "off"),
        DEFAULT_SCENARIOS,
        (50,),
        3,
        duration=3,
        warmup=1,
        loads=WITH_EQUAL,
    ),
    # CI: every variant × cache on/off on the 1 KiB page, once, both loads: under 3 minutes.
    "quick": Matrix(
        ALL_VARIANTS, ("on", "off"), ("small",), (50,), 1, duration=3, warmup=1, loads=WITH_EQUAL
    ),
    # Every combination: every scenario, two load levels.
    "full": Matrix(
        ALL_VARIANTS, ("on", "off"), ALL_SCENARIOS, (10, 50), 3, duration=10, loads=WITH_EQUAL
    ),
}
