"""The two answer charts, first on the page: the verdict's metric as sorted horizontal bars
(one subplot per scenario × cache) and the latency percentiles at the equal load.

Bars are in requests/s either way — measured (closed model) where the server set the
pace, or the capacity implied by the CPU µs per request at the equal load where locust did —
so longer is better in every subplot. The whisker is the 95% interval of the paired ratio to
blog, drawn relative to the bar; the ratio is printed at the bar's end.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.ticker import FuncFormatter

from bench.plan.matrix import NO_CACHE
from bench.report.charts import LOG_FLOOR_MS, Chart, figure, in_panel, log_ms_axis, save
from bench.report.palette import Palette, cache_style
from bench.report.stats import REFERENCE, panel_title
from bench.report.verdict import Entry, EqualLoad, GroupVerdict, Metric
from bench.report.verdict_tables import group_title, metric_name

BAR_H = 0.42  # inches per bar
WHISKER_CAP = 1.5  # whiskers are cut at this many times the longest bar (the text has it all)
HDR_PERCENTILES = {"hdr_p50_us": "p50", "hdr_p90_us": "p90", "hdr_p99_us": "p99",
                   "hdr_p999_us": "p99.9"}  # fmt: skip


def answer_chart(verdicts: list[GroupVerdict], palette: Palette, out: Path) -> Chart | None:
    """Sorted bars per group, a row per panel and a column per cache; None without groups."""
    if not verdicts:
        return None
    panels = list(dict.fromkeys(v.panel for v in verdicts))
    columns = max(sum(1 for v in verdicts if v.panel == p) for p in panels)
    most = max(len(v.entries) for v in verdicts)
    fig, axes = figure(columns, rows=len(panels), panel_h=0.9 + BAR_H * most)
    used = set()
    for verdict in verdicts:
        row = panels.index(verdict.panel)
        column = sum(1 for v in verdicts[: verdicts.index(verdict)] if v.panel == verdict.panel)
        _bars(axes[row][column], verdict, palette)
        used.add((row, column))
    for r, line in enumerate(axes):
        for c, ax in enumerate(line):
            if (r, c) not in used:
                ax.set_visible(False)
    title = (
        "The verdict: longer is better. Bar: requests/s where the server set the pace, else "
        "the capacity implied by the server's CPU µs per request at the equal load; "
        f"whisker: 95% interval of the paired ratio to {REFERENCE} (cut at 1.5× the longest bar); "
        "text: that ratio"
    )
    return save(fig, out, "verdict", title)


def bar_value(entry: Entry, verdict: GroupVerdict) -> float:
    """What the bar shows, in req/s: the measured rate, or the implied capacity."""
    return entry.value if verdict.metric == Metric.RATE else entry.capacity


def _bars(ax: Axes, verdict: GroupVerdict, palette: Palette) -> None:
    entries = [e for e in verdict.entries if bar_value(e, verdict) > 0]
    values = [bar_value(e, verdict) for e in entries]
    cap = WHISKER_CAP * max(values, default=1.0)  # a wild interval must not squash the bars
    for y, (entry, value) in enumerate(zip(entries, values, strict=True)):
        hatch, alpha, _ = cache_style(entry.cache)
        ax.barh(y, value, color=palette.colour(entry.variant), alpha=alpha, hatch=hatch)
        ratio, end = entry.to_reference, value
        if ratio is not None and ratio.has_interval and entry.variant != REFERENCE:
            low = value * ratio.low / ratio.value
            end = min(value * ratio.high / ratio.value, cap)
            ax.errorbar(value, y, xerr=[[value - low], [end - value]], color="black",
                        capsize=3, lw=1)  # fmt: skip
        ax.annotate(_end_text(entry), (end, y), xytext=(5, 0), textcoords="offset points",
                    va="center", fontsize=7)  # fmt: skip
    ax.set_yticks(range(len(entries)), [_label(e) for e in entries], fontsize=8)
    ax.invert_yaxis()  # the best on top
    ax.set_xlim(0, 1.35 * cap)  # room for the text at the bar's end
    unit = "requests/s" if verdict.metric == Metric.RATE else "capacity req/s (CPU-based)"
    ax.set_xlabel(unit)
    ax.set_title(f"{group_title(verdict)}\nby {metric_name(verdict)}", fontsize=9)
    ax.grid(axis="x", alpha=0.3)


def _label(entry: Entry) -> str:
    return entry.variant if entry.cache != NO_CACHE else f"{entry.variant} (peer)"


def _end_text(entry: Entry) -> str:
    ratio = entry.to_reference
    if entry.variant == REFERENCE:
        return "= blog"
    if ratio is None or math.isnan(ratio.value):
        return ""
    if not ratio.has_interval:
        return f"{ratio.value:.2f}× blog (no interval)"
    sign = "" if ratio.distinct else " ≈"
    return f"{ratio.value:.2f}× blog [{ratio.low:.2f}–{ratio.high:.2f}]{sign}"


def equal_latency_chart(
    cells: pd.DataFrame, loads: list[EqualLoad], palette: Palette, out: Path
) -> Chart | None:
    """p50–p99.9 (HDR, corrected) per server at each panel's equal load; None without."""
    if not loads:
        return None
    fig, axes = figure(len(loads))
    for ax, equal in zip(axes[0], loads, strict=True):
        here = in_panel(cells, equal.panel)
        here = here[here["load"] == equal.load]
        for variant in palette.variants:
            for _, cell in here[here["variant"] == variant].iterrows():
                values = [max(float(cell[c]) / 1000, LOG_FLOOR_MS / 10) for c in HDR_PERCENTILES]
                ax.plot(
                    list(HDR_PERCENTILES.values()), values, marker="o",
                    color=palette.colour(variant), linestyle=cache_style(str(cell["cache"]))[2],
                    label=f"{variant} cache={cell['cache']}",
                )  # fmt: skip
        log_ms_axis(ax, "latency (ms, log scale)")
        ax.yaxis.set_minor_formatter(FuncFormatter(_twos_and_fives))
        ax.set_xlabel("percentile")
        ax.set_title(f"{panel_title(*equal.panel)} · {equal.rate:,.0f} req/s offered", fontsize=10)
        ax.grid(which="both", alpha=0.3)
        ax.legend(fontsize=7)
    title = (
        "Latency at equal load: every server offered the same rate (open model, HDR µs "
        "histograms, corrected for coordinated omission), medians over repeats"
    )
    return save(fig, out, "equal-load-latency", title)


def _twos_and_fives(value: float, _: object) -> str:
    """Minor tick labels at 2× and 5× a power of ten: 0.2, 5, 20 — never `6e-01`."""
    leading = f"{value:.0e}"[0]
    return f"{value:g}" if leading in "25" else ""
