"""The compact table printed at the end of a run (pandas); reads results, measures nothing."""

from __future__ import annotations

import pandas as pd

from bench.results import OK


def summarise(results: pd.DataFrame) -> pd.DataFrame:
    """Per scenario × users × variant × cache: median req/s and p99 over repeats, failures."""
    frame = results.copy()
    frame["ok"] = frame["status"] == OK
    keys = ["scenario", "users", "variant", "cache"]
    grouped = frame.groupby(keys, sort=False)
    ok = frame[frame["ok"]].groupby(keys, sort=False)
    table = pd.DataFrame(
        {
            "req/s (median)": ok["requests_per_s"].median(),
            "p99 ms (median)": ok["p99_ms"].median(),
            "failures": ok["failures"].sum(),
            "trials ok": grouped["ok"].sum().astype(int).astype(str)
            + "/"
            + grouped["ok"].size().astype(str),
        }
    )
    return table.reset_index()


def render_summary(results: pd.DataFrame) -> str:
    """The summary as aligned text; failed trials are counted, never hidden."""
    if results.empty:
        return "(no trials)"
    table = summarise(results)
    text: str = table.to_string(
        index=False,
        formatters={
            "req/s (median)": lambda v: "—" if pd.isna(v) else f"{v:,.0f}",
            "p99 ms (median)": lambda v: "—" if pd.isna(v) else f"{v:g}",
            "failures": lambda v: "—" if pd.isna(v) else f"{v:,.0f}",
        },
    )
    return text
