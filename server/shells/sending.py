"""Sends on a non-blocking socket from an event loop: bytes and file spans, resumed on writability.

The event-loop shells share it. `sendfile` is the kernel-to-kernel path (uvloop has no
`loop.sendfile`, and asyncio's gives up on sendfile for good when a client leaves before
the first byte); it raises `SendfileUnavailable` only when sendfile itself cannot serve this
file to this socket, so a shell falls back for that one response. The caller's `wait`
awaits writability and is where it bounds a stall (no progress for its send timeout).
"""

from __future__ import annotations

import asyncio
import errno
import os
from collections.abc import Awaitable, Callable

# os.sendfile's answers that mean "not for this file or socket", never "the client left".
_UNAVAILABLE = frozenset(
    {errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSOCK, errno.ESPIPE, errno.EOVERFLOW}
)

# What a send raises when the peer has gone away: an info-level event, never a 500.
PEER_GONE = ConnectionError

Wait = Callable[[], Awaitable[None]]


class SendfileUnavailable(Exception):
    """os.sendfile cannot send this file to this socket (nothing was sent)."""


async def writable(loop: asyncio.AbstractEventLoop, fd: int) -> None:
    """Wait until `fd` can take more bytes (fd must not belong to a transport)."""
    future = loop.create_future()
    loop.add_writer(fd, _resolve, future)
    try:
        await future
    finally:
        loop.remove_writer(fd)


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


async def sendfile(fd: int, file_fd: int, offset: int, count: int, wait: Wait) -> int:
    """Send `count` bytes of `file_fd` from `offset`; returns how many (fewer if it shrank)."""
    if not hasattr(os, "sendfile"):
        raise SendfileUnavailable("this platform has no os.sendfile")
    sent = 0
    while sent < count:
        try:
            done = os.sendfile(fd, file_fd, offset + sent, count - sent)
        except BlockingIOError:
            await wait()
            continue
        except OSError as error:
            if sent == 0 and error.errno in _UNAVAILABLE:
                raise SendfileUnavailable(str(error)) from error
            raise
        if done == 0:  # end of file: the file is shorter than it was
            break
        sent += done
    return sent


async def send_bytes(fd: int, data: bytes, wait: Wait) -> None:
    """Send all of `data` on the non-blocking socket `fd`."""
    view = memoryview(data)
    while view:
        try:
            done = os.write(fd, view)
        except BlockingIOError:
            await wait()
            continue
        view = view[done:]
