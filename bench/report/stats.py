"""The report's numbers, from the results table alone: no plotting, no formatting.

Per cell (scenario × users × variant × cache) over its OK repeats: the median requests/s
with a Student-t 95% interval of the mean, median latency percentiles, failures, the
speed-up over `blog`, which variants cannot be told apart, and — against a baseline run —
the change with a Welch 95% interval and whether it is noise or a regression.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from bench.results import FAILED, OK

KEYS = ["scenario", "users", "variant", "cache"]
GROUP = ["scenario", "users", "cache"]  # variants are compared within one of these
REFERENCE = "blog"  # speed-ups are over the original post's design
LATENCIES = ["p50_ms", "p90_ms", "p99_ms", "p999_ms"]
# Used when the table has them (schema 2): HDR µs latency and the server's cost.
OPTIONAL_MEDIANS = [
    "hdr_p50_us", "hdr_p99_us", "cpu_us_per_request", "capacity_rps", "rss_mb",
    "cache_hit_ratio",
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


def generator_bound(results: pd.DataFrame) -> pd.Series:
    """Per trial: did the load generator, not the server, set the pace (False if unknown)."""
    if "generator_bound" not in results.columns:
        return pd.Series(False, index=results.index)
    text = results["generator_bound"].astype(str).str.strip().str.lower()
    return text.isin(["true", "1", "yes"])


def cell_stats(results: pd.DataFrame) -> pd.DataFrame:
    """One row per cell: counts, medians, the interval, marks, speed-up and rank."""
    frame = results.assign(_ok=results["status"] == OK, _gen=generator_bound(results))
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
    }  # fmt: skip
    row |= {column: ok[column].median() for column in LATENCIES}
    row |= {c: ok[c].median() for c in OPTIONAL_MEDIANS if c in trials.columns}
    if "engine" in trials.columns:
        row["engine"] = "/".join(sorted(set(trials["engine"].dropna().astype(str))))
    return row


def marks(cell: pd.Series) -> list[str]:
    """What a reader must know before trusting a cell: failed repeats, generator-bound."""
    found = []
    if cell["n_ok"] < cell["n_total"]:
        found.append(f"failed {cell['n_total'] - cell['n_ok']}/{cell['n_total']}")
    if cell["generator_bound"]:
        found.append("generator-bound")
    return found


def _speedups(cells: pd.DataFrame) -> pd.Series:
    """Median requests/s over the `blog` variant's in the same scenario, users and cache."""
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
