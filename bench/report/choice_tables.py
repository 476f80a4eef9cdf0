"""The what-each-choice-buys table in words: one row per pair of `bench.report.choices`.

Only formats; the ratios are the verdict's paired ones (`verdict_tables.ratio_text`).
"""

from __future__ import annotations

from bench.plan.matrix import CLOSED
from bench.report.choices import Bought
from bench.report.stats import panel_title
from bench.report.tables import Table
from bench.report.verdict import Metric
from bench.report.verdict_tables import ratio_text

CHOICE_CAPTION = (
    "Each row: two of our servers that differ in one choice only (same scenario and load; "
    "the other axes as in 'where'; a loop or a style compares each variant with its own "
    "reader). Ratio: the first's score over the second's — requests/s at the closed maximum "
    "where the server set the pace; where locust did (generator-bound), the inverse of the "
    "server's CPU µs per request at the equal load — so > 1 means the choice pays. Geometric "
    "mean over the paired repeat blocks with a 95% Student-t interval, as in the verdict. "
    "'not measured': both servers were in the run but have no OK repeat in common."
)


def _metric(bought: Bought) -> str:
    if bought.metric == Metric.RATE:
        return "req/s"
    return "CPU/req" + ("" if bought.load == CLOSED else f" at {bought.load}")


def _reading(bought: Bought) -> tuple[str, str]:
    """What the ratio says in words, and the row's class."""
    ratio = bought.ratio
    if ratio is None:
        return "not measured", "marked"
    if not ratio.has_interval:
        return "no interval (1 block)", "marked"
    if not ratio.distinct:
        return "no difference beyond the noise", ""
    return ("pays" if ratio.value > 1 else "costs"), ""


def _servers(bought: Bought) -> str:
    """`uvloop / asyncio`; one name when the choice is a mode of one variant."""
    return bought.better if bought.better == bought.than else f"{bought.better} / {bought.than}"


def _where(bought: Bought) -> str:
    return ", ".join(f"{axis}={value}" for axis, value in bought.held.items())


def choice_table(found: list[Bought]) -> Table | None:
    """The table, choice by choice; None when no pair of the run differs in one choice."""
    if not found:
        return None
    header = ["choice", "servers", "where", "panel", "by", "ratio [95%]", "reads"]
    rows, classes = [], []
    for bought in found:
        reading, kind = _reading(bought)
        rows.append([
            bought.choice.question, _servers(bought), _where(bought),
            panel_title(*bought.panel), _metric(bought),
            "—" if bought.ratio is None else ratio_text(bought.ratio), reading,
        ])  # fmt: skip
        classes.append(kind)
    return Table("What each choice buys", CHOICE_CAPTION, header, rows, classes)
