"""Shutdown as the README promises it, on real servers of every variant: SIGINT drains like
SIGTERM, a response still in flight when the grace period ends is cut off and the server
still exits 0, and with --workers 2 the supervisor's SIGTERM drains every worker."""

from __future__ import annotations

import hashlib
import signal
import socket
import time
from pathlib import Path

import pytest

from bench.targets.process import ServerProcess
from tests.conftest import each_style, each_variant
from tests.serverchecks import checked_server

BIG_FILE = "big.bin"
# Far more than the kernel buffers on a loopback connection (tcp_wmem's 4 MiB maximum plus
# the small receive buffer below): a client that does not read keeps this response in flight.
BIG_SIZE = 32 * 1024 * 1024


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A root holding one 32 MiB file (sparse: cheap to make)."""
    root = tmp_path_factory.mktemp("shutdown")
    with (root / BIG_FILE).open("wb") as big:
        big.truncate(BIG_SIZE)
    return root


def stalled_download(port: int) -> socket.socket:
    """A connection asking for BIG_FILE through a small receive buffer, read by no one yet."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 * 1024)
    sock.settimeout(10)
    sock.connect(("127.0.0.1", port))
    sock.sendall(f"GET /{BIG_FILE} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
    return sock


def read_all(sock: socket.socket, timeout: float = 20.0) -> bytes:
    """Read until the server closes (a reset ends it too)."""
    deadline, chunks = time.monotonic() + timeout, []
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(1 << 20)
        except ConnectionResetError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


def body_of(data: bytes) -> bytes:
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), head[:100]
    return body


def drain_on(running: ServerProcess, signum: int, expected: bytes) -> None:
    """Signal the server mid-download: it keeps sending, the whole file arrives, it exits 0."""
    with stalled_download(running.port) as download:
        first = download.recv(16 * 1024)
        running.signal(signum)
        time.sleep(0.3)  # the signal is handled while the response is still in flight
        assert running.process is not None
        assert running.process.poll() is None, "exited with a response in flight"
        data = first + read_all(download)
    assert hashlib.sha256(body_of(data)).digest() == hashlib.sha256(expected).digest()
    assert running.process.wait(10) == 0


@pytest.mark.parametrize("variant", each_variant())
def test_sigint_drains_an_inflight_response(variant: str, site: Path) -> None:
    with checked_server(["--variant", variant, "--root", str(site), "--grace", "20"]) as running:
        drain_on(running, signal.SIGINT, (site / BIG_FILE).read_bytes())


@pytest.mark.parametrize("variant", each_style())
def test_sigterm_with_two_workers_drains_an_inflight_response(variant: str, site: Path) -> None:
    args = ["--variant", variant, "--root", str(site), "--grace", "20", "--workers", "2"]
    with checked_server(args) as running:
        drain_on(running, signal.SIGTERM, (site / BIG_FILE).read_bytes())


GRACE = 1.0


# It found asyncio's loop.sendfile, cut at grace expiry, logging an InvalidStateError
# traceback; the shells now send files with their own sendfile (issue 14).
@pytest.mark.parametrize("variant", each_variant())
def test_a_response_outliving_the_grace_period_is_cut_and_the_server_exits_0(
    variant: str, site: Path
) -> None:
    args = ["--variant", variant, "--root", str(site), "--grace", str(GRACE)]
    with checked_server(args) as running, stalled_download(running.port) as download:
        first = download.recv(16 * 1024)
        running.signal(signal.SIGTERM)
        signalled = time.monotonic()
        assert running.process is not None
        exit_code = running.process.wait(GRACE + 15)  # 15 s: slack for a loaded machine
        took = time.monotonic() - signalled
        data = first + read_all(download)
    assert exit_code == 0
    assert took >= GRACE * 0.9, f"exited after {took:.2f} s: it did not wait out the grace"
    assert len(body_of(data)) < BIG_SIZE  # cut off, never finished
