"""Sending on an asyncio transport under flow control: the Protocol and streams shells share it.

A `TransportSender` bounds the transport's write buffer (above HIGH_WATER the protocol
is paused and stops reading; `drain` waits until it is resumed), sends large files with
sendfile beside the transport, half-closes for a lingering close and resets. The Protocol
shell feeds it its own pause/resume/lost callbacks; the streams shell waits in
`StreamWriter.drain` instead.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import cast

from server.listener import reset_on_close
from server.response import FileSpan
from server.runtime import ServerContext
from server.shells import sending
from server.shells.driver import Sender
from server.shells.phases import Phase
from server.shells.sending import Stalled


class TransportSender(Sender):
    """What a connection sends on its transport, and how it ends."""

    def __init__(self, transport: asyncio.BaseTransport, loop: asyncio.AbstractEventLoop) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it.
        self.transport = cast(asyncio.Transport, transport)
        # The loop, kept: asyncio.get_running_loop() costs a getpid() syscall per call (3.11).
        self.loop = loop
        self.transport.set_write_buffer_limits(high=sending.HIGH_WATER, low=sending.LOW_WATER)
        self.paused = self.lost = False
        self.closing = False  # its last response is out (lingering, reset or lost): send no more
        self._resumed: asyncio.Future[None] | None = None
        self.stalled_since: float | None = None  # loop time since which a send waits
        self.lingering_since: float | None = None  # loop time since `linger`

    def pause(self) -> None:
        """The protocol's pause_writing: the buffer is over HIGH_WATER; stop reading too."""
        self.paused = True
        self.stalled_since = self.loop.time()
        self.transport.pause_reading()

    def resume(self, *, reading: bool = False) -> None:
        """The protocol's resume_writing (and connection_lost): wake a waiting send."""
        self.paused, self.stalled_since = False, None
        if reading:
            self.transport.resume_reading()
        if self._resumed is not None and not self._resumed.done():
            self._resumed.set_result(None)

    def held(self) -> tuple[Phase, float] | None:
        """LINGER or STALLED and since when, if the transport holds the connection there."""
        if self.lingering_since is not None:
            return Phase.LINGER, self.lingering_since
        if self.stalled_since is not None:
            return Phase.STALLED, self.stalled_since
        return None

    def expire_held(self, phase: Phase, context: ServerContext) -> None:
        """The answer to a `held` phase that outlasted its deadline: a lingering close ends,
        a stalled send is counted and reset."""
        if phase is Phase.LINGER:
            self.close()
        elif phase is Phase.STALLED:
            context.send_timed_out()
            self.abort()

    def closed(self) -> None:
        """The protocol's connection_lost."""
        self.lost = self.closing = True
        self.resume()

    async def stalled(self, waiting: Awaitable[None]) -> None:
        """Await `waiting` (room in the socket), counted as a stalled send meanwhile."""
        self.stalled_since = self.loop.time()
        try:
            await waiting
        finally:
            self.stalled_since = None

    async def drain(self) -> None:
        """Wait while the transport is paused."""
        while self.paused and not self.lost:
            self._resumed = self.loop.create_future()
            await self._resumed

    async def send(self, data: bytes | memoryview) -> None:
        """Write, then wait while the transport is over HIGH_WATER."""
        if self.lost:
            raise ConnectionResetError("the connection closed during the response")
        self.transport.write(data)
        await self.drain()

    async def send_file(self, file_fd: int, span: FileSpan, stalled: Stalled) -> int:
        """sendfile `span`, beside the transport once it is empty."""
        return await sending.sendfile_beside(self.transport, self.drain, file_fd, span, stalled)

    def shutdown_write(self) -> None:
        """Send our FIN after what the transport holds; reading goes on."""
        if self.transport.can_write_eof() and not self.transport.is_closing():
            self.transport.write_eof()
        else:
            self.transport.close()

    def linger(self) -> None:
        """FIN after the last response, then read (and discard) until the client's FIN."""
        if self.closing:
            return
        self.closing = True
        self.shutdown_write()
        self.transport.resume_reading()
        self.lingering_since = self.loop.time()

    def close(self) -> None:
        """Close after what the transport still holds (a FIN, no reset)."""
        self.transport.close()

    def abort(self) -> None:
        """Drop the connection with a reset: the kernel frees its send queue at once."""
        self.closing = True
        # Asked for here, not kept: uvloop builds a socket object (a getsockname) per call,
        # and only a reset needs it; uvloop's has none once closing.
        sock = None if self.transport.is_closing() else self.transport.get_extra_info("socket")
        if sock is not None:
            reset_on_close(sock)
        self.transport.abort()
