"""A run against a baseline run, cell by cell: pure numbers, no formatting.

For requests/s and p99 the change is the difference of the means over OK repeats, in % of
the baseline's mean, with a Welch 95% interval. A change whose interval contains 0 is
noise. `regressions(diff, pct)` is the rule behind `--fail-on-regression PCT`: a cell
regressed when even the top of its interval is a drop of more than PCT% (without an
interval — fewer than 2 OK repeats on either side — the change itself), or when the
baseline measured it and this run has no OK trial of it.
"""

from __future__ import annotations

import math
from enum import StrEnum

import pandas as pd

from bench.report.stats import KEYS, welch_interval
from bench.results.table import OK


class Verdict(StrEnum):
    """How one figure of a cell moved."""

    BETTER = "better"
    WORSE = "worse"
    NOISE = "within noise"
    NO_INTERVAL = "no interval (n < 2)"
    ONLY_BASELINE = "not measured in this run"
    ONLY_CURRENT = "not in the baseline"


METRICS = {"rps": ("requests_per_s", +1), "p99": ("p99_ms", -1)}  # prefix -> (column, good way)


def compare(current: pd.DataFrame, baseline: pd.DataFrame) -> pd.DataFrame:
    """One row per cell of either run: means, change %, its interval, a verdict per metric."""
    new = _ok_groups(current)
    old = _ok_groups(baseline)
    keys = sorted(set(new) | set(old), key=lambda k: tuple(str(part) for part in k))
    rows = []
    for key in keys:
        row: dict[str, object] = dict(zip(KEYS, key, strict=True))
        row["n_new"], row["n_base"] = len(new.get(key, [])), len(old.get(key, []))
        for prefix, (column, way) in METRICS.items():
            after = _values(new.get(key), column)
            before = _values(old.get(key), column)
            row |= _change(prefix, after, before, way)
        rows.append(row)
    return pd.DataFrame(rows)


def _ok_groups(results: pd.DataFrame) -> dict[tuple[object, ...], pd.DataFrame]:
    """Every cell of a run (OK trials only; a cell whose trials all failed has none)."""
    groups: dict[tuple[object, ...], pd.DataFrame] = {}
    for key, trials in results.groupby(KEYS, sort=False):
        groups[tuple(key)] = trials[trials["status"] == OK]
    return groups


def _values(trials: pd.DataFrame | None, column: str) -> list[float] | None:
    if trials is None:
        return None
    return [float(v) for v in trials[column] if not math.isnan(float(v))]


def _change(
    prefix: str, after: list[float] | None, before: list[float] | None, way: int
) -> dict[str, object]:
    """Means, change % of the baseline, its interval and the verdict of one metric."""
    nan = math.nan
    out: dict[str, object] = {
        f"{prefix}_base": _mean(before), f"{prefix}_new": _mean(after),
        f"{prefix}_change_pct": nan, f"{prefix}_low_pct": nan, f"{prefix}_high_pct": nan,
    }  # fmt: skip
    if not before:
        out[f"{prefix}_verdict"] = Verdict.ONLY_CURRENT
        return out
    if not after:
        out[f"{prefix}_verdict"] = Verdict.ONLY_BASELINE
        return out
    base = _mean(before)
    low, high = welch_interval(after, before)
    out[f"{prefix}_change_pct"] = 100 * (_mean(after) - base) / base
    out[f"{prefix}_low_pct"], out[f"{prefix}_high_pct"] = 100 * low / base, 100 * high / base
    out[f"{prefix}_verdict"] = _verdict(low, high, way)
    return out


def _mean(values: list[float] | None) -> float:
    return sum(values) / len(values) if values else math.nan


def _verdict(low: float, high: float, way: int) -> Verdict:
    """Better or worse only when the whole interval is on one side of 0."""
    if math.isnan(low):
        return Verdict.NO_INTERVAL
    if low > 0 or high < 0:
        return Verdict.BETTER if (low > 0) == (way > 0) else Verdict.WORSE
    return Verdict.NOISE


def regressions(diff: pd.DataFrame, pct: float) -> pd.DataFrame:
    """The cells whose requests/s dropped by more than `pct` % beyond the noise."""
    if diff.empty:
        return diff
    beyond = diff["rps_high_pct"] < -pct
    no_interval = (diff["rps_verdict"] == Verdict.NO_INTERVAL) & (diff["rps_change_pct"] < -pct)
    vanished = diff["rps_verdict"] == Verdict.ONLY_BASELINE
    return diff[beyond | no_interval | vanished]
