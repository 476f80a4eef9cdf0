"""The per-cell charts of the closed model: requests/s with its spread, latency
percentiles, cache on vs off — one subplot per (scenario, users, engine) panel.

matplotlib's object API on the Agg canvas (no pyplot, no global state); every chart is
drawn from numbers computed elsewhere and never measures. Callers pass closed-model cells
only (an open-model cell's rate is its target, not a maximum). Helpers shared with
`bench.report.timeline` and `bench.report.loadcharts` live here too.
"""

from __future__ import annotations

import io
import math
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # before anything imports pyplot: no display, ever

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, LogFormatter
from PIL import Image

from bench.plan.matrix import CLOSED, NO_CACHE
from bench.report.palette import CACHE_ORDER, Palette, cache_style, ordered
from bench.report.stats import LATENCIES, PANEL, marks, panel_title, panels

DPI = 90
PANEL_W, PANEL_H = 5.2, 3.6  # inches per subplot
BAR_W = 0.75  # inches per bar, so that tick labels do not overlap
LOG_FLOOR_MS = 0.5  # locust rounds below 1 ms: a 0 is drawn here on log axes
PERCENTILE_LABELS = {"p50_ms": "p50", "p90_ms": "p90", "p99_ms": "p99", "p999_ms": "p99.9"}


@dataclass(frozen=True)
class Chart:
    """A chart written to disk."""

    name: str
    title: str
    path: Path


def figure(
    columns: int, rows: int = 1, bars: int = 0, panel_h: float = PANEL_H
) -> tuple[Figure, list[list[Axes]]]:
    """A figure of rows × columns subplots (always a 2-D list), wider for many bars."""
    width = max(PANEL_W, BAR_W * bars) * columns
    fig = Figure(figsize=(width, panel_h * rows + 0.6), dpi=DPI, layout="constrained")
    axes = fig.subplots(rows, columns, squeeze=False)
    return fig, [list(row) for row in axes]


def log_ms_axis(ax: Axes, label: str) -> None:
    """A log-scale latency axis with plain numbers (5, 20, 200) instead of 2×10¹."""
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    # Label some minor ticks over a span under 2 decades, all of them under 0.4 decades.
    ax.yaxis.set_minor_formatter(LogFormatter(labelOnlyBase=False, minor_thresholds=(2, 0.4)))
    ax.tick_params(axis="y", which="minor", labelsize=7)
    ax.set_ylabel(label)


def _short_mark(mark: str) -> str:
    """Tick labels are narrow: `generator-bound` becomes `gen-bound`."""
    return mark.replace("generator-", "gen-")


def save(fig: Figure, directory: Path, name: str, title: str) -> Chart:
    """Write the figure as `name.png` under `directory`."""
    width = int(fig.get_figwidth() * 11)  # characters that fit across the figure at 11 pt
    fig.suptitle(textwrap.fill(title, max(40, width)), fontsize=11)
    path = directory / f"{name}.png"
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    # Charts use few colours: a 256-colour palette keeps them sharp at a third of the bytes,
    # which matters twice (the PNG and its copy inside report.html).
    with Image.open(buffer) as image:
        image.convert("RGB").quantize(256).save(path, format="PNG", optimize=True)
    return Chart(name, title, path)


def each_cell(cells: pd.DataFrame, palette: Palette) -> Iterator[tuple[str, str, pd.Series]]:
    """(variant, cache, cell) in palette order, cache on before off."""
    for variant in palette.variants:
        for cache in ordered(cells["cache"].astype(str), CACHE_ORDER):
            found = cells[(cells["variant"] == variant) & (cells["cache"] == cache)]
            if len(found):
                yield variant, cache, found.iloc[0]


def tick_label(variant: str, cache: str, cell: pd.Series) -> str:
    """`variant` over `on`, with the cell's marks: a failed or generator-bound cell says so."""
    flags = "".join(f"\n[{_short_mark(mark)}]" for mark in marks(cell))
    return f"{variant}\n{'peer' if cache == NO_CACHE else cache}{flags}"


def in_panel(cells: pd.DataFrame, panel: tuple[str, int, str, str]) -> pd.DataFrame:
    """The rows of `cells` (cells, results or history) in one panel (stats.PANEL)."""
    chosen = (cells[PANEL] == pd.Series(panel, index=PANEL)).all(axis=1)
    return cells[chosen]


def cache_legend(cells: pd.DataFrame) -> str:
    """How the bars say the cache mode (and that peers have none)."""
    text = "on: solid, off: hatched" + (
        ", alru: dotted" if (cells["cache"] == "alru").any() else ""
    )
    return text + (", peers: grey" if (cells["cache"] == NO_CACHE).any() else "")


