"""Do the two engines agree on a server's maximum? Pure numbers, no formatting.

`capacity_rps` extrapolates a trial's server CPU per request to 100% of the server's CPUs.
Under locust the server often has headroom (locust is the bottleneck), so that estimate is
the only maximum we get; wrk can saturate the server and measure it. Where a cell (scenario,
users, variant, cache) ran closed under both engines, wrk's rate over locust's estimate says
whether the estimate can be trusted for the cells wrk cannot run.

Measured here: they agree when the server ran near 100% CPU under locust too (aiohttp,
uvicorn), and wrk is 1.2–2× the estimate when locust was the bottleneck — an event loop's
CPU per request falls as load rises (one wake-up serves many ready sockets), so a cost
measured at 20–30% CPU extrapolates to a lower bound. The verdict says which case it is.
"""

from __future__ import annotations

import math

import pandas as pd

from bench.plan.axes import LOCUST, WRK
from bench.report.stats import closed, marks

TOLERANCE_PCT = 15.0  # agree when wrk is within this much of the estimate
SATURATED_SHARE = 0.9  # a server above this CPU share ran at its maximum
IDENTITY = ["variant", "cache", "scenario", "users"]
COLUMNS = [
    *IDENTITY, "capacity_locust", "locust_cpu_share", "wrk_rps", "wrk_cpu_share", "ratio",
    "differ_pct", "agree",
    "capacity_wrk", "marks_locust", "marks_wrk",
]  # fmt: skip


def agreement(cells: pd.DataFrame) -> pd.DataFrame:
    """One row per cell measured closed under both engines (empty when none was), in the
    run's order: the estimate, wrk's rate and CPU share, their ratio and whether they agree."""
    ran = closed(cells)
    wrk = {_key(cell): cell for _, cell in ran[ran["engine"] == WRK].iterrows()}
    rows = []
    for _, estimate in ran[ran["engine"] == LOCUST].iterrows():
        measured = wrk.get(_key(estimate))
        if measured is not None:
            rows.append(_row(estimate, measured))
    return pd.DataFrame(rows, columns=COLUMNS)


def _key(cell: pd.Series) -> tuple[object, ...]:
    return tuple(cell[column] for column in IDENTITY)


def _row(estimate: pd.Series, measured: pd.Series) -> dict[str, object]:
    capacity, rate = float(estimate["capacity_rps"]), float(measured["rps_median"])
    ratio = rate / capacity if capacity > 0 else math.nan
    # Rounded as the table shows it, so "15%" is never called a difference beyond 15%.
    differ = round(abs(ratio - 1) * 100, 1)
    return {
        **{column: estimate[column] for column in IDENTITY},
        "capacity_locust": capacity, "locust_cpu_share": estimate["server_cpu_share"],
        "wrk_rps": rate,
        "wrk_cpu_share": measured["server_cpu_share"], "ratio": ratio, "differ_pct": differ,
        "agree": bool(differ <= TOLERANCE_PCT), "capacity_wrk": measured["capacity_rps"],
        "marks_locust": marks(estimate), "marks_wrk": marks(measured),
    }  # fmt: skip
