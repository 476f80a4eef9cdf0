"""The ceiling sketch: what a minimal Python server can do, for `bench.perf` to compare with.

NOT a variant and not a server to use: it answers every request from prebuilt bytes,
finds requests by counting blank lines (no parsing, no validation, no limits, no
timeouts) and only knows the pages it was handed at start. It is here so every perf run
shows how far each variant is from what an `asyncio.Protocol` can do on the same loop,
not only from nginx. `python -m bench.perf.ceiling --port P --loop uvloop --root static`.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
from collections.abc import Sequence
from pathlib import Path
from typing import cast

# What the perf run asks for; anything else gets a 404.
PAGES = ("/index.html", "/generated/1m.bin")
_NOT_FOUND = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"


def prebuilt(body: bytes, *, close: bool) -> bytes:
    """A whole 200 response, head and body, in one buffer."""
    connection = b"Connection: close\r\n" if close else b""
    head = b"HTTP/1.1 200 OK\r\nServer: ceiling\r\nContent-Length: %d\r\n%s\r\n" % (
        len(body),
        connection,
    )
    return head + body


class CeilingProtocol(asyncio.Protocol):
    """Split on blank lines, look the target up, write prebuilt bytes: nothing else."""

    def __init__(self, pages: dict[bytes, tuple[bytes, bytes]]) -> None:
        self.pages = pages
        self.pending = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's does not subclass it

    def data_received(self, data: bytes) -> None:
        assert self.transport is not None
        *heads, self.pending = (self.pending + data).split(b"\r\n\r\n")
        for head in heads:
            target = head.split(b" ", 2)[1] if head.count(b" ") >= 2 else b""
            keep, close = self.pages.get(target, (_NOT_FOUND, _NOT_FOUND))
            if b"\r\nConnection: close" in head:
                self.transport.write(close)
                self.transport.close()
                return
            self.transport.write(keep)


async def serve(port: int, pages: dict[bytes, tuple[bytes, bytes]]) -> None:
    """Serve on 127.0.0.1:`port` until SIGTERM or SIGINT."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    server = await loop.create_server(
        lambda: CeilingProtocol(pages), "127.0.0.1", port, backlog=1024
    )
    await stop.wait()
    server.close()


def load_pages(root: Path) -> dict[bytes, tuple[bytes, bytes]]:
    """The keep-alive and close responses of every page in `PAGES` found under `root`."""
    pages: dict[bytes, tuple[bytes, bytes]] = {}
    for page in PAGES:
        path = root / page.lstrip("/")
        if path.is_file():
            body = path.read_bytes()
            pages[page.encode()] = (prebuilt(body, close=False), prebuilt(body, close=True))
    return pages


def main(argv: Sequence[str] | None = None) -> int:
    """Parse, load the pages, serve."""
    parser = argparse.ArgumentParser(prog="python -m bench.perf.ceiling", description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--loop", choices=("asyncio", "uvloop"), default="asyncio")
    parser.add_argument("--root", type=Path, required=True)
    args = parser.parse_args(argv)
    if not args.root.is_dir():
        parser.error(f"--root: not a directory: {args.root}")
    pages = load_pages(args.root)
    loop_factory = None
    if args.loop == "uvloop":
        import uvloop

        loop_factory = uvloop.new_event_loop
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        runner.run(serve(args.port, pages))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
