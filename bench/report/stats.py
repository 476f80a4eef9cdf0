"""The report's numbers, from the results table alone: no plotting, no formatting.

Per cell (scenario × users × engine × load × variant × cache) over its OK repeats: the
median requests/s with a Student-t 95% interval of the mean, median latency percentiles,
failures, the speed-up over `blog`, which variants cannot be told apart, and the marks a
reader must see (failed repeats, generator-bound, short of an open-model target).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from bench.plan.axes import LEAN, LOCUST
from bench.plan.matrix import CLOSED, NO_CLIENT
from bench.results.table import FAILED, OK

KEYS = ["scenario", "users", "engine", "client", "load", "variant", "cache"]
PANEL = ["scenario", "users", "engine", "client"]  # one table / subplot per panel
GROUP = [
    "scenario",
    "users",
    "engine",
    "client",
    "load",
    "cache",
]  # variants are compared within one
REFERENCE = "blog"  # speed-ups are over the original post's design
LATENCIES = ["p50_ms", "p90_ms", "p99_ms", "p999_ms"]
# NaN in older tables (schema 1): HDR µs latency, the server's cost, the open model's target.
OPTIONAL_MEDIANS = [
    "hdr_p50_us", "hdr_p90_us", "hdr_p99_us", "hdr_p999_us", "cpu_us_per_request", "capacity_rps",
    "server_cpu_share", "rss_mb", "cache_hit_ratio", "target_rps",
]  # fmt: skip
# Two-sided 95% Student-t quantiles t(0.975, df) for df = 1..30.
_T975 = (
    12.706204736, 4.302652730, 3.182446305, 2.776445105, 2.570581836, 2.446911851,
    2.364624252, 2.306004135, 2.262157163, 2.228138852, 2.200985160, 2.178812830,
    2.160368656, 2.144786688, 2.131449546, 2.119905299, 2.109815578, 2.100922040,
    2.093024054, 2.085963447, 2.079613845, 2.073873068, 2.068657610, 2.063898562,
    2.059538553, 2.055529439, 2.051830516, 2.048407142, 2.045229642, 2.042272456,
)  # fmt: skip
_Z975 = 1.959963985


def t_quantile(df: float) -> float:
    """t(0.975, df); a fractional df is rounded down (a wider, safer interval)."""
    if df < 1 or math.isnan(df):
        return math.nan
    whole = math.floor(df)
    if whole <= len(_T975):
        return _T975[whole - 1]
    z, v = _Z975, float(whole)  # Cornish–Fisher expansion: error < 1e-5 for df > 30
    return (
        z
        + (z**3 + z) / (4 * v)
        + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * v**2)
        + (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / (384 * v**3)
    )


def mean_interval(values: Sequence[float]) -> tuple[float, float]:
    """95% Student-t interval of the mean; (NaN, NaN) with fewer than 2 values."""
    data = np.asarray([v for v in values if not math.isnan(v)], dtype=float)
    if len(data) < 2:
        return math.nan, math.nan
    half = t_quantile(len(data) - 1) * data.std(ddof=1) / math.sqrt(len(data))
    return float(data.mean() - half), float(data.mean() + half)


def panel_title(scenario: str, users: int, engine: str, client: str = LEAN) -> str:
    """A panel's name: `small · 50 users`, with the engine when it is not locust and
    locust's client when it is not the lean one."""
    title = f"{scenario} · {users} users" + ("" if engine == LOCUST else f" · {engine}")
    return title + ("" if client in (LEAN, NO_CLIENT) else f" · {client}")


def panels(cells: pd.DataFrame) -> list[tuple[str, int, str, str]]:
    """(scenario, users, engine, client) in the order the run measured them."""
    found = cells[PANEL].drop_duplicates()
    return [(str(s), int(u), str(e), str(c)) for s, u, e, c in found.itertuples(index=False)]


def closed(cells: pd.DataFrame) -> pd.DataFrame:
    """The closed-model cells (the maximum each server reached): bar charts and rankings."""
    return cells[cells["load"] == CLOSED]


def open_model(cells: pd.DataFrame) -> pd.DataFrame:
    """The open-model cells (a target rate): their own table and the latency-vs-load chart."""
    return cells[cells["load"] != CLOSED]


def flag(results: pd.DataFrame, column: str) -> pd.Series:
    """Per trial: a boolean mark column, read leniently (False when absent or unknown)."""
    if column not in results.columns:
        return pd.Series(False, index=results.index)
    text = results[column].astype(str).str.strip().str.lower()
    return text.isin(["true", "1", "yes"])


