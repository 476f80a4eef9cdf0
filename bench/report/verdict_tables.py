"""The verdict in words and compact tables: one sentence and one table of ≤ 8 columns per
scenario × cache, and the latency at equal load per scenario.

Numbers come from `bench.report.verdict`; this module only formats them. A comparison is a
win ("beats … by 1.8× [1.6 – 2.0]") only when its paired interval excludes 1, otherwise
"not distinguishable (ratio 1.04 [0.93 – 1.17])"; the metric is named in every sentence.
"""

from __future__ import annotations

import math

import pandas as pd

from bench.plan.matrix import NO_CACHE, is_equal
from bench.report.palette import is_peer
from bench.report.stats import PANEL, REFERENCE, marks, panel_title
from bench.report.tables import Table, ms, rate
from bench.report.verdict import Entry, EqualLoad, GroupVerdict, Metric, Ratio

VERDICT_CAPTION = (
    "Ranked by the metric valid for the group: requests/s (closed model: each server's "
    "maximum) where the server set the pace; where locust did (generator-bound), requests/s "
    "measures locust, so the server's CPU µs per request at the equal load ranks them, with "
    "the capacity it implies (req/s at 100% server CPU). × blog, × best: the ratio of the "
    "scores (req/s, or the inverse cost), geometric mean over the paired repeat blocks, with "
    "a 95% Student-t interval of the blocks' log-ratios (no interval with one block). Rank: "
    "1 + the variants ahead beyond the noise (their interval excludes 1). A generator-bound "
    "mark gives the server's CPU share at its closed-model maximum: near 100% the server was "
    "at its own limit too, well below it the server had room that locust could not fill."
)
EQUAL_CAPTION = (
    "Every server offered the same rate (open model: requests start on schedule whatever the "
    "latency), so these latencies compare like with like: µs from the merged HDR histograms, "
    "measured from each request's planned send time (corrected for coordinated omission), "
    "medians over repeats. Closed-model latencies (in the full tables) include locust's own "
    "queue (≈ users / rate) and are not ranked."
)


def ratio_text(ratio: Ratio | None) -> str:
    """`1.83× [1.61 – 2.07]`, `1.83× (no interval)`, or —."""
    if ratio is None or math.isnan(ratio.value):
        return "—"
    if not ratio.has_interval:
        return f"{ratio.value:.2f}× (no interval)"
    return f"{ratio.value:.2f}× [{ratio.low:.2f} – {ratio.high:.2f}]"


def compare(a: str, b: str, ratio: Ratio, metric: str) -> str:
    """A's standing against B in one clause, naming the metric."""
    if math.isnan(ratio.value):
        return f"{a} and {b} have no repeat in common ({metric}: not compared)"
    if not ratio.has_interval:
        ahead, behind = (a, b) if ratio.value >= 1 else (b, a)
        factor = ratio.value if ratio.value >= 1 else 1 / ratio.value
        return (
            f"{ahead} ahead of {behind} by {factor:.2f}× ({metric}; "
            f"{ratio.blocks} repeat: no interval, so how sure is unknown)"
        )
    if not ratio.distinct:
        return (
            f"{a} and {b} not distinguishable (ratio {ratio.value:.2f} "
            f"[{ratio.low:.2f} – {ratio.high:.2f}], {metric})"
        )
    if ratio.value > 1:
        return f"{a} beats {b} by {ratio_text(ratio)} ({metric})"
    inverse = Ratio(1 / ratio.value, 1 / ratio.high, 1 / ratio.low, ratio.blocks)
    return f"{b} beats {a} by {ratio_text(inverse)} ({metric})"


def short_metric(verdict: GroupVerdict) -> str:
    """The metric in a clause: `requests/s` or `CPU µs per request`."""
    return "requests/s" if verdict.metric == Metric.RATE else "CPU µs per request"


def metric_name(verdict: GroupVerdict) -> str:
    """`requests/s`, or `server CPU µs per request at 890 req/s`."""
    if verdict.metric == Metric.RATE:
        return str(Metric.RATE)
    if is_equal(verdict.load):
        return f"{Metric.CPU} at {rate(verdict.equal_rps)} req/s"
    return f"{Metric.CPU} at each one's own maximum"


def group_title(verdict: GroupVerdict) -> str:
    """`small · 50 users · cache=on`."""
    among = "reference peers" if verdict.cache == NO_CACHE else f"cache={verdict.cache}"
    return f"{panel_title(*verdict.panel)} · {among}"


def why(verdict: GroupVerdict) -> str:
    """Why this metric ranks the group."""
    bound = any(entry.generator_bound for entry in verdict.entries)
    if verdict.metric == Metric.RATE:
        if bound:
            return "locust set the pace and no CPU cost was recorded: req/s measures locust"
        return "the server set the pace"
    if is_equal(verdict.load):
        return "locust set the pace of the closed runs, so req/s would rank locust"
    return (
        "locust set the pace and no equal-load point was run: costs at unequal loads "
        "favour the busier servers"
    )


