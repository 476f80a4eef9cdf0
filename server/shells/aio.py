"""The asyncio.Protocol shell (asyncio's loop or uvloop's): socket → parser → site → transport.
A response in memory is written from `data_received` (a plain request unparsed); one that
needs file I/O or streaming gets a task, later pipelined requests waiting for it. Over 64
KiB buffered it neither reads nor answers. Sending: `TransportSender`; the rest: `loopserver`.
"""

from __future__ import annotations

import asyncio
import socket

from server.protocol import ProtocolError, Request, RequestParser
from server.response import Response
from server.runtime import ServerContext
from server.shells import loopserver, sending
from server.shells.answers import answer, answer_express, answer_now, counted
from server.shells.driver import send_response
from server.shells.phases import Phase, late_head
from server.shells.transports import TransportSender
from server.static import error_response, internal_error


class AioServer(loopserver.LoopServer):
    """Our accept (see `LoopServer.awaits_accept`), then a transport per connection."""

    def accepted(self, sock: socket.socket) -> None:
        self.connect(sock, lambda: HttpConnection(self))


class HttpConnection(asyncio.Protocol):
    """One client connection: keep-alive, pipelining, flow control, its phases."""

    out: TransportSender  # set by connection_made, which asyncio calls before anything else

    def __init__(self, server: AioServer) -> None:
        self.server, self.context = server, server.context
        self.parser = RequestParser()
        self.task: asyncio.Task[None] | None = None  # a response that needs I/O
        self.last_active = self.head_started = server.now

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.out = TransportSender(transport, self.server.loop)
        self.server.connections.add(self)
        self.context.stats.connections += 1

    def connection_lost(self, exc: Exception | None) -> None:
        self.server.connections.discard(self)
        self.out.closed()
        if self.task is not None:
            self.task.cancel()

    def data_received(self, data: bytes) -> None:
        if self.out.closing:
            return  # a lingering close reads and discards
        if not self.parser.has_partial_request:
            if self._express(data):
                return
            self.head_started = self.server.now
        self.parser.feed(data)
        self._answer_ready()

    def _express(self, data: bytes) -> bool:
        """True if it answered `data` unparsed (`server.express`); never at shutdown."""
        if self.task is not None or self.out.paused or self.server.stopping:
            return False
        close = answer_express(self.context, data, self.out.transport.write)
        if close is None:
            return False
        self.last_active = self.server.now
        if close:
            self.out.linger()  # as `_sent` does
        return True

    def pause_writing(self) -> None:
        self.out.pause()

    def resume_writing(self) -> None:
        self.out.resume(reading=not self.out.closing)
        self._answer_ready()

    def _answer_ready(self) -> None:
        """Answer, in order, every complete request whose response is in memory."""
        parser, out = self.parser, self.out
        while not (out.closing or out.paused or self.task is not None):
            try:
                request = parser.next()
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
        if not self.out.closing:
            response = self.server.final(response)
            self.out.transport.writelines(response.pieces())
            counted(self.context, response)
            self._sent(response)

    async def _answer_slowly(self, request: Request, response: Response | None) -> None:
        """Answer one request that needs file I/O or streaming, then go on with the pipeline."""
        out = self.out
        try:
            response = self.server.final(response or await answer(self.context, request))
            out.transport.pause_reading()  # pipelined requests wait in the kernel
            await send_response(response, out, self.context, out.send, out.stalled)
            self._sent(response)
        except OSError as error:  # the client left (PEER_GONE), or the framing is broken
            sending.send_failed(self.context, error, self.abort)
        except Exception as error:
            self.context.report_crash("respond", error)
            self._send(internal_error())
        self.task = None
        if not out.closing:
            out.transport.resume_reading()
            self._answer_ready()

    def _sent(self, response: Response) -> None:
        self.last_active = self.server.now
        if response.close:
            self.out.linger()  # FIN, then read and discard until the client's FIN

    def state(self) -> tuple[Phase, float]:
        """Its phase and since when, for the sweep (`server.shells.phases`)."""
        if (held := self.out.held()) is not None:
            return held
        if self.task is not None:
            return Phase.BUSY, 0.0
        if self.parser.has_partial_request:
            return Phase.HEAD, self.head_started
        return Phase.IDLE, self.last_active

    def expire(self, phase: Phase) -> None:
        """The phase's answer once it outlasted its deadline."""
        if phase is Phase.HEAD:
            self._send(late_head())
        elif phase is Phase.IDLE:
            self.out.linger()
        else:  # LINGER or STALLED: the transport's own (`TransportSender.held`)
            self.out.expire_held(phase, self.context)

    def abort(self) -> None:
        """Drop the connection with a reset."""
        self.out.abort()


def run(context: ServerContext) -> None:
    """Serve with asyncio.Protocol on the variant's loop."""
    loopserver.run(context, AioServer)
