"""A test server that stalls once: `python -m tests.bench.stall_server --port P`.

It answers every GET with the demo site's /index.html on keep-alive connections, and
when the N-th request arrives it blocks its event loop for a while — every connection
waits, like a GC pause or a page fault storm. The open model must charge that stall to
every request planned during it, not only to the few in flight.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path

PAGE = (Path(__file__).resolve().parents[2] / "static" / "index.html").read_bytes()
RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: %d\r\n\r\n%s" % (
    len(PAGE),
    PAGE,
)


class StallOnce(asyncio.Protocol):
    """Counts requests (GETs without bodies: one per blank line) across all connections."""

    seen = 0
    stall_after = 0
    stall_s = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while b"\r\n\r\n" in self.buffer:
            _, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
            StallOnce.seen += 1
            if StallOnce.seen == StallOnce.stall_after:
                time.sleep(StallOnce.stall_s)  # blocks the loop: every connection stalls
            self.transport.write(RESPONSE)


async def serve(port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(StallOnce, "127.0.0.1", port)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--stall-after", type=int, required=True, help="the request that stalls")
    parser.add_argument("--stall-ms", type=float, default=200.0)
    args = parser.parse_args()
    StallOnce.stall_after = args.stall_after
    StallOnce.stall_s = args.stall_ms / 1000
    asyncio.run(serve(args.port))


if __name__ == "__main__":
    main()
