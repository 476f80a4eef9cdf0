"""Start `python -m server` as a child process and know when it is ready.

Used by the tests and the bench runner: the server runs exactly as a user runs it, in
its own process (so nothing of the caller, e.g. locust's gevent patching, leaks in).
`ServerProcess` waits for the ready line with a deadline, fails fast with the server's
stderr when it dies, and always stops the child by its PID.
"""

from __future__ import annotations

import os
import re
import selectors
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from types import TracebackType
from typing import Self

_READY = re.compile(r"listening on (http://\S+) ")
_PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class ServerStartError(RuntimeError):
    """The server exited or stayed silent instead of becoming ready."""


class ServerProcess:
    """A running server; use as a context manager so it is stopped whatever happens."""

    def __init__(
        self,
        args: Sequence[str] = (),
        *,
        ready_timeout: float = 20.0,
        cpus: Sequence[int] | None = None,
        python: str = sys.executable,
    ) -> None:
        self.args = ["--port", "0", *args] if "--port" not in args else list(args)
        self.ready_timeout = ready_timeout
        self.cpus = cpus
        self.python = python
        self.url = ""
        self.process: subprocess.Popen[str] | None = None
        # A file, not a pipe: a chatty server must never block on a full pipe.
        self._stderr = tempfile.TemporaryFile(mode="w+", encoding="utf-8")  # noqa: SIM115

    @property
    def port(self) -> int:
        """The port the server listens on."""
        return int(self.url.rsplit(":", 1)[1])

    @property
    def pid(self) -> int:
        """The server's (or the worker supervisor's) process id."""
        assert self.process is not None
        return self.process.pid

    def start(self) -> Self:
        """Start the child and wait for its ready line; raises ServerStartError."""
        self.process = subprocess.Popen(
            [self.python, "-m", "server", *self.args],
            cwd=_PROJECT_ROOT,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
            preexec_fn=self._pin if self.cpus else None,
        )
        try:
            self.url = self._await_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _pin(self) -> None:
        assert self.cpus is not None
        os.sched_setaffinity(0, self.cpus)

    def _await_ready(self) -> str:
        assert self.process is not None
        assert self.process.stdout is not None
        deadline = time.monotonic() + self.ready_timeout
        with selectors.DefaultSelector() as selector:
            selector.register(self.process.stdout, selectors.EVENT_READ)
            while time.monotonic() < deadline:
                if selector.select(timeout=min(0.1, deadline - time.monotonic())):
                    line = self.process.stdout.readline()
                    match = _READY.search(line)
                    if match:
                        return match.group(1)
                if self.process.poll() is not None:
                    raise ServerStartError(
                        f"server exited ({self.process.returncode}): {self.stderr()}"
                    )
        raise ServerStartError(f"server not ready after {self.ready_timeout} s: {self.stderr()}")

    def stderr(self) -> str:
        """Everything the server wrote to stderr so far."""
        self._stderr.seek(0)
        return self._stderr.read()

    def signal(self, signum: int) -> None:
        """Send a signal to the server process."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signum)

    def stop(self, timeout: float = 10.0) -> int:
        """SIGTERM, wait up to `timeout`, then SIGKILL; returns the exit code."""
        process = self.process
        if process is None:
            return 0
        if process.poll() is None:
            os.kill(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if process.stdout is not None:
            process.stdout.close()
        return process.returncode

    def __enter__(self) -> Self:
        try:
            return self.start()
        except BaseException:
            self._stderr.close()  # __exit__ never runs when __enter__ fails
            raise

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()
        self._stderr.close()
