"""`pytest --under-load` (`nox -s tests -- --under-load`): the suite with a CPU hog per core.

A time bound in a test must hold on a busy 2-core machine; this makes the machine busy on
purpose. One busy loop per CPU this process may use, each a child process that ends on its
own after HOG_LIMIT_S, started when the session starts and stopped by PID when it ends.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterable

HOG_LIMIT_S = 2400  # 40 min: a hog never outlives this, even if the session is killed
_BUSY_LOOP = "import time\nend = time.monotonic() + {limit}\nwhile time.monotonic() < end:\n pass"


def start_hogs(
    cpus: Iterable[int] | None = None, limit: float = HOG_LIMIT_S
) -> list[subprocess.Popen[bytes]]:
    """One bounded busy loop pinned to each CPU given (default: each CPU we may use)."""
    hogs = []
    for cpu in sorted(os.sched_getaffinity(0) if cpus is None else cpus):
        hog = subprocess.Popen(
            [sys.executable, "-c", _BUSY_LOOP.format(limit=limit)],
            stdin=subprocess.DEVNULL,
            preexec_fn=lambda cpu=cpu: os.sched_setaffinity(0, {cpu}),
        )
        hogs.append(hog)
    return hogs


def stop_hogs(hogs: list[subprocess.Popen[bytes]]) -> None:
    """Stop each hog by its PID and reap it."""
    for hog in hogs:
        if hog.poll() is None:
            hog.kill()
        hog.wait()
