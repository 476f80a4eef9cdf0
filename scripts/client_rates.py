"""Issue 9's figures, printed: req/s per locust process for each scenario and both clients,
with locust's and the server's CPU share (a benchmark, not a test).

`flock /tmp/staticbench-bench.lock python scripts/client_rates.py [--repeats 1]
[--servers nginx,uvloop] [--scenarios small,close,large,notfound,mixed,range] [--duration 4]`

One server at a time (nginx with one worker, or our uvloop variant with the cache on),
pinned to CPU 0; one locust process per run, pinned to CPU 1, 50 users, closed model, HDR
listener on (as `python -m bench run` runs it). Runs are interleaved (every scenario ×
client, then again) so a shared machine's drift spreads over both clients. The rate is
locust's own count over the measured window (bench.results.locust_csv); CPU shares are
sampled over the same window (the scenarios' window mark, then the window's length), so
`locust µs/req` is locust's CPU per request and `capacity` the rate locust would reach on a
whole core of its own. nginx answers a missing path with its own 404 page, not the demo
site's, so `notfound` and `mixed`'s missing paths count as failures there (still requests).
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil

from bench.engines.locust.scenarios import SCENARIOS, WINDOW_MARK_ENV, scenario_file
from bench.results.locust_csv import LocustCsvError, read_summary
from bench.targets.nginx import NginxServer, find_nginx
from bench.targets.process import ServerProcess

PROJECT = Path(__file__).resolve().parents[1]
WARMUP_S = 2
USERS = 50
CLIENTS = ("lean", "fasthttp")
SERVERS = ("nginx", "uvloop")


@dataclass(frozen=True)
class Figure:
    """One run's figures."""

    rate: float
    failures: int
    locust_share: float
    server_share: float

    @property
    def locust_us(self) -> float:
        """Locust's CPU µs per request."""
        return self.locust_share / self.rate * 1e6 if self.rate > 0 else math.nan


@contextlib.contextmanager
def server(kind: str) -> Iterator[tuple[str, int]]:
    """(URL, PID) of a pinned server of `kind`, stopped afterwards."""
    if kind == "nginx":
        binary = find_nginx()
        if binary is None:
            sys.exit("nginx is not installed")
        with NginxServer(binary, PROJECT / "static", cpus=[0]) as running:
            yield running.url, running.pid
        return
    argv = ["--variant", kind, "--cache", "on", "--root", str(PROJECT / "static")]
    with ServerProcess(argv, cpus=[0]) as ours:
        yield ours.url, ours.pid


def cpu_s(process: psutil.Process) -> float:
    """User + system CPU of a process and its children so far."""
    total = sum(process.cpu_times()[:2])
    for child in process.children(recursive=True):
        with contextlib.suppress(psutil.Error):
            total += sum(child.cpu_times()[:2])
    return total


def run_locust(url: str, server_pid: int, scenario: str, client: str, seconds: int) -> Figure:
    """One pinned locust run; its figures over the measured window."""
    with tempfile.TemporaryDirectory() as work:
        prefix, mark = Path(work) / "locust", Path(work) / "window-mark"
        env = {**os.environ, "STATICBENCH_WARMUP": str(WARMUP_S), "STATICBENCH_HDR_DIR": work}
        env[WINDOW_MARK_ENV] = str(mark)
        argv = [
            "taskset", "-c", "1", str(Path(sys.executable).with_name("locust")),
            "-f", str(scenario_file(scenario)), "--headless", "-u", str(USERS), "-r", str(USERS),
            "-t", f"{WARMUP_S + seconds}s", "--host", url, "--client", client,
            "--csv", str(prefix), "--csv-full-history", "--only-summary", "--loglevel", "WARNING",
        ]  # fmt: skip
        with subprocess.Popen(argv, cwd=PROJECT, env=env, stderr=subprocess.DEVNULL) as locust:
            shares = _window_shares(locust, psutil.Process(server_pid), mark, seconds)
            locust.wait(timeout=seconds + 90)
        try:
            summary = read_summary(prefix, warmup_s=WARMUP_S)
        except LocustCsvError as error:  # a stalled writer on a busy machine: no figure
            print(f"no figure: {error}", file=sys.stderr)
            return Figure(math.nan, 0, math.nan, math.nan)
    return Figure(summary.requests_per_s, summary.failures, *shares)


def _window_shares(
    locust: subprocess.Popen[bytes], server: psutil.Process, mark: Path, seconds: int
) -> tuple[float, float]:
    """Locust's and the server's CPU shares from the window mark to the load's end."""
    deadline = time.monotonic() + 60
    while not mark.exists() and locust.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    process = psutil.Process(locust.pid)
    begin = (time.monotonic(), cpu_s(process), cpu_s(server))
    time.sleep(max(0.5, seconds - 0.2))  # the load stops `seconds` after the mark
    wall = time.monotonic() - begin[0]
    return (cpu_s(process) - begin[1]) / wall, (cpu_s(server) - begin[2]) / wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--servers", default=",".join(SERVERS), help="nginx, uvloop")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--duration", type=int, default=4, help="measured seconds per run")
    args = parser.parse_args()
    servers, scenarios = args.servers.split(","), args.scenarios.split(",")
    for name in (*set(servers) - set(SERVERS), *set(scenarios) - set(SCENARIOS)):
        parser.error(f"unknown server or scenario {name!r}")
    print(f"load average at start: {os.getloadavg()[0]:.2f}")
    print("| server | scenario | repeat | client | req/s | failures | locust CPU | locust µs/req "
          "| capacity req/s | server CPU | lean / fasthttp (req/s; capacity) |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for kind in servers:
        with server(kind) as (url, pid):
            for repeat in range(1, args.repeats + 1):
                for scenario in scenarios:
                    figures = {c: run_locust(url, pid, scenario, c, args.duration) for c in CLIENTS}
                    for client, figure in figures.items():
                        print(_row(kind, scenario, repeat, client, figure, figures), flush=True)
    print(f"load average at end: {os.getloadavg()[0]:.2f}")


def _row(
    kind: str, scenario: str, repeat: int, client: str, figure: Figure, both: dict[str, Figure]
) -> str:
    lean, fast = both["lean"], both["fasthttp"]
    ratio = (
        f"{lean.rate / fast.rate:.1f}×; {fast.locust_us / lean.locust_us:.1f}×"
        if client == "lean" else ""
    )  # fmt: skip
    return (
        f"| {kind} | {scenario} | {repeat} | {client} | {figure.rate:,.0f} | {figure.failures:,} "
        f"| {figure.locust_share:.0%} | {figure.locust_us:.0f} | {1e6 / figure.locust_us:,.0f} "
        f"| {figure.server_share:.0%} | {ratio} |"
    )


if __name__ == "__main__":
    main()
