"""Starting a peer: its command pinned to the given cores, on 127.0.0.1, always stopped.

Each peer runs in a process group of its own (Ctrl-C reaches only us; a stop reaches its
workers too), on a free port, with its logs (named after it) in the caller's log
directory. It counts as started once GET /index.html answers 200; a start that fails
raises ChildStartError in one line ending with the tail of what the peer logged.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from bench.nginx import NginxServer, find_nginx
from bench.peers.registry import PEERS
from bench.proc import PinnedProcess, free_port, http_status
from server.config import ServerConfig
from server.spawn import ChildStartError

ROOT_ENV = "STATICBENCH_PEER_ROOT"  # the Starlette app's root: uvicorn passes an app no arguments
BACKLOG = ServerConfig().backlog  # ours by default: no peer drops connections ours would queue
READY_TIMEOUT = 15.0
_PROJECT = Path(__file__).resolve().parents[2]
_TAIL_LINES = 3

Cpus = tuple[int, ...] | None


@dataclass(frozen=True, slots=True)
class PeerServer:
    """A running peer: where it listens, and the root of its process tree (for sampling)."""

    url: str
    pid: int


class _Running(Protocol):
    """What every launcher's context yields: NginxServer and PinnedProcess both are this."""

    @property
    def url(self) -> str: ...

    @property
    def pid(self) -> int: ...


Launcher = Callable[[Path, Cpus, Path], AbstractContextManager[_Running]]


@contextmanager
def start_peer(name: str, root: Path, cpus: Cpus, log_dir: Path) -> Iterator[PeerServer]:
    """Run peer `name` on `root`, pinned to `cpus`, for the `with` block; always stopped."""
    launch = _launcher(name)
    log_dir.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        try:
            running = stack.enter_context(launch(root.resolve(), cpus, log_dir))
        except ChildStartError as error:
            # ChildProcess says "<program> exited (1): <stderr>" or "... not ready after N s: ...".
            raise _start_failed(name, str(error).partition(":")[0], log_dir) from error
        if problem := _index_problem(running.url, root):
            raise _start_failed(name, problem, log_dir)  # leaving the stack stops it
        yield PeerServer(running.url, running.pid)


def _launcher(name: str) -> Launcher:
    """The launcher for `name`; ValueError if unknown, ChildStartError if not installed."""
    if name not in _LAUNCHERS:
        raise ValueError(f"unknown peer {name!r}: choose from {', '.join(PEERS)}")
    if not PEERS[name].available():
        raise ChildStartError(f"{name} is not available here: needs {PEERS[name].requires}")
    return _LAUNCHERS[name]


def _nginx(root: Path, cpus: Cpus, log_dir: Path) -> NginxServer:
    binary = find_nginx()
    if binary is None:  # removed since available() said yes
        raise ChildStartError("nginx is not installed")
    return NginxServer(binary, root, cpus=cpus, log_dir=log_dir, own_group=True, backlog=BACKLOG)


def _aiohttp(root: Path, cpus: Cpus, log_dir: Path) -> PinnedProcess:
    port = free_port()
    module = [sys.executable, "-m", "bench.peers.aiohttp_app"]
    options = ["--root", str(root), "--port", str(port), "--backlog", str(BACKLOG)]
    return _python([*module, *options], port, cpus, log_dir / "aiohttp.log", {})


def _uvicorn(root: Path, cpus: Cpus, log_dir: Path) -> PinnedProcess:
    port = free_port()
    app = [sys.executable, "-m", "uvicorn", "--factory", "bench.peers.starlette_app:create_app"]
    options = ["--host", "127.0.0.1", "--port", str(port), "--workers", "1",
               "--backlog", str(BACKLOG), "--log-level", "warning", "--no-access-log",
               "--timeout-graceful-shutdown", "2"]  # fmt: skip
    return _python([*app, *options], port, cpus, log_dir / "uvicorn.log", {ROOT_ENV: str(root)})


def _python(
    argv: list[str], port: int, cpus: Cpus, log: Path, env: dict[str, str]
) -> PinnedProcess:
    """A Python peer run from the project root (so `bench.peers` imports), in its own group."""
    return PinnedProcess(
        argv,
        port,
        cpus=cpus,
        ready_timeout=READY_TIMEOUT,
        cwd=str(_PROJECT),
        env={**os.environ, **env},
        log=log,
        own_group=True,
    )


_LAUNCHERS: dict[str, Launcher] = {"nginx": _nginx, "aiohttp": _aiohttp, "uvicorn": _uvicorn}


def _index_problem(url: str, root: Path) -> str | None:
    """Answering is not enough: GET /index.html must be 200, or this is not the site."""
    try:
        status = http_status(int(url.rsplit(":", 1)[1]))
    except (OSError, ValueError) as error:
        return f"GET /index.html failed: {error}"
    return None if status == 200 else f"GET /index.html answered {status}, not 200; root {root}"


def _start_failed(name: str, what: str, log_dir: Path) -> ChildStartError:
    """One line: what happened, then the last lines the peer logged."""
    tail = " | ".join(_log_tail(name, log_dir)) or "nothing logged"
    return ChildStartError(f"{name} did not start ({what}): {tail}")


def _log_tail(name: str, log_dir: Path) -> list[str]:
    """The last few distinct lines of the peer's stderr log or, when it is empty, its others."""
    logs = sorted(log_dir.glob(f"{name}*.log"), key=lambda log: log.name != f"{name}.log")
    for log in logs:
        text = log.read_text(encoding="utf-8", errors="replace")
        lines = [line.strip()[:200] for line in text.splitlines() if line.strip()]
        if lines:
            return list(dict.fromkeys(lines))[-_TAIL_LINES:]  # nginx repeats itself
    return []
