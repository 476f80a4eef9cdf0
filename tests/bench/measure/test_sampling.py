"""Process-tree sampling and the server's own counters, on real processes."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.measure.sampling import TreeSampler, server_counters
from tests.conftest import PROJECT
from tests.rawhttp import request
from tests.serverchecks import checked_server

BURN = "import time\nwhile time.process_time() < 0.6: pass"  # 0.6 s of CPU, however long
IDLE = "import time; time.sleep(1.5)"


def _sampled_and_true_cpu(code: str) -> tuple[float, float]:
    """CPU seconds the sampler saw, and what the kernel says the child (tree) used."""
    child = subprocess.Popen([sys.executable, "-c", code])
    sampler = TreeSampler(child.pid, interval=0.02)
    sampler.begin()
    _, _, rusage = os.wait4(child.pid, 0)  # includes the child's waited-for children
    child.returncode = 0  # reaped above; keep Popen from waiting again
    usage = sampler.end()
    return usage.cpu_s, rusage.ru_utime + rusage.ru_stime


def test_cpu_time_matches_the_kernels_account() -> None:
    sampled, true = _sampled_and_true_cpu(BURN)
    assert true > 0.6
    assert true * 0.8 <= sampled <= true * 1.05  # the last 20 ms before exit may be unseen


def test_children_are_counted() -> None:
    code = f"import subprocess, sys\nsubprocess.run([sys.executable, '-c', {BURN!r}])"
    sampled, true = _sampled_and_true_cpu(code)
    assert true > 0.6
    assert sampled >= true * 0.8  # the busy grandchild, not just the waiting parent


def test_an_idle_process_uses_almost_none_and_has_a_footprint() -> None:
    child = subprocess.Popen([sys.executable, "-c", IDLE])
    try:
        time.sleep(0.3)  # past the interpreter's start-up
        sampler = TreeSampler(child.pid, interval=0.05)
        sampler.begin()
        time.sleep(0.5)
        usage = sampler.end()
    finally:
        child.kill()
        child.wait()
    assert usage.share(1) < 0.1
    assert usage.peak_rss_bytes > 1_000_000
    assert usage.peak_threads >= 1
    assert usage.peak_fds >= 3


@pytest.mark.parametrize("cache", ["on", "off"])
def test_server_counters_match_what_was_sent(tmp_path: Path, cache: str) -> None:
    args = ["--cache", cache, "--root", str(PROJECT / "static"), "--stats-dir", str(tmp_path)]
    with checked_server(args) as server:
        before = server_counters(server.pid, tmp_path)
        for _ in range(7):
            assert request(server.port, "/index.html").status == 200
        after = server_counters(server.pid, tmp_path)
    assert after.requests - before.requests == 7
    hits = after.cache_hits - before.cache_hits
    misses = after.cache_misses - before.cache_misses
    assert (
        (hits, misses) == ((7, 0) if before.cache_misses else (6, 1)) if cache == "on" else (0, 0)
    )
