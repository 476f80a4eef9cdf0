"""Charts of load against latency, and of locust's capacity estimate against wrk.

Latency vs load, when the run has open-model cells: per (scenario, users, engine) panel,
one line per variant × cache through its open points, its closed point ("max") hollow beside
it, x the
achieved requests/s, y the p99 from the µs histograms (corrected for coordinated omission
in the open model). Without open cells, a run with several user counts gets the same axes
with one point per user count, per (scenario, engine) — the same question asked with
users instead of rates. When a run has both, the rates win: every user count then has its
own panel, whose "max" point is that count's closed cell. None when neither applies.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.lines import Line2D

from bench.plan.matrix import CLOSED, NO_CACHE, is_equal
from bench.report.agreement import TOLERANCE_PCT
from bench.report.charts import LOG_FLOOR_MS, Chart, figure, in_panel, log_ms_axis, save
from bench.report.palette import CACHE_ORDER, Palette, cache_style, ordered
from bench.report.stats import closed, marks, open_model, panel_title, panels
from bench.results.table import best_p99_ms

SHORT_COLOUR = "#d62728"
CACHE_MARKERS = {"on": "o", "alru": "^", "off": "s", NO_CACHE: "D"}  # a peer's cache is n/a


def p99_ms(cells: pd.DataFrame) -> pd.Series:
    """The p99 to plot (bench.results.best_p99_ms), floored for the log axis."""
    return best_p99_ms(cells).clip(lower=LOG_FLOOR_MS)


def load_label(load: str) -> str:
    """A point's label: `max` for the closed model, else the load itself."""
    return "max (closed)" if load == CLOSED else load


def sweep_chart(cells: pd.DataFrame, palette: Palette, out: Path) -> Chart | None:
    """Latency against load (see the module docstring); None when the run swept nothing.
    Equal-load points are left out: they have their own chart (bench.report.verdict_charts)."""
    cells = cells[~cells["load"].map(is_equal)]
    if not open_model(cells).empty:
        return _load_sweep(cells, palette, out)
    return _users_sweep(closed(cells), palette, out)


def _lines(here: pd.DataFrame, palette: Palette) -> Iterator[tuple[str, str, pd.DataFrame]]:
    """(variant, cache, its measured points) in palette order."""
    for variant in palette.variants:
        for cache in ordered(here["cache"].astype(str), CACHE_ORDER):
            line = here[(here["variant"] == variant) & (here["cache"] == cache)]
            line = line[line["rps_median"].notna()]
            if len(line):
                yield variant, cache, line


def _load_sweep(cells: pd.DataFrame, palette: Palette, out: Path) -> Chart:
    swept = panels(open_model(cells))
    # One wide panel per row: a dozen lines of five labelled points need the room.
    fig, axes = figure(1, rows=len(swept), bars=15, panel_h=4.8)
    for (ax,), panel in zip(axes, swept, strict=True):
        for variant, cache, line in _lines(in_panel(cells, panel), palette):
            order = line["target_rps"].where(line["load"] != CLOSED, math.inf)
            line = line.assign(_order=order).sort_values("_order")
            _plot_line(ax, line, palette.colour(variant), cache, _line_label(line, variant, cache))
        _finish(ax, panel_title(*panel), "achieved requests/s (median)")
    title = (
        "Latency vs load: p99 (µs histograms; open model corrected for coordinated omission) "
        "against achieved req/s, one line per variant × cache through its target rates; "
        "hollow: its closed-model maximum (not corrected: the closed model waits for each "
        "response); red ring: short of target"
    )
    return save(fig, out, "sweep", title)


def _users_sweep(cells: pd.DataFrame, palette: Palette, out: Path) -> Chart | None:
    counts = cells.groupby(["scenario", "engine"], sort=False)["users"].nunique()
    swept = [(str(s), str(e)) for s, e in counts[counts > 1].index]
    if not swept:
        return None
    fig, axes = figure(len(swept), bars=10)
    for ax, (scenario, engine) in zip(axes[0], swept, strict=True):
        here = cells[(cells["scenario"] == scenario) & (cells["engine"] == engine)]
        for variant, cache, line in _lines(here, palette):
            line = line.assign(_order=line["users"]).sort_values("_order")
            line = line.assign(load=[f"{users}u" for users in line["users"]])
            _plot_line(ax, line, palette.colour(variant), cache, _line_label(line, variant, cache))
        _finish(ax, scenario if engine == "locust" else f"{scenario} · {engine}", "requests/s")
    title = "Latency vs load: p99 against req/s (medians), one point per user count (labelled)"
    return save(fig, out, "sweep", title)


