"""The blog post's own I/O design, with the shared core's correct parsing.

A non-blocking listening socket, `loop.sock_accept` in a loop, one task per client,
`loop.sock_recv` until the parser has a whole request, one response sent on the
non-blocking socket (os.sendfile for large files; a send stalled for --send-timeout drops
the client), then close: one request per connection, as in the post. What the post got
wrong (listen(1), reading "until a short chunk", no Content-Length, 200 for 404,
traversal…) is fixed by the core, not here.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket

from aiofile import AIOFile

from server.listener import reset_on_close, tune_connection
from server.protocol import ProtocolError, Request, RequestParser
from server.response import FileSpan, Response
from server.runtime import ACCEPT_RETRY_DELAY, ServerContext
from server.shells import sending
from server.static import error_response, internal_error

_RECV_SIZE = 64 * 1024
_COPY_CHUNK = 64 * 1024
_LINGER = 2.0  # seconds we discard input after the response, waiting for the client's FIN


class BlogServer:
    """Accept loop plus a task per client."""

    def __init__(self, context: ServerContext) -> None:
        self.context = context
        self.config = context.config
        self.stats = context.stats
        self.loop = asyncio.get_running_loop()
        self.clients: set[asyncio.Task[None]] = set()
        # Clients that have not sent a byte yet: nothing is in flight, so shutdown drops them.
        self.silent: dict[socket.socket, asyncio.Task[None]] = {}

    async def serve(self) -> None:
        """Accept until SIGINT/SIGTERM, then give open clients the grace period."""
        accepting = self.loop.create_task(self._accept_forever())
        for signum in (signal.SIGINT, signal.SIGTERM):
            self.loop.add_signal_handler(signum, accepting.cancel)
        self.context.on_ready()
        with contextlib.suppress(asyncio.CancelledError):
            await accepting
        for task in list(self.silent.values()):
            task.cancel()
        if self.clients:
            _, late = await asyncio.wait(self.clients, timeout=self.config.grace)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)

    async def _accept_forever(self) -> None:
        listener = self.context.listener
        while True:
            try:
                client, _ = await self.loop.sock_accept(listener)
            except ConnectionAbortedError:
                continue  # the client gave up before we accepted it
            except OSError as error:  # e.g. out of file descriptors: keep serving the others
                self.context.accept_failed(error)
                await asyncio.sleep(ACCEPT_RETRY_DELAY)
                continue
            self._admit(client)

    def _admit(self, client: socket.socket) -> None:
        client.setblocking(False)
        if len(self.clients) >= self.config.max_connections:
            self.stats.refused_connections += 1
            client.close()
            return
        task = self.loop.create_task(self._handle_client(client))
        self.clients.add(task)
        self.silent[client] = task
        task.add_done_callback(self.clients.discard)

    async def _handle_client(self, client: socket.socket) -> None:
        """Read one request, send one response, close — whatever happens."""
        self.stats.connections += 1
        tune_connection(client)
        try:
            response = await self._respond(client)
            if response is not None:
                await self._send(client, response)
                await self._linger(client)
        except sending.PEER_GONE:
            self.context.peer_gone()
            reset_on_close(client)
        except TimeoutError:  # a send made no progress for the send timeout
            self.context.send_timed_out()
            reset_on_close(client)
        except OSError:
            reset_on_close(client)  # e.g. the file shrank under us: the framing is broken
        finally:
            self.silent.pop(client, None)
            client.close()

    async def _respond(self, client: socket.socket) -> Response | None:
        try:
            async with asyncio.timeout(self.config.head_timeout):
                request = await self._read_request(client)
        except ProtocolError as error:
            return error_response(error)
        except TimeoutError:
            return error_response(ProtocolError(408, "request head not received in time"))
        if request is None:
            return None  # closed before sending a whole request
        try:
            site = self.context.site
            response = site.respond_now(request) or await site.respond(request)
        except Exception as error:
            self.context.report_crash("respond", error)
            return internal_error()
        return response.closing()

    async def _read_request(self, client: socket.socket) -> Request | None:
        parser = RequestParser()
        while True:
            data = await self.loop.sock_recv(client, _RECV_SIZE)
            if not data:
                return None
            self.silent.pop(client, None)
            parser.feed(data)
            request = parser.next()
            if request is not None:
                return request

    async def _send(self, client: socket.socket, response: Response) -> None:
        fd = client.fileno()
        await sending.send_bytes(fd, response.payload(), lambda: self._writable(fd))
        span = response.streamed_span()
        if span is not None:
            await self._send_file(client, span)
        self.stats.requests += 1
        if response.status >= 400:
            self.stats.errors_4xx_5xx += 1

    async def _writable(self, fd: int) -> None:
        """A stall is no progress for the send timeout, however long the whole send takes."""
        async with asyncio.timeout(self.config.send_timeout):
            await sending.writable(self.loop, fd)

    async def _send_file(self, client: socket.socket, span: FileSpan) -> None:
        """os.sendfile; a copy for this response only if sendfile cannot serve the file."""
        fd = client.fileno()
        if self.config.sendfile:
            with open(span.path, "rb") as file:
                try:
                    sent = await sending.sendfile(
                        fd, file.fileno(), span.offset, span.length, lambda: self._writable(fd)
                    )
                except sending.SendfileUnavailable:
                    pass
                else:
                    self.stats.sendfile_responses += 1
                    return self._check_length(sent, span)
        self.stats.copied_responses += 1
        self._check_length(await self._copy(fd, span), span)

    async def _copy(self, fd: int, span: FileSpan) -> int:
        sent = 0
        async with AIOFile(span.path, "rb") as handle:
            while sent < span.length:
                chunk = await handle.read(min(_COPY_CHUNK, span.length - sent), span.offset + sent)
                if not chunk:
                    break
                assert isinstance(chunk, bytes)
                await sending.send_bytes(fd, chunk, lambda: self._writable(fd))
                sent += len(chunk)
        return sent

    @staticmethod
    def _check_length(sent: int, span: FileSpan) -> None:
        if sent != span.length:
            raise OSError("the file shrank while it was being sent")

    async def _linger(self, client: socket.socket) -> None:
        """Close without a reset: FIN, then (if input is waiting) discard it until the FIN.

        Closing with unread input (requests pipelined after the one we answer) makes the
        kernel send RST and drop the end of the response still queued for the client.
        """
        with contextlib.suppress(OSError, TimeoutError):
            client.shutdown(socket.SHUT_WR)
            if not client.recv(1, socket.MSG_PEEK):  # BlockingIOError: nothing unread, no RST
                return  # the client has closed already
            async with asyncio.timeout(_LINGER):
                while await self.loop.sock_recv(client, _RECV_SIZE):
                    pass


def run(context: ServerContext) -> None:
    """Serve with asyncio's default loop, the post's way."""

    async def main() -> None:
        await BlogServer(context).serve()

    asyncio.run(main())
