"""server.protocol: bytes in, requests out — framing, limits, errors, incremental feeding."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.protocol import (
    MAX_BODY_BYTES,
    MAX_HEAD_BYTES,
    MAX_HEADER_FIELDS,
    MAX_REQUEST_LINE,
    ProtocolError,
    Request,
    RequestParser,
)


def parse(pieces: Iterable[bytes], parser: RequestParser | None = None) -> list[Request]:
    """Feed `pieces` one by one, taking every complete request after each."""
    parser = parser or RequestParser()
    requests: list[Request] = []
    for piece in pieces:
        parser.feed(piece)
        while (request := parser.next()) is not None:
            requests.append(request)
    return requests


def parse_one(data: bytes) -> Request:
    """The single request in `data`, which must hold exactly one complete request."""
    parser = RequestParser()
    (request,) = parse([data], parser)
    assert not parser.has_partial_request
    return request


def refusal(data: bytes) -> int:
    """The status of the ProtocolError that `data` provokes."""
    with pytest.raises(ProtocolError) as raised:
        parse([data])
    return raised.value.status


def bytewise(data: bytes) -> list[bytes]:
    """`data` as one-byte pieces."""
    return [data[i : i + 1] for i in range(len(data))]


def get(*fields: str, version: str = "1.1", target: str = "/") -> bytes:
    """A GET request head with `fields` (a Host field is added for HTTP/1.1)."""
    lines = [f"GET {target} HTTP/{version}"]
    if version != "1.0" and not any(f.lower().startswith("host:") for f in fields):
        lines.append("Host: example.com")
    lines.extend(fields)
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


# -- good requests ------------------------------------------------------------------------


def test_simple_get() -> None:
    request = parse_one(b"GET /index.html?q=1 HTTP/1.1\r\nHost: example.com\r\n\r\n")
    assert request == Request(
        "GET", "/index.html?q=1", "HTTP/1.1", {"host": "example.com"}, keep_alive=True
    )
    assert request.headers.get("host") == "example.com"
    assert request.headers.get("accept") is None


def test_header_names_lower_cased_values_trimmed_repeats_joined() -> None:
    request = parse_one(
        b"HEAD / HTTP/1.1\r\nHOST: a\r\nAccept:text/html \t\r\nX-Tag: one\r\n"
        b"x-tag:  two\r\nX-Empty:\r\nX-Latin: caf\xe9\r\n\r\n"
    )
    assert request.method == "HEAD"
    assert request.headers == {
        "host": "a",
        "accept": "text/html",
        "x-tag": "one, two",
        "x-empty": "",
        "x-latin": "caf\xe9",
    }


KEEP_ALIVE = [
    ("1.0 closes by default", get(version="1.0"), "HTTP/1.0", False),
    ("1.0 keep-alive", get("Connection: keep-alive", version="1.0"), "HTTP/1.0", True),
    ("1.0 Keep-Alive any case", get("Connection: Keep-Alive", version="1.0"), "HTTP/1.0", True),
    ("1.0 token list", get("Connection: Keep-Alive, Upgrade", version="1.0"), "HTTP/1.0", True),
    ("1.0 other token", get("Connection: upgrade", version="1.0"), "HTTP/1.0", False),
    ("1.0 close wins", get("Connection: keep-alive, close", version="1.0"), "HTTP/1.0", False),
    ("1.1 persists by default", get(), "HTTP/1.1", True),
    ("1.1 close", get("Connection: close"), "HTTP/1.1", False),
    ("1.1 Close any case", get("Connection: Close"), "HTTP/1.1", False),
    ("1.1 token list", get("Connection: Keep-Alive, Upgrade"), "HTTP/1.1", True),
    ("1.1 close in a list", get("Connection: Upgrade ,close"), "HTTP/1.1", False),
    ("1.1 close in a repeat", get("Connection: upgrade", "Connection: close"), "HTTP/1.1", False),
    ("1.2 is treated as 1.1", get(version="1.2"), "HTTP/1.1", True),
    ("1.9 is treated as 1.1", get("Connection: close", version="1.9"), "HTTP/1.1", False),
]


@pytest.mark.parametrize(
    ("data", "version", "keep_alive"),
    [case[1:] for case in KEEP_ALIVE],
    ids=[case[0] for case in KEEP_ALIVE],
)
def test_version_and_keep_alive(data: bytes, version: str, keep_alive: bool) -> None:
    request = parse_one(data)
    assert (request.version, request.keep_alive) == (version, keep_alive)


def test_http_1_0_needs_no_host() -> None:
    assert parse_one(b"GET / HTTP/1.0\r\n\r\n").headers == {}


def test_leading_empty_lines_are_ignored() -> None:
    assert parse_one(b"\r\n\r\n\n" + get()).target == "/"
    assert parse([b"\r", b"\n\r", b"\n", get()])[0].target == "/"


def test_absolute_form_target_kept_verbatim() -> None:
    target = "http://Example.COM:8080/a/../b%2F?x=1&y=%20"
    assert parse_one(get(target=target)).target == target


def test_asterisk_form_target_is_parsed() -> None:
    assert parse_one(b"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n").target == "*"


@pytest.mark.parametrize(
    "data",
    [
        b"GET / HTTP/1.1\nHost: a\n\n",
        b"GET / HTTP/1.1\nHost: a\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a\r\n\n",
    ],
    ids=["bare LF", "mixed then CRLF end", "LF CRLF end", "CRLF LF end"],
)
def test_bare_lf_heads_accepted(data: bytes) -> None:
    assert parse_one(data).headers == {"host": "a"}
    assert parse(bytewise(data)) == [parse_one(data)]


def test_bare_lf_head_before_a_crlf_head() -> None:
    data = b"GET /one HTTP/1.0\n\nGET /two HTTP/1.1\r\nHost: a\r\n\r\n"
    expected = ["/one", "/two"]
    assert [r.target for r in parse([data])] == expected
    assert [r.target for r in parse(bytewise(data))] == expected


def test_identical_repeated_content_length_accepted() -> None:
    for fields in (b"Content-Length: 3\r\nContent-Length: 3", b"Content-Length: 3, 3"):
        data = b"POST /a HTTP/1.1\r\nHost: a\r\n" + fields + b"\r\n\r\nabc" + get(target="/b")
        assert [r.target for r in parse([data])] == ["/a", "/b"]


def test_content_length_body_discarded_and_next_request_parsed() -> None:
    smuggled = get(target="/smuggled")
    body = smuggled + b"\x00\xff"
    data = (
        b"POST /form HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n" % len(body)
        + body
        + get(target="/next")
    )
    assert [r.target for r in parse([data])] == ["/form", "/next"]
    assert [r.target for r in parse(bytewise(data))] == ["/form", "/next"]


def test_chunked_body_with_extensions_and_trailers_discarded() -> None:
    data = (
        b"POST /upload HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n"
        b"5;name=value;flag\r\nhello\r\n"
        b'00B \t; ext="quoted"\r\n world!\r\n!\r\n'
        b"0;last\r\nX-Checksum: abc\r\nX-More: 1\r\n\r\n"
    ) + get(target="/next")
    expected = ["/upload", "/next"]
    assert [r.target for r in parse([data])] == expected
    assert [r.target for r in parse(bytewise(data))] == expected


def test_chunked_body_with_bare_lf_framing() -> None:
    data = b"POST / HTTP/1.1\nHost: a\nTransfer-Encoding: chunked\n\n3\nabc\n0\n\n" + get()
    assert len(parse([data])) == 2


def test_empty_content_length_body_and_zero_length() -> None:
    data = b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n" + get(target="/b")
    assert [r.target for r in parse([data])] == ["/", "/b"]


def test_pipelined_requests_in_one_feed() -> None:
    data = get(target="/1") + get(target="/2", version="1.0") + get(target="/3")
    assert [r.target for r in parse([data])] == ["/1", "/2", "/3"]


def test_limits_inclusive() -> None:
    line_target = "/" + "a" * (MAX_REQUEST_LINE - len("GET / HTTP/1.0"))
    at_line_limit = get(version="1.0", target=line_target)
    assert len(at_line_limit.split(b"\r\n")[0]) == MAX_REQUEST_LINE
    fields = [f"X-{n}: v" for n in range(MAX_HEADER_FIELDS - 2)]  # + Host + X-Pad
    head = get(*fields)[:-4]
    padded_field = "X-Pad: " + "p" * (MAX_HEAD_BYTES - len(head) - len("\r\nX-Pad: "))
    at_head_limit = get(*fields, padded_field)
    assert len(at_head_limit) - 4 == MAX_HEAD_BYTES
    for data in (at_line_limit, at_head_limit):
        assert len(parse([data])) == 1
        # Cut just after a CR: a half-received line ending must not count against a limit.
        for cut in (data.index(b"\r") + 1, len(data) - 1):
            assert len(parse([data[:cut], data[cut:]])) == 1
    body = b"x" * MAX_BODY_BYTES
    at_body_limit = b"POST / HTTP/1.0\r\nContent-Length: %d\r\n\r\n" % len(body) + body
    assert len(parse([at_body_limit])) == 1


def test_has_partial_request() -> None:
    parser = RequestParser()
    assert not parser.has_partial_request
    parser.feed(b"GET / HTTP/1.1\r\n")
    assert parser.next() is None
    assert parser.has_partial_request
    parser.feed(b"Host: a\r\n\r\n")
    assert parser.next() is not None
    assert not parser.has_partial_request


# -- refused requests ---------------------------------------------------------------------


def post(*fields: str, body: bytes = b"") -> bytes:
    lines = ["POST / HTTP/1.1", "Host: a", *fields]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


REFUSED = [
    # framing (RFC 9112 §6)
    ("TE and CL", post("Transfer-Encoding: chunked", "Content-Length: 3"), 400),
    ("CL and TE", post("Content-Length: 0", "Transfer-Encoding: chunked"), 400),
    ("unsupported TE", post("Transfer-Encoding: gzip"), 501),
    ("TE list", post("Transfer-Encoding: gzip, chunked"), 501),
    ("conflicting CL", post("Content-Length: 3", "Content-Length: 4"), 400),
    ("conflicting CL list", post("Content-Length: 3, 4"), 400),
    ("negative CL", post("Content-Length: -1"), 400),
    ("signed CL", post("Content-Length: +3"), 400),
    ("empty CL", post("Content-Length:"), 400),
    ("non-digit CL", post("Content-Length: 3a"), 400),
    ("non-ASCII digit CL", post("Content-Length: \xb2"), 400),
    ("huge CL", post("Content-Length: " + "9" * 30), 400),
    ("CL over the limit", post(f"Content-Length: {MAX_BODY_BYTES + 1}"), 413),
    (
        "chunks over the limit",
        post("Transfer-Encoding: chunked", body=b"%x\r\n" % (MAX_BODY_BYTES + 1)),
        413,
    ),
    ("bad chunk size", post("Transfer-Encoding: chunked", body=b"zz\r\n"), 400),
    ("negative chunk size", post("Transfer-Encoding: chunked", body=b"-1\r\n"), 400),
    ("chunk size too long", post("Transfer-Encoding: chunked", body=b"1" * 9 + b"\r\n"), 400),
    (
        "chunk data longer than its size",
        post("Transfer-Encoding: chunked", body=b"3\r\nabcdef\r\n0\r\n\r\n"),
        400,
    ),
    (
        "chunk data without its CRLF",
        post("Transfer-Encoding: chunked", body=b"3\r\nabc0\r\n\r\n"),
        400,
    ),
    # Host (RFC 9112 §3.2)
    ("1.1 without Host", b"GET / HTTP/1.1\r\nAccept: */*\r\n\r\n", 400),
    ("duplicate Host", get("Host: a", "Host: a"), 400),
    ("duplicate Host in 1.0", get("Host: a", "host: b", version="1.0"), 400),
    # field syntax (RFC 9112 §5)
    ("obs-fold", get("X-A: one", " two"), 400),
    ("obs-fold with tab", get("X-A: one", "\ttwo"), 400),
    ("space before colon", get("X-A : one"), 400),
    ("tab before colon", get("X-A\t: one"), 400),
    ("no colon", get("X-A one"), 400),
    ("empty field name", get(": one"), 400),
    ("separator in field name", get("X(A): one"), 400),
    ("NUL in value", get("X-A: o\x00e"), 400),
    ("control char in value", get("X-A: o\x01e"), 400),
    ("DEL in value", get("X-A: o\x7fe"), 400),
    ("lone CR in value", get("X-A: o\re"), 400),
    ("non-ASCII field name", get("X-\xe9: one"), 400),
    # versions (RFC 9110 §6.2)
    ("HTTP/2.0", b"GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505),
    ("HTTP/0.9", b"GET / HTTP/0.9\r\n\r\n", 505),
    ("HTTP/3.0", b"GET / HTTP/3.0\r\n\r\n", 505),
    # request line (RFC 9112 §3)
    ("no version", b"GET /\r\n\r\n", 400),
    ("only a method", b"GET\r\n\r\n", 400),
    ("two spaces", b"GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    ("tab separator", b"GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    ("trailing space", b"GET / HTTP/1.1 \r\nHost: a\r\n\r\n", 400),
    ("space in target", b"GET /a b HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    ("non-ASCII target", b"GET /caf\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    ("lower-case protocol", b"GET / http/1.1\r\nHost: a\r\n\r\n", 400),
    ("two-digit minor", b"GET / HTTP/1.10\r\nHost: a\r\n\r\n", 400),
    ("no minor", b"GET / HTTP/1\r\nHost: a\r\n\r\n", 400),
    ("separator in method", b"GE(T / HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    ("extra field", b"GET / HTTP/1.1 x\r\nHost: a\r\n\r\n", 400),
    # limits (RFC 9112 §3, RFC 6585 §5)
    ("request line too long", get(target="/" + "a" * MAX_REQUEST_LINE), 414),
    ("too many fields", get(*[f"X-{n}: v" for n in range(MAX_HEADER_FIELDS)]), 431),
    ("head too large", get("X-Big: " + "b" * MAX_HEAD_BYTES), 431),
    # not HTTP/1.x at all
    ("binary garbage", bytes(range(256)) * 4, 400),
    ("TLS ClientHello", bytes.fromhex("160301020001 0001fc0303") + bytes(64), 400),
    ("HTTP/2 preface", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505),
]


@pytest.mark.parametrize(
    ("data", "status"), [case[1:] for case in REFUSED], ids=[case[0] for case in REFUSED]
)
def test_refused(data: bytes, status: int) -> None:
    assert refusal(data) == status


@pytest.mark.parametrize(
    ("data", "status"), [case[1:] for case in REFUSED], ids=[case[0] for case in REFUSED]
)
def test_refused_byte_by_byte_and_stays_refused(data: bytes, status: int) -> None:
    parser = RequestParser()
    with pytest.raises(ProtocolError) as raised:
        parse(bytewise(data), parser)
    assert raised.value.status == status
    for _ in range(2):
        with pytest.raises(ProtocolError):
            parser.next()
    parser.feed(get())
    with pytest.raises(ProtocolError):
        parser.next()


def test_smaller_body_limit() -> None:
    parser = RequestParser(max_body=10)
    parser.feed(post("Content-Length: 11"))
    with pytest.raises(ProtocolError) as raised:
        parser.next()
    assert raised.value.status == 413
    assert parse([post("Content-Length: 10", body=b"x" * 10)], RequestParser(max_body=10))


def feed_until_refused(parser: RequestParser, pieces: Iterable[bytes]) -> tuple[int, int]:
    """Feed `pieces` until the parser refuses; its status and how many bytes that took."""
    fed = 0
    for piece in pieces:
        parser.feed(piece)
        fed += len(piece)
        try:
            assert parser.next() is None
        except ProtocolError as error:
            return error.status, fed
    raise AssertionError("never refused")


def test_long_request_line_refused_before_the_head_is_complete() -> None:
    pieces = [b"GET /", *[b"a" * 100] * MAX_REQUEST_LINE]
    status, fed = feed_until_refused(RequestParser(), pieces)
    assert status == 414
    assert fed <= MAX_REQUEST_LINE + 100


def test_large_header_section_refused_before_the_head_is_complete() -> None:
    field = b"X-Filler: " + b"f" * 990 + b"\r\n"
    pieces = [b"GET / HTTP/1.1\r\nHost: a\r\n", *[field[:500], field[500:]] * MAX_HEADER_FIELDS]
    status, fed = feed_until_refused(RequestParser(), pieces)
    assert status == 431
    assert fed <= MAX_HEAD_BYTES + len(field)


def test_long_chunk_line_refused_before_it_is_complete() -> None:
    parser = RequestParser()
    parser.feed(post("Transfer-Encoding: chunked") + b"1;ext=")
    assert parser.next() is not None
    status, fed = feed_until_refused(parser, [b"x" * 64] * MAX_REQUEST_LINE)
    assert status == 400
    assert fed <= MAX_REQUEST_LINE + 64


# -- property: packet boundaries never matter -----------------------------------------------

TCHAR = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
VCHAR = "".join(chr(c) for c in range(0x21, 0x7F))
FIELD_CHARS = VCHAR + "\x80\xa0\xe9\xff"
RESERVED_FIELDS = {"host", "content-length", "transfer-encoding", "connection"}

methods = st.sampled_from(["GET", "HEAD", "POST", "OPTIONS"]) | st.text(TCHAR, min_size=1)
targets = st.text(VCHAR, max_size=30).map(lambda t: "/" + t) | st.sampled_from(
    ["*", "http://example.com", "https://h:8443/p?q=1#f"]
)
field_names = st.text(TCHAR, min_size=1, max_size=12).filter(
    lambda n: n.lower() not in RESERVED_FIELDS
)
field_values = st.lists(st.text(FIELD_CHARS, min_size=1, max_size=8), max_size=3).flatmap(
    lambda words: st.sampled_from([" ", "\t", " \t "]).map(lambda sep: sep.join(words))
)
ows = st.sampled_from(["", " ", "\t", "  \t"])
line_endings = st.sampled_from(["\r\n", "\n"])
connections = st.sampled_from(
    [None, "close", "keep-alive", "Keep-Alive, Upgrade", "upgrade", "Upgrade, Close"]
)
chunk_extensions = st.sampled_from(["", ";a", ";a=b", ' ; name="v"', "\t;x;y=1"])
trailers = st.lists(st.tuples(field_names, field_values), max_size=2)


@dataclass(frozen=True)
class Body:
    """A request body as it goes on the wire: Content-Length or chunked."""

    chunked: bool
    chunks: list[tuple[bytes, str]]  # data and extension; one chunk for Content-Length
    trailers: list[tuple[str, str]]
    repeat_length: bool

    def fields(self) -> list[tuple[str, str]]:
        if self.chunked:
            return [("Transfer-Encoding", "chunked")]
        length = str(len(self.chunks[0][0]))
        return [("Content-Length", length)] * (2 if self.repeat_length else 1)

    def wire(self, eol: str) -> bytes:
        if not self.chunked:
            return self.chunks[0][0]
        out = b""
        for data, extension in self.chunks:
            out += f"{len(data):x}{extension}{eol}".encode() + data + eol.encode()
        out += f"0{eol}".encode()
        for name, value in self.trailers:
            out += f"{name}: {value}{eol}".encode("latin-1")
        return out + eol.encode()


length_bodies = st.builds(
    Body,
    chunked=st.just(False),
    chunks=st.binary(max_size=100).map(lambda data: [(data, "")]),
    trailers=st.just([]),
    repeat_length=st.booleans(),
)
chunked_bodies = st.builds(
    Body,
    chunked=st.just(True),
    chunks=st.lists(st.tuples(st.binary(min_size=1, max_size=40), chunk_extensions), max_size=3),
    trailers=trailers,
    repeat_length=st.just(False),
)
bodies = st.none() | length_bodies | chunked_bodies


@st.composite
def requests(draw: st.DrawFn) -> tuple[bytes, Request]:
    """One valid request on the wire, and the Request the parser must make of it."""
    method, target = draw(methods), draw(targets)
    minor = draw(st.sampled_from(["0", "1", "2"]))
    fields = draw(st.lists(st.tuples(field_names, field_values), max_size=6))
    if minor != "0" or draw(st.booleans()):
        fields.insert(draw(st.integers(0, len(fields))), ("Host", draw(field_values)))
    connection = draw(connections)
    if connection is not None:
        fields.append(("Connection", connection))
    body = draw(bodies)
    if body is not None:
        fields.extend(body.fields())
    lines = [f"{method} {target} HTTP/1.{minor}"]
    lines += [f"{name}:{draw(ows)}{value}{draw(ows)}" for name, value in fields]
    lines.append("")  # the blank line that ends the head
    eol = draw(line_endings)  # mostly one kind per request, sometimes mixed (RFC 9112 §2.2)
    mixed = draw(st.booleans())
    wire = draw(st.sampled_from(["", "\r\n", "\n"]))  # empty lines before a request-line
    wire += "".join(line + (draw(line_endings) if mixed else eol) for line in lines)
    data = wire.encode("latin-1") + (body.wire(eol) if body is not None else b"")
    return data, expected_request(method, target, minor, fields, connection)


def expected_request(
    method: str, target: str, minor: str, fields: list[tuple[str, str]], connection: str | None
) -> Request:
    """What RFC 9112 says the request means, computed independently of the parser."""
    headers: dict[str, str] = {}
    for name, value in fields:
        key = name.lower()
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    version = "HTTP/1.0" if minor == "0" else "HTTP/1.1"
    tokens = {t.strip().lower() for t in (connection or "").split(",")}
    keep_alive = "close" not in tokens and (version == "HTTP/1.1" or "keep-alive" in tokens)
    return Request(method, target, version, headers, keep_alive)


def split_at(data: bytes, cuts: list[int]) -> list[bytes]:
    """`data` cut into pieces at the positions `cuts` (any order, repeats and overshoots ok)."""
    points = sorted({0, len(data), *(min(cut, len(data)) for cut in cuts)})
    return [data[a:b] for a, b in pairwise(points)]


@settings(max_examples=200, deadline=None)
@given(st.lists(requests(), min_size=1, max_size=5), st.data())
def test_any_split_gives_the_same_requests(
    stream: list[tuple[bytes, Request]], data: st.DataObject
) -> None:
    wire = b"".join(raw for raw, _ in stream)
    expected = [request for _, request in stream]
    cuts = data.draw(st.lists(st.integers(0, len(wire)), max_size=20), label="cuts")
    assert parse([wire]) == expected
    assert parse(split_at(wire, cuts)) == expected


@settings(max_examples=50, deadline=None)
@given(st.lists(requests(), min_size=1, max_size=3))
def test_byte_at_a_time_gives_the_same_requests(stream: list[tuple[bytes, Request]]) -> None:
    wire = b"".join(raw for raw, _ in stream)
    assert parse(bytewise(wire)) == parse([wire]) == [request for _, request in stream]


# -- fuzz: nothing but ProtocolError ---------------------------------------------------------


def expect_only_protocol_errors(pieces: list[bytes]) -> None:
    """Parse `pieces`; a refusal must be a ProtocolError with one of our statuses."""
    status = None
    try:
        parse(pieces)
    except ProtocolError as error:
        status = error.status
    assert status in {None, 400, 413, 414, 431, 501, 505}


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300), st.lists(st.integers(0, 300), max_size=5))
def test_arbitrary_bytes_raise_only_protocol_errors(junk: bytes, cuts: list[int]) -> None:
    expect_only_protocol_errors(split_at(junk, cuts))


@settings(max_examples=300, deadline=None)
@given(requests(), st.data())
def test_mutated_requests_raise_only_protocol_errors(
    request: tuple[bytes, Request], data: st.DataObject
) -> None:
    wire = bytearray(request[0])
    for _ in range(data.draw(st.integers(1, 4), label="mutations")):
        at = data.draw(st.integers(0, len(wire)), label="at")
        junk = data.draw(st.binary(max_size=3) | st.sampled_from([b"\r\n", b"\n", b":", b" "]))
        cut = data.draw(st.integers(0, 2), label="cut")
        wire[at : at + cut] = junk
    cuts = data.draw(st.lists(st.integers(0, len(wire)), max_size=5), label="cuts")
    expect_only_protocol_errors(split_at(bytes(wire), cuts))