def _line_label(line: pd.DataFrame, variant: str, cache: str) -> str:
    found = sorted({mark for _, cell in line.iterrows() for mark in marks(cell)})
    flags = "".join(f" [{mark}]" for mark in found if not mark.startswith("short of target"))
    return f"{variant} cache={cache}{flags}"


def _plot_line(ax: Axes, line: pd.DataFrame, colour: str, cache: str, label: str) -> None:
    """One line, its points labelled by load, short-of-target points ringed in red."""
    x, y = line["rps_median"], p99_ms(line)
    marker = CACHE_MARKERS.get(cache, "D")
    # In a load sweep the closed maximum is another model (not corrected): a hollow
    # marker off the line. In a users sweep every point is closed and the line joins them.
    maximum = (line["load"] == CLOSED).to_numpy()
    joined = ~maximum if not maximum.all() else maximum
    ax.plot(x[joined], y[joined], marker=marker, markersize=4, color=colour, lw=1.2,
            linestyle=cache_style(cache)[2], label=label)  # fmt: skip
    if not joined.all():
        ax.scatter(x[~joined], y[~joined], s=36, marker=marker, facecolors="none",
                   edgecolors=colour, lw=1.2)  # fmt: skip
    short = line["rate_short"].astype(bool).to_numpy()
    if short.any():
        ax.scatter(x[short], y[short], s=90, facecolors="none", edgecolors=SHORT_COLOUR, lw=1.5)
    for (_, point), value in zip(line.iterrows(), y, strict=True):
        ax.annotate(load_label(str(point["load"])), (point["rps_median"], value), fontsize=6,
                    xytext=(3, 3), textcoords="offset points", color=colour)  # fmt: skip


def _finish(ax: Axes, title: str, xlabel: str) -> None:
    log_ms_axis(ax, "p99 latency (ms, log scale)")
    ax.set_xlabel(xlabel)
    ax.set_xlim(left=0)
    ax.set_title(title, fontsize=10)
    ax.grid(which="both", alpha=0.3)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))  # off the lines


def agreement_chart(pairs: pd.DataFrame, palette: Palette, out: Path) -> Chart | None:
    """wrk's measured req/s against locust's CPU-based estimate, one point per cell run
    under both engines, with the band where they agree; None when there is no such cell."""
    usable = pairs.dropna(subset=["capacity_locust", "wrk_rps"])
    if usable.empty:
        return None
    fig, axes = figure(1, bars=9, panel_h=4.6)
    ax = axes[0][0]
    top = 1.1 * float(max(usable["capacity_locust"].max(), usable["wrk_rps"].max()))
    low, high = 1 - TOLERANCE_PCT / 100, 1 + TOLERANCE_PCT / 100
    ax.plot([0, top], [0, top], color="black", lw=0.8)
    ax.fill_between([0, top], [0, low * top], [0, high * top], color="grey", alpha=0.15, lw=0)
    # Several scenarios or user counts: each point says which (colour and marker cannot).
    several = len(usable[["scenario", "users"]].drop_duplicates()) > 1
    for _, pair in usable.iterrows():
        xy = (pair["capacity_locust"], pair["wrk_rps"])
        ax.scatter(*xy, color=palette.colour(str(pair["variant"])), zorder=3,
                   marker=CACHE_MARKERS.get(str(pair["cache"]), "D"))  # fmt: skip
        if several:
            ax.annotate(f"{pair['scenario']} u{pair['users']}", xy, fontsize=6, xytext=(4, -8),
                        textcoords="offset points")  # fmt: skip
    ax.set_xlim(0, top)
    ax.set_ylim(0, top)
    ax.set_xlabel("capacity estimated under locust (req/s at 100% server CPU)")
    ax.set_ylabel("wrk measured (req/s)")
    ax.grid(alpha=0.3)
    ax.legend(handles=_agreement_keys(usable, palette), fontsize=7, loc="upper left",
              bbox_to_anchor=(1.01, 1.0))  # fmt: skip
    title = f"CPU-based capacity vs wrk: on the line they agree; grey band ±{TOLERANCE_PCT:g}%"
    return save(fig, out, "capacity-vs-wrk", title)


def _agreement_keys(usable: pd.DataFrame, palette: Palette) -> list[Line2D]:
    """Colour = variant, marker = cache: the legend of the agreement chart."""
    variants = [v for v in palette.variants if v in set(usable["variant"])]
    caches = [c for c in CACHE_MARKERS if c in set(usable["cache"])]
    keys = [Line2D([], [], marker="o", color=palette.colour(v), ls="", label=v) for v in variants]
    keys += [Line2D([], [], marker=CACHE_MARKERS[c], color="black", markerfacecolor="none",
                    ls="", label=f"cache={c}") for c in caches]  # fmt: skip
    return keys
