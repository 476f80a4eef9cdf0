"""The verdict's numbers: per scenario × cache, the variants ranked by the metric valid there,
each with its ratio to `blog` and to the best and a 95% interval from the paired blocks.

Repeats are interleaved, so repeat r of every cell forms a block measured close in time; the
ratio of two variants within a block cancels the machine's drift between blocks. The
interval is Student-t over the blocks' log-ratios (exp of mean ± t·sd/√n): with 3 blocks a
bootstrap has only 10 distinct resamples and its interval never reaches past the observed
ratios, so it would claim a certainty 3 numbers cannot give. One block: no interval.

The metric: requests/s where the server set the pace; where locust did (`generator_bound`
in any closed trial of the group) requests/s measures locust, so the server's CPU µs per
request ranks them — taken at the equal load (`equal50%`), since an event loop's cost per
request falls as its load rises. No formatting here (`verdict_tables` writes the words).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import StrEnum

import numpy as np
import pandas as pd

from bench.plan.matrix import CLOSED, NO_CACHE, is_equal
from bench.report.stats import PANEL, REFERENCE, generator_bound, t_quantile
from bench.results.table import OK

Panel = tuple[str, int, str, str]  # scenario, users, engine, client (stats.PANEL)


class Metric(StrEnum):
    """What ranks a group; both read "higher is better" as a score (rate, or 1 / cost)."""

    RATE = "requests/s"
    CPU = "server CPU µs per request"


@dataclass(frozen=True)
class Ratio:
    """One variant's score over another's: the geometric mean of the paired block ratios and
    its 95% t-interval (NaN with fewer than 2 blocks)."""

    value: float
    low: float
    high: float
    blocks: int

    @property
    def has_interval(self) -> bool:
        """Two blocks or more: the interval exists."""
        return not math.isnan(self.low)

    @property
    def distinct(self) -> bool:
        """The interval excludes 1: one of the two is ahead beyond the noise."""
        return self.has_interval and (self.low > 1 or self.high < 1)


@dataclass(frozen=True)
class Entry:
    """One variant of a group: its metric (median over blocks) and how it compares."""

    variant: str
    cache: str
    value: float  # req/s, or CPU µs per request
    capacity: float  # req/s at 100% server CPU implied by the CPU metric; NaN for RATE
    rank: int | None  # 1 + variants clearly ahead; None without intervals
    to_reference: Ratio | None  # over blog's score; None when the group has no blog
    to_best: Ratio | None  # over the best's score; None for the best itself
    generator_bound: bool
    short: bool  # an equal-load trial fell short of its target
    failed: int = 0  # trials of the ranked load that produced no measurement
    trials: int = 0  # trials of the ranked load, failed ones included
    # The server's CPU share at its closed-model maximum (median): how close a
    # generator-bound server came to its own limit. NaN when unknown.
    closed_server_share: float = math.nan


@dataclass(frozen=True)
class GroupVerdict:
    """The ranking of one scenario × users × engine × cache."""

    panel: Panel
    cache: str  # NO_CACHE: reference peers only
    metric: Metric
    load: str  # the load whose trials were ranked: CLOSED or the equal load
    equal_rps: float  # the equal load's offered rate (NaN when none was run)
    entries: list[Entry]  # best first
    blocks: int  # most paired blocks of any comparison

    @property
    def best(self) -> Entry:
        """The variant with the best median."""
        return self.entries[0]


def verdicts(results: pd.DataFrame) -> list[GroupVerdict]:
    """One verdict per scenario × users × engine × client × cache, in the run's order."""
    marked = results.assign(_gen=generator_bound(results))
    found = []
    for panel, here in marked.groupby(PANEL, sort=False):
        key = (str(panel[0]), int(panel[1]), str(panel[2]), str(panel[3]))
        for cache, members in _groups(here):
            verdict = _group(key, cache, members[members["status"] == OK])
            if verdict is not None:
                found.append(_with_failures(verdict, members))
    return found


