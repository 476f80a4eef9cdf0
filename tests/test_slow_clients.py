"""Slow, stalled and departing clients, for every variant and both send paths.

A stalled client is one whose send makes no progress for --send-timeout: it is dropped on
every send path (sendfile, copy) while a steady slow reader is never cut; slow readers cost
little memory; a client that leaves is counted, never logged as an error, and never turns
sendfile off; the request counter counts every completed response. Each test drives a real
server process over real sockets and reads its counters (SIGUSR1 → --stats-dir).
"""

from __future__ import annotations

import hashlib
import json
import signal
import socket
import struct
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import psutil
import pytest

from bench.targets.process import ServerProcess
from tests.conftest import each_style, each_variant, one_request_per_connection
from tests.pace import pace
from tests.rawhttp import connect, parse_responses

SEND_TIMEOUT = 1.0
# Deadlines are swept once a second; allow that tick plus a busy 2-core machine's noise.
DEADLINE_SLACK = 3.0
BIG_FILE = "/generated/1m.bin"
SEND_PATHS = ["on", "off"]
ANSWER_LIMIT_S = 5.0  # how long a new client waits for its answer (not a bound)
# --sendfile: os.sendfile, or the copy through a small buffer


def get(target: str, *, close: bool = False) -> bytes:
    """The bytes of a GET request."""
    connection = "Connection: close\r\n" if close else ""
    return f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n{connection}\r\n".encode("latin-1")


@contextmanager
def serving(variant: str, root: Path, tmp_path: Path, *options: str) -> Iterator[ServerProcess]:
    """A server of `variant` on `root` that writes its counters to `tmp_path`."""
    args = ["--variant", variant, "--root", str(root), "--stats-dir", str(tmp_path), *options]
    with ServerProcess(args) as running:
        yield running


def counters(running: ServerProcess, directory: Path, timeout: float = 5.0) -> dict[str, Any]:
    """The server's counters right now (asks with SIGUSR1, waits for a fresh file)."""
    path = directory / f"stats-{running.pid}.json"
    before = path.stat().st_mtime_ns if path.exists() else 0
    running.signal(signal.SIGUSR1)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.stat().st_mtime_ns != before:
            record: dict[str, Any] = json.loads(path.read_text())
            return record
        time.sleep(0.02)
    pytest.fail(f"no counters written within {timeout} s")


def stalled_reader(port: int, requests: int, target: str = BIG_FILE) -> socket.socket:
    """A client that pipelines `requests` GETs and never reads (a small receive window)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 * 1024)
    sock.settimeout(5)
    sock.connect(("127.0.0.1", port))
    sock.sendall(get(target) * requests)
    return sock


def drain(sock: socket.socket, timeout: float) -> tuple[int, bool]:
    """Read to the end: (bytes read, whether the server ended the connection in time)."""
    deadline, total = time.monotonic() + timeout, 0
    while time.monotonic() < deadline:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            chunk = sock.recv(1 << 16)
        except TimeoutError:
            return total, False
        except ConnectionResetError:
            return total, True
        if not chunk:
            return total, True
        total += len(chunk)
    return total, False


def reset(sock: socket.socket) -> None:
    """Leave abruptly: close with RST, as a killed client or a wrk run's end does."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def big_file(root: Path, megabytes: int) -> tuple[str, bytes]:
    """A file of `megabytes` MiB under `root`: (URL path, contents)."""
    data = hashlib.sha256(b"seed").digest() * (megabytes * 32768)
    (root / f"big-{megabytes}m.bin").write_bytes(data)
    return f"/big-{megabytes}m.bin", data


@pytest.fixture
def root(tmp_path: Path, site: Path) -> Path:
    """A small private site: one page and the suite's 1 MiB file."""
    directory = tmp_path / "root"
    (directory / "generated").mkdir(parents=True)
    (directory / "index.html").write_bytes((site / "index.html").read_bytes())
    (directory / "generated" / "1m.bin").write_bytes((site / "generated" / "1m.bin").read_bytes())
    return directory


