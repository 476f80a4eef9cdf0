"""server.express: the express lane answers exactly what the general path answers, or passes.

Bytes in, bytes out: for every head, `plain` + `StaticSite.ready` either say None or give
the very bytes the parser, the site and the renderer give for it (same Date line), with
the same cache hit counted; a hand-picked list of heads must take the lane and another
must not, so neither half of the property is empty.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server import express
from server.config import ServerConfig
from server.files import SiteRoot
from server.protocol import MAX_HEADER_FIELDS, MAX_REQUEST_LINE, ProtocolError, RequestParser
from server.response import DATE_LINE
from server.runtime import ServerContext
from server.shells.answers import answer_express
from server.static import StaticSite, error_response
from server.stats import ServerStats
from server.store import CachedStore, ReadingStore, StoreConfig

KB = b"<p>" + b"k" * 1017 + b"</p>\n"


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A site with a small file, an empty one, a large one (streamed) and a directory."""
    base = tmp_path_factory.mktemp("express-site")
    (base / "index.html").write_bytes(KB)
    (base / "empty.txt").write_bytes(b"")
    (base / "large.bin").write_bytes(b"L" * (300 * 1024))
    (base / "a b.txt").write_bytes(b"space\n")
    (base / "docs").mkdir()
    (base / "docs" / "index.html").write_bytes(b"docs\n")
    (base / "not_found.html").write_bytes(b"gone\n")
    return base


@pytest.fixture
def site(root: Path, monkeypatch: pytest.MonkeyPatch) -> StaticSite:
    """A cache-on site that has looked every file up once, its clock ticking, its Date fixed."""
    store = CachedStore(SiteRoot(str(root)), StoreConfig(max_age=3600.0), ServerStats())
    for key in ("/index.html", "/empty.txt", "/large.bin", "/a%20b.txt", "/docs", "/docs/"):
        store.lookup_blocking(key)
    store.clock.advance()
    monkeypatch.setattr(DATE_LINE, "ticking", True)
    monkeypatch.setattr(DATE_LINE, "line", b"Server: staticbench\r\nDate: (fixed)\r\n")
    return StaticSite(store)


def express_lane(site: StaticSite, data: bytes) -> bytes | None:
    """What a shell whose parser holds nothing writes for `data` by the express lane."""
    plain = express.plain(data)
    return None if plain is None else site.ready(*plain)


def general_lane(site: StaticSite, data: bytes) -> bytes | None:
    """What the general path answers to `data` when it holds exactly one request."""
    parser = RequestParser()
    parser.feed(data)
    try:
        request = parser.next()
    except ProtocolError as error:
        return error_response(error).payload()
    if request is None or parser.has_partial_request:
        return None
    response = site.respond_now(request)
    return None if response is None else response.payload()


def hits(site: StaticSite) -> int:
    assert isinstance(site.store, CachedStore)
    return site.store.stats.cache_hits


def same_answer(site: StaticSite, data: bytes) -> bool:
    """True when the express lane took `data`; asserts the general path agrees then."""
    before = hits(site)
    ready = express_lane(site, data)
    if ready is None:
        assert hits(site) == before  # a pass counts nothing
        return False
    assert hits(site) == before + 1
    assert general_lane(site, data) == ready
    assert hits(site) == before + 2
    return True


