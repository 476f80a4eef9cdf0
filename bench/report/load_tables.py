"""The tables of the load models: open-model cells per panel, and the engines' agreement.

Open-model cells are not maxima (their rate is the target they were given), so they get
their own table instead of bars beside the closed-model ones: target, what was achieved,
and the latency corrected for coordinated omission. Marks go into every row they concern.
"""

from __future__ import annotations

import math

import pandas as pd

from bench.report.agreement import SATURATED_SHARE, TOLERANCE_PCT
from bench.report.stats import PANEL, marks, open_model, panel_title
from bench.report.tables import Table, interval, ms, rate
from bench.results.table import RATE_TOLERANCE

OPEN_CAPTION = (
    "Open model: locust starts requests at the target rate whatever the server's latency "
    "(a share load's target is that share of the same cell's closed-model maximum, measured "
    "first). Achieved: median req/s over OK repeats with the 95% t-interval of the mean. "
    "Latencies: µs from the merged HDR histograms, measured from each request's planned send "
    "time (corrected for coordinated omission), medians over repeats. Short of target: some "
    f"repeat achieved more than {RATE_TOLERANCE:.0%} below its target, so the server (or "
    "locust) could not keep up and the latency is that of an overload."
)
AGREEMENT_CAPTION = (
    "Capacity estimate = server CPUs × 10⁶ / server CPU µs per request: the req/s the server "
    "would reach at 100% CPU, median over the OK repeats of the closed-model cell. wrk req/s: "
    "the median wrk measured, the server's real maximum when wrk is not the limit. They agree "
    f"when wrk is within {TOLERANCE_PCT:g}% of the locust estimate. The estimate under wrk "
    "comes from the wrk trials' own CPU cost: it equals wrk's req/s when the server CPU share "
    "under wrk is 100%, and lies above it by as much as the server had idle. A server's CPU per "
    "request falls as its load rises (an event loop serves many ready sockets per wake-up), "
    "so an estimate made while locust left the server mostly idle is a lower bound."
)


def open_tables(cells: pd.DataFrame) -> list[Table]:
    """One table per (scenario, users, engine) with open-model cells; [] when none."""
    header = [
        "variant", "cache", "load", "OK/total", "target req/s", "achieved req/s", "95% CI",
        "achieved/target", "p50 µs", "p99 µs", "p99.9 µs", "failures", "marks",
    ]  # fmt: skip
    tables = []
    for panel, here in open_model(cells).groupby(PANEL, sort=False):
        rows = [_open_row(cell) for _, cell in here.iterrows()]
        classes = ["marked" if marks(cell) else "" for _, cell in here.iterrows()]
        title = f"Open model · {panel_title(*panel)}"
        tables.append(Table(title, OPEN_CAPTION, header, rows, classes))
    return tables


def _open_row(cell: pd.Series) -> list[str]:
    target, achieved = float(cell["target_rps"]), float(cell["rps_median"])
    share = achieved / target if target > 0 else math.nan
    reasons = [f"failed: {reason}" for reason in cell["failed_reasons"]]
    return [
        str(cell["variant"]), str(cell["cache"]), str(cell["load"]),
        f"{cell['n_ok']}/{cell['n_total']}", rate(target), rate(achieved),
        interval(cell["rps_low"], cell["rps_high"]),
        "—" if math.isnan(share) else f"{share:.1%}",
        ms(cell["hdr_p50_us"]), ms(cell["hdr_p99_us"]), ms(cell["hdr_p999_us"]),
        rate(cell["failures"]), "; ".join([*marks(cell), *reasons]) or "—",
    ]  # fmt: skip


def agreement_table(pairs: pd.DataFrame) -> Table | None:
    """The engines' agreement check (bench.report.agreement); None when no cell ran under
    both engines."""
    if pairs.empty:
        return None
    header = [
        "variant", "cache", "scenario", "users", "capacity estimate (locust)",
        "server CPU under locust", "wrk req/s", "server CPU under wrk", "wrk / estimate",
        "verdict", "capacity estimate (wrk)", "marks",
    ]  # fmt: skip
    rows, classes = [], []
    for _, pair in pairs.iterrows():
        found = _pair_marks(pair)
        rows.append([
            str(pair["variant"]), str(pair["cache"]), str(pair["scenario"]), str(pair["users"]),
            rate(pair["capacity_locust"]), _share(pair["locust_cpu_share"]),
            rate(pair["wrk_rps"]), _share(pair["wrk_cpu_share"]),
            _ratio(pair["ratio"]), verdict(pair), rate(pair["capacity_wrk"]), found or "—",
        ])  # fmt: skip
        classes.append("marked" if found else "")
    return Table("CPU-based capacity vs wrk", AGREEMENT_CAPTION, header, rows, classes)


def verdict(pair: pd.Series) -> str:
    """`agree (within 15%)`, `differ by 20%`, or why there is no verdict."""
    if math.isnan(pair["ratio"]):
        return "n/a (no estimate or no wrk rate)"
    if pair["agree"]:
        return f"agree (within {TOLERANCE_PCT:g}%)"
    found = f"differ by {pair['differ_pct']:g}%"
    if pair["wrk_cpu_share"] < SATURATED_SHARE:
        return f"{found}: wrk did not saturate the server either"
    if pair["locust_cpu_share"] < SATURATED_SHARE and pair["ratio"] > 1:
        share = pair["locust_cpu_share"]
        return f"{found}: estimated at {share:.0%} server CPU, a lower bound"
    return found


def _pair_marks(pair: pd.Series) -> str:
    sides = (("locust", pair["marks_locust"]), ("wrk", pair["marks_wrk"]))
    return "; ".join(f"{engine}: {', '.join(found)}" for engine, found in sides if found)


def _share(value: float) -> str:
    return "—" if math.isnan(value) else f"{value:.0%}"


def _ratio(value: float) -> str:
    return "—" if math.isnan(value) else f"{value:.2f}×"


def agreement_headline(pairs: pd.DataFrame) -> list[str]:
    """One sentence on the engines' agreement; [] when no cell ran under both."""
    judged = pairs[pairs["ratio"].notna()]
    if judged.empty:
        return []
    apart = judged[~judged["agree"]]
    text = (
        f"CPU-based capacity vs wrk: {len(judged) - len(apart)} of {len(judged)} cell(s) agree "
        f"within {TOLERANCE_PCT:g}%"
    )
    names = ", ".join(
        f"{p['variant']} cache={p['cache']} {p['scenario']} u{p['users']} "
        f"(wrk {p['ratio']:.2f}× the estimate)"
        for _, p in apart.iterrows()
    )
    return [f"{text}; differ: {names}" if names else text]
