"""`loopserver._step`: a transport's opening coroutine driven without a Task.

The Protocol shell drives `connect_accepted_socket` by hand; these check that whatever the
coroutine awaits (a future, a bare yield, several of them) it runs to its end, and that a
client gone before its transport was made only closes the socket.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable, Coroutine
from typing import Any

from server.shells.loopserver import _step

Opening = Callable[[list[str]], Coroutine[Any, Any, None]]


def _run_opening(opening: Opening) -> tuple[list[str], socket.socket]:
    steps: list[str] = []
    left, right = socket.socketpair()
    right.close()

    async def main() -> None:
        _step(opening(steps), left)
        for _ in range(10):
            await asyncio.sleep(0)

    asyncio.run(main())
    return steps, left


async def _awaits_futures_and_bare_yields(steps: list[str]) -> None:
    loop = asyncio.get_running_loop()
    future: asyncio.Future[None] = loop.create_future()
    loop.call_soon(future.set_result, None)
    steps.append("transport")
    await future
    await asyncio.sleep(0)
    steps.append("connection_made ran")


async def _client_left(steps: list[str]) -> None:
    steps.append("tried")
    await asyncio.sleep(0)
    raise ConnectionResetError("the client left")


def test_the_opening_runs_to_its_end_through_futures_and_bare_yields() -> None:
    steps, sock = _run_opening(_awaits_futures_and_bare_yields)
    assert steps == ["transport", "connection_made ran"]
    assert sock.fileno() != -1  # a made transport owns it: not closed here
    sock.close()


def test_a_client_gone_before_its_transport_only_closes_the_socket() -> None:
    steps, sock = _run_opening(_client_left)
    assert steps == ["tried"]
    assert sock.fileno() == -1
