"""The hot path of one request, piece by piece: parse, resolve, respond from cache, render.

Each benchmark times one call of a small function (pytest-benchmark calibrates how many
calls make a round); the figures to read are the means per call.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from server.files import FileEntry, SiteRoot
from server.protocol import Request, RequestParser
from server.response import Response
from server.static import StaticSite
from server.stats import ServerStats
from server.store import CachedStore, StoreConfig

# What Chrome sends for a stylesheet: the request line and 11 fields.
BROWSER_REQUEST = (
    b"GET /css/style.css?v=3 HTTP/1.1\r\n"
    b"Host: localhost:8080\r\n"
    b"Connection: keep-alive\r\n"
    b'sec-ch-ua: "Chromium";v="124", "Google Chrome";v="124", "Not-A.Brand";v="99"\r\n'
    b"User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    b"Chrome/124.0.0.0 Safari/537.36\r\n"
    b"Accept: text/css,*/*;q=0.1\r\n"
    b"Sec-Fetch-Site: same-origin\r\n"
    b"Sec-Fetch-Mode: no-cors\r\n"
    b"Sec-Fetch-Dest: style\r\n"
    b"Referer: http://localhost:8080/\r\n"
    b"Accept-Encoding: gzip, deflate, br, zstd\r\n"
    b"Accept-Language: en-GB,en;q=0.9\r\n"
    b"\r\n"
)
# What wrk sends by default.
WRK_REQUEST = b"GET /kb.txt HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n"
NESTED_PATH = "/a/b/c/d/page%20one.html"


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small tree: a 1 KiB file at the top and a nested page."""
    base = tmp_path_factory.mktemp("microbench-site")
    (base / "kb.txt").write_bytes(b"x" * 1024)
    nested = base / "a" / "b" / "c" / "d"
    nested.mkdir(parents=True)
    (nested / "page one.html").write_bytes(b"<p>nested</p>\n")
    return base


def parse(parser: RequestParser, data: bytes) -> Request | None:
    """What a shell does per request on a kept-alive connection."""
    parser.feed(data)
    return parser.next()


@pytest.mark.benchmark(group="parse")
def test_parse_browser_request(benchmark: BenchmarkFixture) -> None:
    request = benchmark(parse, RequestParser(), BROWSER_REQUEST)
    assert request is not None
    assert len(request.headers) == 11


@pytest.mark.benchmark(group="parse")
def test_parse_wrk_request(benchmark: BenchmarkFixture) -> None:
    request = benchmark(parse, RequestParser(), WRK_REQUEST)
    assert request is not None
    assert request.target == "/kb.txt"


@pytest.mark.benchmark(group="render")
def test_render_response_head(benchmark: BenchmarkFixture, root: Path) -> None:
    entry = SiteRoot(str(root)).resolve("/kb.txt")
    assert isinstance(entry, FileEntry)
    head = benchmark(Response(200, entry.full_headers, b"x" * 1024).head)
    assert head.startswith(b"HTTP/1.1 200 OK\r\n")


@pytest.mark.benchmark(group="static")
def test_resolve_nested_path(benchmark: BenchmarkFixture, root: Path) -> None:
    found = benchmark(SiteRoot(str(root)).resolve, NESTED_PATH)
    assert isinstance(found, FileEntry)


@pytest.fixture
def warm_site(root: Path) -> StaticSite:
    """A cache-on site whose cache already holds the 1 KiB file."""
    store = CachedStore(SiteRoot(str(root)), StoreConfig(), ServerStats())
    store.lookup_blocking("/kb.txt")
    return StaticSite(store)


@pytest.mark.benchmark(group="static")
def test_respond_now_cache_hit_1kib(benchmark: BenchmarkFixture, warm_site: StaticSite) -> None:
    request = parse(RequestParser(), WRK_REQUEST)
    assert request is not None
    response = benchmark(warm_site.respond_now, request)
    assert response is not None
    assert response.status == 200


def request_to_bytes(site: StaticSite, parser: RequestParser, data: bytes) -> bytes:
    """The whole core for one cached request: bytes in, bytes out."""
    parser.feed(data)
    request = parser.next()
    assert request is not None
    response = site.respond_now(request)
    assert response is not None
    return response.payload()


@pytest.mark.benchmark(group="static")
def test_request_to_bytes_cache_hit_1kib(
    benchmark: BenchmarkFixture, warm_site: StaticSite
) -> None:
    payload = benchmark(request_to_bytes, warm_site, RequestParser(), WRK_REQUEST)
    assert payload.endswith(b"x" * 1024)
