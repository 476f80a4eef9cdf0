"""The scenarios' own task loop (StaticUser.run_tasks) under real locust runs: it yields to
locust even when no request blocks, and a graceful stop ends it after the current request.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.results.locust_csv import read_summary
from bench.targets.process import ServerProcess
from tests.conftest import PROJECT

pytestmark = pytest.mark.slow

LOCUST = str(Path(sys.executable).with_name("locust"))
# A header value latin-1 cannot encode: the lean client fails while building the request,
# before any I/O, so nothing in the request ever yields to gevent's hub.
NEVER_BLOCKS = """
from locust import task
from bench.engines.locust.scenarios.base import StaticUser

class NeverBlocks(StaticUser):
    @task
    def unsendable(self) -> None:
        self.expect("/", 200, 1, headers={"X-Price": "\\u20ac"})
"""


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    with ServerProcess(["--variant", "asyncio", "--root", str(PROJECT / "static")]) as running:
        yield running


def run(locustfile: Path, url: str, out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """A headless closed-model run of 2 s (60 s at most before the test fails)."""
    argv = [
        LOCUST, "-f", str(locustfile), "--headless", "-u", "4", "-r", "4", "-t", "2s",
        "--host", url, "--csv", str(out / "locust"), "--only-summary", *extra,
    ]  # fmt: skip
    return subprocess.run(argv, cwd=PROJECT, capture_output=True, text=True, timeout=60)


def test_users_whose_requests_never_block_still_let_locust_stop_the_run(
    server: ServerProcess, tmp_path: Path
) -> None:
    # Without the loop's periodic yield the first user would spin forever: locust's
    # --run-time timer would never fire and the run would hit the 60 s timeout.
    locustfile = tmp_path / "never_blocks.py"
    locustfile.write_text(NEVER_BLOCKS, encoding="utf-8")
    done = run(locustfile, server.url, tmp_path, "--loglevel", "WARNING")
    assert done.returncode == 1, done.stderr[-2000:]  # every request failed, and it ended
    summary = read_summary(tmp_path / "locust", warmup_s=0)
    assert summary.requests > 0
    assert summary.failures == summary.requests


def test_a_graceful_stop_ends_each_user_after_its_current_request(
    server: ServerProcess, tmp_path: Path
) -> None:
    # With --stop-timeout locust asks users to stop (state "stopping") and waits for them;
    # a loop that ignored it would run on until the timeout and be killed, which locust logs.
    small = PROJECT / "bench" / "engines" / "locust" / "scenarios" / "small.py"
    done = run(small, server.url, tmp_path, "--stop-timeout", "30", "--loglevel", "INFO")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Not all users finished" not in done.stderr
    summary = read_summary(tmp_path / "locust", warmup_s=0)
    assert summary.requests > 0
    assert summary.failures == 0
