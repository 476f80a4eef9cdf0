"""Child processes the bench and the tests start, know ready, and always stop by PID.

The one child-process module: `ChildProcess` owns the mechanics every child shares:
optional CPU pinning, stderr kept in a file (a full pipe would block a chatty child), a
readiness wait with a deadline that fails fast with the child's stderr, and a stop
(SIGTERM, then SIGKILL for it and any children it left). `ServerProcess` is
`python -m server`, ready when it prints its ready line; `PinnedProcess` is any other
server (nginx, the original post's, a peer), ready once its port answers a GET. It never
kills what it did not start. Harness code: the server package never imports it.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import re
import selectors
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Self

from bench.targets.probe import http_status

# How long a child may take to say it is ready. Generous: a busy 2-core machine took over
# 20 s to start one Python server, and a longer wait costs nothing when all is well.
READY_TIMEOUT_S = 60.0
_PR_SET_PDEATHSIG = 1  # from <sys/prctl.h>
_READY = re.compile(r"listening on (http://\S+) ")
_PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class ChildStartError(RuntimeError):
    """The child exited or stayed silent instead of becoming ready."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class ChildProcess:
    """A started command; subclasses say when it is ready (`_await_ready`)."""

    stdout = subprocess.DEVNULL

    def __init__(
        self,
        argv: Sequence[str],
        *,
        ready_timeout: float = READY_TIMEOUT_S,
        cpus: Sequence[int] | None = None,
        cwd: str | None = None,
        env: Mapping[str, str] | None = None,
        log: Path | None = None,
        own_group: bool = False,
    ) -> None:
        self.argv = list(argv)
        self.env = dict(env) if env is not None else None
        self.own_group = own_group
        self.ready_timeout = ready_timeout
        self.cpus = list(cpus) if cpus else None
        self.cwd = cwd
        self.process: subprocess.Popen[str] | None = None
        # A file, not a pipe: a chatty child must never block on a full pipe. A `log` path
        # keeps it for reading later; otherwise it is a temporary file.
        self._stderr: IO[str] = (
            log.open("w+", encoding="utf-8", errors="replace")
            if log is not None
            else tempfile.TemporaryFile(mode="w+", encoding="utf-8", errors="replace")  # noqa: SIM115
        )

    @property
    def pid(self) -> int:
        """The child's process id."""
        assert self.process is not None
        return self.process.pid

    def start(self) -> Self:
        """Start the child and wait until it is ready; raises ChildStartError."""
        try:
            with _interrupt_deferred():
                self.process = subprocess.Popen(
                    self.argv,
                    cwd=self.cwd,
                    env=self.env,
                    stdin=subprocess.DEVNULL,
                    stdout=self.stdout,
                    stderr=self._stderr,
                    text=True,
                    preexec_fn=self._before_exec if self.cpus or self.own_group else None,
                )
            self._await_ready(time.monotonic() + self.ready_timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _before_exec(self) -> None:
        """In the child, before exec: pinning, and with `own_group` a group of its own.

        In its own process group a child does not hear the terminal's Ctrl-C: only us, so
        we stop children in our order. PR_SET_PDEATHSIG sends it SIGTERM if we are killed.
        """
        if self.cpus:
            os.sched_setaffinity(0, self.cpus)
        if self.own_group:
            os.setpgid(0, 0)
            if sys.platform.startswith("linux"):
                ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)

    def _await_ready(self, deadline: float) -> None:
        raise NotImplementedError

    def _fail_if_exited(self) -> None:
        assert self.process is not None
        if self.process.poll() is not None:
            code = self.process.returncode
            raise ChildStartError(f"{self.name} exited ({code}): {self.stderr()}")

    def _not_ready(self) -> ChildStartError:
        waited = f"{self.name} not ready after {self.ready_timeout} s"
        return ChildStartError(f"{waited}: {self.stderr()}")

    @property
    def name(self) -> str:
        """What error messages call the child: its program."""
        return os.path.basename(self.argv[0])

    def stderr(self) -> str:
        """Everything the child wrote to stderr so far."""
        self._stderr.seek(0)
        return self._stderr.read()

    def signal(self, signum: int) -> None:
        """Send a signal to the child, if it still runs."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signum)

    def stop(self, timeout: float = 10.0) -> int:
        """SIGTERM, wait up to `timeout`, then SIGKILL it and what it left; the exit code."""
        process = self.process
        if process is None:
            return 0
        if process.poll() is None:
            leftovers = _children(process.pid)
            os.kill(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            _kill_all(leftovers)
        if process.stdout is not None:
            process.stdout.close()
        return process.returncode

    def close(self) -> int:
        """Stop the child and release its stderr file; the exit code."""
        try:
            return self.stop()
        finally:
            self._stderr.close()

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
        self.close()


class ServerProcess(ChildProcess):
    """`python -m server ARGS` (with `--port 0` unless a port is given)."""

    stdout = subprocess.PIPE

    def __init__(
        self,
        args: Sequence[str] = (),
        *,
        ready_timeout: float = READY_TIMEOUT_S,
        cpus: Sequence[int] | None = None,
        python: str = sys.executable,
        own_group: bool = False,
    ) -> None:
        self.args = ["--port", "0", *args] if "--port" not in args else list(args)
        super().__init__(
            [python, "-m", "server", *self.args],
            ready_timeout=ready_timeout,
            cpus=cpus,
            cwd=_PROJECT_ROOT,
            own_group=own_group,
        )
        self.url = ""

    @property
    def name(self) -> str:
        """Our server, not the interpreter that runs it."""
        return "python -m server"

    @property
    def port(self) -> int:
        """The port the server listens on."""
        return int(self.url.rsplit(":", 1)[1])

    def _await_ready(self, deadline: float) -> None:
        """Wait for the ready line, which also tells the URL."""
        assert self.process is not None
        assert self.process.stdout is not None
        with selectors.DefaultSelector() as selector:
            selector.register(self.process.stdout, selectors.EVENT_READ)
            while time.monotonic() < deadline:
                if selector.select(timeout=min(0.1, deadline - time.monotonic())):
                    match = _READY.search(self.process.stdout.readline())
                    if match:
                        self.url = match.group(1)
                        return
                self._fail_if_exited()
        raise self._not_ready()


class PinnedProcess(ChildProcess):
    """A command (nginx, the original blog server, a peer) ready once `port` answers a GET."""

    def __init__(
        self,
        argv: Sequence[str],
        port: int,
        *,
        cpus: Sequence[int] | None = None,
        ready_timeout: float = READY_TIMEOUT_S,
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


@contextlib.contextmanager
def _interrupt_deferred() -> Iterator[None]:
    """Ctrl-C (SIGINT) waits until the block is done, then raises KeyboardInterrupt.

    Popen returns only once its child has exec'd; a KeyboardInterrupt raised inside it
    (while it waits for the exec, or on the way out) leaves the child running with no
    handle to stop it. Deferred, the interrupt comes once `self.process` is set, and
    `start` stops the child. Only the main thread can set a handler, and only Python's
    default one is replaced.
    """
    main = threading.current_thread() is threading.main_thread()
    if not main or signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        yield
        return
    caught: list[int] = []
    signal.signal(signal.SIGINT, lambda signum, _: caught.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if caught:
        raise KeyboardInterrupt


def _children(pid: int) -> list[Any]:
    """A process's descendants as psutil handles (empty when psutil is not installed)."""
    try:
        import psutil
    except ImportError:
        return []
    try:
        return list(psutil.Process(pid).children(recursive=True))
    except psutil.NoSuchProcess:
        return []


def _kill_all(processes: list[Any]) -> None:
    """SIGKILL what a stopped child left behind (e.g. workers whose parent was killed).

    psutil handles remember each process's start time, so a recycled PID is never hit.
    """
    for process in processes:
        with contextlib.suppress(Exception):
            if process.is_running():
                process.kill()
