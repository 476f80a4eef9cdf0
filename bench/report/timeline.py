"""Charts drawn when the data is there: each closed-model cell over time, server resources.

Over time comes from locust's history rows (bench.results.locust_csv.read_history): requests/s
from the deltas of the request count, p99 over locust's sliding ~10 s window (wrk keeps no
history). The optional resource columns get their chart only when the run has them;
otherwise these functions return None.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
from matplotlib.axes import Axes

from bench.plan.axes import LEAN
from bench.plan.matrix import CLOSED, NO_CACHE
from bench.report.charts import (
    LOG_FLOOR_MS,
    Chart,
    each_cell,
    figure,
    in_panel,
    log_ms_axis,
    most_bars,
    save,
    tick_label,
)  # fmt: skip
from bench.report.palette import CACHE_ORDER, Palette, cache_style, ordered
from bench.report.stats import marks, panel_title, panels

RESOURCES = {"cpu_us_per_request": "server CPU (µs per request)", "rss_mb": "server RSS (MB)"}


def timeline_chart(
    history: pd.DataFrame, cells: pd.DataFrame, panel: tuple[str, int, str, str],
    palette: Palette, warmup_s: float, out: Path,
) -> Chart | None:  # fmt: skip
    """Requests/s and p99 over time for every closed cell of one panel: a line per repeat."""
    here = in_panel(history, panel)
    here = here[here["load"] == CLOSED]
    if here.empty:
        return None
    scenario, users, _, client = panel
    mine = in_panel(cells, panel)  # the cells' marks go into the legend
    caches = ordered(here["cache"].astype(str), CACHE_ORDER)
    fig, axes = figure(len(caches), rows=2)
    for column, cache in enumerate(caches):
        top, bottom = axes[0][column], axes[1][column]
        for variant in palette.variants:
            trials = here[(here["variant"] == variant) & (here["cache"] == cache)]
            _lines(top, bottom, trials, palette.colour(variant), _legend(mine, variant, cache))
        for ax in (top, bottom):
            _warmup(ax, warmup_s)
            ax.set_xlabel("seconds since locust started")
            ax.grid(alpha=0.3)
        top.set_ylabel("requests/s (per second)")
        among = "reference peers" if cache == NO_CACHE else f"cache={cache}"
        top.set_title(f"{panel_title(*panel)} · {among}", fontsize=10)
        top.set_ylim(bottom=0)
        top.legend(fontsize=7)
        log_ms_axis(bottom, "p99 ms, locust's sliding ~10 s window (log)")
    title = f"Over time, {panel_title(*panel)}: one line per repeat (shaded: warm-up)"
    name = f"timeline-{scenario}-u{users}" + ("" if client == LEAN else f"-{client}")
    return save(fig, out, name, title)


def _legend(cells: pd.DataFrame, variant: str, cache: str) -> str:
    found = cells[(cells["variant"] == variant) & (cells["cache"] == cache)]
    flags = "".join(f" [{m}]" for m in marks(found.iloc[0])) if len(found) else ""
    return f"{variant}{flags}"


def _lines(top: Axes, bottom: Axes, trials: pd.DataFrame, colour: str, label: str) -> None:
    for i, (_, trial) in enumerate(trials.groupby("repeat", sort=True)):
        name = label if i == 0 else None
        top.plot(trial["elapsed_s"], trial["requests_per_s"], color=colour, lw=1, label=name)
        p99 = trial["p99_ms"].clip(lower=LOG_FLOOR_MS)
        bottom.plot(trial["elapsed_s"], p99, color=colour, lw=1)


def _warmup(ax: Axes, warmup_s: float) -> None:
    """Shade the warm-up and the history row that may race its reset (not measured)."""
    if not math.isnan(warmup_s):
        ax.axvspan(0, warmup_s + 1, color="grey", alpha=0.15, lw=0)


def resource_chart(cells: pd.DataFrame, palette: Palette, out: Path) -> Chart | None:
    """Server CPU per request and memory per variant × cache, when the table has them."""
    present = [c for c in RESOURCES if c in cells.columns and cells[c].notna().any()]
    if not present:
        return None
    pairs = panels(cells)
    fig, axes = figure(len(pairs), rows=len(present), bars=most_bars(cells))
    for row, column in zip(axes, present, strict=True):
        for ax, panel in zip(row, pairs, strict=True):
            here = in_panel(cells, panel)
            labels = []
            for x, (variant, cache, cell) in enumerate(each_cell(here, palette)):
                hatch, alpha, _ = cache_style(cache)
                ax.bar(x, cell[column], color=palette.colour(variant), alpha=alpha, hatch=hatch)
                labels.append(tick_label(variant, cache, cell))
            ax.set_xticks(range(len(labels)), labels, fontsize=7)
            ax.set_ylabel(RESOURCES[column])
            ax.set_title(panel_title(*panel), fontsize=10)
            ax.grid(axis="y", alpha=0.3)
    return save(fig, out, "resources", "Server resources, median of repeats")
