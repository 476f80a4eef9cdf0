"""The bench's layout holds: the report runs without the load tools, the registries agree
with the names the plan knows, and the results columns keep their order.

The import contracts themselves (layers, forbidden imports, no cycles) are `lint-imports`'s,
run by `nox -s lint`; these tests check what a contract cannot: that it is really so at run
time, in a process where locust, gevent, psutil, hdrh and aiofile cannot be imported.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import fields
from pathlib import Path

from bench.engines.locust.scenarios import scenario_file
from bench.engines.registry import ENGINES
from bench.engines.wrk.engine import WRK_SCENARIOS
from bench.plan import axes
from bench.results.figures import Costs, LatencySummary, LoadFigures
from bench.results.table import COLUMNS
from bench.targets.peers import PEERS
from tests.conftest import PROJECT

BLOCKER = Path(__file__).resolve().parent / "fixtures" / "no_load_tools"
RUN_SMALL = Path(__file__).resolve().parent / "fixtures" / "run_small"

BUILD = """
import sys
from pathlib import Path
from bench.report import build_report
files = build_report(Path(sys.argv[1]))
blocked = sorted(name for name in ("locust", "gevent", "psutil", "hdrh", "aiofile")
                 if name in sys.modules)
print("loaded:", blocked)
print(files.html)
"""


def _without_load_tools(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(BLOCKER), str(PROJECT)])}
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=PROJECT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_the_blocker_blocks() -> None:
    for name in ("psutil", "locust", "hdrh.histogram", "aiofile"):
        done = _without_load_tools(f"import {name}")
        assert done.returncode != 0, name
        assert "is blocked" in done.stderr, done.stderr


def test_the_report_builds_without_the_load_tools(tmp_path: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree(RUN_SMALL, run)
    done = _without_load_tools(BUILD, str(run))
    assert done.returncode == 0, done.stderr
    assert "loaded: []" in done.stdout
    assert (run / "report.html").stat().st_size > 0
    assert (run / "summary.md").read_text(encoding="utf-8").strip()


def test_the_registries_have_the_names_the_plan_knows() -> None:
    assert tuple(ENGINES) == axes.ENGINES
    assert all(ENGINES[name].name == name for name in ENGINES)
    assert tuple(PEERS) == axes.PEER_NAMES
    assert tuple(WRK_SCENARIOS) == axes.WRK_SCENARIOS
    assert all(scenario_file(name).is_file() for name in axes.SCENARIOS)


def test_the_columns_are_the_measurement_fields_in_the_order_of_every_schema() -> None:
    measured = [f.name for part in (LoadFigures, LatencySummary, Costs) for f in fields(part)]
    assert set(measured) <= set(COLUMNS)
    assert COLUMNS == [
        "schema_version", "variant", "style", "loop", "cache", "reader", "default_reader",
        "scenario", "users", "engine", "client", "load", "repeat",
        "load_workers", "status", "reason", "requests", "failures", "requests_per_s", "mean_ms",
        "p50_ms", "p90_ms", "p99_ms", "p999_ms", "max_ms", "bytes_per_s", "window_s",
        "overhead_s", "started_at", "hdr_count", "hdr_p50_us", "hdr_p90_us", "hdr_p99_us",
        "hdr_p999_us", "hdr_p9999_us", "hdr_max_us", "server_cpu_share", "cpu_us_per_request",
        "capacity_rps", "rss_mb", "server_fds", "server_threads", "cache_hit_ratio",
        "load_cpu_share", "generator_bound", "target_rps", "rate_short",
    ]  # fmt: skip