# -- stalled readers ---------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("variant", each_style())
def test_stalled_readers_are_dropped_after_the_send_timeout_on_both_send_paths(
    variant: str, root: Path, tmp_path: Path
) -> None:
    target, _ = big_file(root, 16)  # more than the kernel's socket buffers hold
    with ExitStack() as stack:
        stalled = {}
        for path in SEND_PATHS:  # both send paths at once, to keep the test short
            (tmp_path / path).mkdir()
            options = ["--send-timeout", str(SEND_TIMEOUT), "--sendfile", path]
            running = stack.enter_context(serving(variant, root, tmp_path / path, *options))
            stalled[path] = (running, [stalled_reader(running.port, 1, target) for _ in range(3)])
            for sock in stalled[path][1]:
                stack.callback(sock.close)
        # Never reading meanwhile: until both servers count their 3 timeouts, or at most
        # as long as they may take (the counters are asked, never read from the sockets).
        deadline = time.monotonic() + SEND_TIMEOUT + DEADLINE_SLACK
        while time.monotonic() < deadline and any(
            counters(running, tmp_path / path)["send_timeouts"] < 3
            for path, (running, _) in stalled.items()
        ):
            time.sleep(0.1)
        for path, (running, socks) in stalled.items():
            ended = [drain(sock, DEADLINE_SLACK) for sock in socks]
            assert all(done for _, done in ended), (path, ended)
            assert all(received < 16 * 1024 * 1024 for received, _ in ended), (path, ended)
            stats = counters(running, tmp_path / path)
            assert stats["send_timeouts"] == 3, (path, stats)
            assert stats["internal_errors"] == 0, (path, stats)


@pytest.mark.parametrize("variant", each_variant())
def test_more_stalled_readers_than_threads_do_not_block_a_new_client(
    variant: str, root: Path, tmp_path: Path
) -> None:
    threads = 4
    with serving(variant, root, tmp_path, "--threads", str(threads)) as running:
        # A client behind blocked threads waits for the send timeout (30 s) or our read's 5 s.
        bound = pace(running.port).bound(below=ANSWER_LIMIT_S)
        requests = 1 if one_request_per_connection(variant) else 8
        stalled = [stalled_reader(running.port, requests) for _ in range(3 * threads)]
        try:
            time.sleep(0.5)  # let the server fill its buffers and block on them
            for _ in range(5):
                began = time.monotonic()
                with connect(running.port) as sock:
                    sock.sendall(get("/index.html", close=True))
                    answer, done = drain(sock, ANSWER_LIMIT_S)
                took = time.monotonic() - began
                assert (answer > 0, done, took < bound) == (True, True, True), (took, bound)
        finally:
            for sock in stalled:
                sock.close()


# -- a steady slow reader --------------------------------------------------------------------

READ_RATE = 2 * 1024 * 1024  # bytes per second
SLOW_TIMEOUT = 2.0


def read_steadily(port: int, target: str, rate: int, timeout: float) -> bytes:
    """Download `target` at about `rate` bytes per second (small window, paced reads)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
    sock.settimeout(timeout)
    with sock:
        sock.connect(("127.0.0.1", port))
        sock.sendall(get(target, close=True))
        began, chunks, total = time.monotonic(), [], 0
        while chunk := sock.recv(32 * 1024):
            chunks.append(chunk)
            total += len(chunk)
            ahead = total / rate - (time.monotonic() - began)
            if ahead > 0:
                time.sleep(ahead)
        return b"".join(chunks)


@pytest.mark.slow
@pytest.mark.parametrize("variant", each_style())
def test_a_steady_slow_reader_gets_a_file_that_takes_longer_than_the_send_timeout(
    variant: str, root: Path, tmp_path: Path
) -> None:
    target, expected = big_file(root, 9)  # ~4.5 s at 2 MB/s, over twice the send timeout
    results: dict[str, bytes] = {}
    with ExitStack() as servers:
        ports = {}
        for path in SEND_PATHS:  # both send paths at once, to keep the test short
            (tmp_path / path).mkdir()
            options = ["--send-timeout", str(SLOW_TIMEOUT), "--sendfile", path]
            ports[path] = servers.enter_context(
                serving(variant, root, tmp_path / path, *options)
            ).port

        def download(path: str) -> None:
            results[path] = read_steadily(ports[path], target, READ_RATE, 30.0)

        readers = [threading.Thread(target=download, args=(path,)) for path in SEND_PATHS]
        for reader in readers:
            reader.start()
        for reader in readers:
            reader.join(40.0)
    for path in SEND_PATHS:
        (response,) = parse_responses(results.get(path, b""))
        assert response.status == 200, path
        assert hashlib.sha256(response.body).digest() == hashlib.sha256(expected).digest(), path


# -- memory -----------------------------------------------------------------------------------

SLOW_READERS = 100
# Per slow reader of a large file: sendfile holds no body bytes in the process, only the
# connection's objects (a few KiB); the copy path holds one 64 KiB chunk plus at most the
# transport's 64 KiB high-water mark. Bounds with headroom for allocator noise:
RSS_PER_READER = {"on": 48 * 1024, "off": 256 * 1024}


def rss(running: ServerProcess) -> int:
    """The server process's resident set size in bytes."""
    return int(psutil.Process(running.pid).memory_info().rss)


