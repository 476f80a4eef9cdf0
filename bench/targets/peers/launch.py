"""Starting a peer: its command pinned to the given cores, on 127.0.0.1, always stopped.

Each peer runs in a process group of its own (Ctrl-C reaches only us; a stop reaches its
workers too), on a free port, with its logs (named after it) in the caller's log
directory. It counts as started once GET /index.html answers 200; a start that fails
raises ChildStartError in one line ending with the tail of what the peer logged.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench.targets.peers.launchers import Cpus, Launcher
from bench.targets.peers.registry import PEERS
from bench.targets.probe import http_status
from bench.targets.process import ChildStartError

_TAIL_LINES = 3


@dataclass(frozen=True, slots=True)
class PeerServer:
    """A running peer: where it listens, and the root of its process tree (for sampling)."""

    url: str
    pid: int


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
    if name not in PEERS:
        raise ValueError(f"unknown peer {name!r}: choose from {', '.join(PEERS)}")
    if not PEERS[name].available():
        raise ChildStartError(f"{name} is not available here: needs {PEERS[name].requires}")
    return PEERS[name].launch


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
