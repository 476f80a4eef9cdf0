"""The asyncio.Protocol shell, run on asyncio's own loop or on uvloop's.

It only moves bytes: socket → parser → site → transport. Responses that are already in
memory are written synchronously from `data_received` (no task per request); a request
that needs file I/O, or a body to stream, gets one task, and the connection answers its
later pipelined requests only after that one, in order. Write flow control: when the
transport's buffer is full we stop reading and answering until it drains.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable
from typing import Any, BinaryIO, cast

from aiofile import AIOFile

from server.listener import tune_connection
from server.protocol import ProtocolError, Request, RequestParser
from server.response import DATE_LINE, FileSpan, Response, text_response
from server.runtime import ACCEPT_RETRY_DELAY, ServerContext
from server.static import error_response, internal_error

_COPY_CHUNK = 256 * 1024
_TICK = 1.0  # seconds between timeout sweeps; deadlines are this coarse


class AioServer:
    """The listening side: accepts connections, sweeps their deadlines, shuts down."""

    def __init__(self, context: ServerContext) -> None:
        self.context = context
        self.config = context.config
        self.stats = context.stats
        self.site = context.site
        self.connections: set[HttpConnection] = set()
        self.loop = asyncio.get_running_loop()
        self.now = self.loop.time()  # coarse clock, advanced by the sweep
        self.native_sendfile = True  # cleared when the loop says it has no sendfile
        self.stopping = False
        self.quiet_until = 0.0  # accept errors are not logged again before this loop time

    async def serve(self) -> None:
        """Serve until SIGINT or SIGTERM, then shut down gracefully."""
        self.loop.set_exception_handler(self._on_loop_error)
        stop = asyncio.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            self.loop.add_signal_handler(signum, stop.set)
        server = await self.loop.create_server(
            lambda: HttpConnection(self), sock=self.context.listener, backlog=self.config.backlog
        )
        self._tick()
        self.context.on_ready()
        await stop.wait()
        await self._shut_down(server)

    def _on_loop_error(self, loop: asyncio.AbstractEventLoop, details: dict[str, Any]) -> None:
        """One log line per back-off when accept() fails, not one traceback per attempt.

        Python 3.11's selector loop retries accept() up to `backlog` times on EMFILE and
        logs every failure (CPython issue 151615); everything else goes to the default.
        """
        if "accept" not in str(details.get("message", "")):
            loop.default_exception_handler(details)
            return
        if self.loop.time() >= self.quiet_until:
            self.quiet_until = self.loop.time() + ACCEPT_RETRY_DELAY
            error = details.get("exception") or RuntimeError(details.get("message"))
            self.context.report_crash("accept", error)

    def _tick(self) -> None:
        self.now = self.loop.time()
        DATE_LINE.tick()
        for connection in list(self.connections):
            connection.check_deadlines(self.now)
        if not self.stopping:
            self.loop.call_later(_TICK, self._tick)

    async def _shut_down(self, server: asyncio.Server) -> None:
        """Stop accepting, let in-flight responses finish within the grace period."""
        self.stopping = True
        server.close()
        for connection in list(self.connections):
            connection.close_if_idle()
        deadline = self.loop.time() + self.config.grace
        while self.connections and self.loop.time() < deadline:
            await asyncio.sleep(0.05)
        for connection in list(self.connections):
            connection.abort()


class HttpConnection(asyncio.Protocol):
    """One client connection: keep-alive, pipelining, flow control, deadlines."""

    def __init__(self, server: AioServer) -> None:
        self.server = server
        self.site = server.site
        self.stats = server.stats
        self.parser = RequestParser()
        self.transport: asyncio.Transport | None = None
        self.task: asyncio.Task[None] | None = None  # a response that needs I/O
        self.write_paused = False
        self.drained: asyncio.Future[None] | None = None
        self.closing = False
        self.last_active = self.head_started = self.paused_since = server.now

    # -- asyncio.Protocol callbacks --------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it.
        transport = cast(asyncio.Transport, transport)
        self.transport = transport
        server = self.server
        if server.stopping or len(server.connections) >= server.config.max_connections:
            self.stats.refused_connections += 1
            self.closing = True
            transport.write(text_response(503, "too many connections", close=True).payload())
            transport.close()
            return
        server.connections.add(self)
        self.stats.connections += 1
        tune_connection(transport.get_extra_info("socket"))

    def connection_lost(self, exc: Exception | None) -> None:
        self.closing = True
        self.server.connections.discard(self)
        self._wake_writer()
        if self.task is not None:
            self.task.cancel()

    def data_received(self, data: bytes) -> None:
        if not self.parser.has_partial_request:
            self.head_started = self.server.now
        self.parser.feed(data)
        self.last_active = self.server.now
        if self.task is None:
            self._answer_ready()

    def pause_writing(self) -> None:
        self.write_paused = True
        self.paused_since = self.server.now
        assert self.transport is not None
        self.transport.pause_reading()

    def resume_writing(self) -> None:
        self.write_paused = False
        assert self.transport is not None
        self.transport.resume_reading()
        self._wake_writer()
        if self.task is None:
            self._answer_ready()

    # -- answering ----------------------------------------------------------------

    def _answer_ready(self) -> None:
        """Answer, in order, every complete request whose response is in memory."""
        while not (self.write_paused or self.closing or self.task is not None):
            try:
                request = self.parser.next()
            except ProtocolError as error:
                self._send(error_response(error))
                return
            if request is None:
                return
            try:
                response = self.site.respond_now(request)
            except Exception as error:
                self.server.context.report_crash("respond_now", error)
                self._send(internal_error())
                return
            if response is None or response.streamed_span() is not None:
                self.task = self.server.loop.create_task(self._answer_slowly(request, response))
                return
            self._send(response)

    async def _answer_slowly(self, request: Request, response: Response | None) -> None:
        """Answer one request that needs file I/O, then go on with the pipeline."""
        try:
            if response is None:
                response = await self.site.respond(request)
            span = response.streamed_span()
            if span is None:
                self._send(response)
            else:
                await self._stream(response, span)
        except Exception as error:
            self.server.context.report_crash("respond", error)
            self._send(internal_error())
        self.task = None
        self._answer_ready()

    def _send(self, response: Response) -> None:
        assert self.transport is not None
        if self.closing:
            return
        self.transport.writelines(response.pieces())
        self._after_response(response)

    def _after_response(self, response: Response) -> None:
        self.stats.requests += 1
        if response.status >= 400:
            self.stats.errors_4xx_5xx += 1
        self.last_active = self.server.now
        if response.close or self.server.stopping:
            self.closing = True
            assert self.transport is not None
            self.transport.close()

    # -- streaming large files ----------------------------------------------------------

    async def _stream(self, response: Response, span: FileSpan) -> None:
        assert self.transport is not None
        self.transport.write(response.head())
        with open(span.path, "rb") as file:
            sent = await self._send_file(file, span)
        if sent != span.length:  # the file shrank under us: the framing is broken
            self.abort()
            return
        self._after_response(response)

    async def _send_file(self, file: BinaryIO, span: FileSpan) -> int:
        """loop.sendfile when the loop has it (uvloop has not), else read + write."""
        assert self.transport is not None
        if self.server.native_sendfile:
            try:
                sent = await self.server.loop.sendfile(
                    self.transport, file, span.offset, span.length, fallback=False
                )
            except (asyncio.SendfileNotAvailableError, NotImplementedError):
                self.server.native_sendfile = False
            else:
                self.stats.sendfile_responses += 1
                return sent
        self.stats.copied_responses += 1
        return await self._copy(span)

    async def _copy(self, span: FileSpan) -> int:
        assert self.transport is not None
        sent = 0
        async with AIOFile(span.path, "rb") as handle:
            while sent < span.length and not self.closing:
                size = min(_COPY_CHUNK, span.length - sent)
                chunk = await handle.read(size, span.offset + sent)
                if not chunk:
                    break
                assert isinstance(chunk, bytes)
                self.transport.write(chunk)
                sent += len(chunk)
                if self.write_paused:
                    await self._drain()
        return sent

    async def _drain(self) -> None:
        self.drained = self.server.loop.create_future()
        await self.drained

    def _wake_writer(self) -> None:
        if self.drained is not None and not self.drained.done():
            self.drained.set_result(None)

    # -- deadlines and shutdown ----------------------------------------------------------

    def check_deadlines(self, now: float) -> None:
        """Called about once a second: enforce send, head and keep-alive timeouts."""
        config = self.server.config
        if self.write_paused:
            if now - self.paused_since > config.send_timeout:
                self.abort()
        elif self.task is not None:
            return
        elif self.parser.has_partial_request:
            if now - self.head_started > config.head_timeout:
                self._send(error_response(ProtocolError(408, "request head not received in time")))
        elif now - self.last_active > config.keepalive_timeout:
            self._close()

    def close_if_idle(self) -> None:
        """At shutdown: close now unless a response is under way."""
        if self.task is None and not self.write_paused and not self.parser.has_partial_request:
            self._close()

    def _close(self) -> None:
        self.closing = True
        if self.transport is not None:
            self.transport.close()

    def abort(self) -> None:
        """Drop the connection without flushing (deadline passed or framing broken)."""
        self.closing = True
        if self.transport is not None:
            self.transport.abort()


def _run(
    context: ServerContext, loop_factory: Callable[[], asyncio.AbstractEventLoop] | None
) -> None:
    async def main() -> None:
        await AioServer(context).serve()

    with asyncio.Runner(loop_factory=loop_factory) as runner:
        runner.run(main())


def run_asyncio(context: ServerContext) -> None:
    """Serve with asyncio's default event loop."""
    _run(context, None)


def run_uvloop(context: ServerContext) -> None:
    """Serve with uvloop's event loop (the same shell; only the loop differs)."""
    import uvloop

    _run(context, uvloop.new_event_loop)
