"""How each peer is started: a command on 127.0.0.1, a free port and the given root, pinned
to the given CPUs, in a process group of its own, its logs in the caller's log directory.

A launcher returns the context manager of the running peer; `start_peer`
(bench.targets.peers.launch) enters it, checks the peer serves the site, and names the peer
in any failure.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Protocol

from bench.targets.nginx import NginxServer, find_nginx
from bench.targets.process import READY_TIMEOUT_S, ChildStartError, PinnedProcess, free_port
from server.config import ServerConfig

ROOT_ENV = "STATICBENCH_PEER_ROOT"  # the Starlette app's root: uvicorn passes an app no arguments
BACKLOG = ServerConfig().backlog  # ours by default: no peer drops connections ours would queue
_PROJECT = Path(__file__).resolve().parents[3]

Cpus = tuple[int, ...] | None


class Running(Protocol):
    """What every launcher's context yields: NginxServer and PinnedProcess both are this."""

    @property
    def url(self) -> str: ...

    @property
    def pid(self) -> int: ...


Launcher = Callable[[Path, Cpus, Path], AbstractContextManager[Running]]


def nginx(root: Path, cpus: Cpus, log_dir: Path) -> NginxServer:
    """nginx, one worker, from a config generated in a temporary directory."""
    binary = find_nginx()
    if binary is None:  # removed since available() said yes
        raise ChildStartError("nginx is not installed")
    return NginxServer(binary, root, cpus=cpus, log_dir=log_dir, own_group=True, backlog=BACKLOG)


def aiohttp(root: Path, cpus: Cpus, log_dir: Path) -> PinnedProcess:
    """aiohttp's static route (bench.targets.peers.aiohttp_app)."""
    port = free_port()
    module = [sys.executable, "-m", "bench.targets.peers.aiohttp_app"]
    options = ["--root", str(root), "--port", str(port), "--backlog", str(BACKLOG)]
    return _python([*module, *options], port, cpus, log_dir / "aiohttp.log", {})


def uvicorn(root: Path, cpus: Cpus, log_dir: Path) -> PinnedProcess:
    """uvicorn, one worker, serving Starlette's StaticFiles (bench.targets.peers.starlette_app)."""
    port = free_port()
    app = [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        "bench.targets.peers.starlette_app:create_app",
    ]
    options = ["--host", "127.0.0.1", "--port", str(port), "--workers", "1",
               "--backlog", str(BACKLOG), "--log-level", "warning", "--no-access-log",
               "--timeout-graceful-shutdown", "2"]  # fmt: skip
    return _python([*app, *options], port, cpus, log_dir / "uvicorn.log", {ROOT_ENV: str(root)})


def _python(
    argv: list[str], port: int, cpus: Cpus, log: Path, env: dict[str, str]
) -> PinnedProcess:
    """A Python peer run from the project root (so `bench.targets.peers` imports), in its own
    group."""
    return PinnedProcess(
        argv,
        port,
        cpus=cpus,
        ready_timeout=READY_TIMEOUT_S,
        cwd=str(_PROJECT),
        env={**os.environ, **env},
        log=log,
        own_group=True,
    )
