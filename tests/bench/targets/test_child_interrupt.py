"""Ctrl-C while a child starts never leaves the child running (bench.targets.process).

Popen returns only once the child has exec'd. A SIGINT that arrives meanwhile used to raise
KeyboardInterrupt inside Popen, before the child had a handle: nothing stopped it. (A busy
machine can hold the parent off its CPU right there for seconds, and a test that sends
Ctrl-C as soon as it sees the trial's locust could leave that locust running after
`bench run` exited.) The child below sends the SIGINT itself, before its exec, so the
interrupt always lands inside Popen.
"""

from __future__ import annotations

import os
import signal
import sys
import time
import uuid

import psutil
import pytest

from bench.targets.process import ChildProcess

SETTLE_S = 0.3  # the child waits this long after its SIGINT, so the parent takes it first


class InterruptsItsParent(ChildProcess):
    """A child that sends its parent Ctrl-C (SIGINT) just before it execs."""

    def _before_exec(self) -> None:
        os.kill(os.getppid(), signal.SIGINT)
        time.sleep(SETTLE_S)
        super()._before_exec()

    def _await_ready(self, deadline: float) -> None:
        self._fail_if_exited()


def children_with(marker: str) -> list[psutil.Process]:
    found = []
    for child in psutil.Process().children(recursive=True):
        try:
            if marker in child.cmdline():
                found.append(child)
        except psutil.Error:
            continue
    return found


def test_ctrl_c_while_a_child_starts_stops_the_child() -> None:
    handler = signal.getsignal(signal.SIGINT)
    if handler is not signal.default_int_handler:  # seen in a worker of a two-worker suite
        pytest.skip(f"needs Python's own Ctrl-C handler, not {handler!r}")
    marker = f"staticbench-interrupt-{uuid.uuid4().hex}"
    argv = [sys.executable, "-c", "import time, sys; time.sleep(30)", marker]
    child = InterruptsItsParent(argv, own_group=True)
    try:
        with pytest.raises(KeyboardInterrupt), child:
            time.sleep(5)  # not reached: the interrupt comes while the child starts
        assert child.process is not None, "the child was never tracked"
        left = [process for process in children_with(marker) if process.is_running()]
        assert left == [], "Ctrl-C left the child running"
    finally:
        for process in children_with(marker):
            process.kill()
