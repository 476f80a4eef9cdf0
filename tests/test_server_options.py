"""The store and listener options through the command line, observed on a real server:
--cache-max-age (cache on and alru serve from memory), --cache-max-entries, --cache-max-bytes,
--stream-threshold and --backlog. Each test fails if its option stopped reaching the server.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from server.variants import VARIANTS
from tests.conftest import each_style, each_style_cache
from tests.rawhttp import request
from tests.serverchecks import checked_server

FILE_SIZE = 1000
ENTRY_COST = 512 + FILE_SIZE  # the store charges 512 bytes per entry besides the body


def site_of(tmp_path: Path, *names: str) -> Path:
    """A new root under tmp_path holding one FILE_SIZE-byte file per name."""
    root = tmp_path / "root"
    root.mkdir()
    for n, name in enumerate(names):
        (root / name).write_bytes(bytes([65 + n]) * FILE_SIZE)
    return root


def counters_after(variant: str, root: Path, options: list[str], targets: list[str]) -> dict:
    """The server's stats file at exit, after GETting each target in order (all 200)."""
    stats = root.parent / f"{root.name}-stats"
    stats.mkdir()
    args = ["--variant", variant, "--root", str(root), "--stats-dir", str(stats), *options]
    with checked_server(args) as running:
        assert [request(running.port, target).status for target in targets] == [200] * len(targets)
        pid = running.pid
    record: dict = json.loads((stats / f"stats-{pid}.json").read_text(encoding="utf-8"))
    return record


def cache_counts(record: dict) -> tuple[int, int]:
    return record["cache_hits"], record["cache_misses"]


@pytest.mark.parametrize("variant", each_style())
@pytest.mark.parametrize(("entries", "expected"), [("1", (0, 3)), ("2", (1, 2))])
def test_cache_max_entries_bounds_what_is_kept(
    variant: str, tmp_path: Path, entries: str, expected: tuple[int, int]
) -> None:
    root = site_of(tmp_path, "a.txt", "b.txt")
    cache = VARIANTS[variant].default_cache  # the blog variants': alru, which bounds entries too
    options = ["--cache", cache, "--cache-max-age", "60", "--cache-max-entries", entries]
    record = counters_after(variant, root, options, ["/a.txt", "/b.txt", "/a.txt"])
    assert cache_counts(record) == expected  # one entry: b evicted a, so a misses again


@pytest.mark.parametrize("variant", each_style(cache="on"))  # alru bounds entries, not bytes
@pytest.mark.parametrize(
    ("budget", "expected"), [(ENTRY_COST + 100, (0, 3)), (2 * ENTRY_COST + 100, (1, 2))]
)
def test_cache_max_bytes_bounds_what_is_kept(
    variant: str, tmp_path: Path, budget: int, expected: tuple[int, int]
) -> None:
    root = site_of(tmp_path, "a.txt", "b.txt")
    options = ["--cache", "on", "--cache-max-age", "60", "--cache-max-bytes", str(budget)]
    record = counters_after(variant, root, options, ["/a.txt", "/b.txt", "/a.txt"])
    assert cache_counts(record) == expected


@pytest.mark.parametrize("variant", each_style())
@pytest.mark.parametrize(("threshold", "streamed"), [(None, 0), (str(FILE_SIZE - 1), 2)])
def test_stream_threshold_decides_which_files_are_streamed(
    variant: str, tmp_path: Path, threshold: str | None, streamed: int
) -> None:
    root = site_of(tmp_path, "a.txt")
    options = ["--cache", "off", *(["--stream-threshold", threshold] if threshold else [])]
    record = counters_after(variant, root, options, ["/a.txt", "/a.txt"])
    assert record["sendfile_responses"] + record["copied_responses"] == streamed


def listen_backlog(port: int) -> int:
    """The backlog of the socket listening on `port`, as the kernel reports it (ss Send-Q)."""
    ss = shutil.which("ss")
    if ss is None:
        pytest.skip("needs ss (iproute2) to read a listening socket's backlog")
    done = subprocess.run(
        [ss, "-Hltn", f"sport = :{port}"], capture_output=True, text=True, timeout=10, check=True
    )
    (line,) = done.stdout.splitlines()  # State Recv-Q Send-Q Local Peer
    return int(line.split()[2])


@pytest.mark.parametrize("variant", each_style())
@pytest.mark.parametrize("backlog", [7, 300])
def test_backlog_reaches_the_listening_socket(variant: str, backlog: int) -> None:
    assert backlog <= int(Path("/proc/sys/net/core/somaxconn").read_text())  # else it is capped
    args = ["--variant", variant, "--root", "static", "--backlog", str(backlog)]
    with checked_server(args) as running:
        assert listen_backlog(running.port) == backlog


# -- the cache serves from memory within max-age ----------------------------------------------

MAX_AGE = 2.0


@pytest.mark.parametrize("cell", each_style_cache())
def test_cache_serves_from_memory_until_max_age(cell: tuple[str, str], tmp_path: Path) -> None:
    """Cache on and alru: a file changed on disk still reads old within max-age, new after it.
    Cache off (the control): the new bytes at once. Without a real cache, "on"/"alru" fail."""
    variant, cache = cell
    page = tmp_path / "page.txt"
    page.write_bytes(b"old " * 16)
    options = ["--variant", variant, "--root", str(tmp_path), "--cache", cache]
    with checked_server([*options, "--cache-max-age", str(MAX_AGE)]) as running:
        cached_at = time.monotonic()  # before the request: the entry is no older than this
        assert request(running.port, "/page.txt").body == b"old " * 16
        before = page.stat().st_mtime_ns
        page.write_bytes(b"new " * 16)  # same size, a later mtime: any revalidation sees it
        os.utime(page, ns=(before + 2_000_000_000, before + 2_000_000_000))
        second = request(running.port, "/page.txt").body
        second_at = time.monotonic()
        body, new_at = second, second_at
        while body != b"new " * 16 and time.monotonic() - cached_at < MAX_AGE + 5.0:
            time.sleep(0.05)
            body, new_at = request(running.port, "/page.txt").body, time.monotonic()
    if second_at - cached_at >= MAX_AGE:
        pytest.fail(f"inconclusive: the second request came {second_at - cached_at:.2f} s late")
    if cache == "off":
        assert second == b"new " * 16  # no cache: every request reads the file
        return
    assert second == b"old " * 16, f"cache {cache} served the file from disk within max-age"
    assert body == b"new " * 16, f"still old {MAX_AGE + 5.0} s after caching"
    assert new_at - cached_at >= MAX_AGE  # never fresher than max-age allows
