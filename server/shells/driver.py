"""A coroutine per connection over a small `Channel`: the sockets, streams and blog shells.

`Connection.run` owns everything a connection does: keep-alive and pipelining (requests
answered in order), its phases for the sweep (`server.shells.phases`), `Connection: close`
on every response once the server is stopping, counting after the last byte, the large-file
send (`sending.send_span`: sendfile, or a copy for that response), a lingering close, and
the answer to each way it can end (a client that left is counted, never an error). A
`Channel` only moves bytes, the way its I/O style does.
"""

from __future__ import annotations

import abc
import asyncio
from collections.abc import Awaitable
from typing import TypeVar

from server.protocol import ProtocolError, Request, RequestParser
from server.response import FileSpan, Response
from server.runtime import ServerContext
from server.shells import sending
from server.shells.answers import answer, counted
from server.shells.loopserver import LoopServer
from server.shells.phases import Phase, late_head
from server.shells.sending import Send, Stalled
from server.static import error_response

# Bytes handed to a channel's send at once: a send waits for room, so a slow reader holds
# at most about this much of a response (plus what its channel buffers) in our memory.
PIECE = 64 * 1024
T = TypeVar("T")


class Sender(abc.ABC):
    """Bytes out of one connection, and how it ends."""

    @abc.abstractmethod
    async def send(self, data: bytes | memoryview) -> None:
        """Send `data`, waiting while the client does not read (at most PIECE at a time)."""

    @abc.abstractmethod
    async def send_file(self, file_fd: int, span: FileSpan, stalled: Stalled) -> int:
        """sendfile `span` of `file_fd`, each wait for room through `stalled`; bytes sent."""

    @abc.abstractmethod
    def shutdown_write(self) -> None:
        """Send our FIN (the response is all out); reading goes on."""

    @abc.abstractmethod
    def close(self) -> None:
        """Close (idempotent)."""

    @abc.abstractmethod
    def abort(self) -> None:
        """Close with a reset: the kernel drops what it still holds for this client."""


class Channel(Sender):
    """Bytes in and out of one connection, in the shell's I/O style."""

    @abc.abstractmethod
    async def receive(self) -> bytes:
        """Some bytes the client sent; b"" once it has finished sending."""


async def send_response(
    response: Response, out: Sender, context: ServerContext, send: Send, stalled: Stalled
) -> None:
    """Head, body (PIECE at a time through `send`), then its file span; counted at the end."""
    span = response.streamed_span()
    body = response.pieces()[-1]
    if span is None and len(body) <= PIECE:
        await send(response.payload())  # one buffer: a small response is one send
    else:
        await send(response.head())
        view = memoryview(body)
        for start in range(0, len(view), PIECE):
            await send(view[start : start + PIECE])
        if span is not None:

            async def sendfile(file_fd: int) -> int:
                return await out.send_file(file_fd, span, stalled)

            on = context.config.sendfile
            await sending.send_span(span, context.stats, sendfile=sendfile if on else None,
                                    send=send)  # fmt: skip
    counted(context, response)


class Expired(Exception):
    """The sweep found this connection's phase overdue (raised where it was waiting)."""

    def __init__(self, phase: Phase) -> None:
        super().__init__(phase.value)
        self.phase = phase


class Connection:
    """One client, driven by one task: read requests, answer them in order, close."""

    def __init__(self, server: LoopServer, channel: Channel, *, keep_alive: bool = True) -> None:
        self.server, self.channel, self.keep_alive = server, channel, keep_alive
        self.context = server.context
        self.parser = RequestParser()
        self.phase, self.since = Phase.IDLE, server.now
        self.expired: Phase | None = None  # set by the sweep, then the task is cancelled
        self.aborted = False  # shutdown's grace is over: the task resets the connection
        self.task: asyncio.Task[None] | None = None
        server.connections.add(self)

    def state(self) -> tuple[Phase, float]:
        """Its phase and since when, for the sweep."""
        return self.phase, self.since

    def expire(self, phase: Phase) -> None:
        """Interrupt the wait the phase is in; the task answers it (see `Phase`)."""
        if self.task is not None and self.expired is None and not self.aborted:
            self.expired = phase
            self.task.cancel()

    def abort(self) -> None:
        """Reset the connection, whatever it is doing (shutdown's grace is over)."""
        if self.task is not None and not self.aborted:
            self.aborted = True
            self.task.cancel()

    async def run(self) -> None:
        """Serve the connection to its end, whatever happens."""
        self.task = asyncio.current_task()
        self.context.stats.connections += 1
        try:
            await self._serve()
        except Expired:  # a stalled send (see `_serve` for the others): a reset, not a FIN
            if not self.aborted:
                self.context.send_timed_out()
            self.channel.abort()
        except asyncio.CancelledError:
            if not self.aborted:
                raise  # the loop is closing
            self.channel.abort()
        except OSError as error:  # the client left (PEER_GONE), or the framing is broken
            sending.send_failed(self.context, error, self.channel.abort)
        finally:
            self.server.connections.discard(self)
            self.channel.close()

    async def _serve(self) -> None:
        while (request := await self._request()) is not None:
            response = self.server.final(await answer(self.context, request))
            if not self.keep_alive:
                response = response.closing()
            if response.close:
                return await self._last(response)
            await self._respond(response)

    async def _request(self) -> Request | None:
        """The next request; None once the connection is done (its last answer sent)."""
        try:
            return await self._next_request()
        except ProtocolError as error:
            await self._last(error_response(error))
        except Expired as expired:
            if expired.phase is Phase.HEAD:
                await self._last(late_head())
            elif expired.phase is not Phase.IDLE:  # IDLE: past the keep-alive timeout
                raise
        return None

    async def _next_request(self) -> Request | None:
        """The next complete request (None at the client's end), reading as needed."""
        while (request := self.parser.next()) is None:
            phase = Phase.HEAD if self.parser.has_partial_request else Phase.IDLE
            if phase is not self.phase:
                self.phase, self.since = phase, self.server.now
            try:
                data = await self._wait(self.channel.receive())
            except OSError:  # reset while we waited for a request: it just left
                return None
            if not data:
                return None
            self.parser.feed(data)
        self.phase = Phase.BUSY
        return request

    async def _respond(self, response: Response) -> None:
        await send_response(response, self.channel, self.context, self._send, self._stalled)
        self.phase, self.since = Phase.IDLE, self.server.now

    async def _send(self, data: bytes | memoryview) -> None:
        await self._stalled(self.channel.send(data))

    async def _stalled(self, waiting: Awaitable[None]) -> None:
        self.phase, self.since = Phase.STALLED, self.server.loop.time()
        await self._wait(waiting)
        self.phase = Phase.BUSY

    async def _last(self, response: Response) -> None:
        """Send the connection's last response, then close without a reset."""
        await self._respond(response)
        self.channel.shutdown_write()
        self.phase, self.since = Phase.LINGER, self.server.now
        try:
            while await self._wait(self.channel.receive()):
                pass  # discard what the client still sends, until its FIN
        except (Expired, OSError):
            pass

    async def _wait(self, waiting: Awaitable[T]) -> T:
        """Await `waiting`; an expiry from the sweep arrives here as `Expired`."""
        try:
            return await waiting
        except asyncio.CancelledError:
            phase, self.expired = self.expired, None
            if phase is None:
                raise  # a real cancellation (the loop is closing)
            if self.task is not None:
                self.task.uncancel()
            raise Expired(phase) from None