TAKEN = [
    b"GET /index.html HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n",  # wrk's
    b"HEAD /index.html HTTP/1.1\r\nHost: a\r\n\r\n",
    b"GET /index.html?v=3&x=?y HTTP/1.1\r\nHost: a\r\n\r\n",
    b"GET /empty.txt HTTP/1.1\r\nhOST:\r\n\r\n",
    b"GET /a%20b.txt HTTP/1.1\r\nHost: a\r\n\r\n",
    b"GET /docs/ HTTP/1.1\r\nHost: a\r\n\r\n",
    b"GET /index.html HTTP/1.1\r\nUser-Agent: x\r\nHost: a\r\nAccept: */*\r\n\r\n",
    b"GET /index.html HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\n\r\n",
    b"GET /index.html HTTP/1.1\r\nConnection:Keep-Alive \t\r\nHost: a\r\n\r\n",
    b"GET /index.html HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",  # wrk -H's
    b"HEAD /index.html HTTP/1.1\r\nconnection:Close\t\r\nHost: a\r\nConnection: close\r\n\r\n",
    b"GET /index.html HTTP/1.1\r\nHost: a\r\nX-Latin: caf\xe9\r\nHostname: b\r\nIf: c\r\n\r\n",
    b"GET /index.html HTTP/1.1\r\nHost: a\r\n" + b"X: y\r\n" * (MAX_HEADER_FIELDS - 1) + b"\r\n",
]
PASSED = [
    b"GET /index.html HTTP/1.1\r\n\r\n",  # no Host: 400
    b"GET /index.html HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",  # two: 400
    b"GET /index.html HTTP/1.0\r\n\r\n",  # 1.0 closes
    b"GET /index.html HTTP/1.2\r\nHost: a\r\n\r\n",
    b"GET /index.html HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, close\r\n\r\n",
    b"GET /index.html HTTP/1.1\r\nConnection: keep-alive\r\nHost: a\r\nConnection: close\r\n\r\n",
    b"GET /index.html HTTP/1.1\r\nHost: a\r\nConnection: closed\r\n\r\n",
    b"GET /index.html HTTP/1.1\r\nHost: a\r\nIf-None-Match: *\r\n\r\n",
    b"GET /index.html HTTP/1.1\r\nHost: a\r\nif-range: x\r\n\r\n",
    b"GET /index.html HTTP/1.1\r\nHost: a\r\nRange: bytes=0-1\r\n\r\n",
    b"GET /index.html HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n",
    b"GET /index.html HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    b"GET /index.html HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",  # pipelined
    b"GET /index.html HTTP/1.1\r\nHost: a\r\n",  # incomplete
    b"\r\nGET /index.html HTTP/1.1\r\nHost: a\r\n\r\n",  # a leading empty line
    b"GET /index.html HTTP/1.1\nHost: a\n\n",  # bare LFs
    b"GET /index.html HTTP/1.1\r\nHost : a\r\n\r\n",
    b"GET /index.html HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n",
    b"GET /index.html HTTP/1.1\r\nHost: a\x01\r\n\r\n",
    b"get /index.html HTTP/1.1\r\nHost: a\r\n\r\n",
    b"POST /index.html HTTP/1.1\r\nHost: a\r\n\r\n",
    b"GET http://a/index.html HTTP/1.1\r\nHost: a\r\n\r\n",
    b"GET /index.html#top HTTP/1.1\r\nHost: a\r\n\r\n",
    b"GET  /index.html HTTP/1.1\r\nHost: a\r\n\r\n",
    b"GET /index.html HTTP/1.1\r\nHost: a\r\n" + b"X: y\r\n" * MAX_HEADER_FIELDS + b"\r\n",
    b"GET /index.html HTTP/1.1\r\nHost: a\r\nX: " + b"y" * MAX_REQUEST_LINE + b"\r\n\r\n",
    b"GET /large.bin HTTP/1.1\r\nHost: a\r\n\r\n",  # streamed, not in memory
    b"GET /docs HTTP/1.1\r\nHost: a\r\n\r\n",  # a redirect
    b"GET /nowhere HTTP/1.1\r\nHost: a\r\n\r\n",  # not looked up yet
]


@pytest.mark.parametrize("data", TAKEN)
def test_the_lane_takes_plain_cached_requests(site: StaticSite, data: bytes) -> None:
    assert same_answer(site, data)


@pytest.mark.parametrize("data", PASSED)
def test_the_lane_passes_everything_else(site: StaticSite, data: bytes) -> None:
    assert not same_answer(site, data)


def test_head_sends_no_body_and_get_the_whole_file(site: StaticSite) -> None:
    get = express_lane(site, TAKEN[0])
    head = express_lane(site, TAKEN[1])
    assert get is not None
    assert head is not None
    assert get == head + KB
    assert head.startswith(b"HTTP/1.1 200 OK\r\nServer: staticbench\r\nDate: (fixed)\r\n")
    assert head.endswith(b"Content-Length: %d\r\n\r\n" % len(KB))


