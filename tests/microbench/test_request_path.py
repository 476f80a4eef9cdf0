"""One cached request along the path a shell really takes, and what a C parser would buy.

`test_core_cached_request` is the issue's "whole core" figure: everything the asyncio
shell does per request on a kept-alive connection whose parser holds nothing — the
express lane (`server.express`: one match, the cache hit, the ready bytes) and the write
on a stub transport. `test_general_cached_request` is the general path a request takes
when it cannot (pipelined, conditional, ...): feed, both `next()` calls (the request,
then None), routing, the cache hit, rendering and the write. `test_shell_cached_request`
runs the real `HttpConnection.data_received`, so shell changes move it too. The
`httptools` cases parse the same bytes with llhttp (uvicorn's parser) into the same
`Request`, then take the general path.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from server import express
from server.config import ServerConfig
from server.files import SiteRoot
from server.protocol import Request, RequestParser
from server.runtime import ServerContext
from server.shells.aio import AioServer, HttpConnection
from server.static import StaticSite
from server.stats import ServerStats
from server.store import CachedStore, StoreConfig
from tests.microbench.test_core import BROWSER_REQUEST, WRK_REQUEST

httptools = pytest.importorskip("httptools")


class StubTransport:
    """What the shell writes to, counting bytes; never blocks, never pauses."""

    def __init__(self, sock: socket.socket | None = None) -> None:
        self.sent = 0
        self.sock = sock

    def write(self, data: bytes) -> None:
        self.sent += len(data)

    def writelines(self, pieces: Any) -> None:
        for piece in pieces:
            self.sent += len(piece)

    def close(self) -> None:
        raise AssertionError("a kept-alive request must not close the connection")

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        """The shell bounds its transport's buffer; a stub never fills."""

    def get_extra_info(self, name: str) -> object:
        return self.sock if name == "socket" else None


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> StaticSite:
    """A cache-on site whose cache holds a 1 KiB file and a stylesheet."""
    base = tmp_path_factory.mktemp("request-path-site")
    (base / "kb.txt").write_bytes(b"x" * 1024)
    (base / "css").mkdir()
    (base / "css" / "style.css").write_bytes(b"body{}\n" * 100)
    store = CachedStore(SiteRoot(str(base)), StoreConfig(max_age=3600.0), ServerStats())
    store.lookup_blocking("/kb.txt")
    store.lookup_blocking("/css/style.css")
    store.clock.advance()  # as an event-loop shell does (its hits then read no clock)
    return StaticSite(store)


def core_request(site: StaticSite, parser: RequestParser, out: StubTransport, data: bytes) -> None:
    """What `HttpConnection` does per cached request, without the shell's bookkeeping."""
    assert not parser.has_partial_request
    plain = express.plain(data)
    assert plain is not None
    ready = site.ready(*plain)
    assert ready is not None
    out.write(ready)


def general_request(
    site: StaticSite, parser: RequestParser, out: StubTransport, data: bytes
) -> None:
    """What a request that cannot take the express lane costs: parser, site, rendering."""
    parser.feed(data)
    request = parser.next()
    assert request is not None
    response = site.respond_now(request)
    assert response is not None
    out.write(response.payload())
    assert parser.next() is None


@pytest.mark.benchmark(group="one cached request (1 KiB, keep-alive)")
@pytest.mark.parametrize("data", [WRK_REQUEST, BROWSER_REQUEST], ids=["wrk", "browser"])
def test_core_cached_request(benchmark: BenchmarkFixture, site: StaticSite, data: bytes) -> None:
    out = StubTransport()
    benchmark(core_request, site, RequestParser(), out, data)
    assert out.sent > 700  # at least one whole body (the stylesheet is 700 bytes)


@pytest.mark.benchmark(group="one cached request (1 KiB, keep-alive)")
@pytest.mark.parametrize("data", [WRK_REQUEST, BROWSER_REQUEST], ids=["wrk", "browser"])
def test_general_cached_request(benchmark: BenchmarkFixture, site: StaticSite, data: bytes) -> None:
    out = StubTransport()
    benchmark(general_request, site, RequestParser(), out, data)
    assert out.sent > 700  # at least one whole body (the stylesheet is 700 bytes)


