"""`python -m server` as a user runs it: --help, user errors, the ready line, IPv6, --stats-dir."""

from __future__ import annotations

import contextlib
import gc
import json
import selectors
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from bench.targets.process import ChildStartError, ServerProcess
from server.variants import VARIANTS
from tests.conftest import PROJECT, each_style, each_style_cache, variant_params
from tests.rawhttp import parse_responses, read_until_closed, request
from tests.serverchecks import checked_server

OPTIONS = [
    "--variant", "--cache", "--host", "--port", "--root", "--workers", "--backlog", "--threads",
    "--max-connections", "--head-timeout", "--keepalive-timeout", "--send-timeout", "--grace",
    "--cache-max-age", "--cache-max-entries", "--cache-max-bytes", "--stream-threshold",
    "--stats-dir",
]  # fmt: skip


def run_server(*args: str, timeout: float = 10.0) -> subprocess.CompletedProcess[str]:
    """Run `python -m server` to completion (for runs that must exit on their own)."""
    return subprocess.run(
        [sys.executable, "-m", "server", *args],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_help_lists_every_option() -> None:
    done = run_server("--help")
    assert done.returncode == 0
    missing = [option for option in OPTIONS if option not in done.stdout]
    assert missing == []
    assert all(name in done.stdout for name in VARIANTS)
    assert "(default: None)" not in done.stdout  # options without a default say their own
    assert "(default: asyncio)" in done.stdout  # the others show theirs


def assert_one_line_error(done: subprocess.CompletedProcess[str], *mentions: str) -> None:
    """Exit code 2 and exactly one readable line on stderr that names the problem."""
    assert done.returncode == 2, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert "Traceback" not in done.stderr
    for mention in mentions:
        assert mention in lines[0]
    assert "listening on" not in done.stdout


USER_ERRORS = {
    "unknown_variant": (["--variant", "nope"], ["--variant", "nope"]),
    "cache_maybe": (["--cache", "maybe"], ["--cache", "maybe"]),
    "port_too_big": (["--port", "70000"], ["--port", "70000"]),
    "port_not_a_number": (["--port", "abc"], ["--port", "abc"]),
    "zero_workers": (["--workers", "0"], ["--workers", "0"]),
    "missing_root": (["--root", "/no/such/dir"], ["/no/such/dir"]),
    "missing_stats_dir": (["--stats-dir", "/no/such/dir"], ["/no/such/dir"]),
}


@pytest.mark.parametrize(("args", "mentions"), USER_ERRORS.values(), ids=USER_ERRORS.keys())
def test_user_error_exits_2_with_one_line(args: list[str], mentions: list[str]) -> None:
    assert_one_line_error(run_server("--port", "0", *args), *mentions)


@pytest.mark.parametrize("workers", ["1", "2"])
def test_port_in_use_exits_2_with_one_line(workers: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = str(taken.getsockname()[1])
        done = run_server("--port", port, "--workers", workers, "--root", "static")
    assert_one_line_error(done, port, "in use")


def test_server_process_reports_a_failed_start() -> None:
    with contextlib.ExitStack() as stack, pytest.raises(ChildStartError) as failed:
        stack.enter_context(ServerProcess(["--root", "/no/such/dir"]))
    assert str(failed.value).startswith("python -m server exited (2): ")  # ours, not "python"
    assert "root directory" in str(failed.value)
    gc.collect()  # a leaked stderr file would surface here as an (erroring) ResourceWarning


def first_line_then_stop(args: list[str], timeout: float = 10.0) -> tuple[str, int]:
    """Start the server, take its first stdout line, SIGTERM it; returns (line, exit code)."""
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(
            [sys.executable, "-m", "server", *args],
            cwd=PROJECT,
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
        )
        assert process.stdout is not None
        try:
            with selectors.DefaultSelector() as selector:
                selector.register(process.stdout, selectors.EVENT_READ)
                line = process.stdout.readline() if selector.select(timeout) else ""
        finally:
            process.send_signal(signal.SIGTERM)
            code = process.wait(timeout)
            process.stdout.close()
    return line.rstrip("\n"), code


@pytest.mark.parametrize("variant_cache", variant_params())
def test_ready_line_format(variant_cache: tuple[str, str]) -> None:
    variant, cache = variant_cache
    args = ["--port", "0", "--variant", variant, "--cache", cache, "--root", "static"]
    line, code = first_line_then_stop(args)
    prefix = "listening on http://127.0.0.1:"
    assert line.startswith(prefix), line
    port, _, rest = line.removeprefix(prefix).partition(" ")
    assert 0 < int(port) < 65536
    reader = VARIANTS[variant].readers[0]
    assert rest == f"(variant={variant}, cache={cache}, reader={reader}, workers=1)"
    assert code == 0


@pytest.mark.parametrize(
    ("option", "value", "said"),
    [
        ("--cache", "alru", "has no --cache alru"),
        ("--reader", "aiofile", "has no --reader aiofile"),
    ],
)
def test_a_mode_the_variant_lacks_is_a_clear_error(option: str, value: str, said: str) -> None:
    """threaded reads in its own pool threads and has no async cache: exit 2, one line."""
    args = ["--port", "0", "--variant", "threaded", option, value, "--root", "static"]
    done = subprocess.run(
        [sys.executable, "-m", "server", *args], capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 2
    assert said in done.stderr
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def ipv6_loopback() -> bool:
    """Whether this machine can listen on ::1."""
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.mark.skipif(not ipv6_loopback(), reason="no IPv6 loopback on this machine")
@pytest.mark.parametrize("variant", each_style())
def test_ipv6_host(variant: str) -> None:
    with checked_server(["--variant", variant, "--host", "::1", "--root", "static"]) as running:
        assert running.url.startswith("http://[::1]:")
        with socket.create_connection(("::1", running.port), timeout=5) as sock:
            sock.sendall(b"GET /index.html HTTP/1.1\r\nHost: [::1]\r\nConnection: close\r\n\r\n")
            (response,) = parse_responses(read_until_closed(sock))
    assert response.status == 200


def read_stats(path: Path, newer_than: float = 0.0, timeout: float = 5.0) -> dict[str, object]:
    """The stats file once it exists with a modification time after `newer_than`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.stat().st_mtime > newer_than:
            record: dict[str, object] = json.loads(path.read_text(encoding="utf-8"))
            return record
        time.sleep(0.02)
    pytest.fail(f"{path} not written within {timeout} s")


def counters(record: dict[str, object]) -> tuple[object, ...]:
    """The counters this test controls."""
    return tuple(record[key] for key in ("requests", "cache_hits", "cache_misses"))


def cached_cells() -> list[object]:
    """One variant per style with each cache mode it has, the cache off aside."""
    return [param for param in each_style_cache() if param.values[0][1] != "off"]


@pytest.mark.parametrize("cell", cached_cells())
def test_stats_dir_on_sigusr1_and_at_exit(cell: tuple[str, str], tmp_path: Path) -> None:
    """The counters (hits and misses for both caches) and which variant, cache and reader."""
    variant, cache = cell
    args = ["--variant", variant, "--cache", cache, "--root", "static"]
    with checked_server([*args, "--stats-dir", str(tmp_path)]) as running:
        targets = ["/index.html"] * 3 + ["/css/style.css"] * 2  # 2 misses, then 3 hits
        assert [request(running.port, target).status for target in targets] == [200] * 5
        path = tmp_path / f"stats-{running.pid}.json"
        running.signal(signal.SIGUSR1)
        on_signal = read_stats(path)
        assert running.process is not None
        assert running.process.poll() is None  # SIGUSR1 only writes, never stops
        assert request(running.port, "/index.html").status == 200
        written = path.stat().st_mtime
        time.sleep(0.02)  # a rewrite must be visible as a newer modification time
        assert running.stop() == 0
    at_exit = read_stats(path, newer_than=written)
    names = (on_signal["pid"], on_signal["variant"], on_signal["cache"], on_signal["reader"])
    assert names == (running.pid, variant, cache, VARIANTS[variant].readers[0])
    assert counters(on_signal) == (5, 3, 2)
    assert counters(at_exit) == (6, 4, 2)


@pytest.mark.parametrize("variant", each_style())
def test_unwritable_stats_dir_is_logged_not_fatal(variant: str, tmp_path: Path) -> None:
    stats_dir = tmp_path / "stats"
    stats_dir.mkdir()
    args = ["--variant", variant, "--root", "static", "--stats-dir", str(stats_dir)]
    with checked_server(args, expected=["ERROR cannot write stats to "]) as running:
        stats_dir.rmdir()  # the directory vanishes under the running server
        running.signal(signal.SIGUSR1)
        time.sleep(0.2)
        assert request(running.port, "/index.html").status == 200
        assert running.stop() == 0
        logged = running.stderr()
    lines = logged.splitlines()
    assert len(lines) == 2, logged  # one for SIGUSR1, one at exit
    assert all("cannot write stats" in line for line in lines)
