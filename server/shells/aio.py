"""The asyncio.Protocol shell, run on asyncio's own loop or on uvloop's.

It only moves bytes: socket → parser → site → transport. Responses already in memory are
written synchronously from `data_received` (no task per request); a request that needs
file I/O, or a body to stream, gets one task, and the connection answers its later
pipelined requests only after that one, in order. Write flow control: while the
transport's buffer is over 64 KiB we stop reading and answering. Sending, the lingering
close and the reset: `transports.TransportSender`; accepting, the sweep, shutdown:
`loopserver.LoopServer`.
"""

from __future__ import annotations

import asyncio
import socket

from server.protocol import ProtocolError, Request, RequestParser
from server.response import Response
from server.runtime import ServerContext
from server.shells import loopserver, sending
from server.shells.answers import answer, answer_now, counted
from server.shells.driver import send_response
from server.shells.outgoing import FileShrank
from server.shells.phases import Phase, late_head
from server.shells.transports import TransportSender
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
        self.out: TransportSender | None = None
        self.task: asyncio.Task[None] | None = None  # a response that needs I/O
        self.closing = False
        self.last_active = self.head_started = server.now
        self.lingering_since: float | None = None  # closing, waiting for the client's FIN

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.out = TransportSender(transport)
        self.server.connections.add(self)
        self.context.stats.connections += 1

    def connection_lost(self, exc: Exception | None) -> None:
        self.closing = True
        self.server.connections.discard(self)
        if self.out is not None:
            self.out.closed()
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
        assert self.out is not None
        self.out.pause()
        self.out.transport.pause_reading()

    def resume_writing(self) -> None:
        assert self.out is not None
        self.out.resume()
        if not self.closing:
            self.out.transport.resume_reading()
        if self.task is None:
            self._answer_ready()

    def _answer_ready(self) -> None:
        """Answer, in order, every complete request whose response is in memory."""
        assert self.out is not None
        while not (self.closing or self.task is not None or self.out.paused):
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

    def _send(self, response: Response) -> None:
        """Write a response held in memory, at once."""
        if not self.closing and self.out is not None:
            response = self.server.final(response)
            self.out.transport.writelines(response.pieces())
            counted(self.context, response)
            self._sent(response)

    async def _answer_slowly(self, request: Request, response: Response | None) -> None:
        """Answer one request that needs file I/O or streaming, then go on with the pipeline."""
        assert self.out is not None
        try:
            response = self.server.final(response or await answer(self.context, request))
            self.out.transport.pause_reading()  # pipelined requests wait in the kernel
            await send_response(response, self.out, self.context, self.out.send, self.out.stalled)
            self._sent(response)
        except sending.PEER_GONE:
            self.context.peer_gone()
            self.abort()
        except FileShrank:  # the framing is broken
            self.abort()
        except Exception as error:
            self.context.report_crash("respond", error)
            self._send(internal_error())
        self.task = None
        if not self.closing:
            self.out.transport.resume_reading()
            self._answer_ready()

    def _sent(self, response: Response) -> None:
        self.last_active = self.server.now
        if response.close:
            self._close()

    def state(self) -> tuple[Phase, float]:
        """Its phase and since when, for the sweep (`server.shells.phases`)."""
        if self.lingering_since is not None:
            return Phase.LINGER, self.lingering_since
        if self.out is not None and self.out.stalled_since is not None:
            return Phase.STALLED, self.out.stalled_since
        if self.task is not None:
            return Phase.BUSY, 0.0
        if self.parser.has_partial_request:
            return Phase.HEAD, self.head_started
        return Phase.IDLE, self.last_active

    def expire(self, phase: Phase) -> None:
        """The phase's answer once it outlasted its deadline."""
        if phase is Phase.LINGER and self.out is not None:
            self.out.close()
        elif phase is Phase.STALLED:
            self.context.send_timed_out()
            self.abort()
        elif phase is Phase.HEAD:
            self._send(late_head())
        elif phase is Phase.IDLE:
            self._close()

    def _close(self) -> None:
        """FIN, then read and discard until the client's FIN (see `phases.LINGER`)."""
        if not self.closing and self.out is not None:
            self.closing = True
            self.out.shutdown_write()
            self.out.transport.resume_reading()
            self.lingering_since = self.server.now

    def abort(self) -> None:
        """Drop the connection with a reset."""
        self.closing = True
        if self.out is not None:
            self.out.abort()


def run(context: ServerContext) -> None:
    """Serve with asyncio.Protocol on the variant's loop."""
    loopserver.run(context, AioServer)
