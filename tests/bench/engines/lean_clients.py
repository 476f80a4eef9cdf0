"""Lean clients for tests against scripted servers, each closed when its test ends."""

from __future__ import annotations

from bench.engines.locust.scenarios.client import LeanClient
from bench.engines.locust.scenarios.framing import DEFAULT_PARSER, PARSERS
from tests.bench.scripted_server import ScriptedServer

_OPEN: list[LeanClient] = []


def client(
    server: ScriptedServer, parser: str = DEFAULT_PARSER, timeout: float = 5.0
) -> LeanClient:
    """A client of `server`, closed when the test ends (tests/bench/engines/conftest.py)."""
    return closed_at_end(
        LeanClient("127.0.0.1", server.port, timeout=timeout, parser=PARSERS[parser])
    )


def closed_at_end(lean: LeanClient) -> LeanClient:
    """`lean`, closed when the test ends."""
    _OPEN.append(lean)
    return lean


def close_all() -> None:
    """Close every client `client` made (a test's sockets never outlive it)."""
    while _OPEN:
        _OPEN.pop().close()