def generator_bound(results: pd.DataFrame) -> pd.Series:
    """Per trial: did the load generator, not the server, set the pace (False if unknown)."""
    return flag(results, "generator_bound")


def cell_stats(results: pd.DataFrame) -> pd.DataFrame:
    """One row per cell: counts, medians, the interval, marks, speed-up and rank."""
    frame = results.assign(
        _ok=results["status"] == OK, _gen=generator_bound(results),
        _short=flag(results, "rate_short"),
    )  # fmt: skip
    rows = [_one_cell(key, trials) for key, trials in frame.groupby(KEYS, sort=False)]
    if not rows:  # an interrupted run may have no trial at all
        return pd.DataFrame(columns=[*KEYS, "rps_median", "speedup", "rank", "indistinct"])
    cells = pd.DataFrame(rows)
    cells["speedup"] = _speedups(cells)
    cells["rank"], cells["indistinct"] = _ranks(cells)
    return cells


def _one_cell(key: tuple[object, ...], trials: pd.DataFrame) -> dict[str, object]:
    ok = trials[trials["_ok"]]
    low, high = mean_interval(ok["requests_per_s"].tolist())
    low = max(low, 0.0) if not math.isnan(low) else low  # no rate is below 0
    failed = trials[trials["status"] == FAILED]
    row: dict[str, object] = dict(zip(KEYS, key, strict=True))
    row |= {
        "n_ok": len(ok), "n_total": len(trials),
        "rps_median": ok["requests_per_s"].median(), "rps_low": low, "rps_high": high,
        "failures": ok["failures"].sum() if len(ok) else math.nan,
        "failed_reasons": sorted(set(failed["reason"].astype(str))),
        "generator_bound": bool(trials["_gen"].any()),
        "rate_short": bool(trials["_short"].any()), "n_short": int(trials["_short"].sum()),
    }  # fmt: skip
    row |= {column: ok[column].median() for column in LATENCIES}
    row |= {c: ok[c].median() for c in OPTIONAL_MEDIANS if c in trials.columns}
    return row


def marks(cell: pd.Series) -> list[str]:
    """What a reader must know before trusting a cell's figures: failed repeats,
    generator-bound (locust set the pace), short of target (the open model fell behind)."""
    found = []
    if cell["n_ok"] < cell["n_total"]:
        found.append(f"failed {cell['n_total'] - cell['n_ok']}/{cell['n_total']}")
    if cell["generator_bound"]:
        found.append("generator-bound")
    if cell["rate_short"]:
        found.append(f"short of target {cell['n_short']}/{cell['n_total']}")
    return found


def _speedups(cells: pd.DataFrame) -> pd.Series:
    """Median requests/s over the `blog` variant's in the same panel, load and cache: NaN
    for a reference peer (its cache is "n/a": no blog cell is like it)."""
    blog = cells[cells["variant"] == REFERENCE].set_index(GROUP)["rps_median"]
    reference = cells.join(blog.rename("_ref"), on=GROUP)["_ref"]
    return cells["rps_median"] / reference


def _ranks(cells: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Rank = 1 + how many variants are clearly faster (their interval entirely above).

    `indistinct` lists the variants whose interval overlaps this one's: not distinguishable.
    Cells without an interval (fewer than 2 OK repeats) get no rank.
    """
    ranks = pd.Series(math.nan, index=cells.index)
    indistinct = pd.Series([[] for _ in cells.index], index=cells.index, dtype=object)
    for _, group in cells.groupby(GROUP, sort=False):
        usable = group.dropna(subset=["rps_low", "rps_high"])
        for index, cell in usable.iterrows():
            others = usable.drop(index)
            above = others["rps_low"] > cell["rps_high"]
            below = others["rps_high"] < cell["rps_low"]
            ranks[index] = 1 + int(above.sum())
            indistinct[index] = list(others.loc[~above & ~below, "variant"])
    return ranks, indistinct


def welch_interval(new: Sequence[float], base: Sequence[float]) -> tuple[float, float]:
    """95% Welch interval of mean(new) - mean(base); NaN when either has < 2 values."""
    a = np.asarray(new, dtype=float)
    b = np.asarray(base, dtype=float)
    if len(a) < 2 or len(b) < 2:
        return math.nan, math.nan
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    diff, se = float(a.mean() - b.mean()), math.sqrt(va + vb)
    if se == 0:
        return diff, diff
    df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    half = t_quantile(df) * se
    return diff - half, diff + half