def throughput_chart(
    cells: pd.DataFrame, results: pd.DataFrame, palette: Palette, out: Path
) -> Chart:
    """Requests/s per variant × cache for each scenario: median bar, t-interval, every repeat."""
    pairs = panels(cells)
    fig, axes = figure(len(pairs), bars=most_bars(cells))
    for ax, panel in zip(axes[0], pairs, strict=True):
        here = in_panel(cells, panel)
        labels = []
        highest = 0.0  # the top of the data: whiskers of 2-repeat cells can dwarf it
        for x, (variant, cache, cell) in enumerate(each_cell(here, palette)):
            hatch, alpha, _ = cache_style(cache)
            ax.bar(x, cell["rps_median"], color=palette.colour(variant), alpha=alpha, hatch=hatch)
            if not math.isnan(cell["rps_low"]):
                median = cell["rps_median"]
                error = [[median - cell["rps_low"]], [cell["rps_high"] - median]]
                ax.errorbar(x, median, yerr=error, color="black", capsize=4, lw=1)
            repeats = _repeats(results, panel, variant, cache)["requests_per_s"]
            offsets = [x + 0.25 * (i / max(len(repeats) - 1, 1) - 0.5) for i in range(len(repeats))]
            ax.scatter(offsets, repeats, color="black", s=12, zorder=3)
            labels.append(tick_label(variant, cache, cell))
            highest = max(highest, *repeats, 0.0)
        ax.set_xticks(range(len(labels)), labels, fontsize=7)
        ax.set_xlabel(f"variant, cache ({cache_legend(here)})")
        ax.set_ylabel("requests/s")
        ax.set_title(panel_title(*panel), fontsize=10)
        ax.set_ylim(0, min(ax.get_ylim()[1], 1.5 * highest) if highest else None)
        ax.grid(axis="y", alpha=0.3)
    title = (
        "Requests/s: bar = median of repeats, whisker = 95% t-interval of the mean"
        " (cut at 1.5× the highest repeat), dot = repeat"
    )
    return save(fig, out, "throughput", title)


def most_bars(cells: pd.DataFrame) -> int:
    """The most variant × cache bars any one panel has."""
    return int(cells.groupby(PANEL).size().max())


def _repeats(
    results: pd.DataFrame, panel: tuple[str, int, str, str], variant: str, cache: str
) -> pd.DataFrame:
    here = in_panel(results, panel)
    chosen = (
        (here["load"] == CLOSED) & (here["variant"] == variant) & (here["cache"] == cache)
        & here["requests_per_s"].notna()
    )  # fmt: skip
    return here[chosen]


def latency_chart(cells: pd.DataFrame, palette: Palette, out: Path) -> Chart:
    """p50, p90, p99, p99.9 (medians over repeats) per variant × cache, log scale."""
    pairs = panels(cells)
    fig, axes = figure(len(pairs))
    for ax, panel in zip(axes[0], pairs, strict=True):
        for variant, cache, cell in each_cell(in_panel(cells, panel), palette):
            values = [max(float(cell[c]), LOG_FLOOR_MS) for c in LATENCIES]
            flags = "".join(f" [{m}]" for m in marks(cell))
            ax.plot(
                list(PERCENTILE_LABELS.values()), values, marker="o",
                color=palette.colour(variant), linestyle=cache_style(cache)[2],
                label=f"{variant} cache={cache}{flags}",
            )  # fmt: skip
        log_ms_axis(ax, "latency (ms, log scale)")
        ax.set_xlabel("percentile")
        ax.set_title(panel_title(*panel), fontsize=10)
        ax.grid(which="both", alpha=0.3)
        ax.legend(fontsize=7)
    title = (
        "Closed-model latency percentiles, median of repeats: they include locust's own queue "
        f"(≈ users / rate), so they are not ranked (values under 1 ms drawn at {LOG_FLOOR_MS})"
    )
    return save(fig, out, "latency", title)


def cache_chart(cells: pd.DataFrame, palette: Palette, out: Path) -> Chart | None:
    """Cache on vs off side by side: requests/s (top) and p99 (bottom) per variant of ours
    (a peer has no cache axis); None when the run has none of ours."""
    ours = cells[cells["cache"] != NO_CACHE]
    if ours.empty:
        return None
    pairs = panels(ours)
    fig, axes = figure(len(pairs), rows=2)
    metrics = (("rps_median", "requests/s (median)"), ("p99_ms", "p99 latency (ms, median)"))
    for row, (column, ylabel) in zip(axes, metrics, strict=True):
        for ax, panel in zip(row, pairs, strict=True):
            _cache_bars(ax, in_panel(ours, panel), column, palette)
            ax.set_ylabel(ylabel)
            ax.set_title(panel_title(*panel), fontsize=10)
    title = "Cache on (solid) vs off (hatched), alru dotted, per variant of ours"
    return save(fig, out, "cache", title)


def _cache_bars(ax: Axes, here: pd.DataFrame, column: str, palette: Palette) -> None:
    caches = ordered(here["cache"].astype(str), CACHE_ORDER)
    width = 0.8 / max(len(caches), 1)
    variants = [v for v in palette.variants if v in set(here["variant"])]
    for x, variant in enumerate(variants):
        for i, cache in enumerate(caches):
            found = here[(here["variant"] == variant) & (here["cache"] == cache)]
            if found.empty:
                continue
            hatch, alpha, _ = cache_style(cache)
            offset = x + (i - (len(caches) - 1) / 2) * width
            cell = found.iloc[0]
            colour = palette.colour(variant)
            ax.bar(offset, cell[column], width, color=colour, alpha=alpha, hatch=hatch)
            if marks(cell):  # the same marks as everywhere else, written on the bar
                ax.annotate(" / ".join(marks(cell)), (offset, 0), rotation=90, fontsize=6,
                            color="red", ha="center", va="bottom")  # fmt: skip
    ax.set_xticks(range(len(variants)), variants, fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    keys = [_cache_key(cache) for cache in caches]  # neutral: the colour is the variant's
    ax.legend(handles=keys, fontsize=7)


def _cache_key(cache: str) -> Patch:
    hatch, alpha, _ = cache_style(cache)
    return Patch(facecolor="#777777", alpha=alpha, hatch=hatch, label=f"cache={cache}")
