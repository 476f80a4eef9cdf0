"""Sends on a non-blocking socket from an event loop: bytes and file spans, resumed on writability.

The event-loop shells share it. `send_span` sends a large file's span: `sendfile` is the
kernel-to-kernel path (uvloop has no `loop.sendfile`, and asyncio's gives up on sendfile
for good when a client leaves before the first byte); it raises `SendfileUnavailable` only
when sendfile itself cannot serve this file to this socket, so the span falls back to a
copy through a small buffer for that one response. The caller's `wait` awaits
writability and is where it bounds a stall (no progress for its send timeout).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable

from aiofile import AIOFile

from server.response import FileSpan
from server.runtime import ServerContext
from server.shells.outgoing import COPY_CHUNK, UNAVAILABLE, FileShrank
from server.stats import ServerStats

# What a send raises when the peer has gone away: an info-level event, never a 500.
PEER_GONE = ConnectionError

Wait = Callable[[], Awaitable[None]]
# A transport's write buffer limits: above HIGH a shell stops writing (and answering) until
# the buffer is below LOW, so a client that reads slowly costs about HIGH in our memory.
HIGH_WATER, LOW_WATER = 64 * 1024, 16 * 1024
Stalled = Callable[[Awaitable[None]], Awaitable[None]]  # awaits, marking the send stalled
# Sends a span of the open file (its descriptor given) with sendfile; returns bytes sent.
SendFile = Callable[[int], Awaitable[int]]
Send = Callable[[bytes | memoryview], Awaitable[None]]  # sends bytes, waiting for room


def send_failed(context: ServerContext, error: OSError, abort: Callable[[], None]) -> None:
    """A send failed mid-response: reset the connection (`abort`); a client that left is
    counted as such (never an error), a broken framing (`FileShrank`, any other OSError) not."""
    if isinstance(error, PEER_GONE):
        context.peer_gone()
    abort()


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
            if sent == 0 and error.errno in UNAVAILABLE:
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


async def sendfile_beside(
    transport: asyncio.Transport,
    drain: Callable[[], Awaitable[None]],
    file_fd: int,
    span: FileSpan,
    stalled: Stalled,
) -> int:
    """os.sendfile on a duplicate of a transport's socket, once the transport is empty.

    A duplicate, because neither loop lets us watch a transport's own fd; empty first, so
    the span follows the head the transport still holds. `drain` waits while it is paused.
    """
    transport.set_write_buffer_limits(high=0)  # paused now, resumed only once it is empty
    try:
        while transport.get_write_buffer_size() and not transport.is_closing():
            await stalled(drain())
    finally:
        if not transport.is_closing():
            transport.set_write_buffer_limits(high=HIGH_WATER, low=LOW_WATER)
    loop = asyncio.get_running_loop()
    fd = os.dup(transport.get_extra_info("socket").fileno())
    try:
        wait = lambda: stalled(writable(loop, fd))  # noqa: E731
        return await sendfile(fd, file_fd, span.offset, span.length, wait)
    finally:
        os.close(fd)


async def send_span(
    span: FileSpan, stats: ServerStats, *, sendfile: SendFile | None, send: Send
) -> None:
    """Send `span` with `sendfile` (None: --sendfile off), else copy it; FileShrank if short."""
    if sendfile is not None:
        with open(span.path, "rb") as file:
            try:
                sent = await sendfile(file.fileno())
            except SendfileUnavailable:
                pass
            else:
                stats.sendfile_responses += 1
                return _check_length(sent, span)
    stats.copied_responses += 1
    _check_length(await copy_span(span, send), span)


async def copy_span(span: FileSpan, send: Send) -> int:
    """Read + send through one small buffer; returns how many bytes went out."""
    sent = 0
    async with AIOFile(span.path, "rb") as handle:
        while sent < span.length:
            chunk = await handle.read(min(COPY_CHUNK, span.length - sent), span.offset + sent)
            if not chunk:
                break
            assert isinstance(chunk, bytes)
            await send(chunk)
            sent += len(chunk)
    return sent


def _check_length(sent: int, span: FileSpan) -> None:
    if sent != span.length:
        raise FileShrank("the file shrank while it was being sent")
