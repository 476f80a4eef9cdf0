"""The behaviour suite: every variant × cache mode, and every reader of the Protocol variant on
each loop (cache off), on real servers, raw bytes on real sockets."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest

from bench.targets.process import ServerProcess
from tests.conftest import (
    SECRET,
    one_request_per_connection,
    reader_params,
    shared_server,
    variant_of,
    variant_params,
)
from tests.pace import pace
from tests.rawhttp import connect, exchange, parse_responses, read_until_closed, request

EXCHANGE_S = 5.0  # how long an exchange waits for the server to close


@pytest.fixture(scope="session", params=variant_params() + reader_params())
def server(request: pytest.FixtureRequest, site: Path) -> Iterator[ServerProcess]:
    """conftest's shared server, here also over the readers (the rest of the suite, e.g.
    tests/test_robustness.py, runs over variant × cache only, to keep the suite short)."""
    yield from shared_server(request.param, site)


def needs_keep_alive(server: ServerProcess) -> None:
    if one_request_per_connection(variant_of(server)):
        pytest.skip("blog answers one request per connection, by design")


# -- files --------------------------------------------------------------------------------


def test_index_has_every_header(server: ServerProcess, site: Path) -> None:
    response = request(server.port, "/")
    assert response.status == 200
    assert response.body == (site / "index.html").read_bytes()
    assert response.header("content-length") == str(len(response.body))
    assert response.header("content-type") == "text/html; charset=utf-8"
    assert response.header("server") == "staticbench"
    assert response.header("accept-ranges") == "bytes"
    assert response.header(
        "etag",
    ).startswith('"')
    parsedate_to_datetime(response.header("date") or "")
    modified = parsedate_to_datetime(response.header("last-modified") or "")
    assert int(modified.timestamp()) == int((site / "index.html").stat().st_mtime)


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/css/style.css", "text/css; charset=utf-8"),
        ("/js/app.js", "text/javascript; charset=utf-8"),
        ("/img/logo.png", "image/png"),
        ("/data/site.json", "application/json"),
        ("/docs/index.html", "text/html; charset=utf-8"),
    ],
)
def test_content_types_and_exact_bytes(
    server: ServerProcess, site: Path, path: str, content_type: str
) -> None:
    response = request(server.port, path)
    assert response.status == 200
    assert response.header("content-type") == content_type
    assert response.body == (site / path.lstrip("/")).read_bytes()


@pytest.mark.parametrize("name", ["100k.bin", "1m.bin"])
def test_large_files_arrive_intact(server: ServerProcess, site: Path, name: str) -> None:
    response = request(server.port, f"/generated/{name}")
    expected = (site / "generated" / name).read_bytes()
    assert response.status == 200
    assert len(response.body) == len(expected)
    assert hashlib.sha256(response.body).digest() == hashlib.sha256(expected).digest()


def test_head_has_get_headers_and_no_body(server: ServerProcess) -> None:
    get = request(server.port, "/css/style.css")
    head = request(server.port, "/css/style.css", method="HEAD")
    assert head.status == 200
    assert head.body == b""
    for name in ("content-length", "content-type", "etag", "last-modified"):
        assert head.header(name) == get.header(name)


def test_head_sends_no_body_bytes_on_a_kept_connection(server: ServerProcess) -> None:
    needs_keep_alive(server)
    raw = (
        b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\n"
        b"GET /data/site.json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    data = exchange(server.port, raw)
    head_part, _, rest = data.partition(b"\r\n\r\n")
    assert head_part.startswith(b"HTTP/1.1 200")
    assert rest.startswith(b"HTTP/1.1 200")  # the next response follows the head directly


def test_missing_file_is_404_with_the_not_found_page(server: ServerProcess, site: Path) -> None:
    response = request(server.port, "/no/such/file.html")
    assert response.status == 404
    assert response.body == (site / "not_found.html").read_bytes()
    assert response.header("content-type") == "text/html; charset=utf-8"


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "OPTIONS", "PATCH", "BREW"])
def test_other_methods_get_405_with_allow(server: ServerProcess, method: str) -> None:
    response = request(server.port, "/index.html", method=method)
    assert response.status == 405
    assert response.header("allow") == "GET, HEAD"
    assert len(response.body) < 100  # a short explanation, never the file


@pytest.mark.parametrize("target", ["/index.html?v=3", "/index.html?a=1&b=%2F", "/index.html#top"])
def test_query_and_fragment_are_ignored(server: ServerProcess, site: Path, target: str) -> None:
    response = request(server.port, target)
    assert response.status == 200
    assert response.body == (site / "index.html").read_bytes()


def test_directory_with_slash_serves_its_index(server: ServerProcess, site: Path) -> None:
    response = request(server.port, "/docs/")
    assert response.status == 200
    assert response.body == (site / "docs" / "index.html").read_bytes()


def test_directory_without_slash_redirects(server: ServerProcess) -> None:
    response = request(server.port, "/docs?page=2")
    assert response.status == 301
    assert response.header("location") == "/docs/?page=2"


@pytest.mark.parametrize(
    ("target", "name"),
    [("/docs/hello%20world.txt", "hello world.txt"), ("/docs/caf%C3%A9.txt", "café.txt"),
     ("/docs/a+b.txt", "a+b.txt"), ("/docs/a%2Bb.txt", "a+b.txt")],
)  # fmt: skip
def test_encoded_names_are_found(server: ServerProcess, site: Path, target: str, name: str) -> None:
    response = request(server.port, target)
    assert response.status == 200
    assert response.body == (site / "docs" / name).read_bytes()


def test_absolute_form_target(server: ServerProcess, site: Path) -> None:
    response = request(server.port, "http://127.0.0.1/css/style.css?x=1")
    assert response.status == 200
    assert response.body == (site / "css" / "style.css").read_bytes()


# -- traversal: raw bytes, because clients normalise `..` away ---------------------------

TRAVERSALS = [
    "/../../../../etc/hostname",
    "/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    "/docs/..%2f..%2f..%2fetc/passwd",
    "/..%5c..%5cetc%5cpasswd",
    "/docs/%2E%2E/%2E%2E/secret.txt",
    "/../secret.txt",
    "/escape.txt",  # a symlink inside the root pointing outside
    "//etc/passwd",
    "/C:/Windows/win.ini",
    "/index.html%00.png",
    "/fifo",
    "/%252e%252e/secret.txt",
]


@pytest.mark.parametrize("target", TRAVERSALS)
def test_traversal_is_refused(server: ServerProcess, site: Path, target: str) -> None:
    raw = f"GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode()
    data = exchange(server.port, raw)
    status = int(data.split(b" ", 2)[1])
    assert status in (400, 404)
    assert SECRET not in data
    assert b"root:" not in data
    assert str(site).encode() not in data


def test_symlink_inside_the_root_is_served(server: ServerProcess, site: Path) -> None:
    response = request(server.port, "/alias.html")
    assert response.status == 200
    assert response.body == (site / "index.html").read_bytes()


# -- conditional and range requests -------------------------------------------------------


def test_if_none_match_gives_304(server: ServerProcess) -> None:
    etag = request(server.port, "/css/style.css").header("etag") or ""
    for candidate in (etag, f"W/{etag}", f'"nope", {etag}', "*"):
        response = request(server.port, "/css/style.css", headers={"If-None-Match": candidate})
        assert response.status == 304, candidate
        assert response.body == b""
        assert response.header("etag") == etag
    other = request(server.port, "/css/style.css", headers={"If-None-Match": '"other"'})
    assert other.status == 200


def test_if_modified_since(server: ServerProcess) -> None:
    modified = request(server.port, "/js/app.js").header("last-modified") or ""
    assert request(server.port, "/js/app.js", headers={"If-Modified-Since": modified}).status == 304
    old = "Sat, 01 Jan 2000 00:00:00 GMT"
    assert request(server.port, "/js/app.js", headers={"If-Modified-Since": old}).status == 200


def test_range_gives_206(server: ServerProcess, site: Path) -> None:
    body = (site / "generated" / "100k.bin").read_bytes()
    cases = {"bytes=0-99": body[:100], "bytes=1000-": body[1000:], "bytes=-10": body[-10:]}
    for header, expected in cases.items():
        response = request(server.port, "/generated/100k.bin", headers={"Range": header})
        assert response.status == 206, header
        assert response.body == expected
        first = (
            len(body) - len(expected)
            if header.startswith("bytes=-")
            else int(header[6:].split("-")[0])
        )
        assert (
            response.header("content-range")
            == f"bytes {first}-{first + len(expected) - 1}/{len(body)}"
        )


def test_range_on_a_streamed_file(server: ServerProcess, site: Path) -> None:
    body = (site / "generated" / "1m.bin").read_bytes()
    response = request(server.port, "/generated/1m.bin", headers={"Range": "bytes=500000-500999"})
    assert response.status == 206
    assert response.body == body[500000:501000]


def test_unsatisfiable_range_gives_416(server: ServerProcess, site: Path) -> None:
    size = (site / "index.html").stat().st_size
    response = request(server.port, "/index.html", headers={"Range": f"bytes={size}-"})
    assert response.status == 416
    assert response.header("content-range") == f"bytes */{size}"


def test_if_range_mismatch_sends_the_whole_file(server: ServerProcess, site: Path) -> None:
    etag = request(server.port, "/index.html").header("etag") or ""
    matching = request(server.port, "/index.html", headers={"Range": "bytes=0-9", "If-Range": etag})
    assert matching.status == 206
    stale = request(server.port, "/index.html", headers={"Range": "bytes=0-9", "If-Range": '"old"'})
    assert stale.status == 200
    assert stale.body == (site / "index.html").read_bytes()


# -- connections --------------------------------------------------------------------------


def test_keep_alive_serves_two_requests_on_one_connection(server: ServerProcess) -> None:
    needs_keep_alive(server)
    with connect(server.port) as sock:
        for _ in range(2):
            sock.sendall(b"GET /data/site.json HTTP/1.1\r\nHost: x\r\n\r\n")
            head = b""
            while b"\r\n\r\n" not in head:
                head += sock.recv(1)
            assert head.startswith(b"HTTP/1.1 200")
            assert b"connection: close" not in head.lower()
            length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
            body = b""
            while len(body) < length:
                body += sock.recv(length - len(body))


def test_pipelined_requests_are_answered_in_order(server: ServerProcess, site: Path) -> None:
    needs_keep_alive(server)
    paths = ["/index.html", "/nope", "/css/style.css", "/generated/1m.bin", "/js/app.js"]
    raw = b"".join(f"GET {p} HTTP/1.1\r\nHost: x\r\n\r\n".encode() for p in paths)
    raw += b"GET /data/site.json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    responses = parse_responses(exchange(server.port, raw, timeout=10))
    assert [r.status for r in responses] == [200, 404, 200, 200, 200, 200]
    assert responses[3].body == (site / "generated" / "1m.bin").read_bytes()
    assert responses[5].body == (site / "data" / "site.json").read_bytes()


def test_blog_closes_after_one_response(server: ServerProcess) -> None:
    if not one_request_per_connection(variant_of(server)):
        pytest.skip("only blog closes every connection")
    data = exchange(
        server.port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n"
    )
    (response,) = parse_responses(data)
    assert response.header("connection") == "close"


def test_http10_closes_unless_asked(server: ServerProcess) -> None:
    response = request(server.port, "/", version="HTTP/1.0", headers={"Connection": ""})
    assert response.status == 200
    with connect(server.port) as sock:  # no Host needed in 1.0; the second must go unanswered
        sock.sendall(b"GET / HTTP/1.0\r\n\r\nGET /js/app.js HTTP/1.0\r\n\r\n")
        data = read_until_closed(sock, 5.0, must_close=True)  # closed by the server
    (only,) = parse_responses(data)
    assert (only.status, only.header("connection")) == (200, "close")


def test_http10_keep_alive_is_confirmed(server: ServerProcess) -> None:
    needs_keep_alive(server)
    raw = b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /js/app.js HTTP/1.0\r\n\r\n"
    responses = parse_responses(exchange(server.port, raw))
    assert [r.status for r in responses] == [200, 200]
    assert responses[0].header("connection") == "keep-alive"
    assert responses[1].header("connection") == "close"


def test_connection_close_is_honoured(server: ServerProcess) -> None:
    bound = pace(server.port).bound(below=EXCHANGE_S)  # over it: our timeout closed it
    started = time.monotonic()
    raw = b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    data = exchange(server.port, raw, timeout=EXCHANGE_S)
    assert time.monotonic() - started < bound  # closed by the server, not by our timeout
    assert parse_responses(data)[0].header("connection") == "close"


def test_request_split_into_single_bytes(server: ServerProcess, site: Path) -> None:
    raw = b"GET /css/style.css HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    with connect(server.port) as sock:
        for byte in raw:
            sock.sendall(bytes([byte]))
            time.sleep(0.001)
        (response,) = parse_responses(read_until_closed(sock))
    assert response.body == (site / "css" / "style.css").read_bytes()


@pytest.mark.parametrize("size", [1024, 2048, 4096])
def test_request_of_exactly_a_chunk_size(server: ServerProcess, size: int) -> None:
    head = b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Pad: "
    raw = head + b"a" * (size - len(head) - 4) + b"\r\n\r\n"
    assert len(raw) == size
    assert exchange(server.port, raw).startswith(b"HTTP/1.1 200")


def test_request_body_is_discarded_before_the_next_request(server: ServerProcess) -> None:
    needs_keep_alive(server)
    raw = (
        b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\n\r\nGET /x"
        b"GET /js/app.js HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"4\r\nGET \r\n0\r\n\r\n"
        b"GET /data/site.json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    assert [r.status for r in parse_responses(exchange(server.port, raw))] == [200, 200, 200]


# -- malformed input: the right status, then close ----------------------------------------

BAD_REQUESTS = [
    (b"GARBAGE\r\n\r\n", 400),
    (b"GET /\r\nHost: x\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\n\r\n", 400),  # HTTP/1.1 without Host
    (b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
    (b"GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505),
    (b"GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400),  # whitespace before the colon
    (b"GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n  folded\r\n\r\n", 400),  # obs-fold
    (b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x01b\r\n\r\n", 400),  # control character
    (b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", 400),
    (b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
    (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n\r\n", 413),
    (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
    (b"GET / HTTP/1.1\r\nHost: x\r\n" + b"X-Big: " + b"b" * 70000 + b"\r\n\r\n", 431),
    (b"GET / HTTP/1.1\r\nHost: x\r\n" + b"X-N: 1\r\n" * 101 + b"\r\n", 431),
]


@pytest.mark.parametrize(("raw", "status"), BAD_REQUESTS, ids=lambda v: str(v)[:30])
def test_bad_requests_get_the_right_status_then_close(
    server: ServerProcess, site: Path, raw: bytes, status: int
) -> None:
    data = exchange(server.port, raw + b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    responses = parse_responses(data)
    assert [r.status for r in responses] == [status]  # nothing after the error: closed
    assert responses[0].header("connection") == "close"
    assert str(site).encode() not in data
    assert request(server.port, "/").status == 200  # and the server goes on


@pytest.mark.parametrize(
    "raw",
    [
        bytes(range(256)) * 4,
        bytes.fromhex("160301020001000200") + b"\x03\x03" + b"\x00" * 64,  # TLS ClientHello
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",  # HTTP/2 preface
    ],
    ids=["binary", "tls", "h2-preface"],
)
def test_non_http_gets_400_or_close(server: ServerProcess, raw: bytes) -> None:
    data = exchange(server.port, raw, timeout=3)
    assert data == b"" or int(data.split(b" ", 2)[1]) in (400, 505)
    assert request(server.port, "/").status == 200
