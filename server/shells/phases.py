"""Where a connection is in its life, and how long each place may last: one rule for all shells.

Every shell sweeps its connections about once a second and asks `Deadlines.overdue`; what
an overdue connection gets is the phase's own answer (see `Phase`). A send counts as
stalled once it cannot hand the kernel its next piece (about 64 KiB) within
--send-timeout, whatever the shell, so "a slow reader" means the same for every variant.
"""

from __future__ import annotations

import enum
import math

from server.config import ServerConfig
from server.protocol import ProtocolError
from server.response import Response, text_response
from server.static import error_response

# Seconds a closing connection reads and discards input, waiting for the client's FIN: a
# close with unread input makes the kernel reset the connection and drop what is still
# queued for the client (the end of the last response), so we wait, as nginx's lingering
# close does, but not forever.
LINGER = 2.0
TICK = 1.0  # seconds between two sweeps; deadlines are this coarse


class Phase(enum.Enum):
    """A connection's phase, and what it gets when the phase outlasts its deadline."""

    IDLE = "waiting for a request: closed after --keepalive-timeout (at once at shutdown)"
    HEAD = "receiving a request head: 408 after --head-timeout"
    BUSY = "answering: no deadline of its own (its sends have theirs)"
    STALLED = "a send waiting for the client: dropped with a reset after --send-timeout"
    LINGER = "closed for sending, waiting for the client's FIN: closed after LINGER"


class Deadlines:
    """The limit of each phase, from the config."""

    def __init__(self, config: ServerConfig) -> None:
        self.limits = {
            Phase.IDLE: config.keepalive_timeout,
            Phase.HEAD: config.head_timeout,
            Phase.BUSY: math.inf,
            Phase.STALLED: config.send_timeout,
            Phase.LINGER: LINGER,
        }

    def overdue(self, phase: Phase, since: float, now: float, *, stopping: bool) -> bool:
        """Whether a connection in `phase` since `since` must get its phase's answer now."""
        if stopping and phase is Phase.IDLE:
            return True  # shutdown closes idle connections at once
        return now - since > self.limits[phase]


def late_head() -> Response:
    """The 408 a connection gets when its request head did not arrive in time."""
    return error_response(ProtocolError(408, "request head not received in time"))


def too_many() -> bytes:
    """What a connection over --max-connections (or arriving at shutdown) is told."""
    return text_response(503, "too many connections", close=True).payload()
