"""Real locust runs of the scenarios on both clients: the same counts on a correct server,
the same failures on a faulty one, and distributed runs with remote workers.

The open model (`--user-rate`) fixes the offered load, so both clients must count the
same number of requests in the same time, whatever their own speed.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.engines.locust.latency import load, merge_directory
from bench.results.locust_csv import read_summary
from bench.targets.process import PinnedProcess, ServerProcess, free_port
from tests.bench.scripted_server import ScriptedServer, response
from tests.conftest import PROJECT

pytestmark = pytest.mark.slow

LOCUST = str(Path(sys.executable).with_name("locust"))
USERS, USER_RATE, SECONDS = 5, 20.0, 4  # 100 requests/s planned: fasthttp kept 145/s under load
PAGE = (PROJECT / "static" / "index.html").read_bytes()


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    with ServerProcess(["--variant", "asyncio", "--root", str(PROJECT / "static")]) as running:
        yield running


def locust_argv(scenario: str, url: str, out: Path, *extra: str) -> list[str]:
    """One headless run in the open model; its histograms and CSV files go to `out`."""
    return [
        LOCUST, "-f", f"bench/engines/locust/scenarios/{scenario}.py", "--headless",
        "-u", str(USERS),
        "-r", str(USERS), "-t", f"{SECONDS}s", "--host", url, "--user-rate", str(USER_RATE),
        "--csv", str(out / "locust"), "--only-summary", "--loglevel", "WARNING", *extra,
    ]  # fmt: skip


def side_by_side(
    runs: dict[str, tuple[str, str, Path, tuple[str, ...]]],
) -> dict[str, subprocess.CompletedProcess[str]]:
    """Locust runs (scenario, url, out, extra options) at once, each as `locust_argv` says;
    none outlives the call."""
    started: dict[str, subprocess.Popen[str]] = {}
    try:
        for key, (scenario, url, out, extra) in runs.items():
            out.mkdir()
            env = {**os.environ, "STATICBENCH_HDR_DIR": str(out)}
            started[key] = subprocess.Popen(
                locust_argv(scenario, url, out, *extra), cwd=PROJECT, env=env, text=True,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            )  # fmt: skip
        done = {}
        for key, process in started.items():
            said, logged = process.communicate(timeout=90)
            done[key] = subprocess.CompletedProcess(process.args, process.returncode, said, logged)
        return done
    finally:
        for process in started.values():
            if process.poll() is None:
                process.kill()
                process.wait()


def locust(scenario: str, url: str, out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """One headless run in the open model; its histograms and CSV files go to `out`."""
    return side_by_side({"run": (scenario, url, out, extra)})["run"]


@pytest.mark.parametrize("scenario", ["small", "mixed", "range", "close"])
def test_both_clients_count_the_same_on_a_correct_server(
    server: ServerProcess, tmp_path: Path, scenario: str
) -> None:
    # Both clients at once (400 requests/s together): the same offered load, measured at the
    # same time on the same machine.
    runs = side_by_side({
        client: (scenario, server.url, tmp_path / client, ("--client", client))
        for client in ("lean", "fasthttp")
    })  # fmt: skip
    counts = {}
    for client, done in runs.items():
        assert done.returncode == 0, done.stderr[-2000:]  # 1 would mean failed requests
        summary = read_summary(tmp_path / client / "locust", warmup_s=0)
        assert summary.failures == 0
        counts[client] = int((tmp_path / client / "locust-total.txt").read_text())
        assert merge_directory(tmp_path / client).get_total_count() == counts[client]
    planned = USERS * USER_RATE * SECONDS
    assert counts["lean"] == pytest.approx(counts["fasthttp"], rel=0.1)
    assert counts["lean"] == pytest.approx(planned, rel=0.25)  # start-up and stop ramps


def test_mixed_sees_304s_on_the_lean_client(server: ServerProcess, tmp_path: Path) -> None:
    done = locust("mixed", server.url, tmp_path / "run", "--client", "lean")
    assert done.returncode == 0, done.stderr[-2000:]
    stats = (tmp_path / "run" / "locust_stats.csv").read_text()
    assert "(304)" in stats  # revisits sent the ETag the user saw and got 304s


@pytest.mark.parametrize("client", ["lean", "fasthttp"])
def test_a_200_for_a_missing_page_fails_every_request(
    original_blog: PinnedProcess, tmp_path: Path, client: str
) -> None:
    # The original blog answers 200 for a missing file, without a Content-Length.
    done = locust("notfound", original_blog.url, tmp_path / "run", "--client", client)
    summary = read_summary(tmp_path / "run" / "locust", warmup_s=0)
    assert done.returncode == 1  # locust's "some requests failed"
    assert summary.requests > 0
    assert summary.failures == summary.requests


def _heads_server(heads: list[bytes]) -> ScriptedServer:
    """A server of the 1 KiB page that keeps every request head it saw."""

    def reply(connection: socket.socket, number: int, head: bytes) -> bool:
        heads.append(head)
        connection.sendall(response(PAGE))
        return True

    return ScriptedServer(reply)


@pytest.mark.parametrize("client", ["lean", "fasthttp"])
def test_remote_workers_run_the_masters_client_and_their_counts_add_up(
    tmp_path: Path, client: str
) -> None:
    # The master listens on 127.0.0.2 (as for another machine); two workers start the way
    # a second machine would start them, knowing only the file and the master's address.
    heads: list[bytes] = []
    port = str(free_port())
    env = {**os.environ, "STATICBENCH_HDR_DIR": str(tmp_path)}
    worker = [
        LOCUST, "-f", "bench/engines/locust/scenarios/small.py", "--worker",
        "--master-host", "127.0.0.2",
        "--master-port", port, "--loglevel", "WARNING",
    ]  # fmt: skip
    with _heads_server(heads) as target:
        master = [
            LOCUST, "-f", "bench/engines/locust/scenarios/small.py", "--headless", "--master",
            "--master-bind-host", "127.0.0.2", "--master-bind-port", port,
            "--expect-workers", "2", "--expect-workers-max-wait", "60", "-u", "10", "-r", "10",
            "-t", f"{SECONDS}s", "--host", f"http://127.0.0.1:{target.port}",
            "--user-rate", "20", "--client", client, "--only-summary", "--loglevel", "WARNING",
        ]  # fmt: skip
        with (
            subprocess.Popen(master, cwd=PROJECT, env=env, stderr=subprocess.PIPE) as boss,
            subprocess.Popen(worker, cwd=PROJECT, env=env) as first,
            subprocess.Popen(worker, cwd=PROJECT, env=env) as second,
        ):
            try:
                _, stderr = boss.communicate(timeout=120)
            finally:
                for process in (boss, first, second):
                    if process.poll() is None:
                        process.terminate()
                first.wait(30)
                second.wait(30)
    assert boss.returncode == 0, stderr[-2000:]
    histograms = sorted(tmp_path.glob("*.hdr"))
    assert len(histograms) == 3  # the master's is empty
    counts = sorted(load(path).get_total_count() for path in histograms)
    assert counts[0] == 0
    assert counts[1] > 0
    assert counts[2] > 0
    total = int((tmp_path / "locust-total.txt").read_text())
    recorded = merge_directory(tmp_path).get_total_count()
    assert sum(counts) == recorded
    assert 0 < total <= recorded  # the master may miss its workers' last reports (busy machine)
    assert len(heads) >= recorded  # the server saw every request the workers recorded
    agents = {b"user-agent:" in head.lower() for head in heads}
    assert agents == ({False} if client == "lean" else {True})  # geventhttpclient sends one
