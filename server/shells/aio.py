"""The asyncio.Protocol shell, run on asyncio's own loop or on uvloop's.

It only moves bytes: socket → parser → site → transport. Responses that are already in
memory are written synchronously from `data_received` (no task per request); a request
that needs file I/O, or a body to stream, gets one task, and the connection answers its
later pipelined requests only after that one, in order. Write flow control: when the
transport's (bounded) buffer is full we stop reading and answering until it drains. Large
bodies go out with our own os.sendfile on the transport's socket while the transport is
empty, on both loops; a copy through a small buffer is the per-response fallback.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
from collections.abc import Callable
from typing import Any, BinaryIO, cast

from aiofile import AIOFile

from server.listener import reset_on_close, tune_connection
from server.protocol import ProtocolError, Request, RequestParser
from server.response import DATE_LINE, FileSpan, Response, text_response
from server.runtime import ACCEPT_RETRY_DELAY, ServerContext
from server.shells import sending
from server.static import error_response, internal_error

_COPY_CHUNK = 64 * 1024  # the fallback's buffer: small, because slow readers hold one each
# The transport's write buffer: above HIGH we stop reading and answering until it is below
# LOW, so a client that reads slowly costs at most about HIGH + one response in memory.
_HIGH_WATER = 64 * 1024
_LOW_WATER = 16 * 1024
_TICK = 1.0  # seconds between timeout sweeps; deadlines are this coarse
_LINGER = 2.0  # seconds a closing connection waits for the client's FIN (see `_close`)


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
        self.stopping = False
        self.connecting: set[asyncio.Task[Any]] = set()  # accepted, transport being made
        self.accepting = False

    async def serve(self) -> None:
        """Serve until SIGINT or SIGTERM, then shut down gracefully."""
        stop = asyncio.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            self.loop.add_signal_handler(signum, stop.set)
        self._start_accepting()
        self._tick()
        self.context.on_ready()
        await stop.wait()
        await self._shut_down()

    # -- accepting ------------------------------------------------------------------------

    def _start_accepting(self) -> None:
        if not self.stopping:
            self.loop.add_reader(self.context.listener.fileno(), self._accept_waiting)
            self.accepting = True

    def _stop_accepting(self) -> None:
        if self.accepting:
            self.loop.remove_reader(self.context.listener.fileno())
            self.accepting = False

    def _accept_waiting(self) -> None:
        """Accept every waiting connection (up to the backlog), on both loops.

        Our own accept, not `create_server`'s: libuv (uvloop) accepts one connection per
        loop iteration, so under `ab -c 1000 -k` the accept queue drained at ~35/s while
        accepted clients were served, and new ones waited seconds. It also sees EMFILE,
        which libuv swallows (it accepts and drops the connection without a word).
        """
        listener = self.context.listener
        for _ in range(self.config.backlog):
            try:
                sock, _ = listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except ConnectionAbortedError:
                continue  # the client gave up before we accepted it
            except OSError as error:  # e.g. out of file descriptors: back off, then retry
                self._back_off(error)
                return
            task = self.loop.create_task(self._connect(sock))
            self.connecting.add(task)
            task.add_done_callback(self.connecting.discard)

    async def _connect(self, sock: socket.socket) -> None:
        try:
            await self.loop.connect_accepted_socket(lambda: HttpConnection(self), sock)
        except OSError:  # the client left before its transport was made
            sock.close()

    def _back_off(self, error: OSError) -> None:
        """One log line per back-off, and no accepting meanwhile (the listener stays ready)."""
        self.context.accept_failed(error)
        self._stop_accepting()
        self.loop.call_later(ACCEPT_RETRY_DELAY, self._start_accepting)

    def _tick(self) -> None:
        self.now = self.loop.time()
        DATE_LINE.tick()
        for connection in list(self.connections):
            connection.check_deadlines(self.now)
        self.loop.call_later(_TICK, self._tick)  # also during shutdown: stalls still count

    async def _shut_down(self) -> None:
        """Stop accepting, let in-flight responses finish within the grace period."""
        self.stopping = True
        self._stop_accepting()
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
        self.last_active = self.head_started = server.now
        # A send is stalled since this time (None: not waiting on the client): a paused
        # transport or our sendfile waiting for room; the sweep drops it after send_timeout.
        self.blocked_since: float | None = None
        self.buffered = 0  # the paused transport's buffer size at the last sweep
        self.lingering_since: float | None = None  # closing, waiting for the client's FIN

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
        transport.set_write_buffer_limits(high=_HIGH_WATER, low=_LOW_WATER)
        tune_connection(transport.get_extra_info("socket"))

    def connection_lost(self, exc: Exception | None) -> None:
        self.closing = True
        self.server.connections.discard(self)
        self._wake_writer()
        if self.task is not None:
            self.task.cancel()

    def data_received(self, data: bytes) -> None:
        if self.closing:
            return  # a lingering close reads and discards (see `_close`)
        if not self.parser.has_partial_request:
            self.head_started = self.server.now
        self.parser.feed(data)
        self.last_active = self.server.now
        if self.task is None:
            self._answer_ready()

    def pause_writing(self) -> None:
        self.write_paused = True
        self.blocked_since = self.server.loop.time()
        assert self.transport is not None
        self.buffered = self.transport.get_write_buffer_size()
        self.transport.pause_reading()

    def resume_writing(self) -> None:
        self.write_paused = False
        self.blocked_since = None
        assert self.transport is not None
        if not self.closing:
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
                await self._stream(self._final(response), span)
        except sending.PEER_GONE:
            self.server.context.peer_gone()
            self.abort()
        except Exception as error:
            self.server.context.report_crash("respond", error)
            self._send(internal_error())
        self.task = None
        self._answer_ready()

    def _final(self, response: Response) -> Response:
        """At shutdown every response says the connection closes after it."""
        return response.closing() if self.server.stopping else response

    def _send(self, response: Response) -> None:
        assert self.transport is not None
        if self.closing:
            return
        response = self._final(response)
        self.transport.writelines(response.pieces())
        self._after_response(response)

    def _after_response(self, response: Response) -> None:
        self.stats.requests += 1
        if response.status >= 400:
            self.stats.errors_4xx_5xx += 1
        self.last_active = self.server.now
        if response.close:
            self._close()

    # -- streaming large files ----------------------------------------------------------

    async def _stream(self, response: Response, span: FileSpan) -> None:
        assert self.transport is not None
        self.transport.write(response.head())
        with open(span.path, "rb") as file:
            sent = await self._send_file(file, span)
        if sent != span.length:  # the file shrank under us (or the client left)
            self.abort()
            return
        self._after_response(response)  # counted here: no await after the last byte

    async def _send_file(self, file: BinaryIO, span: FileSpan) -> int:
        """Our own sendfile (both loops); a copy for this response only if sendfile cannot."""
        if not self.server.config.sendfile:
            self.stats.copied_responses += 1
            return await self._copy(span)
        try:
            sent = await self._sendfile(file, span)
        except sending.SendfileUnavailable:
            self.stats.copied_responses += 1
            return await self._copy(span)
        self.stats.sendfile_responses += 1
        return sent

    async def _sendfile(self, file: BinaryIO, span: FileSpan) -> int:
        """os.sendfile on a duplicate of the transport's socket, once the transport is empty.

        A duplicate, because both loops refuse `add_writer` on a transport's own fd. Reading
        is paused meanwhile, so pipelined requests wait in the kernel, not in our memory.
        """
        assert self.transport is not None
        await self._flushed()
        if self.closing:
            return 0
        fd = os.dup(self.transport.get_extra_info("socket").fileno())
        self.transport.pause_reading()
        try:
            wait = lambda: self._writable(fd)  # noqa: E731
            return await sending.sendfile(fd, file.fileno(), span.offset, span.length, wait)
        finally:
            os.close(fd)
            if not self.closing:
                self.transport.resume_reading()

    async def _writable(self, fd: int) -> None:
        self.blocked_since = self.server.loop.time()
        try:
            await sending.writable(self.server.loop, fd)
        finally:
            self.blocked_since = None

    async def _flushed(self) -> None:
        """Wait until the transport has handed everything it holds to the kernel."""
        assert self.transport is not None
        if not self.transport.get_write_buffer_size():
            return
        self.transport.set_write_buffer_limits(high=0)  # pauses now, resumes only when empty
        try:
            while self.transport.get_write_buffer_size() and not self.closing:
                await self._drain()
        finally:
            if not self.transport.is_closing():
                self.transport.set_write_buffer_limits(high=_HIGH_WATER, low=_LOW_WATER)

    async def _copy(self, span: FileSpan) -> int:
        """Read + write through one small buffer, waiting whenever the transport is full."""
        assert self.transport is not None
        sent = 0
        async with AIOFile(span.path, "rb") as handle:
            while sent < span.length and not self.closing:
                if self.write_paused:
                    await self._drain()
                    continue
                size = min(_COPY_CHUNK, span.length - sent)
                chunk = await handle.read(size, span.offset + sent)
                if not chunk:
                    break
                assert isinstance(chunk, bytes)
                self.transport.write(chunk)
                sent += len(chunk)
        return sent

    async def _drain(self) -> None:
        self.drained = self.server.loop.create_future()
        await self.drained

    def _wake_writer(self) -> None:
        if self.drained is not None and not self.drained.done():
            self.drained.set_result(None)

    # -- deadlines and shutdown ----------------------------------------------------------

    def check_deadlines(self, now: float) -> None:
        """Called about once a second: enforce send, head, keep-alive and linger timeouts."""
        config = self.server.config
        if self.blocked_since is not None:
            self._check_stall(now)
        elif self.lingering_since is not None:
            if now - self.lingering_since > _LINGER and self.transport is not None:
                self.transport.close()  # a FIN after what the kernel still holds, no reset
        elif self.task is not None:
            return
        elif self.parser.has_partial_request:
            if now - self.head_started > config.head_timeout:
                self._send(error_response(ProtocolError(408, "request head not received in time")))
        elif now - self.last_active > config.keepalive_timeout:
            self._close()

    def _check_stall(self, now: float) -> None:
        """Drop a client whose send made no progress for send_timeout."""
        assert self.blocked_since is not None
        self._note_drain_progress(now)
        if now - self.blocked_since > self.server.config.send_timeout:
            self.server.context.send_timed_out()
            self.abort()

    def _note_drain_progress(self, now: float) -> None:
        """A paused transport whose buffer shrank since the last sweep is not stalled."""
        if not self.write_paused or self.transport is None:
            return
        size = self.transport.get_write_buffer_size()
        if size < self.buffered:
            self.blocked_since = now
        self.buffered = size

    def close_if_idle(self) -> None:
        """At shutdown: close now unless a response is under way."""
        if self.task is None and not self.write_paused and not self.parser.has_partial_request:
            self._close()

    def _close(self) -> None:
        """Close without a reset: send FIN, then read and discard until the client's FIN.

        Closing a socket that still has unread bytes (pipelined requests we will not answer)
        makes the kernel send RST and drop what is still queued to the client — the tail of
        the last response. So, as nginx's lingering close does, we discard what arrives for
        _LINGER seconds, then close (a FIN behind the queued bytes, never a reset).
        """
        if self.closing or self.transport is None:
            return
        self.closing = True
        if not self.transport.can_write_eof():
            self.transport.close()
            return
        self.transport.write_eof()
        self.transport.resume_reading()
        self.lingering_since = self.server.now

    def abort(self) -> None:
        """Drop the connection with a reset (deadline passed, framing broken, client gone).

        A reset, not a FIN: the kernel then frees the send queue at once instead of keeping
        it for a client that does not read.
        """
        self.closing = True
        if self.transport is not None:
            reset_on_close(self.transport.get_extra_info("socket"))
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
