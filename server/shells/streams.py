"""The streams style: `StreamReader`/`StreamWriter`, the way most asyncio servers are written.

Each accepted connection becomes a reader and a writer (`asyncio.open_connection(sock=)`,
what `asyncio.start_server` builds for its callback) and one task (`server.shells.driver`)
that reads with `reader.read`, writes with `writer.write` and waits in `drain()` while the
transport holds more than 64 KiB (flow control). We accept the connections ourselves
(`server.shells.loopserver`) rather than through `start_server`, whose libuv accept on
uvloop takes one connection per loop iteration and drops them silently on EMFILE, and
whose asyncio accept logs a traceback per failed accept(). Large files go out with
os.sendfile on a duplicate of the transport's socket once its buffer is empty.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket

from server.runtime import ServerContext
from server.shells import loopserver
from server.shells.driver import Channel, Connection
from server.shells.transports import TransportSender

_RECV_SIZE = 64 * 1024


class StreamChannel(TransportSender, Channel):
    """A connection's StreamReader and StreamWriter (ends it as any transport's sender)."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        super().__init__(writer.transport, loop)
        self.reader, self.writer = reader, writer

    async def receive(self) -> bytes:
        return await self.reader.read(_RECV_SIZE)

    async def send(self, data: bytes | memoryview) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def drain(self) -> None:
        await self.writer.drain()


class StreamsServer(loopserver.LoopServer):
    """Our accept, then a reader, a writer and a task per connection."""

    def accepted(self, sock: socket.socket) -> None:
        self.spawn(self._serve(sock))

    async def _serve(self, sock: socket.socket) -> None:
        try:
            reader, writer = await asyncio.open_connection(sock=sock, limit=_RECV_SIZE)
        except OSError:  # the client left before its transport was made
            with contextlib.suppress(OSError):
                sock.close()
            return
        await Connection(self, StreamChannel(reader, writer, self.loop)).run()


def run(context: ServerContext) -> None:
    """Serve in the streams style, with keep-alive, pipelining and drain()."""
    loopserver.run(context, StreamsServer)
