"""A monotonic clock that an event loop advances a few times a second, read without a call.

A cache hit asks "is this entry still fresh?" on every request; on an event-loop shell it
reads `CoarseClock.now`, which the loop sets from `time.monotonic()` every `RESOLUTION`
seconds, instead of calling the clock per request. It lags real time by at most
`RESOLUTION` (plus one loop iteration when the loop is late), never runs ahead, so an
entry is never taken for older than it is. Until something advances it, `ticking` is False
and readers must read the real clock themselves (the threaded shell, tests).
"""

from __future__ import annotations

import time

RESOLUTION = 0.05  # seconds between two advances on an event loop


class CoarseClock:
    """`time.monotonic()` as of the last `advance()`."""

    __slots__ = ("now", "ticking")

    def __init__(self) -> None:
        self.now = 0.0
        self.ticking = False  # True once an event loop advances it

    def advance(self) -> None:
        """Read the real clock; from now on the caller keeps `now` within RESOLUTION."""
        self.now = time.monotonic()
        self.ticking = True