def test_only_a_close_request_is_answered_with_connection_close(site: StaticSite) -> None:
    close = b"GET /index.html HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
    closing, persisting = express_lane(site, close), express_lane(site, TAKEN[0])
    assert express.plain(close) == ("/index.html", True, True)
    assert express.plain(TAKEN[0]) == ("/index.html", True, False)
    assert closing is not None
    assert persisting is not None
    assert closing.replace(b"Connection: close\r\n", b"", 1) == persisting
    assert b"Connection:" not in persisting


def test_no_lane_without_a_cache_or_before_the_clock_ticks(root: Path) -> None:
    reading = ReadingStore(SiteRoot(str(root)), StoreConfig(), ServerStats(), "blocking")
    assert StaticSite(reading).ready("/index.html", True, False) is None
    cached = CachedStore(SiteRoot(str(root)), StoreConfig(), ServerStats(), "blocking")
    cached.lookup_blocking("/index.html")
    assert StaticSite(cached).ready("/index.html", True, False) is None  # the threaded shell's case
    cached.clock.advance()
    assert StaticSite(cached).ready("/index.html", True, False) is not None


# -- property: whatever the head, the lane answers as the general path does, or passes ----

CASES = ("host", "HOST", "Host")
fields = st.sampled_from(
    [
        *(f"{name}: a" for name in CASES),
        "Connection: keep-alive",
        "connection:KEEP-ALIVE",
        "Connection: close",
        "connection:Close ",
        "Connection: CLOSE",
        "Connection: Upgrade",
        "If-None-Match: *",
        "If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT",
        "Range: bytes=1-2",
        "If-Range: x",
        "Content-Length: 0",
        "User-Agent: test/1.0",
        "Accept: text/html",
        "X-Odd: caf\xe9",
        "X-Ctl: a\x01",
        " folded",
        "NoColon",
        "Host : a",
    ]
)
targets = st.sampled_from(
    ["/index.html", "/index.html?q=1", "/index.html#f", "/empty.txt", "/large.bin",
     "/docs", "/docs/", "/a%20b.txt", "*", "http://a/index.html", "/nowhere"]
)  # fmt: skip


def head(method: str, target: str, version: str, lines: list[str], eol: str, tail: bytes) -> bytes:
    """A request head as it goes on the wire, then `tail` (the start of another, or nothing)."""
    text = f"{method} {target} HTTP/{version}{eol}" + "".join(line + eol for line in lines) + eol
    return text.encode("latin-1") + tail


heads = st.builds(
    head,
    st.sampled_from(["GET", "HEAD", "POST", "get"]),
    targets,
    st.sampled_from(["1.1", "1.1", "1.0", "1.2"]),
    st.lists(fields, max_size=5),
    st.sampled_from(["\r\n", "\r\n", "\n"]),
    st.sampled_from([b"", b"", b"GET / HTTP/1.1\r\n"]),
)


@settings(max_examples=400, deadline=None)
@given(data=heads)
def test_the_lane_never_answers_otherwise(root: Path, data: bytes) -> None:
    store = CachedStore(SiteRoot(str(root)), StoreConfig(max_age=3600.0), ServerStats())
    for key in ("/index.html", "/empty.txt", "/large.bin", "/a%20b.txt", "/docs", "/docs/"):
        store.lookup_blocking(key)
    store.clock.advance()
    ticking, line = DATE_LINE.ticking, DATE_LINE.line
    DATE_LINE.ticking, DATE_LINE.line = True, b"Date: (fixed)\r\n"  # the same for both lanes
    try:
        same_answer(StaticSite(store), data)
    finally:
        DATE_LINE.ticking, DATE_LINE.line = ticking, line


def test_a_crash_in_the_lane_is_logged_once_and_left_to_the_general_path(
    site: StaticSite, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(key: str, send_body: bool, close: bool) -> bytes | None:
        raise RuntimeError("broken lane")

    listener = socket.socket()
    context = ServerContext(ServerConfig(), listener, site, ServerStats(), lambda: None)
    monkeypatch.setattr(site, "ready", broken)
    written: list[bytes] = []
    try:
        assert answer_express(context, TAKEN[0], written.append) is None
    finally:
        listener.close()
    assert written == []
    assert (context.stats.internal_errors, context.stats.requests) == (1, 0)
    assert [record.getMessage() for record in caplog.records] == [
        "unexpected error in ready: RuntimeError: broken lane"
    ]
