"""The teardown check itself can fail: a server that logs an error line, or exits non-zero
after SIGTERM, fails `checked_server` unless the test declared the line."""

from __future__ import annotations

import os
import signal

import pytest

from bench.targets.process import ServerProcess
from tests.rawhttp import request
from tests.serverchecks import checked_server, unexpected_lines

# procfs files stat as regular and empty yet read as text: every GET is an unexpected error
# the server answers with 500 and logs in one line (see tests/test_robustness.py).
PROC_ROOT = "/proc/sys/kernel"
needs_procfs = pytest.mark.skipif(
    not os.path.isfile(f"{PROC_ROOT}/ostype"), reason="needs Linux procfs"
)


def test_only_declared_lines_pass_and_a_traceback_never_does() -> None:
    text = "x ERROR unexpected error in y\n\nTraceback (most recent call last):\n  File 'z'\n"
    assert unexpected_lines(text, [r"unexpected error", r"File"]) == [
        "Traceback (most recent call last):"
    ]
    assert unexpected_lines("", []) == []


def test_info_lines_are_events_but_warnings_are_not() -> None:
    info = "2026-12-01 08:54:10,419 INFO a client left mid-response (so far: 1 left)"
    warning = "2026-12-01 08:54:10,419 WARNING out of file descriptors"
    assert unexpected_lines(f"{info}\n{warning}\n") == [warning]


@needs_procfs
def test_an_undeclared_error_line_fails_the_test() -> None:
    with (
        pytest.raises(AssertionError, match=r"wrote to stderr:\n.*unexpected error"),
        checked_server(["--root", PROC_ROOT]) as running,
    ):
        assert request(running.port, "/ostype").status == 500


@needs_procfs
def test_a_declared_error_line_passes() -> None:
    with checked_server(["--root", PROC_ROOT], expected=[r"ERROR unexpected error"]) as running:
        assert request(running.port, "/ostype").status == 500


def killed(running: ServerProcess) -> None:
    """SIGKILL the server and wait for it: the exit code a crash would leave."""
    running.signal(signal.SIGKILL)
    assert running.process is not None
    running.process.wait(10)


def test_a_server_that_exits_non_zero_fails_the_test() -> None:
    with (
        pytest.raises(AssertionError, match=r"exited -9 after SIGTERM"),
        checked_server(["--root", "static"]) as running,
    ):
        killed(running)