class LlhttpParser:
    """httptools' request parser, building the same `Request` our parser builds."""

    def __init__(self) -> None:
        self.parser = httptools.HttpRequestParser(self)
        self.ready: list[Request] = []
        self.url = b""
        self.headers: dict[str, str] = {}

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        key = name.decode("ascii").lower()
        text = value.decode("latin-1")
        self.headers[key] = f"{self.headers[key]}, {text}" if key in self.headers else text

    def on_headers_complete(self) -> None:
        parser = self.parser
        version = "HTTP/" + parser.get_http_version()
        method = parser.get_method().decode("ascii")
        request = Request(method, self.url.decode("ascii"), version, self.headers,
                          parser.should_keep_alive())  # fmt: skip
        self.ready.append(request)
        self.url, self.headers = b"", {}

    def feed(self, data: bytes) -> None:
        self.parser.feed_data(data)

    def next(self) -> Request | None:
        return self.ready.pop(0) if self.ready else None


def llhttp_request(site: StaticSite, parser: LlhttpParser, out: StubTransport, data: bytes) -> None:
    """`general_request` with llhttp doing the parsing."""
    parser.feed(data)
    request = parser.next()
    assert request is not None
    response = site.respond_now(request)
    assert response is not None
    out.write(response.payload())
    assert parser.next() is None


@pytest.mark.benchmark(group="one cached request (1 KiB, keep-alive)")
@pytest.mark.parametrize("data", [WRK_REQUEST, BROWSER_REQUEST], ids=["wrk", "browser"])
def test_llhttp_cached_request(benchmark: BenchmarkFixture, site: StaticSite, data: bytes) -> None:
    out = StubTransport()
    benchmark(llhttp_request, site, LlhttpParser(), out, data)
    assert out.sent > 700  # at least one whole body (the stylesheet is 700 bytes)


@pytest.mark.benchmark(group="parse only")
@pytest.mark.parametrize("data", [WRK_REQUEST, BROWSER_REQUEST], ids=["wrk", "browser"])
def test_parse_ours(benchmark: BenchmarkFixture, data: bytes) -> None:
    parser = RequestParser()

    def parse() -> Request | None:
        parser.feed(data)
        request = parser.next()
        parser.next()
        return request

    assert benchmark(parse) is not None


@pytest.mark.benchmark(group="parse only")
@pytest.mark.parametrize("data", [WRK_REQUEST, BROWSER_REQUEST], ids=["wrk", "browser"])
def test_parse_llhttp(benchmark: BenchmarkFixture, data: bytes) -> None:
    parser = LlhttpParser()

    def parse() -> Request | None:
        parser.feed(data)
        request = parser.next()
        parser.next()
        return request

    assert benchmark(parse) is not None


@pytest.fixture
def connection(site: StaticSite) -> Iterator[tuple[HttpConnection, StubTransport]]:
    """A real `HttpConnection` on a stub transport (its server built inside a loop)."""
    loop = asyncio.new_event_loop()
    listener = socket.socket()
    context = ServerContext(ServerConfig(), listener, site, ServerStats(), lambda: None)

    async def build() -> AioServer:
        return AioServer(context)

    server = loop.run_until_complete(build())
    out = StubTransport(listener)
    connection = HttpConnection(server)
    connection.connection_made(out)  # type: ignore[arg-type]
    yield connection, out
    listener.close()
    loop.close()


@pytest.mark.benchmark(group="one cached request (1 KiB, keep-alive)")
def test_shell_cached_request(
    benchmark: BenchmarkFixture, connection: tuple[HttpConnection, StubTransport]
) -> None:
    protocol, out = connection
    benchmark(protocol.data_received, WRK_REQUEST)
    assert out.sent > 700  # at least one whole body (the stylesheet is 700 bytes)
    assert protocol.task is None  # answered from memory, no task
