"""The sockets style: `loop.sock_accept`, `sock_recv`, `sock_sendall`, a task per connection.

The way the blog post wrote its server, kept alive: each accepted socket gets one task
(`server.shells.driver`), which reads with `sock_recv` and answers with `sock_sendall`;
large files go out with os.sendfile on the socket itself (`server.shells.sending`). The
`blog` variants are this shell with one request per connection. On asyncio's loop or on
uvloop's, as the variant says.
"""

from __future__ import annotations

import contextlib
import socket

from server.listener import reset_on_close
from server.response import FileSpan
from server.runtime import ServerContext
from server.shells import loopserver, sending
from server.shells.driver import Channel, Connection
from server.shells.sending import Stalled

_RECV_SIZE = 64 * 1024


class SocketChannel(Channel):
    """A non-blocking socket driven through the loop's `sock_*` methods."""

    def __init__(self, server: loopserver.LoopServer, sock: socket.socket) -> None:
        self.loop, self.sock = server.loop, sock

    async def receive(self) -> bytes:
        return await self.loop.sock_recv(self.sock, _RECV_SIZE)

    async def send(self, data: bytes | memoryview) -> None:
        await self.loop.sock_sendall(self.sock, data)

    async def send_file(self, file_fd: int, span: FileSpan, stalled: Stalled) -> int:
        fd = self.sock.fileno()
        wait = lambda: stalled(sending.writable(self.loop, fd))  # noqa: E731
        return await sending.sendfile(fd, file_fd, span.offset, span.length, wait)

    def shutdown_write(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_WR)

    def close(self) -> None:
        self.sock.close()

    def abort(self) -> None:
        reset_on_close(self.sock)
        self.sock.close()


class SocketsServer(loopserver.LoopServer):
    """`sock_accept` in a loop, a task per connection."""

    awaits_accept = True
    transported = False
    keep_alive = True

    def accepted(self, sock: socket.socket) -> None:
        connection = Connection(self, SocketChannel(self, sock), keep_alive=self.keep_alive)
        connection.task = self.spawn(connection.run())


class OneRequestServer(SocketsServer):
    """The blog post's choice: one request per connection (every response closes)."""

    keep_alive = False


def run(context: ServerContext) -> None:
    """Serve in the sockets style, with keep-alive and pipelining."""
    loopserver.run(context, SocketsServer)


def run_one_request(context: ServerContext) -> None:
    """Serve in the sockets style, one request per connection (the `blog` variants)."""
    loopserver.run(context, OneRequestServer)
