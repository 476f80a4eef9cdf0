"""No hidden server errors: every server a test starts is checked when it stops.

A server must exit 0 after SIGTERM and leave nothing on stderr but INFO lines (events such
as a client that left mid-response, counted and logged at INFO by design) and the lines its
test said it would provoke (`expected`: regexes; a traceback line never counts as expected). A green
suite then means no request logged an error, not just that the answers looked right.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from bench.targets.process import ChildProcess, ServerProcess

TRACEBACK = "Traceback (most recent call last)"
INFO = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ INFO ")  # server.runtime's log format


def unexpected_lines(text: str, expected: Sequence[str] = ()) -> list[str]:
    """The non-blank lines of `text` that are not INFO and that no `expected` pattern matches,
    and any traceback."""
    patterns = [re.compile(pattern) for pattern in expected]
    return [
        line
        for line in text.splitlines()
        if line.strip()
        and not INFO.match(line)
        and (TRACEBACK in line or not any(pattern.search(line) for pattern in patterns))
    ]


def check_stderr(
    child: ChildProcess, since: int = 0, expected: Sequence[str] = (), note: str = ""
) -> int:
    """Assert the child's stderr after offset `since` holds only expected lines; its length."""
    text = child.stderr()
    unexpected = unexpected_lines(text[since:], expected)
    shown = "\n".join(unexpected[:20])
    assert not unexpected, f"{' '.join(child.argv[1:])} wrote to stderr{note}:\n{shown}"
    return len(text)


def stop_and_check(child: ChildProcess, expected: Sequence[str] = (), since: int = 0) -> None:
    """SIGTERM the child; it must exit 0, leaving only `expected` lines on stderr."""
    code = child.stop()
    check_stderr(child, since, expected)
    assert code == 0, f"{' '.join(child.argv[1:])} exited {code} after SIGTERM"


@contextmanager
def checked_server(
    args: Sequence[str] = (), *, expected: Sequence[str] = (), **options: Any
) -> Iterator[ServerProcess]:
    """`ServerProcess(args)` that is stopped and checked when the block ends without error."""
    with ServerProcess(args, **options) as running:
        yield running
        stop_and_check(running, expected)
