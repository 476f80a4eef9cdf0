"""Ctrl-C during `python -m bench run`, for real: the trial's server and locust stop, the run
says `interrupted`, exits 130 and still builds its report. While the trial runs, the server
and locust are pinned apart as the plan line says (server the first CPU, load the rest)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from tests.conftest import PROJECT

START_LIMIT_S = 60.0  # until the trial's server and locust both run, on a busy machine
# From Ctrl-C to exit: stop the trial, then build the report (pandas, matplotlib), which took
# over 60 s with a busy loop on each core.
STOP_LIMIT_S = 180.0


def bench_children(bench: psutil.Process) -> tuple[psutil.Process | None, psutil.Process | None]:
    """The trial's server and locust processes, when they run."""
    server = locust = None
    for child in bench.children(recursive=True):
        try:
            line = " ".join(child.cmdline())
        except psutil.Error:
            continue
        if " -m server " in f"{line} ":
            server = child
        elif "locust" in line and "--headless" in line:
            locust = child
    return server, locust


def sigint_disposition(pid: int) -> str:
    """How process `pid` takes SIGINT, from /proc: ignored (inherited SIG_IGN), caught or
    default. A run that ignores Ctrl-C was seen once here, in a two-worker suite."""
    fields = dict(
        line.split(":\t", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
        if ":\t" in line
    )  # fmt: skip
    bit = 1 << (signal.SIGINT - 1)
    if int(fields["SigIgn"], 16) & bit:
        return "ignored"
    return "caught" if int(fields["SigCgt"], 16) & bit else "default"


def wait_for_trial(bench: psutil.Process) -> tuple[psutil.Process, psutil.Process]:
    deadline = time.monotonic() + START_LIMIT_S
    while time.monotonic() < deadline:
        server, locust = bench_children(bench)
        if server is not None and locust is not None:
            return server, locust
        time.sleep(0.1)
    pytest.fail(f"no server and locust within {START_LIMIT_S} s")


@pytest.mark.timeout(START_LIMIT_S + STOP_LIMIT_S + 30)
@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="pinning needs at least 2 CPUs")
def test_ctrl_c_stops_the_trial_records_interrupted_and_builds_the_report(
    tmp_path: Path,
) -> None:
    cpus = sorted(os.sched_getaffinity(0))
    out = tmp_path / "reports"
    argv = [
        sys.executable, "-m", "bench", "run", "--variants", "asyncio", "--cache", "on",
        "--scenarios", "small", "--users", "2", "--duration", "30", "--warmup", "1",
        "--repeat", "2", "--out", str(out),
    ]  # fmt: skip
    # As a terminal starts it: Ctrl-C at its default. A shell's background job (`pytest &`)
    # ignores SIGINT, a disposition children inherit, and then Python ignores Ctrl-C too.
    process = subprocess.Popen(
        argv, cwd=PROJECT, stdout=subprocess.PIPE, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )  # fmt: skip
    bench = psutil.Process(process.pid)
    try:
        server, locust = wait_for_trial(bench)
        assert server.cpu_affinity() == cpus[:1]
        assert locust.cpu_affinity() == cpus[1:]
        disposition = sigint_disposition(process.pid)
        process.send_signal(signal.SIGINT)  # what the terminal's Ctrl-C sends
        stdout, _ = process.communicate(timeout=STOP_LIMIT_S)
    finally:
        for child in [*bench.children(recursive=True), bench] if process.poll() is None else []:
            child.kill()
        process.wait()
        assert process.stdout is not None
        process.stdout.close()
    assert process.returncode == 130, f"SIGINT {disposition} in bench run: {stdout[-2000:]}"
    assert not server.is_running()
    assert not locust.is_running()
    (run,) = (path for path in out.iterdir() if path.is_dir() and not path.is_symlink())
    assert json.loads((run / "run.json").read_text())["interrupted"] is True
    assert (run / "report.html").is_file()
    assert (run / "results.csv").is_file()
