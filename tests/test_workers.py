"""`--workers 2`: one ready line, both processes serve the shared port, all stop on SIGTERM."""

from __future__ import annotations

import json
import signal
import sys
import time
from pathlib import Path

import psutil
import pytest

from bench.targets.process import ServerProcess
from tests.conftest import each_style
from tests.rawhttp import request
from tests.serverchecks import checked_server

WORKERS = 2
CONNECTIONS = 200


def stats_by_pid(directory: Path, count: int, timeout: float = 5.0) -> dict[int, dict[str, int]]:
    """The stats files in `directory`, keyed by pid, once `count` of them exist."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        paths = sorted(directory.glob("stats-*.json"))
        if len(paths) >= count:
            records = [json.loads(path.read_text(encoding="utf-8")) for path in paths]
            return {record["pid"]: record for record in records}
        time.sleep(0.02)
    pytest.fail(f"{count} stats files not written within {timeout} s")


def still_running(processes: list[psutil.Process], timeout: float = 5.0) -> list[psutil.Process]:
    """Those of `processes` that have not exited within `timeout` (a zombie has exited)."""
    deadline = time.monotonic() + timeout
    running = list(processes)
    while running and time.monotonic() < deadline:
        running = [process for process in running if not has_exited(process)]
        time.sleep(0.02)
    return running


def has_exited(process: psutil.Process) -> bool:
    """True once the process is gone or a zombie waiting to be reaped (by init, if orphaned)."""
    try:
        return process.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


@pytest.mark.parametrize("variant", each_style())
def test_two_workers_share_the_port_and_stop_together(
    variant: str, site: Path, tmp_path: Path
) -> None:
    args = ["--variant", variant, "--root", str(site), "--workers", str(WORKERS)]
    with checked_server([*args, "--stats-dir", str(tmp_path)]) as running:
        assert running.process is not None
        assert running.process.stdout is not None
        children = psutil.Process(running.pid).children(recursive=True)
        assert len(children) == WORKERS
        statuses = [request(running.port, "/index.html").status for _ in range(CONNECTIONS)]
        assert statuses == [200] * CONNECTIONS
        running.signal(signal.SIGUSR1)  # the supervisor hands it on to every worker
        assert set(stats_by_pid(tmp_path, WORKERS)) == {child.pid for child in children}
        assert running.process.poll() is None
        running.signal(signal.SIGTERM)
        exit_code = running.process.wait(10)
        later_output = running.process.stdout.read()
    assert exit_code == 0
    assert "listening on" not in later_output  # the ready line came once, from the supervisor
    assert still_running(children) == []
    served = {pid: record["requests"] for pid, record in stats_by_pid(tmp_path, WORKERS).items()}
    assert sum(served.values()) == CONNECTIONS
    assert all(count > 0 for count in served.values()), f"a worker served nothing: {served}"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="parent-death signal is Linux's")
@pytest.mark.parametrize("variant", each_style())
def test_workers_stop_when_the_supervisor_is_killed(variant: str, site: Path) -> None:
    args = ["--variant", variant, "--root", str(site), "--workers", str(WORKERS)]
    with ServerProcess(args) as running:
        children = psutil.Process(running.pid).children(recursive=True)
        assert len(children) == WORKERS
        running.signal(signal.SIGKILL)
        orphans = still_running(children)
        for orphan in orphans:  # never leave one behind, even when the test fails
            orphan.kill()
    assert orphans == []
