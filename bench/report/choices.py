"""What each design choice buys: the paired ratio of two servers that differ in one choice.

A choice is one axis of our servers (loop, I/O style, cache mode, reader) and two values
on it; its pairs are the servers of one panel that agree on every other axis (for a loop
or a style: each variant with its own reader). The ratio is the verdict's (`verdict.scored`
picks the metric valid for the pair — requests/s where the server set the pace, else CPU
per request at the equal load — and `paired_ratio` pairs the repeat blocks). Servers are
read from the results' style/loop/cache/reader columns, never from the server's registry.
A pair both of whose servers were in the run but not measured (no OK trial in common) is
kept as not measured; a pair the run never asked for is left out. No formatting here.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from bench.plan.servers import NO_STYLE
from bench.report.stats import PANEL, generator_bound
from bench.report.verdict import Metric, Panel, Ratio, paired_ratio, scored
from bench.results.table import OK

AXES = ("style", "loop", "cache", "reader")


@dataclass(frozen=True)
class Choice:
    """`better` over `than` on one axis: the question a row of the table answers."""

    axis: str  # one of AXES
    better: str
    than: str
    question: str
    # Each side with its own cache, cached or not alike: the post's design caches with alru
    # only, so "sockets over blog" compares our cache with the post's, as each is built.
    own_cache: bool = False


CHOICES = (
    Choice("loop", "uvloop", "asyncio", "uvloop over asyncio's loop"),
    Choice("style", "protocol", "streams", "Protocol over streams"),
    Choice("style", "streams", "sockets", "streams over sockets"),
    Choice(
        "style",
        "sockets",
        "blog",
        "keep-alive sockets over blog (the post's design)",
        own_cache=True,
    ),
    Choice("cache", "on", "off", "cache on over off"),
    Choice("cache", "alru", "on", "alru (the post's cache) over ours"),
    Choice("reader", "thread", "aiofile", "thread-pool reads over aiofile"),
    Choice("reader", "blocking", "aiofile", "blocking reads over aiofile"),
    Choice("reader", "blocking", "thread", "blocking reads over thread-pool reads"),
)


@dataclass(frozen=True)
class Bought:
    """One pair: what the choice buys there (`ratio` is None when it was not measured)."""

    choice: Choice
    panel: Panel
    held: dict[str, str]  # the axes both servers share (the reader: "own" for each's own)
    better: str  # the server names (variant, with a reader not its own)
    than: str
    metric: Metric
    load: str  # the load the metric was read at: closed or the equal load
    ratio: Ratio | None  # score of `better` over `than`: > 1 means the choice pays


def what_choices_buy(results: pd.DataFrame) -> list[Bought]:
    """Every choice's pairs, choice by choice, in the run's order of panels."""
    trials = results[results["style"] != NO_STYLE].assign(_gen=generator_bound(results))
    found: list[Bought] = []
    for choice in CHOICES:
        for panel, here in trials.groupby(PANEL, sort=False):
            key = (str(panel[0]), int(panel[1]), str(panel[2]), str(panel[3]))
            found += [_bought(choice, key, here, a, b) for a, b in _pairs(choice, here)]
    return found


def _servers(trials: pd.DataFrame) -> pd.DataFrame:
    """One row per server of a panel: its name and coordinates (`own` reader or not)."""
    columns = ["variant", *AXES, "default_reader"]
    servers = trials[columns].drop_duplicates(["variant", "cache"])
    return servers.assign(own=servers["reader"] == servers["default_reader"])


def _pairs(choice: Choice, trials: pd.DataFrame) -> list[tuple[pd.Series, pd.Series]]:
    """(better, than) servers that differ only on the choice's axis."""
    servers = _servers(trials)
    if choice.axis in ("style", "loop"):  # each variant as it comes: its own reader
        servers = servers[servers["own"]]
    held = _held(choice)
    better = servers[servers[choice.axis] == choice.better]
    than = servers[servers[choice.axis] == choice.than]
    return [
        (a, b)
        for _, a in better.iterrows()
        for _, b in than.iterrows()
        if all(a[axis] == b[axis] for axis in held)
        and (not choice.own_cache or (a["cache"] == "off") == (b["cache"] == "off"))
    ]


def _held(choice: Choice) -> list[str]:
    others = [
        axis for axis in AXES if axis != choice.axis and not (choice.own_cache and axis == "cache")
    ]
    return [axis for axis in others if not (axis == "reader" and choice.axis in ("style", "loop"))]


def _bought(
    choice: Choice, panel: Panel, trials: pd.DataFrame, a: pd.Series, b: pd.Series
) -> Bought:
    """The pair's ratio on the metric the verdict would rank these two by."""
    mine = trials[
        ((trials["variant"] == a["variant"]) & (trials["cache"] == a["cache"]))
        | ((trials["variant"] == b["variant"]) & (trials["cache"] == b["cache"]))
    ]
    found = scored(mine[mine["status"] == OK])
    better, than = (str(a["variant"]), str(a["cache"])), (str(b["variant"]), str(b["cache"]))
    ratio = None
    if better in found.scores and than in found.scores:
        ratio = paired_ratio(found.scores[better], found.scores[than])
        ratio = ratio if ratio.blocks else None
    held = {axis: str(a[axis]) for axis in _held(choice)}
    if choice.axis in ("style", "loop"):
        held["reader"] = "own"
    if choice.own_cache:
        held["cache"] = "off" if a["cache"] == "off" else f"own ({a['cache']} / {b['cache']})"
    return Bought(choice, panel, held, better[0], than[0], found.metric, found.load, ratio)
