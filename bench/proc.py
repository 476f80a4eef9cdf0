"""Child processes for the bench that are not `python -m server`: nginx, the original blog.

It owns starting a command pinned to CPUs, waiting until a real HTTP request succeeds
(failing fast with the child's stderr if it dies), stopping it by its PID, and measuring
the RSS of a process tree and how busy a set of cores was. It never kills anything it did not start.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Sequence
from types import TracebackType
from typing import Self

import psutil

_GET = "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"


class ChildStartError(RuntimeError):
    """The child exited or never answered an HTTP request."""


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


class PinnedProcess:
    """A command pinned to CPUs, ready once `port` answers GET; stopped by its PID."""

    def __init__(
        self,
        argv: Sequence[str],
        port: int,
        *,
        cpus: Sequence[int] | None = None,
        ready_timeout: float = 15.0,
        cwd: str | None = None,
    ) -> None:
        self.argv = list(argv)
        self.port = port
        self.cpus = list(cpus) if cpus else None
        self.ready_timeout = ready_timeout
        self.cwd = cwd
        self.process: subprocess.Popen[bytes] | None = None
        # A file, not a pipe: a chatty child must never block on a full pipe.
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115

    @property
    def pid(self) -> int:
        """The child's process id."""
        assert self.process is not None
        return self.process.pid

    @property
    def url(self) -> str:
        """Base URL of the child."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Self:
        """Start the child and wait for a real HTTP answer; raises ChildStartError."""
        self.process = subprocess.Popen(
            self.argv,
            cwd=self.cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=self._stderr,
            preexec_fn=self._pin if self.cpus else None,
        )
        try:
            self._await_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _pin(self) -> None:
        assert self.cpus is not None
        os.sched_setaffinity(0, self.cpus)

    def _await_ready(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + self.ready_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ChildStartError(f"{self.argv[0]} exited: {self.stderr()}")
            try:
                http_status(self.port)
                return
            except (OSError, ValueError):
                time.sleep(0.05)
        raise ChildStartError(
            f"{self.argv[0]} not ready after {self.ready_timeout} s: {self.stderr()}"
        )

    def stderr(self) -> str:
        """Everything the child wrote to stderr so far."""
        self._stderr.seek(0)
        return self._stderr.read().decode("utf-8", "replace").strip()

    def stop(self, timeout: float = 10.0, signum: int = signal.SIGTERM) -> int:
        """Send `signum`, wait up to `timeout`, then SIGKILL the child and its children."""
        try:
            return self._stop(timeout, signum)
        finally:
            self._stderr.close()

    def _stop(self, timeout: float, signum: int) -> int:
        process = self.process
        if process is None or process.poll() is not None:
            return 0 if process is None else process.returncode
        try:
            children = psutil.Process(process.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            children = []
        os.kill(process.pid, signum)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        for child in children:  # e.g. an nginx worker whose master had to be killed
            if child.is_running():
                child.kill()
        return process.returncode

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()
