"""Figures for the lean client's choices, printed (a benchmark, not a test).

`flock /tmp/staticbench-bench.lock python scripts/client_figures.py [--duration 10]`

Against one server (our uvloop variant, cache on, pinned to CPU 0) one locust process
(pinned to CPU 1, 50 users, `small`) runs each configuration twice, interleaved A B A B so
a shared machine's drift spreads over both: the lean client with either response parser,
with and without the HDR latency listener, and FastHttpUser. Rates are locust's own counts
over the measured window (bench.locust_csv), server CPU is the server process's user +
system time over the load's wall time.
"""

from __future__ import annotations

import argparse
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from bench.results.locust_csv import LocustCsvError, read_summary
from bench.targets.process import ServerProcess

PROJECT = Path(__file__).resolve().parents[1]
WARMUP_S = 2
CONFIGS: dict[str, tuple[list[str], bool]] = {  # label → (locust options, HDR listener on)
    "lean, httptools parser, HDR on": (["--client", "lean", "--lean-parser", "httptools"], True),
    "lean, minimal parser, HDR on": (["--client", "lean", "--lean-parser", "minimal"], True),
    "lean, httptools parser, HDR off": (["--client", "lean", "--lean-parser", "httptools"], False),
    "fasthttp, HDR on": (["--client", "fasthttp"], True),
}


def run_locust(url: str, options: list[str], hdr: bool, duration: int, work: Path) -> float:
    """One pinned locust run of `small`; its steady requests/s."""
    prefix = work / f"run{time.monotonic_ns()}"
    env = {**os.environ, "STATICBENCH_WARMUP": str(WARMUP_S)}
    env.pop("STATICBENCH_HDR_DIR", None)
    if hdr:
        (hdr_dir := work / f"{prefix.name}-hdr").mkdir()
        env["STATICBENCH_HDR_DIR"] = str(hdr_dir)
    locust = str(Path(sys.executable).with_name("locust"))
    argv = [
        "taskset", "-c", "1", locust, "-f", "bench/engines/locust/scenarios/small.py", "--headless",
        "-u", "50", "-r", "50", "-t", f"{WARMUP_S + duration + 2}s", "--host", url,
        "--csv", str(prefix), "--csv-full-history", "--only-summary", "--loglevel", "WARNING",
        *options,
    ]  # fmt: skip
    subprocess.run(argv, cwd=PROJECT, env=env, capture_output=True, timeout=duration + 90)
    try:
        return read_summary(prefix, warmup_s=WARMUP_S).requests_per_s
    except LocustCsvError as error:  # a stalled writer on a busy machine: no figure
        print(f"no figure: {error}", file=sys.stderr)
        return math.nan


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--duration", type=int, default=10, help="measured seconds per run")
    args = parser.parse_args()
    server_argv = ["--variant", "uvloop", "--cache", "on", "--root", str(PROJECT / "static")]
    rates: dict[str, list[str]] = {label: [] for label in CONFIGS}
    with tempfile.TemporaryDirectory() as work, ServerProcess(server_argv, cpus=[0]) as server:
        process = psutil.Process(server.pid)
        for _ in range(2):
            for label, (options, hdr) in CONFIGS.items():
                cpu, began = sum(process.cpu_times()[:2]), time.monotonic()
                rate = run_locust(server.url, options, hdr, args.duration, Path(work))
                share = (sum(process.cpu_times()[:2]) - cpu) / (time.monotonic() - began)
                rates[label].append(f"{rate:,.0f} req/s (server CPU ≥{share:.0%})")
    for label, figures in rates.items():
        print(f"{label:34} {' | '.join(figures)}")


if __name__ == "__main__":
    main()
