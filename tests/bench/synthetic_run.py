"""A made-up run directory of any size, for report tests that need a shape no real run has.

The trials are bench.plan.matrix's (engines, open-model loads and reference peers included, in
the runner's interleaved order) and the results table is written with bench.results.table (the
real schema). Every locust trial's history is a copy of a real one from fixtures/run_small
(so no locust column is named here); wrk trials have none, as in a real run. run.json is
the fixture's with the matrix replaced. Figures are random but seeded.

The made-up server: each cell has a true maximum M; locust's closed model reaches M / 1.25
(locust is the limit) and estimates M from the server's CPU per request (within ±8%); wrk
reaches M with the server at 97–100% CPU. An open-model trial achieves its target up to
the closed-model rate — a share load's target comes from the cell's first closed trial, an
equal load's from the slowest first closed trial of the panel, as the runner resolves them —
except the trials named in `short`, which achieve 80% of it. `rates` replaces the true
maxima (keyed by variant, or by server name such as `asyncio·thread`); `drift` moves every
trial of a repeat block by one common factor (a shared machine's drift), which the paired
comparison of the verdict must cancel. `matrix` replaces the axes (a preset, readers,
blocks). A row's style and loop come from the variant's name (`<style>[-uvloop]`, the
Protocol shell as asyncio/uvloop, as issue 11 names them), not from the server's registry,
so names the registry does not have yet can be rendered.
"""

from __future__ import annotations

import json
import math
import shutil
from collections.abc import Collection, Sequence
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd

from bench.plan.axes import LOCUST, WRK
from bench.plan.matrix import (
    CLOSED,
    Cell,
    Matrix,
    Trial,
    equal_target,
    fixed_rate,
    is_equal,
    is_share,
    share_of,
)
from bench.plan.servers import NO_STYLE, VariantModes, server_name
from bench.results.table import (
    OK,
    SCHEMA_VERSION,
    V2_MEASURES,
    ResultRow,
    rate_short,
    write_results,
)

# A real run; its four failed trials (not locust's stale clock) are explained in its README.md.
FIXTURE = Path(__file__).resolve().parent / "fixtures" / "run_small"
TEMPLATE = sorted((FIXTURE / "raw").glob("*/locust_stats_history.csv"))[0]
BASE_RATE = {
    "blog": 2500.0, "threaded": 3500.0, "asyncio": 5000.0, "uvloop": 7000.0,
    "nginx": 9000.0, "aiohttp": 4000.0, "uvicorn": 6000.0,
}  # fmt: skip
LOCUST_CEILING = 1.25  # the true maximum over what locust's closed model reaches
CACHE_FACTOR = {"off": 0.7, "alru": 0.9}  # of the cache-on maximum
PEERS = ("nginx", "aiohttp", "uvicorn", "stall", "external")


def style_and_loop(variant: str) -> tuple[str, str]:
    """`sockets-uvloop` → (sockets, uvloop); asyncio/uvloop are the Protocol shell."""
    if variant in PEERS:
        return NO_STYLE, NO_STYLE
    if variant == "threaded":
        return "threaded", "none"
    if variant in ("asyncio", "uvloop"):
        return "protocol", variant
    style, _, loop = variant.partition("-")
    return style, loop or "asyncio"


def _modes(name: str, caches: tuple[str, ...], readers: tuple[str, ...]) -> VariantModes:
    return VariantModes(name, *style_and_loop(name), caches, readers)


_ALL = ("off", "on", "alru"), ("aiofile", "thread", "blocking")
_POST = ("alru", "off"), ("aiofile", "thread", "blocking")  # the blog variants: alru or nothing
# Every variant issue 11 asks for, at its size (presets and reports are checked at it); the
# blog variants have the post's caches only, as in the registry.
ISSUE11_CATALOGUE = (
    _modes("blog", *_POST), _modes("blog-uvloop", *_POST),
    _modes("threaded", ("off", "on"), ("blocking", "thread")),
    _modes("asyncio", *_ALL), _modes("uvloop", *_ALL), _modes("sockets", *_ALL),
    _modes("sockets-uvloop", *_ALL), _modes("streams", *_ALL), _modes("streams-uvloop", *_ALL),
)  # fmt: skip


def write_synthetic_run(
    directory: Path,
    *,
    variants: Sequence[str] = ("blog", "threaded", "asyncio", "uvloop"),
    caches: Sequence[str] = ("on", "off"),
    scenarios: Sequence[str] = ("small", "close", "mixed"),
    users: Sequence[int] = (50,),
    repeats: int = 3,
    engines: Sequence[str] = (LOCUST,),
    clients: Sequence[str] = ("lean",),
    loads: Sequence[str] = (CLOSED,),
    peers: Sequence[str] = (),
    short: Collection[str] = (),
    measures: bool = False,
    extra: dict[str, float | str | bool] | None = None,
    seed: int = 1,
    rates: dict[str, float] | None = None,
    drift: float = 0.0,
    matrix: Matrix | None = None,
) -> Path:
    """Write results.csv, run.json and raw/*/locust_stats_history.csv; return `directory`.

    `short`: trial labels (`uvloop-on-small-u50-lean-open50pct-r2`) that fall short of their
    target. `measures`: fill the schema-2 columns (HDR µs latency, the server's costs).
    """
    matrix = matrix or Matrix(
        tuple(variants), tuple(caches), tuple(scenarios), tuple(users), repeats,
        engines=tuple(engines), clients=tuple(clients), loads=tuple(loads), peers=tuple(peers),
    )  # fmt: skip
    made = _Server(np.random.default_rng(seed), measures, BASE_RATE | (rates or {}), drift)
    rows = [made.row(trial, trial.label in short) for trial in matrix.trials()]
    directory.mkdir(parents=True, exist_ok=True)
    for trial in matrix.trials():
        if trial.cell.engine == LOCUST:
            history = directory / "raw" / trial.label / "locust_stats_history.csv"
            history.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(TEMPLATE, history)
    write_results(rows, directory)
    if extra:
        path = directory / "results.csv"
        frame = pd.read_csv(path, keep_default_na=False, na_values=["", "nan"])
        frame.assign(**extra).to_csv(path, index=False)
    _write_run_json(directory, matrix)
    return directory


