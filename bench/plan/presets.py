"""The matrices `python -m bench run` offers: default, --quick (CI) and --full."""

from __future__ import annotations

from bench.plan.matrix import Matrix

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
