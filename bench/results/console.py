"""The compact table printed at the end of a run (pandas); reads results, measures nothing."""

from __future__ import annotations

import pandas as pd

from bench.results.table import OK, best_p99_ms, name_servers


def cell_medians(results: pd.DataFrame) -> pd.DataFrame:
    """Per cell: median req/s and p99 (µs histogram, else locust's ms) over repeats, marks."""
    frame = name_servers(results).copy()
    frame["ok"] = frame["status"] == OK
    frame["p99"] = best_p99_ms(frame)
    keys = ["scenario", "users", "engine", "client", "load", "variant", "cache"]
    grouped = frame.groupby(keys, sort=False)
    ok = frame[frame["ok"]].groupby(keys, sort=False)
    table = pd.DataFrame(
        {
            "req/s (median)": ok["requests_per_s"].median(),
            "target req/s": ok["target_rps"].median(),
            "p99 ms (median)": ok["p99"].median(),
            "failures": ok["failures"].sum(),
            "marks": _marks(ok["generator_bound"].any(), ok["rate_short"].any()),
            "trials ok": grouped["ok"].sum().astype(int).astype(str)
            + "/"
            + grouped["ok"].size().astype(str),
        }
    )
    return table.reset_index()


def _marks(bound: pd.Series, short: pd.Series) -> pd.Series:
    """Why a median may not be the server's (when any repeat had it): locust's ceiling, or
    an open model short of its target."""
    marks = bound.map({True: "generator-bound", False: ""}).astype(str)
    shortfall = short.map({True: "short of target", False: ""}).astype(str)
    return (marks + ", " + shortfall).str.strip(", ")


def render_console_summary(results: pd.DataFrame) -> str:
    """The summary as aligned text; failed trials are counted, never hidden."""
    if results.empty:
        return "(no trials)"
    table = cell_medians(results)
    text: str = table.to_string(
        index=False,
        na_rep="—",
        formatters={
            "req/s (median)": lambda v: "—" if pd.isna(v) else f"{v:,.0f}",
            "target req/s": lambda v: "—" if pd.isna(v) else f"{v:,.0f}",
            "p99 ms (median)": lambda v: "—" if pd.isna(v) else f"{v:.3g}",
            "failures": lambda v: "—" if pd.isna(v) else f"{v:,.0f}",
        },
    )
    return text