def _write_run_json(directory: Path, matrix: Matrix) -> None:
    record = json.loads((FIXTURE / "run.json").read_text())
    record["settings"]["matrix"] |= {
        "variants": list(matrix.variants), "caches": list(matrix.caches),
        "scenarios": list(matrix.scenarios), "users": list(matrix.users),
        "repeats": matrix.repeats, "engines": list(matrix.engines), "loads": list(matrix.loads),
        "peers": list(matrix.peers),
    }  # fmt: skip
    (directory / "run.json").write_text(json.dumps(record, indent=2))


class _Server:
    """The made-up server's figures, trial by trial (in the runner's order)."""

    def __init__(
        self, rng: np.random.Generator, measures: bool, rates: dict[str, float], drift: float
    ) -> None:
        self.rng = rng
        self.measures = measures
        self.rates = rates
        self.drift = drift
        self.blocks: dict[int, float] = {}  # repeat → its common drift factor
        self.first_closed: dict[Cell, float] = {}  # what a share load is a share of

    def true_max(self, cell: Cell) -> float:
        name = server_name(cell.variant, cell.reader, cell.default_reader)
        rate = self.rates.get(name, self.rates.get(cell.variant, 3000.0))
        return rate * CACHE_FACTOR.get(cell.cache, 1.0) * (1 + cell.users / 100)

    def _block(self, repeat: int) -> float:
        if not self.drift:
            return 1.0  # draws nothing: runs without drift keep their figures
        if repeat not in self.blocks:
            self.blocks[repeat] = self.rng.uniform(1 - self.drift, 1 + self.drift)
        return self.blocks[repeat]

    def row(self, trial: Trial, short: bool) -> ResultRow:
        cell, block = trial.cell, self._block(trial.repeat)
        top = self.true_max(cell) * block * (1 if cell.engine == WRK else 1 / LOCUST_CEILING)
        if cell.load == CLOSED:
            rate, target = top * self.rng.uniform(0.95, 1.05), math.nan
            self.first_closed.setdefault(cell, rate)
            p50 = cell.users * 1000 / rate
        else:
            target = self._target(cell, top)
            rate = 0.8 * target if short else min(target, top) * self.rng.uniform(0.99, 1.0)
            busy = min(rate / top, 0.97)
            p50 = 0.2 + 1000 / self.true_max(cell) / (1 - busy)
        p50 *= self.rng.uniform(0.9, 1.1)
        costs = self._costs(cell, rate, block) if self.measures else {}
        return _row(trial, rate, target, p50, costs)

    def _target(self, cell: Cell, top: float) -> float:
        if is_equal(cell.load):
            here = [rate for c, rate in self.first_closed.items() if c.panel == cell.panel]
            return equal_target(cell.load, here or [top])
        if not is_share(cell.load):
            return fixed_rate(cell.load)
        return share_of(cell.load) * self.first_closed.get(cell.closed, top)

    def _costs(self, cell: Cell, rate: float, block: float) -> dict[str, float]:
        """The schema-2 measures: HDR latency is filled by `_row`; these are the server's."""
        if cell.engine == WRK and cell.load == CLOSED:
            capacity = rate / self.rng.uniform(0.97, 1.0)
        else:
            capacity = self.true_max(cell) * block * self.rng.uniform(0.92, 1.08)
        return {
            "server_cpu_share": min(rate / capacity, 1.0), "cpu_us_per_request": 1e6 / capacity,
            "capacity_rps": capacity, "rss_mb": 30.0, "server_fds": 20.0, "server_threads": 3.0,
            "cache_hit_ratio": math.nan if cell.cache == "off" else 1.0, "load_cpu_share": 0.5,
        }  # fmt: skip


def _row(
    trial: Trial, rate: float, target: float, p50: float, costs: dict[str, float]
) -> ResultRow:
    latencies = {"p50_ms": p50, "p90_ms": 2 * p50, "p99_ms": 5 * p50, "p999_ms": 12 * p50}
    hdr = dict.fromkeys(V2_MEASURES, math.nan)
    if costs:
        hdr |= costs | {"hdr_count": rate * 6, "hdr_max_us": 20_000 * p50}
        hdr |= {f"hdr_{name[:-3]}_us": 1000 * value for name, value in latencies.items()}
        hdr["hdr_p9999_us"] = 15_000 * p50
    style, loop = style_and_loop(trial.cell.variant)
    fields = {
        **asdict(trial.cell), "style": style, "loop": loop, "repeat": trial.repeat,
        "load_workers": 0, "status": OK, "reason": "", "requests": rate * 6, "failures": 0.0,
        "requests_per_s": rate,
        "mean_ms": 1.3 * p50, "max_ms": 20 * p50, "bytes_per_s": rate * 1073, "window_s": 6.0,
        "overhead_s": 0.3, "started_at": "2026-11-25T22:16:06+00:00", **latencies, **hdr,
        "generator_bound": False, "target_rps": target, "rate_short": rate_short(target, rate),
    }  # fmt: skip
    return ResultRow(schema_version=SCHEMA_VERSION, **fields)
