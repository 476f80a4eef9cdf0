"""The asyncio.Protocol shell, run on asyncio's own loop or on uvloop's.

It only moves bytes: socket → parser → site → transport. Responses already in memory are
written synchronously from `data_received` (no task per request); a request that needs
file I/O, or a body to stream, gets one task, and the connection answers its later
pipelined requests only after that one, in order. Write flow control: when the
transport's (bounded) buffer is full we stop reading and answering until it drains. Large
bodies go out with os.sendfile on a duplicate of the transport's socket once the transport
is empty (`sending.send_span`). Accepting, the sweep and shutdown: `loopserver`.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable
from typing import cast

from server.listener import reset_on_close
from server.protocol import ProtocolError, Request, RequestParser
from server.response import FileSpan, Response
from server.runtime import ServerContext
from server.shells import loopserver, sending
from server.shells.answers import answer, answer_now, counted
from server.shells.outgoing import FileShrank
from server.shells.phases import Phase, late_head
from server.static import error_response, internal_error


class AioServer(loopserver.LoopServer):
    """Our accept (see `LoopServer.awaits_accept`), then a transport per connection."""

    def accepted(self, sock: socket.socket) -> None:
        self.spawn(self._connect(sock))

    async def _connect(self, sock: socket.socket) -> None:
        try:
            await self.loop.connect_accepted_socket(lambda: HttpConnection(self), sock)
        except OSError:  # the client left before its transport was made
            sock.close()


class HttpConnection(asyncio.Protocol):
    """One client connection: keep-alive, pipelining, flow control, its phases."""

    def __init__(self, server: AioServer) -> None:
        self.server, self.context = server, server.context
        self.parser = RequestParser()
        self.transport: asyncio.Transport | None = None
        self.task: asyncio.Task[None] | None = None  # a response that needs I/O
        self.write_paused = self.closing = False
        self.drained: asyncio.Future[None] | None = None
        self.last_active = self.head_started = server.now
        self.blocked_since: float | None = None  # a send waits for the client since then
        self.lingering_since: float | None = None  # closing, waiting for the client's FIN

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it.
        self.transport = cast(asyncio.Transport, transport)
        self.server.connections.add(self)
        self.context.stats.connections += 1
        self.transport.set_write_buffer_limits(high=sending.HIGH_WATER, low=sending.LOW_WATER)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closing = True
        self.server.connections.discard(self)
        self._wake_writer()
        if self.task is not None:
            self.task.cancel()

    def data_received(self, data: bytes) -> None:
        if self.closing:
            return  # a lingering close reads and discards
        if not self.parser.has_partial_request:
            self.head_started = self.server.now
        self.parser.feed(data)
        self.last_active = self.server.now
        if self.task is None:
            self._answer_ready()

    def pause_writing(self) -> None:
        self.write_paused, self.blocked_since = True, self.server.loop.time()
        assert self.transport is not None
        self.transport.pause_reading()

    def resume_writing(self) -> None:
        self.write_paused, self.blocked_since = False, None
        assert self.transport is not None
        if not self.closing:
            self.transport.resume_reading()
        self._wake_writer()
        if self.task is None:
            self._answer_ready()

    def _answer_ready(self) -> None:
        """Answer, in order, every complete request whose response is in memory."""
        while not (self.write_paused or self.closing or self.task is not None):
            try:
                request = self.parser.next()
            except ProtocolError as error:
                return self._send(error_response(error))
            if request is None:
                return
            response = answer_now(self.context, request)
            if response is None or response.streamed_span() is not None:
                self.task = self.server.loop.create_task(self._answer_slowly(request, response))
                return
            self._send(response)

    async def _answer_slowly(self, request: Request, response: Response | None) -> None:
        """Answer one request that needs file I/O, then go on with the pipeline."""
        try:
            response = response or await answer(self.context, request)
            span = response.streamed_span()
            if span is None:
                self._send(response)
            else:
                await self._stream(self._final(response), span)
        except sending.PEER_GONE:
            self.context.peer_gone()
            self.abort()
        except FileShrank:  # the framing is broken
            self.abort()
        except Exception as error:
            self.context.report_crash("respond", error)
            self._send(internal_error())
        self.task = None
        self._answer_ready()

    def _final(self, response: Response) -> Response:
        """At shutdown every response says the connection closes after it."""
        return response.closing() if self.server.stopping else response

    def _send(self, response: Response) -> None:
        assert self.transport is not None
        if not self.closing:
            response = self._final(response)
            self.transport.writelines(response.pieces())
            self._after_response(response)

    def _after_response(self, response: Response) -> None:
        counted(self.context, response)
        self.last_active = self.server.now
        if response.close:
            self._close()

    async def _stream(self, response: Response, span: FileSpan) -> None:
        assert self.transport is not None
        self.transport.write(response.head())
        on, stats = self.server.config.sendfile, self.context.stats
        await sending.send_span(span, stats, sendfile=self._sendfile(span) if on else None,
                                send=self._write)  # fmt: skip
        self._after_response(response)  # counted here: no await after the last byte

    def _sendfile(self, span: FileSpan) -> sending.SendFile:
        async def send(file_fd: int) -> int:
            assert self.transport is not None
            self.transport.pause_reading()  # pipelined requests wait in the kernel meanwhile
            try:
                return await sending.sendfile_beside(
                    self.transport, self._drain, file_fd, span, self._stalled
                )
            finally:
                if not self.closing:
                    self.transport.resume_reading()

        return send

    async def _stalled(self, waiting: Awaitable[None]) -> None:
        self.blocked_since = self.server.loop.time()
        try:
            await waiting
        finally:
            self.blocked_since = None

    async def _write(self, chunk: bytes) -> None:
        """The copy path's send: write, then wait while the transport is paused."""
        if self.closing or self.transport is None:
            raise ConnectionResetError("the connection closed during the response")
        self.transport.write(chunk)
        while self.write_paused and not self.closing:
            await self._drain()

    async def _drain(self) -> None:
        self.drained = self.server.loop.create_future()
        await self.drained

    def _wake_writer(self) -> None:
        if self.drained is not None and not self.drained.done():
            self.drained.set_result(None)

    # -- the sweep's view (see `server.shells.phases`) -----------------------------------

    def state(self) -> tuple[Phase, float]:
        """Its phase, and since when."""
        if self.lingering_since is not None:
            return Phase.LINGER, self.lingering_since
        if self.blocked_since is not None:
            return Phase.STALLED, self.blocked_since
        if self.task is not None:
            return Phase.BUSY, 0.0
        if self.parser.has_partial_request:
            return Phase.HEAD, self.head_started
        return Phase.IDLE, self.last_active

    def expire(self, phase: Phase) -> None:
        """The phase's answer once it outlasted its deadline."""
        if phase is Phase.LINGER and self.transport is not None:
            self.transport.close()  # a FIN after what the kernel still holds, no reset
        elif phase is Phase.STALLED:
            self.context.send_timed_out()
            self.abort()
        elif phase is Phase.HEAD:
            self._send(late_head())
        elif phase is Phase.IDLE:
            self._close()

    def _close(self) -> None:
        """Close without a reset: FIN, then read and discard until the client's FIN."""
        if self.closing or self.transport is None:
            return
        self.closing = True
        if not self.transport.can_write_eof():
            return self.transport.close()
        self.transport.write_eof()
        self.transport.resume_reading()
        self.lingering_since = self.server.now

    def abort(self) -> None:
        """Drop the connection with a reset: the kernel frees its send queue at once."""
        self.closing = True
        if self.transport is not None:
            reset_on_close(self.transport.get_extra_info("socket"))
            self.transport.abort()


def run(context: ServerContext) -> None:
    """Serve with asyncio.Protocol on the variant's loop."""
    loopserver.run(context, AioServer)