def _with_failures(verdict: GroupVerdict, trials: pd.DataFrame) -> GroupVerdict:
    """Each entry with how many of its trials at the ranked load failed."""
    ranked = trials[trials["load"] == verdict.load]
    entries = []
    for entry in verdict.entries:
        mine = ranked[(ranked["variant"] == entry.variant) & (ranked["cache"] == entry.cache)]
        failed = int((mine["status"] != OK).sum())
        entries.append(replace(entry, failed=failed, trials=len(mine)))
    return replace(verdict, entries=entries)


def _groups(panel: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """Our variants per cache mode, each with the reference peers beside them (a peer has no
    cache axis); the peers alone when the panel has none of ours."""
    peers = panel[panel["cache"] == NO_CACHE]
    caches = [c for c in dict.fromkeys(panel["cache"].astype(str)) if c != NO_CACHE]
    if not caches:
        return [(NO_CACHE, peers)]
    return [(c, pd.concat([panel[panel["cache"] == c], peers])) for c in caches]


@dataclass(frozen=True)
class Scored:
    """Trials scored the way the verdict ranks them: the metric valid for them, the trials
    it was read from (the closed maxima, or the equal load) and each server's scores."""

    metric: Metric
    chosen: pd.DataFrame
    closed: pd.DataFrame
    column: str  # requests_per_s or cpu_us_per_request
    scores: dict[tuple[str, str], dict[int, float]]  # (variant, cache) → {repeat: score}

    @property
    def load(self) -> str:
        """The load whose trials were scored (CLOSED or the equal load)."""
        return str(self.chosen["load"].iloc[0]) if len(self.chosen) else CLOSED


def scored(trials: pd.DataFrame) -> Scored:
    """The verdict's metric for these OK trials (marked `_gen`) and their scores: requests/s
    at the closed maximum, unless locust set the pace of a closed trial; then CPU per
    request, at the equal load when it was run (no cost recorded: the rate after all)."""
    closed = trials[trials["load"] == CLOSED]
    equal = trials[trials["load"].map(is_equal)]
    metric, chosen = Metric.RATE, closed
    if closed["_gen"].any():
        metric = Metric.CPU
        chosen = equal if _has_cost(equal) else closed
        if not _has_cost(chosen):
            metric, chosen = Metric.RATE, closed  # no cost measured: the rate, marked
    column = "requests_per_s" if metric == Metric.RATE else "cpu_us_per_request"
    return Scored(metric, chosen, closed, column, _scores(chosen, column, metric))


def _group(panel: Panel, cache: str, trials: pd.DataFrame) -> GroupVerdict | None:
    equal = trials[trials["load"].map(is_equal)]
    equal_rps = float(equal["target_rps"].median()) if len(equal) else math.nan
    found = scored(trials)
    if not found.scores:
        return None
    entries = _entries(found.scores, found.chosen, found.closed, found.column)
    blocks = max((e.to_best.blocks for e in entries if e.to_best), default=_single(found.scores))
    return GroupVerdict(panel, cache, found.metric, found.load, equal_rps, entries, blocks)


def _has_cost(trials: pd.DataFrame) -> bool:
    return bool(len(trials)) and bool(trials["cpu_us_per_request"].gt(0).any())


def _single(scores: Mapping[tuple[str, str], Mapping[int, float]]) -> int:
    return max(len(blocks) for blocks in scores.values())


def _scores(
    trials: pd.DataFrame, column: str, metric: Metric
) -> dict[tuple[str, str], dict[int, float]]:
    """(variant, cache) → {repeat: score}; a score is higher-is-better (1 / cost for CPU)."""
    scores: dict[tuple[str, str], dict[int, float]] = {}
    for (variant, cache), cell in trials.groupby(["variant", "cache"], sort=False):
        values = {
            int(r): float(v) for r, v in zip(cell["repeat"], cell[column], strict=True) if v > 0
        }
        if values:
            invert = metric == Metric.CPU
            scores[(str(variant), str(cache))] = {
                r: 1 / v if invert else v for r, v in values.items()
            }
    return scores


def _entries(
    scores: dict[tuple[str, str], dict[int, float]],
    chosen: pd.DataFrame,
    closed: pd.DataFrame,
    column: str,
) -> list[Entry]:
    order = sorted(scores, key=lambda key: -float(np.median(list(scores[key].values()))))
    best = order[0]
    reference = next((key for key in order if key[0] == REFERENCE), None)
    ranks = _ranks(scores, order)
    entries = []
    for key in order:
        cell = chosen[(chosen["variant"] == key[0]) & (chosen["cache"] == key[1])]
        was = closed[(closed["variant"] == key[0]) & (closed["cache"] == key[1])]
        entries.append(
            Entry(
                variant=key[0], cache=key[1], value=float(cell[column].median()),
                capacity=_capacity(cell, column), rank=ranks[key],
                to_reference=None if reference is None else _ratio(scores, key, reference),
                to_best=None if key == best else _ratio(scores, key, best),
                generator_bound=bool(was["_gen"].any()),
                short=bool(cell["rate_short"].astype(str).str.lower().eq("true").any()),
                closed_server_share=float(was["server_cpu_share"].median()),
            )
        )  # fmt: skip
    return entries


def _capacity(cell: pd.DataFrame, column: str) -> float:
    if column == "requests_per_s":
        return math.nan
    return float(cell["capacity_rps"].median())


def _ratio(
    scores: dict[tuple[str, str], dict[int, float]], a: tuple[str, str], b: tuple[str, str]
) -> Ratio:
    return paired_ratio(scores[a], scores[b])


def _ranks(
    scores: dict[tuple[str, str], dict[int, float]], order: list[tuple[str, str]]
) -> dict[tuple[str, str], int | None]:
    """1 + how many others are ahead beyond the noise; None when no pair has an interval."""
    ranks: dict[tuple[str, str], int | None] = {}
    for key in order:
        ratios = [paired_ratio(scores[other], scores[key]) for other in order if other != key]
        if ratios and not any(r.has_interval for r in ratios):
            ranks[key] = None
            continue
        ranks[key] = 1 + sum(1 for r in ratios if r.distinct and r.value > 1)
    return ranks


def paired_ratio(a: Mapping[int, float], b: Mapping[int, float]) -> Ratio:
    """a's score over b's, paired by repeat block: exp(mean log-ratio) and its 95% t-interval
    over the blocks both have (no interval with fewer than 2)."""
    blocks = sorted(set(a) & set(b))
    logs = np.log([a[r] / b[r] for r in blocks])
    if len(logs) == 0:
        return Ratio(math.nan, math.nan, math.nan, 0)
    centre = float(logs.mean())
    if len(logs) < 2:
        return Ratio(math.exp(centre), math.nan, math.nan, len(logs))
    half = t_quantile(len(logs) - 1) * float(logs.std(ddof=1)) / math.sqrt(len(logs))
    return Ratio(math.exp(centre), math.exp(centre - half), math.exp(centre + half), len(logs))


@dataclass(frozen=True)
class EqualLoad:
    """Where a panel's equal load came from: its share of the slowest closed maximum."""

    panel: Panel
    load: str  # e.g. "equal50%"
    rate: float  # the offered rate every server of the panel got
    slowest: tuple[str, str]  # (variant, cache) with the lowest first closed maximum
    slowest_rps: float


def equal_loads(results: pd.DataFrame) -> list[EqualLoad]:
    """Per panel with equal-load trials: the rate, and the slowest first closed-model trial
    it was taken from (as the runner resolved it)."""
    ok = results[results["status"] == OK]
    found = []
    for panel, here in ok.groupby(PANEL, sort=False):
        equal = here[here["load"].map(is_equal)]
        closed = here[here["load"] == CLOSED].sort_values("repeat")
        if equal.empty or closed.empty:
            continue
        first = closed.drop_duplicates(["variant", "cache"])  # each cell's first OK trial
        slowest = first.loc[first["requests_per_s"].idxmin()]
        key = (str(panel[0]), int(panel[1]), str(panel[2]), str(panel[3]))
        found.append(
            EqualLoad(
                key, str(equal["load"].iloc[0]), float(equal["target_rps"].median()),
                (str(slowest["variant"]), str(slowest["cache"])),
                float(slowest["requests_per_s"]),
            )
        )  # fmt: skip
    return found
