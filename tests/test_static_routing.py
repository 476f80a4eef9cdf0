"""server.static: target splitting, method routing, and whole responses from a real directory."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from server.files import SiteRoot
from server.protocol import Request, RequestParser
from server.response import Response
from server.static import Route, StaticSite, route, split_target
from server.stats import ServerStats
from server.store import CachedStore, FileStore, ReadingStore, StoreConfig

HELLO = b"hello, static world\n"
NOT_FOUND = b"<!doctype html><title>Not here</title>\n"
DATA = bytes(range(256)) * 4  # 1024 bytes


def request(method: str, target: str, *fields: str, version: str = "1.1") -> Request:
    """The Request the parser makes of these bytes (a Host field is added for HTTP/1.1)."""
    lines = [f"{method} {target} HTTP/{version}", *fields]
    if version == "1.1":
        lines.insert(1, "Host: example.com")
    parser = RequestParser()
    parser.feed(("\r\n".join(lines) + "\r\n\r\n").encode())
    parsed = parser.next()
    assert parsed is not None
    return parsed


def fields_of(response: Response) -> dict[str, str]:
    """The header fields of a rendered head, minus the per-second Date."""
    lines = response.head().decode("latin-1").split("\r\n")[1:-2]
    fields = dict(line.split(": ", 1) for line in lines)
    del fields["Date"]
    return fields


# -- split_target (RFC 9112 §3.2) -----------------------------------------------------------

TARGETS = [
    ("/", ("/", "")),
    ("/a/b.html", ("/a/b.html", "")),
    ("/a?x=1&y=2", ("/a", "x=1&y=2")),
    ("/a?x=1#frag", ("/a", "x=1")),
    ("/a#frag?not-a-query", ("/a", "")),
    ("/a?", ("/a", "")),
    ("/caf%C3%A9%20x?q=%2F", ("/caf%C3%A9%20x", "q=%2F")),
    ("//double", ("//double", "")),
    ("http://example.com/path?q", ("/path", "q")),
    ("http://example.com:8080/a/b?x=1#f", ("/a/b", "x=1")),
    ("http://example.com", ("/", "")),
    ("http://example.com?q=1", ("/", "q=1")),
    ("HTTP://Example.com/Up", ("/Up", "")),
    ("https://example.com/secure", ("/secure", "")),
    ("ftp://example.com/file", (None, "")),
    ("file:///etc/passwd", (None, "")),
    ("http:/no-authority", (None, "")),
    ("example.com:80", (None, "")),
    ("*", (None, "")),
    ("relative/path", (None, "")),
]


@pytest.mark.parametrize(("target", "expected"), TARGETS, ids=[t for t, _ in TARGETS])
def test_split_target(target: str, expected: tuple[str | None, str]) -> None:
    assert split_target(target) == expected


# -- route ------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "OPTIONS", "PATCH", "BREW"])
def test_other_methods_get_405_with_allow(method: str) -> None:
    response = route(request(method, "/index.html"))
    assert isinstance(response, Response)
    assert response.status == 405
    fields = fields_of(response)
    assert fields["Allow"] == "GET, HEAD"
    assert isinstance(response.body, bytes)
    assert 0 < len(response.body) < 100
    assert int(fields["Content-Length"]) == len(response.body)
    assert response.payload().endswith(response.body)


def test_405_on_http_1_0_closes() -> None:
    response = route(request("POST", "/", version="1.0"))
    assert isinstance(response, Response)
    assert response.close


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_get_and_head_are_routed(method: str) -> None:
    assert route(request(method, "/a/b?x=1#f")) == Route("/a/b", "x=1")
    assert route(request(method, "http://example.com/a?y")) == Route("/a", "y")


@pytest.mark.parametrize("target", ["*", "ftp://example.com/a", "http:/a"])
def test_unsupported_targets_get_400_and_close(target: str) -> None:
    response = route(request("GET", target))
    assert isinstance(response, Response)
    assert (response.status, response.close) == (400, True)


# -- whole responses from a real directory --------------------------------------------------


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "hello.txt").write_bytes(HELLO)
    (tmp_path / "data.bin").write_bytes(DATA)
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "not_found.html").write_bytes(NOT_FOUND)
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "index.html").write_bytes(b"<p>docs</p>\n")
    return tmp_path


@pytest.fixture(params=[CachedStore, ReadingStore], ids=["cache_on", "cache_off"])
def site(request: pytest.FixtureRequest, root: Path) -> StaticSite:
    store: FileStore = request.param(SiteRoot(str(root)), StoreConfig(), ServerStats())
    return StaticSite(store)


def test_200_with_body(site: StaticSite) -> None:
    response = site.respond_blocking(request("GET", "/hello.txt?v=3"))
    assert response.status == 200
    assert response.body == HELLO
    assert response.payload().endswith(b"\r\n\r\n" + HELLO)
    fields = fields_of(response)
    assert fields["Content-Type"] == "text/plain; charset=utf-8"
    assert fields["Content-Length"] == str(len(HELLO))
    assert fields["Accept-Ranges"] == "bytes"
    assert fields["ETag"].startswith('"')
    assert "Last-Modified" in fields
    assert "Connection" not in fields


def test_absolute_form_and_directory_index(site: StaticSite) -> None:
    assert site.respond_blocking(request("GET", "http://example.com/hello.txt")).body == HELLO
    assert site.respond_blocking(request("GET", "/docs/")).body == b"<p>docs</p>\n"


def test_empty_file(site: StaticSite) -> None:
    response = site.respond_blocking(request("GET", "/empty.txt"))
    assert (response.status, response.body) == (200, b"")
    assert fields_of(response)["Content-Length"] == "0"


@pytest.mark.parametrize("target", ["/hello.txt", "/missing", "/docs", "/data.bin"])
def test_head_has_the_get_headers_and_no_body(site: StaticSite, target: str) -> None:
    get = site.respond_blocking(request("GET", target))
    head = site.respond_blocking(request("HEAD", target))
    assert head.status == get.status
    assert fields_of(head) == fields_of(get)
    assert "Content-Length" in fields_of(head)
    assert head.payload() == head.head()
    assert head.payload().endswith(b"\r\n\r\n")


def test_404_uses_the_not_found_page(site: StaticSite) -> None:
    response = site.respond_blocking(request("GET", "/no/such/file.txt"))
    assert response.status == 404
    assert response.body == NOT_FOUND
    fields = fields_of(response)
    assert fields["Content-Type"] == "text/html; charset=utf-8"
    assert fields["Content-Length"] == str(len(NOT_FOUND))


def test_404_without_a_not_found_page_is_plain_text(root: Path) -> None:
    (root / "not_found.html").unlink()
    site = StaticSite(ReadingStore(SiteRoot(str(root)), StoreConfig(), ServerStats()))
    response = site.respond_blocking(request("GET", "/nothing"))
    assert response.status == 404
    assert fields_of(response)["Content-Type"] == "text/plain; charset=utf-8"


@pytest.mark.parametrize(
    ("target", "location"),
    [("/docs", "/docs/"), ("/docs?x=1&y=%20", "/docs/?x=1&y=%20"), ("/docs#frag", "/docs/")],
)
def test_301_to_the_directory_keeps_the_query(site: StaticSite, target: str, location: str) -> None:
    response = site.respond_blocking(request("GET", target))
    assert response.status == 301
    assert fields_of(response)["Location"] == location


def test_304_via_if_none_match(site: StaticSite) -> None:
    etag = fields_of(site.respond_blocking(request("GET", "/hello.txt")))["ETag"]
    response = site.respond_blocking(request("GET", "/hello.txt", f"If-None-Match: {etag}"))
    assert response.status == 304
    assert response.payload() == response.head()
    assert fields_of(response)["ETag"] == etag
    other = site.respond_blocking(request("GET", "/hello.txt", 'If-None-Match: "other"'))
    assert other.status == 200


def test_206_with_content_range(site: StaticSite) -> None:
    response = site.respond_blocking(request("GET", "/data.bin", "Range: bytes=100-199"))
    assert response.status == 206
    assert response.body == DATA[100:200]
    fields = fields_of(response)
    assert fields["Content-Range"] == f"bytes 100-199/{len(DATA)}"
    assert fields["Content-Length"] == "100"
    suffix = site.respond_blocking(request("GET", "/data.bin", "Range: bytes=-24"))
    assert (suffix.status, suffix.body) == (206, DATA[-24:])


def test_416_with_unsatisfied_content_range(site: StaticSite) -> None:
    response = site.respond_blocking(request("GET", "/data.bin", "Range: bytes=5000-"))
    assert response.status == 416
    assert fields_of(response)["Content-Range"] == f"bytes */{len(DATA)}"


@pytest.mark.parametrize(
    ("version", "fields", "connection"),
    [
        ("1.0", ["Connection: keep-alive"], "keep-alive"),
        ("1.0", [], "close"),
        ("1.1", ["Connection: close"], "close"),
        ("1.1", [], None),
    ],
)
def test_connection_header_follows_the_request(
    site: StaticSite, version: str, fields: list[str], connection: str | None
) -> None:
    for target in ("/hello.txt", "/missing", "/docs"):
        response = site.respond_blocking(request("GET", target, *fields, version=version))
        assert fields_of(response).get("Connection") == connection
        assert response.close is (connection == "close")


def test_respond_now_serves_cache_hits_only(root: Path) -> None:
    stats = ServerStats()
    cached = StaticSite(CachedStore(SiteRoot(str(root)), StoreConfig(), stats))
    hello = request("GET", "/hello.txt")
    assert cached.respond_now(hello) is None
    cached.respond_blocking(hello)
    hit = cached.respond_now(hello)
    assert hit is not None
    assert (hit.status, hit.body) == (200, HELLO)
    assert stats.cache_hits >= 1
    reading = StaticSite(ReadingStore(SiteRoot(str(root)), StoreConfig(), ServerStats()))
    assert reading.respond_now(hello) is None


@pytest.mark.parametrize("kind", [ReadingStore, CachedStore])
def test_respond_now_with_the_blocking_reader_answers_everything(root: Path, kind: type) -> None:
    """The blocking reader reads on the spot: no request needs the async path (no task)."""
    site = StaticSite(kind(SiteRoot(str(root)), StoreConfig(), ServerStats(), "blocking"))
    answers = {
        target: site.respond_now(request("GET", target))
        for target in ("/hello.txt", "/missing", "/docs", "/docs/")
    }
    assert all(answer is not None for answer in answers.values()), answers
    statuses = {target: answer.status for target, answer in answers.items() if answer}
    assert statuses == {"/hello.txt": 200, "/missing": 404, "/docs": 301, "/docs/": 200}
    assert answers["/missing"].body == NOT_FOUND  # type: ignore[union-attr]


def test_async_respond_matches_blocking(site: StaticSite) -> None:
    for target in ("/hello.txt", "/missing", "/docs"):
        blocking = site.respond_blocking(request("GET", target))
        awaited = asyncio.run(site.respond(request("GET", target)))
        assert (awaited.status, awaited.body) == (blocking.status, blocking.body)
        assert fields_of(awaited) == fields_of(blocking)
