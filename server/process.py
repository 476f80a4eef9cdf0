"""Running the server: one process, or N worker processes sharing a port (SO_REUSEPORT).

It owns the listening socket's life, the ready line, and the supervisor that starts,
signals and reaps workers. A failure the user can fix (port in use, bad root) becomes a
`StartupError` with one readable sentence; the CLI turns it into exit code 2.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import multiprocessing.connection
import os
import signal
import socket
import sys
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection
from typing import Self

from server.config import ServerConfig
from server.listener import open_listener, url_of
from server.runtime import build_context, serve
from server.variants import VARIANTS

_READY_TIMEOUT = 30.0
_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


class StartupError(Exception):
    """A reason the server cannot start that is the user's to fix."""


def ready_line(url: str, config: ServerConfig) -> str:
    """The one line printed when the server accepts connections."""
    return (
        f"listening on {url} (variant={config.variant}, cache={config.cache}, "
        f"reader={config.reader}, workers={config.workers})"
    )


def start(config: ServerConfig) -> int:
    """Serve until told to stop; returns the process exit code."""
    variant = VARIANTS[config.variant]
    if not variant.available():
        raise StartupError(f"variant {variant.name!r} needs the {variant.requires} package")
    try:
        config = variant.configured(config)
    except ValueError as error:
        raise StartupError(str(error)) from None
    if not os.path.isdir(config.root):
        raise StartupError(f"root directory not found: {config.root}")
    if config.stats_dir is not None and not os.path.isdir(config.stats_dir):
        raise StartupError(f"stats directory not found: {config.stats_dir}")
    if config.workers == 1:
        listener = _listen(config, config.port, reuse_port=False)
        url = url_of(listener)
        _serve_in_this_process(config, listener, lambda: _announce(ready_line(url, config)))
        return 0
    return _supervise(config)


def _listen(config: ServerConfig, port: int, *, reuse_port: bool) -> socket.socket:
    try:
        return open_listener(config.host, port, config.backlog, reuse_port=reuse_port)
    except OSError as error:
        reason = error.strerror or str(error)
        raise StartupError(f"cannot listen on {config.host}:{port}: {reason}") from None


def _announce(line: str) -> None:
    print(line, flush=True)


def _serve_in_this_process(
    config: ServerConfig, listener: socket.socket, on_ready: Callable[[], None]
) -> None:
    shell = VARIANTS[config.variant].load()
    context = build_context(config, listener, on_ready)
    try:
        serve(context, shell)
    finally:
        listener.close()


# -- several workers on one port ----------------------------------------------------------


def _supervise(config: ServerConfig) -> int:
    """Start the workers, print the ready line once all listen, stop them on a signal."""
    reservation = _reserve_port(config)
    port = reservation.getsockname()[1]
    # SIGUSR1's default action kills: ignore it until every worker has its own handler
    # (forked workers inherit the disposition until their runtime installs one).
    signal.signal(signal.SIGUSR1, signal.SIG_IGN)
    context = multiprocessing.get_context("fork")  # nothing runs yet: forking is safe
    workers, pipes = [], []
    for _ in range(config.workers):
        parent_end, child_end = context.Pipe(duplex=False)
        worker = context.Process(target=_worker_main, args=(config, port, child_end), daemon=False)
        worker.start()
        child_end.close()
        workers.append(worker)
        pipes.append(parent_end)
    stop = _StopRequest.install()  # from now on a signal stops the workers, never orphans them
    try:
        _await_workers(pipes)
    except StartupError:
        _stop_workers(workers, config.grace)
        raise
    finally:
        reservation.close()
    host = config.host
    url = f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
    _announce(ready_line(url, config))
    signal.signal(signal.SIGUSR1, lambda *_: _signal_workers(workers, signal.SIGUSR1))
    return _wait_then_stop(workers, config.grace, stop)


def _reserve_port(config: ServerConfig) -> socket.socket:
    """Bind (without listening) so that `--port 0` picks one port all workers share."""
    family = socket.AF_INET6 if ":" in config.host else socket.AF_INET
    reservation = socket.socket(family, socket.SOCK_STREAM)
    reservation.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        reservation.bind((config.host, config.port))
    except OSError as error:
        reservation.close()
        reason = error.strerror or str(error)
        raise StartupError(f"cannot listen on {config.host}:{config.port}: {reason}") from None
    return reservation


def _worker_main(config: ServerConfig, port: int, pipe: Connection) -> None:
    _stop_with_supervisor()
    try:
        listener = _listen(config, port, reuse_port=True)
    except StartupError as error:
        pipe.send(str(error))
        sys.exit(2)
    _serve_in_this_process(config, listener, lambda: pipe.send("ready"))


def _stop_with_supervisor() -> None:
    """Linux: get SIGTERM when the supervisor dies (even by SIGKILL), so no worker is orphaned."""
    if not sys.platform.startswith("linux"):
        return
    supervisor = os.getppid()
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != supervisor:  # it died before prctl took effect
        os.kill(os.getpid(), signal.SIGTERM)


def _await_workers(pipes: list[Connection]) -> None:
    pending = list(pipes)
    while pending:
        ready = multiprocessing.connection.wait(pending, timeout=_READY_TIMEOUT)
        if not ready:
            raise StartupError("workers did not become ready in time")
        for pipe in ready:
            assert isinstance(pipe, Connection)
            message = pipe.recv() if pipe.poll() else "a worker exited during startup"
            if message != "ready":
                raise StartupError(str(message))
            pending.remove(pipe)


class _StopRequest:
    """Set by SIGTERM or SIGINT; the supervisor polls it between waits."""

    def __init__(self) -> None:
        self.requested = False

    @classmethod
    def install(cls) -> Self:
        """A fresh request, installed as the SIGTERM and SIGINT handler."""
        stop = cls()
        signal.signal(signal.SIGTERM, stop.handle)
        signal.signal(signal.SIGINT, stop.handle)
        return stop

    def handle(self, signum: int, frame: object) -> None:
        """Signal handler: only record the request."""
        self.requested = True


def _wait_then_stop(
    workers: Sequence[multiprocessing.process.BaseProcess], grace: float, stop: _StopRequest
) -> int:
    sentinels = [worker.sentinel for worker in workers]
    while not stop.requested and any(worker.is_alive() for worker in workers):
        multiprocessing.connection.wait(sentinels, timeout=0.5)
    _stop_workers(workers, grace)
    return 0 if all(worker.exitcode == 0 for worker in workers) else 1


def _signal_workers(workers: Sequence[multiprocessing.process.BaseProcess], signum: int) -> None:
    """Hand a signal on to every worker still running (SIGUSR1: write your stats)."""
    for worker in workers:
        if worker.pid is not None and worker.exitcode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(worker.pid, signum)


def _stop_workers(workers: Sequence[multiprocessing.process.BaseProcess], grace: float) -> None:
    for worker in workers:
        if worker.is_alive() and worker.pid is not None:
            os.kill(worker.pid, signal.SIGTERM)
    for worker in workers:
        worker.join(grace + 2.0)
        if worker.is_alive():
            worker.kill()
            worker.join()
