"""The original blog post's server, reproduced as the baseline the bench compares against.

Written from the post's text (shared/seed/blog-asyncio-http-server.txt), bugs included on
purpose: listen(1), reading until a chunk shorter than CHUNK_LIMIT (a request of exactly
that size hangs), split on spaces, files read as text through aiofile + alru_cache(512),
no Content-Length, 200 for not-found, no traversal guard, exceptions leave the socket open.
Only the CLI is ours: --port/--root and a ready line, so the bench can start it like ours.
Usage: python -m bench.targets.original_blog --port 0 --root static
"""

from __future__ import annotations

import argparse
import asyncio
import re
import socket
from collections.abc import Sequence
from typing import cast

from aiofile import AIOFile
from async_lru import alru_cache

# Constants the post uses but does not show, as in a published copy of its code.
CHUNK_LIMIT = 50
RESPONSE = (
    "HTTP/1.1 {status} {status_msg}\r\n"
    "Content-Type: text/html; charset=UTF-8\r\n"
    "Content-Encoding: UTF-8\r\n"
    "Accept-Ranges: bytes\r\n"
    "Connection: closed\r\n"
    "\r\n"
    "{html}"
)
STATIC_DIR = "static"

loop: asyncio.AbstractEventLoop


def url_to_path(url: str) -> str:
    """The post's URL mapping: strips one leading and one trailing slash, nothing else."""
    if url in ("/index.html", "/"):  # noqa: SIM108 -- as the post writes it
        path = "index.html"
    else:
        path = re.sub(r"(^/)(.+)(/$)", r"\2", url)
    return path


def parse_request(request_str: str) -> tuple[int, str, str]:
    """Status, status message and URL, exactly as the post splits them."""
    part_one, part_two = request_str.split("\r\n\r\n")  # noqa: RUF059 -- the post's own line
    http_lines = part_one.split("\r\n")
    method, url, _ = http_lines[0].split(" ")
    if method != "GET":
        status, status_msg = 405, "Not allowed"
    else:
        status, status_msg = 200, "OK"
    return status, status_msg, url


@alru_cache(maxsize=512)
async def load_response(path: str) -> str:
    """The file as text (mode 'r'), or not_found.html — still sent with the status above."""
    try:
        async with AIOFile(f"{STATIC_DIR}/{path}", "r") as afp:
            html: str = cast(str, await afp.read())
    except FileNotFoundError:
        async with AIOFile(f"{STATIC_DIR}/not_found.html", "r") as afp:
            html = cast(str, await afp.read())
    return html


async def build_response(request: str) -> bytes:
    """The response bytes: the template filled in, no Content-Length."""
    status, status_msg, url = parse_request(request)
    html = await load_response(url_to_path(url))
    return RESPONSE.format(status=status, status_msg=status_msg, html=html).encode("utf-8")


async def read_request(client: socket.socket) -> str:
    """Read until a chunk is shorter than CHUNK_LIMIT (the post's end-of-request test)."""
    request = ""
    while True:
        chunk = (await loop.sock_recv(client, CHUNK_LIMIT)).decode("utf8")
        request += chunk
        if len(chunk) < CHUNK_LIMIT:
            break
    return request


async def handle_client(client: socket.socket) -> None:
    """One request, one response, close — unless something raises, then the socket leaks."""
    request = await read_request(client)
    response = await build_response(request)
    await loop.sock_sendall(client, response)
    client.close()


async def run_server(selected_server: socket.socket) -> None:
    """Accept forever; a task per client, never awaited."""
    while True:
        client, _ = await loop.sock_accept(selected_server)
        loop.create_task(handle_client(client))


def main(argv: Sequence[str] | None = None) -> int:
    """Parse --port/--root, listen with backlog 1 as the post does, serve until a signal."""
    global loop, STATIC_DIR
    parser = argparse.ArgumentParser(
        prog="python -m bench.targets.original_blog", description=__doc__
    )
    parser.add_argument("--port", type=int, default=8000, help="0 picks a free port")
    parser.add_argument("--root", default="static", help="directory to serve (default static)")
    args = parser.parse_args(argv)
    STATIC_DIR = args.root
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", args.port))
    server.listen(1)
    server.setblocking(False)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    port = server.getsockname()[1]
    print(f"listening on http://127.0.0.1:{port} (original blog post design)", flush=True)
    try:
        loop.run_until_complete(run_server(server))
    except KeyboardInterrupt:
        server.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