@pytest.mark.slow
@pytest.mark.parametrize("sendfile", SEND_PATHS, ids=lambda on: f"sendfile_{on}")
@pytest.mark.parametrize("variant", each_style())
def test_slow_readers_cost_little_memory_and_give_it_back(
    variant: str, sendfile: str, root: Path, tmp_path: Path
) -> None:
    target, _ = big_file(root, 8)
    options = ["--sendfile", sendfile, "--threads", "8", "--max-connections", "1000"]
    with serving(variant, root, tmp_path, *options) as running:
        for _ in range(3):  # warm up: the first responses import and allocate what they need
            assert len(download(running.port, target)) == 8 * 1024 * 1024
        before = rss(running)
        readers = [stalled_reader(running.port, 1, target) for _ in range(SLOW_READERS)]
        try:
            time.sleep(1.5)  # every response started and blocked on its reader
            held = rss(running) - before
        finally:
            for sock in readers:
                reset(sock)
        time.sleep(1.0)
        after = rss(running) - before
    bound = SLOW_READERS * RSS_PER_READER[sendfile]
    assert held < bound, f"{held / SLOW_READERS / 1024:.0f} KiB per slow reader"
    assert after < bound, f"{after / 1024 / 1024:.1f} MB still held after the readers left"


# -- clients that leave ---------------------------------------------------------------------


def leave_mid_download(port: int, *, read_first: int) -> None:
    """Ask for the large file, read `read_first` bytes of the answer, then reset."""
    sock = connect(port)
    sock.sendall(get(BIG_FILE))
    received = 0
    while received < read_first:
        received += len(sock.recv(read_first - received))
    reset(sock)


def download(port: int, target: str = BIG_FILE) -> bytes:
    """One whole download on its own connection; the client closes after the last byte."""
    with connect(port) as sock:
        sock.sendall(get(target))
        data = b""
        while True:
            data += sock.recv(1 << 20)
            try:
                (response,) = parse_responses(data)
            except ValueError:
                continue
            return response.body


@pytest.mark.parametrize("variant", each_variant())
def test_a_client_that_leaves_is_counted_not_an_error_and_keeps_sendfile(
    variant: str, root: Path, tmp_path: Path
) -> None:
    with serving(variant, root, tmp_path) as running:
        for read_first in (0, 0, 0, 1, 4096, 65536):  # before the first byte, and during
            leave_mid_download(running.port, read_first=read_first)
        time.sleep(0.3)
        for _ in range(3):
            assert len(download(running.port)) == 1024 * 1024
        stats = counters(running, tmp_path)
        logged = running.stderr()
    assert (stats["copied_responses"], stats["sendfile_responses"] >= 3) == (0, True), stats
    assert (stats["internal_errors"], stats["errors_4xx_5xx"]) == (0, 0), stats
    assert "ERROR" not in logged, logged
    assert "Traceback" not in logged, logged


@pytest.mark.parametrize("variant", each_variant())
def test_the_request_counter_counts_every_completed_response(
    variant: str, root: Path, tmp_path: Path
) -> None:
    with serving(variant, root, tmp_path) as running:
        completed = 0
        for _ in range(10):
            assert len(download(running.port)) == 1024 * 1024  # closes right after the end
            assert download(running.port, "/index.html")
            completed += 2
        time.sleep(0.3)
        stats = counters(running, tmp_path)
    assert stats["requests"] == completed, stats
