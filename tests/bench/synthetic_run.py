"""A made-up run directory of any size, for report tests that need a shape no real run has.

The results table is written with bench.results (the real schema); every trial's locust
history is a copy of a real one from fixtures/run_small (so no locust column is named here);
run.json is the fixture's with the matrix replaced. Figures are random but seeded.
"""

from __future__ import annotations

import itertools
import json
import math
import shutil
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd

from bench.matrix import Cell, Trial
from bench.results import OK, SCHEMA_VERSION, V2_MEASURES, ResultRow, write_results

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "run_small"
TEMPLATE = sorted((FIXTURE / "raw").glob("*/locust_stats_history.csv"))[0]
BASE_RATE = {"blog": 2500.0, "threaded": 3500.0, "asyncio": 5000.0, "uvloop": 7000.0}


def write_synthetic_run(
    directory: Path,
    *,
    variants: Sequence[str] = ("blog", "threaded", "asyncio", "uvloop"),
    caches: Sequence[str] = ("on", "off"),
    scenarios: Sequence[str] = ("small", "close", "mixed"),
    users: Sequence[int] = (50,),
    repeats: int = 3,
    extra: dict[str, float | str | bool] | None = None,
    seed: int = 1,
) -> Path:
    """Write results.csv, run.json and raw/*/locust_stats_history.csv; return `directory`."""
    rng = np.random.default_rng(seed)
    directory.mkdir(parents=True, exist_ok=True)
    rows = []
    for scenario, count, variant, cache, repeat in itertools.product(
        scenarios, users, variants, caches, range(1, repeats + 1)
    ):
        cell = Cell(variant, cache, scenario, count)
        rate = BASE_RATE.get(variant, 3000.0) * (1.0 if cache == "on" else 0.7)
        rate *= (1 + count / 100) * rng.uniform(0.95, 1.05)
        rows.append(_row(cell, repeat, rate, rng))
        history = directory / "raw" / Trial(cell, repeat).label / "locust_stats_history.csv"
        history.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(TEMPLATE, history)
    write_results(rows, directory)
    if extra:
        frame = pd.read_csv(directory / "results.csv").assign(**extra)
        frame.to_csv(directory / "results.csv", index=False)
    record = json.loads((FIXTURE / "run.json").read_text())
    record["settings"]["matrix"] |= {
        "variants": list(variants), "caches": list(caches), "scenarios": list(scenarios),
        "users": list(users), "repeats": repeats,
    }  # fmt: skip
    (directory / "run.json").write_text(json.dumps(record, indent=2))
    return directory


def _row(cell: Cell, repeat: int, rate: float, rng: np.random.Generator) -> ResultRow:
    p50 = 50_000 / rate * rng.uniform(0.9, 1.1)
    latencies = {"p50_ms": p50, "p90_ms": 2 * p50, "p99_ms": 5 * p50, "p999_ms": 12 * p50}
    fields = {
        **asdict(cell), "repeat": repeat, "load_workers": 0, "status": OK, "reason": "",
        "requests": rate * 6, "failures": 0.0, "requests_per_s": rate, "mean_ms": 1.3 * p50,
        "max_ms": 20 * p50, "bytes_per_s": rate * 1073, "window_s": 6.0, "overhead_s": 0.3,
        "started_at": "2026-11-25T22:16:06+00:00", **latencies,
        **dict.fromkeys(V2_MEASURES, math.nan), "generator_bound": False,
    }  # fmt: skip
    return ResultRow(schema_version=SCHEMA_VERSION, **fields)
