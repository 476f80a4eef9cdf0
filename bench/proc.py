"""Processes the bench measures that are not `python -m server`: nginx, the original blog, peers.

It adds to `server.spawn.ChildProcess` readiness by a real HTTP request, and measures the
RSS of a process tree and how busy a set of cores was. It never kills what it did not start.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Self

import psutil

from server.spawn import ChildProcess, ChildStartError

__all__ = ["ChildStartError", "CoreBusy", "PinnedProcess", "free_port", "http_status", "tree_rss"]

_GET = "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def http_status(port: int, path: str = "/index.html", timeout: float = 2.0) -> int:
    """Status code of one GET with Connection: close; raises OSError/ValueError on failure."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as conn:
        conn.sendall(_GET.format(path=path, port=port).encode("ascii"))
        head = conn.recv(4096)
    parts = head.split(b" ", 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/"):
        raise ValueError(f"not an HTTP response: {head[:40]!r}")
    return int(parts[1])


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


class CoreBusy:
    """How busy some CPUs were during a `with` block: `busy` 1.0 = never idle.

    It counts everything on those cores (processes and the kernel's network work, e.g.
    loopback softirq, which no process is charged for), unlike a process's CPU time.
    With no CPUs given (nothing pinned) `busy` stays None.
    """

    def __init__(self, cpus: Sequence[int] | None) -> None:
        self.cpus = list(cpus or ())
        self.busy: float | None = None
        self._idle = self._wall = 0.0

    def _idle_seconds(self) -> float:
        per_cpu = psutil.cpu_times(percpu=True)
        return sum(per_cpu[cpu].idle + getattr(per_cpu[cpu], "iowait", 0.0) for cpu in self.cpus)

    def __enter__(self) -> Self:
        self._idle, self._wall = self._idle_seconds(), time.monotonic()
        return self

    def __exit__(self, *exc_info: object) -> None:
        wall = (time.monotonic() - self._wall) * len(self.cpus)
        if wall > 0:
            idle = self._idle_seconds() - self._idle
            self.busy = max(0.0, min(1.0, 1.0 - idle / wall))


class PinnedProcess(ChildProcess):
    """A command (nginx, the original blog server, a peer) ready once `port` answers a GET."""

    def __init__(
        self,
        argv: Sequence[str],
        port: int,
        *,
        cpus: Sequence[int] | None = None,
        ready_timeout: float = 15.0,
        cwd: str | None = None,
        env: Mapping[str, str] | None = None,
        log: Path | None = None,
        own_group: bool = False,
    ) -> None:
        super().__init__(
            argv,
            ready_timeout=ready_timeout,
            cpus=cpus,
            cwd=cwd,
            env=env,
            log=log,
            own_group=own_group,
        )
        self.port = port

    @property
    def url(self) -> str:
        """Base URL of the child."""
        return f"http://127.0.0.1:{self.port}"

    def _await_ready(self, deadline: float) -> None:
        while time.monotonic() < deadline:
            self._fail_if_exited()
            try:
                http_status(self.port)
                return
            except (OSError, ValueError):
                time.sleep(0.05)
        raise self._not_ready()

    def stop(self, timeout: float = 10.0) -> int:
        """With `own_group`, SIGTERM the whole group first (workers too), then stop as usual."""
        if self.own_group and self.process is not None and self.process.poll() is None:
            # The leader is alive and not reaped, so its group id is still ours to signal.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
        return super().stop(timeout)
