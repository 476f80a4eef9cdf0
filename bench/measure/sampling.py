"""What the server and the load generator cost while a trial is measured (psutil).

A `TreeSampler` follows a process and its descendants: CPU time (user + system) between
`begin()` and `end()`, and the peaks of RSS, open file descriptors and threads from
samples taken every `interval` seconds in a background thread. It only reads /proc.

`tree_rss()` is one reading of a tree's resident memory (for `bench.perf`'s idle probe).
`server_counters()` reads what the server says about itself (`--stats-dir`, written on
SIGUSR1), so requests and cache hits are counted over exactly the sampled window.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psutil


@dataclass(frozen=True, slots=True)
class Usage:
    """A process tree's cost over a window."""

    cpu_s: float  # user + system seconds
    wall_s: float
    peak_rss_bytes: int
    peak_fds: int
    peak_threads: int

    def share(self, cpus: int) -> float:
        """Fraction of `cpus` CPUs the tree kept busy (1.0 = all of them, all the time)."""
        return self.cpu_s / (self.wall_s * max(1, cpus)) if self.wall_s > 0 else float("nan")


class TreeSampler:
    """Samples one process tree; `begin()` then `end()` -> Usage."""

    def __init__(self, pid: int, interval: float = 0.25) -> None:
        self.root = psutil.Process(pid)
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._cpu_at_begin = 0.0
        self._began = 0.0
        self._peaks = [0, 0, 0]  # rss, fds, threads
        self._finished: dict[int, float] = {}  # CPU seconds of processes that exited
        self._seen: dict[int, psutil.Process] = {}

    def begin(self) -> None:
        """Start the window: note the CPU time so far and start sampling peaks."""
        self._cpu_at_begin = self._cpu_seconds()
        self._began = time.monotonic()
        self._thread = threading.Thread(target=self._sample_until_stopped, daemon=True)
        self._thread.start()

    def end(self) -> Usage:
        """End the window and return the tree's cost over it."""
        cpu = self._cpu_seconds() - self._cpu_at_begin
        wall = time.monotonic() - self._began
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        rss, fds, threads = self._peaks
        return Usage(max(0.0, cpu), wall, rss, fds, threads)

    def _tree(self) -> list[psutil.Process]:
        with contextlib.suppress(psutil.Error):
            for child in self.root.children(recursive=True):
                self._seen.setdefault(child.pid, child)
        self._seen.setdefault(self.root.pid, self.root)
        return list(self._seen.values())

    def _cpu_seconds(self) -> float:
        """CPU seconds of the tree, counting processes that already exited at their last value."""
        for process in self._tree():
            try:
                times = process.cpu_times()
                self._finished[process.pid] = times.user + times.system
            except psutil.Error:
                pass  # gone: its last sampled value stays in _finished
        return sum(self._finished.values())

    def _sample_until_stopped(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample_peaks()
            self._cpu_seconds()  # keeps the last CPU value of processes that may exit

    def _sample_peaks(self) -> None:
        rss = fds = threads = 0
        for process in self._tree():
            with contextlib.suppress(psutil.Error), process.oneshot():
                rss += process.memory_info().rss
                fds += process.num_fds()
                threads += process.num_threads()
        self._peaks = [max(a, b) for a, b in zip(self._peaks, (rss, fds, threads), strict=True)]


def tree_rss(pid: int) -> int:
    """Resident set size in bytes of a process and all its descendants."""
    root = psutil.Process(pid)
    total = 0
    for process in [root, *root.children(recursive=True)]:
        try:
            total += process.memory_info().rss
        except psutil.NoSuchProcess:
            continue
    return total


@dataclass(frozen=True, slots=True)
class ServerCounters:
    """The server's own counters at one moment (see server/stats.py)."""

    requests: int
    cache_hits: int
    cache_misses: int


def server_counters(pid: int, stats_dir: Path, timeout: float = 2.0) -> ServerCounters:
    """Ask the server (SIGUSR1) to write its counters, then read them; raises TimeoutError."""
    path = stats_dir / f"stats-{pid}.json"
    before = _identity(path)
    os.kill(pid, signal.SIGUSR1)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _identity(path) not in (None, before):
            with contextlib.suppress(ValueError, OSError):
                record = json.loads(path.read_text(encoding="utf-8"))
                return ServerCounters(
                    record["requests"], record["cache_hits"], record["cache_misses"]
                )
        time.sleep(0.01)
    raise TimeoutError(f"the server did not write {path} within {timeout} s")


def _identity(path: Path) -> tuple[int, int] | None:
    """Inode and mtime: the server replaces the file on every write, so either changes."""
    try:
        info = path.stat()
    except FileNotFoundError:
        return None
    return (info.st_ino, info.st_mtime_ns)
