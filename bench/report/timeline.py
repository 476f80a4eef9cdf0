"""Charts drawn when the data is there: each cell over time, load sweeps, server resources.

Over time comes from locust's history rows (bench.locust_csv.read_history): requests/s
from the deltas of the request count, p99 over locust's sliding ~10 s window. A sweep
(several user counts in a scenario) and the optional resource columns get their charts
only when the run has them; otherwise these functions return None.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
from matplotlib.axes import Axes

from bench.report.charts import (
    LOG_FLOOR_MS,
    Chart,
    each_cell,
    figure,
    log_ms_axis,
    panel_title,
    panels,
    save,
    tick_label,
)  # fmt: skip
from bench.report.palette import CACHE_ORDER, Palette, cache_style, ordered
from bench.report.stats import marks

RESOURCES = {"cpu_us_per_request": "server CPU (µs per request)", "rss_mb": "server RSS (MB)"}


def timeline_chart(
    history: pd.DataFrame, cells: pd.DataFrame, scenario: str, users: int,
    palette: Palette, warmup_s: float, out: Path,
) -> Chart | None:  # fmt: skip
    """Requests/s and p99 over time for every cell of one scenario: a line per repeat."""
    here = history[(history["scenario"] == scenario) & (history["users"] == users)]
    if here.empty:
        return None
    caches = ordered(here["cache"].astype(str), CACHE_ORDER)
    fig, axes = figure(len(caches), rows=2)
    for column, cache in enumerate(caches):
        top, bottom = axes[0][column], axes[1][column]
        for variant in palette.variants:
            trials = here[(here["variant"] == variant) & (here["cache"] == cache)]
            _lines(top, bottom, trials, palette.colour(variant), _legend(cells, variant, cache))
        for ax in (top, bottom):
            _warmup(ax, warmup_s)
            ax.set_xlabel("seconds since locust started")
            ax.grid(alpha=0.3)
        top.set_ylabel("requests/s (per second)")
        top.set_title(f"{panel_title(scenario, users)} · cache={cache}", fontsize=10)
        top.set_ylim(bottom=0)
        top.legend(fontsize=7)
        log_ms_axis(bottom, "p99 ms, locust's sliding ~10 s window (log)")
    title = f"Over time, {scenario} · {users} users: one line per repeat (shaded: warm-up)"
    return save(fig, out, f"timeline-{scenario}-u{users}", title)


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


def sweep_chart(cells: pd.DataFrame, palette: Palette, out: Path) -> Chart | None:
    """Latency against load where a scenario ran at several user counts; else None."""
    counts = cells.groupby("scenario")["users"].nunique()
    swept = [str(s) for s in counts[counts > 1].index]
    if not swept:
        return None
    fig, axes = figure(len(swept))
    for ax, scenario in zip(axes[0], swept, strict=True):
        here = cells[cells["scenario"] == scenario]
        for (variant, cache), line in here.groupby(["variant", "cache"], sort=False):
            line = line.sort_values("users")
            ax.plot(line["rps_median"], line["p99_ms"].clip(lower=LOG_FLOOR_MS), marker="o",
                    color=palette.colour(str(variant)), linestyle=cache_style(str(cache))[2],
                    label=f"{variant} cache={cache}")  # fmt: skip
            for _, point in line.iterrows():
                ax.annotate(f"{point['users']}u", (point["rps_median"], point["p99_ms"]),
                            fontsize=6, xytext=(3, 3), textcoords="offset points")  # fmt: skip
        log_ms_axis(ax, "p99 latency (ms, log scale)")
        ax.set_xlabel("requests/s (median)")
        ax.set_title(scenario, fontsize=10)
        ax.grid(which="both", alpha=0.3)
        ax.legend(fontsize=7)
    return save(fig, out, "sweep", "Latency vs load: one point per user count (labelled)")


def resource_chart(cells: pd.DataFrame, palette: Palette, out: Path) -> Chart | None:
    """Server CPU per request and memory per variant × cache, when the table has them."""
    present = [c for c in RESOURCES if c in cells.columns and cells[c].notna().any()]
    if not present:
        return None
    pairs = panels(cells)
    most = int(cells.groupby(["scenario", "users"]).size().max())
    fig, axes = figure(len(pairs), rows=len(present), bars=most)
    for row, column in zip(axes, present, strict=True):
        for ax, (scenario, users) in zip(row, pairs, strict=True):
            here = cells[(cells["scenario"] == scenario) & (cells["users"] == users)]
            labels = []
            for x, (variant, cache, cell) in enumerate(each_cell(here, palette)):
                hatch, alpha, _ = cache_style(cache)
                ax.bar(x, cell[column], color=palette.colour(variant), alpha=alpha, hatch=hatch)
                labels.append(tick_label(variant, cache, cell))
            ax.set_xticks(range(len(labels)), labels, fontsize=7)
            ax.set_ylabel(RESOURCES[column])
            ax.set_title(panel_title(scenario, users), fontsize=10)
            ax.grid(axis="y", alpha=0.3)
    return save(fig, out, "resources", "Server resources, median of repeats")