def verdict_line(verdict: GroupVerdict) -> str:
    """One sentence: who is first, by what metric and why, and how it stands against the
    runner-up and blog."""
    best, metric = verdict.best, short_metric(verdict)
    head = (
        f"{group_title(verdict)} — by {metric_name(verdict)} ({why(verdict)}): {best.variant} first"
    )
    clauses = []
    others = verdict.entries[1:]
    if others and others[0].to_best is not None:
        clauses.append(
            compare(best.variant, others[0].variant, _inverse(others[0].to_best), metric)
        )
    blog = next((e for e in others[1:] if e.variant == REFERENCE and e.to_reference), None)
    if blog is not None and best.to_reference is not None:
        clauses.append(compare(best.variant, REFERENCE, best.to_reference, metric))
    return head + ("; " + "; ".join(clauses) if clauses else "") + "."


def _inverse(ratio: Ratio) -> Ratio:
    """The best over the other, from the other over the best."""
    if not ratio.has_interval:
        return Ratio(1 / ratio.value, math.nan, math.nan, ratio.blocks)
    return Ratio(1 / ratio.value, 1 / ratio.high, 1 / ratio.low, ratio.blocks)


def verdict_table(verdict: GroupVerdict, caption: str = VERDICT_CAPTION) -> Table:
    """The group's ranking in ≤ 8 columns."""
    cpu = verdict.metric == Metric.CPU
    header = [
        "rank", "variant", "CPU µs/req" if cpu else "req/s", *(["capacity req/s"] if cpu else []),
        f"× {REFERENCE} [95%]", "× best [95%]", f"vs {REFERENCE}", "marks",
    ]  # fmt: skip
    rows, classes = [], []
    for entry in verdict.entries:
        value = ms(entry.value) if cpu else rate(entry.value)
        flags = _marks(entry, verdict)
        rows.append([
            "n/a" if entry.rank is None else str(entry.rank), _name(entry, verdict), value,
            *([rate(entry.capacity)] if cpu else []),
            "reference" if entry.variant == REFERENCE else ratio_text(entry.to_reference),
            ratio_text(entry.to_best), _against_reference(entry), flags or "—",
        ])  # fmt: skip
        classes.append("marked" if flags else "")
    title = f"{group_title(verdict)} — ranked by {metric_name(verdict)}"
    return Table(title, caption, header, rows, classes)


def _name(entry: Entry, verdict: GroupVerdict) -> str:
    if verdict.cache != entry.cache:
        return f"{entry.variant} (peer)" if is_peer(entry.variant) else entry.variant
    return entry.variant


def _against_reference(entry: Entry) -> str:
    ratio = entry.to_reference
    if entry.variant == REFERENCE or ratio is None or math.isnan(ratio.value):
        return "—"
    if not ratio.has_interval:
        return "no interval"
    if not ratio.distinct:
        return "not distinguishable"
    return "beats" if ratio.value > 1 else "behind"


def _marks(entry: Entry, verdict: GroupVerdict) -> str:
    found = [f"failed {entry.failed}/{entry.trials}"] if entry.failed else []
    if entry.generator_bound:
        share = entry.closed_server_share
        found.append(
            "generator-bound (closed)" if math.isnan(share)
            else f"generator-bound (closed; server CPU {share:.0%})"
        )  # fmt: skip
    if entry.short:
        found.append("short of the equal load")
    return "; ".join(found)


def equal_load_line(equal: EqualLoad) -> str:
    """Which rate the panel's equal load is, and where it came from."""
    variant, cache = equal.slowest
    share = equal.load.removeprefix("equal")
    return (
        f"{panel_title(*equal.panel)}: equal load {rate(equal.rate)} req/s offered to every "
        f"server = {share} of the slowest closed-model maximum ({variant} cache={cache}, "
        f"{rate(equal.slowest_rps)} req/s in its first repeat), rounded down to 2 digits"
    )


def verdict_tables(groups: list[GroupVerdict]) -> list[Table]:
    """Every group's table; the caption under the first one only."""
    return [verdict_table(g, VERDICT_CAPTION if i == 0 else "") for i, g in enumerate(groups)]


def equal_load_tables(cells: pd.DataFrame, loads: list[EqualLoad]) -> list[Table]:
    """Per panel: each server's latency at the equal load, in ≤ 8 columns."""
    header = ["variant", "cache", "achieved req/s", "p50 µs", "p99 µs", "p99.9 µs",
              "CPU µs/req", "marks"]  # fmt: skip
    tables: list[Table] = []
    for equal in loads:
        here = cells[(cells["load"] == equal.load) & _in(cells, equal)]
        rows, classes = [], []
        for _, cell in here.iterrows():
            found = "; ".join(marks(cell)) or "—"
            rows.append([
                str(cell["variant"]), str(cell["cache"]), rate(cell["rps_median"]),
                ms(cell["hdr_p50_us"]), ms(cell["hdr_p99_us"]), ms(cell["hdr_p999_us"]),
                ms(cell["cpu_us_per_request"]), found,
            ])  # fmt: skip
            classes.append("" if found == "—" else "marked")
        title = f"Latency at {rate(equal.rate)} req/s offered · {panel_title(*equal.panel)}"
        caption = EQUAL_CAPTION if not tables else ""  # said once is enough
        tables.append(Table(title, caption, header, rows, classes))
    return tables


def _in(cells: pd.DataFrame, equal: EqualLoad) -> pd.Series:
    return (cells[PANEL] == pd.Series(equal.panel, index=PANEL)).all(axis=1)
