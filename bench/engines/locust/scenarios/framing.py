"""HTTP/1.1 response framing for the lean locust client: bytes in, whole responses out.

Sans-IO (no sockets, no locust): the client feeds what it received and takes responses.
Feeding one byte at a time or several responses at once gives the same responses, and a
byte never leaks from one response into the next. Where a reply cannot be framed exactly
(RFC 9112 §6.3) it raises `FramingError`: the client drops the connection, since every
later byte on it would be misframed.

Two parsers with one interface, so the numbers can choose: `HttptoolsParser` (llhttp,
the well-kept C parser, through httptools' callbacks) and `MinimalParser` (plain Python: a
`find` and a `split` per head). httptools is the default: with its header fields kept as
bytes until read (`RawHeaders`) it measured ~2× faster per response (README, "The lean
client"); the minimal one also frames replies to HEAD.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Protocol

MAX_HEAD = 64 * 1024  # a status line and headers longer than this are a framing error
HEAD_END = b"\r\n\r\n"
NO_BODY_STATUS = frozenset({204, 304})  # RFC 9110 §15.3.5, §15.4.5: never a body
LENGTH, CHUNKED, UNTIL_CLOSE = "length", "chunked", "until-close"
VERSIONS = frozenset({"HTTP/1.1", "HTTP/1.0"})
TOKEN = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


class FramingError(Exception):
    """The bytes are not one well-framed HTTP/1.x response."""


@dataclass(frozen=True, slots=True)
class Response:
    """One response: header names in lower case, the whole (de-chunked) body."""

    status: int
    headers: Mapping[str, str]
    body: bytes
    keep_alive: bool  # False: the server closes (or must be left) after this response


class RawHeaders(Mapping[str, str]):
    """Header fields as llhttp handed them over (bytes), decoded only when first read.

    Most scenarios never read a response header: decoding and lower-casing every field of
    every response cost more than the rest of the parse (README, "The lean client").
    """

    __slots__ = ("_decoded", "_fields")

    def __init__(self, fields: list[tuple[bytes, bytes]]) -> None:
        self._fields = fields
        self._decoded: dict[str, str] | None = None

    def _dict(self) -> dict[str, str]:
        decoded = self._decoded
        if decoded is None:
            decoded = {}
            for name, value in self._fields:
                _add_header(decoded, name.decode("latin-1").lower(), value.decode("latin-1"))
            self._decoded = decoded
        return decoded

    def __getitem__(self, name: str) -> str:
        return self._dict()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._dict())

    def __len__(self) -> int:
        return len(self._dict())


class Parser(Protocol):
    """What the client needs of a parser."""

    def feed(self, data: bytes) -> None:
        """Bytes received from the server."""

    def next_response(self, head_request: bool) -> Response | None:
        """The next whole response, or None until more bytes arrive."""

    def at_eof(self, head_request: bool) -> Response | None:
        """The server closed: a response ended by the close, or None if nothing was
        pending; raises FramingError when the close cut a response short."""


@dataclass(frozen=True, slots=True)
class _Head:
    status: int
    headers: dict[str, str]
    keep_alive: bool
    framing: str  # LENGTH | CHUNKED | UNTIL_CLOSE
    length: int  # for LENGTH


def parse_head(head: bytes, head_request: bool) -> _Head:
    """The status line and headers (without the blank line) and how the body is framed."""
    status_line, _, block = head.decode("latin-1").partition("\r\n")
    version, _, rest = status_line.partition(" ")
    code = rest[:3]
    if version not in VERSIONS or not code.isdigit() or rest[3:4] not in ("", " "):
        raise FramingError(f"bad status line {status_line[:80]!r}")
    headers: dict[str, str] = {}
    for line in block.split("\r\n") if block else ():
        name, colon, value = line.partition(":")
        if not colon or not name.isascii() or not TOKEN.issuperset(name):
            raise FramingError(f"bad header line {line[:80]!r}")
        name = name.lower()
        if name in headers:
            _add_header(headers, name, value.strip())
        else:
            headers[name] = value.strip()
    status = int(code)
    framing, length = _body_framing(status, headers, head_request)
    return _Head(status, headers, _keep_alive(version, headers, framing), framing, length)


def _add_header(headers: dict[str, str], name: str, value: str) -> None:
    old = headers.get(name)
    if old is None:
        headers[name] = value
    elif name == "content-length":  # RFC 9112 §6.3 (5): differing lengths are unrecoverable
        if old != value:
            raise FramingError(f"conflicting Content-Length {old!r} and {value!r}")
    else:
        headers[name] = f"{old}, {value}"


def _body_framing(status: int, headers: Mapping[str, str], head_request: bool) -> tuple[str, int]:
    """RFC 9112 §6.3, in its order."""
    if head_request or status in NO_BODY_STATUS or status < 200:
        return LENGTH, 0
    coding = headers.get("transfer-encoding")
    if coding is not None:
        chunked = coding.rsplit(",", 1)[-1].strip().lower() == "chunked"
        return (CHUNKED, 0) if chunked else (UNTIL_CLOSE, 0)
    length = headers.get("content-length")
    if length is None:
        return UNTIL_CLOSE, 0
    if not length.isdigit() or not length.isascii():
        raise FramingError(f"bad Content-Length {length!r}")
    return LENGTH, int(length)


def _keep_alive(version: str, headers: dict[str, str], framing: str) -> bool:
    connection = headers.get("connection")
    tokens = {token.strip().lower() for token in connection.split(",")} if connection else set()
    if framing == UNTIL_CLOSE or "close" in tokens:
        return False
    if "transfer-encoding" in headers and "content-length" in headers:
        return False  # RFC 9112 §6.3 (3): a possible smuggling attempt; do not reuse
    return version == "HTTP/1.1" or "keep-alive" in tokens


def dechunk(data: bytearray) -> tuple[bytes, int] | None:
    """A chunked body at the start of `data`: (body, bytes used), or None while incomplete.

    Chunk extensions are ignored and trailer fields skipped (RFC 9112 §7.1)."""
    body, at = bytearray(), 0
    while True:
        line_end = data.find(b"\r\n", at)
        if line_end < 0:
            return None
        size_text = bytes(data[at:line_end]).split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            raise FramingError(f"bad chunk size {size_text[:20]!r}") from None
        at = line_end + 2
        if size == 0:
            return _skip_trailers(data, at, bytes(body))
        if len(data) < at + size + 2:
            return None
        if data[at + size : at + size + 2] != b"\r\n":
            raise FramingError("a chunk is not followed by CRLF")
        body += data[at : at + size]
        at += size + 2


def _skip_trailers(data: bytearray, at: int, body: bytes) -> tuple[bytes, int] | None:
    while True:
        line_end = data.find(b"\r\n", at)
        if line_end < 0:
            return None
        if line_end == at:
            return body, at + 2
        at = line_end + 2


class MinimalParser:
    """A response parser in plain Python: one `find` for the head's end per response."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._head: _Head | None = None

    def feed(self, data: bytes) -> None:
        """Bytes received from the server."""
        self._buffer += data

    def next_response(self, head_request: bool) -> Response | None:
        """The next whole response (interim 1xx ones skipped), or None for now."""
        while True:
            head = self._head or self._take_head(head_request)
            if head is None:
                return None
            response = self._take_body(head)
            if response is None or not 100 <= head.status < 200:
                return response

    def _take_head(self, head_request: bool) -> _Head | None:
        buffer = self._buffer
        end = buffer.find(HEAD_END)
        if end < 0:
            if len(buffer) > MAX_HEAD:
                raise FramingError(f"no end of headers within {MAX_HEAD} bytes")
            return None
        self._head = parse_head(bytes(buffer[:end]), head_request)
        del buffer[: end + 4]
        return self._head

    def _take_body(self, head: _Head) -> Response | None:
        buffer = self._buffer
        if head.framing == UNTIL_CLOSE:
            return None
        if head.framing == LENGTH:
            if len(buffer) < head.length:
                return None
            body, used = bytes(buffer[: head.length]), head.length
        else:
            found = dechunk(buffer)
            if found is None:
                return None
            body, used = found
        del buffer[:used]
        self._head = None
        return Response(head.status, head.headers, body, head.keep_alive)

    def at_eof(self, head_request: bool) -> Response | None:
        """The close ends a body framed by it; anything else pending was cut short."""
        head = self._head
        if head is not None and head.framing == UNTIL_CLOSE:
            self._head = None
            body, self._buffer = bytes(self._buffer), bytearray()
            return Response(head.status, head.headers, body, keep_alive=False)
        if head is not None or self._buffer:
            raise FramingError(f"connection closed inside a response ({len(self._buffer)} bytes)")
        return None


class HttptoolsParser:
    """The same interface on httptools' `HttpResponseParser` (llhttp).

    llhttp cannot be told that a request was HEAD, so a HEAD reply raises FramingError
    here (the scenarios send none); httptools cannot signal the end of the input, so a
    body ended by the close is completed here, by the same rule as the minimal parser."""

    def __init__(self) -> None:
        import httptools  # only when chosen: the default parser needs no C extension

        self._errors = (httptools.HttpParserError,)
        self._parser = httptools.HttpResponseParser(self)
        self._done: deque[Response] = deque()
        self._reset()

    def _reset(self) -> None:
        self._fields: list[tuple[bytes, bytes]] = []
        self._body: list[bytes] = []
        self._started = False
        self._until_close = False

    def on_message_begin(self) -> None:
        self._started = True

    def on_header(self, name: bytes, value: bytes) -> None:
        self._fields.append((name, value))  # decoded only if someone reads them

    def on_headers_complete(self) -> None:
        # llhttp keeps a connection alive only when the body does not end at the close, so
        # a kept-alive reply needs no look at its headers here.
        if not self._parser.should_keep_alive():
            status, headers = self._parser.get_status_code(), RawHeaders(self._fields)
            self._until_close = _body_framing(status, headers, False)[0] == UNTIL_CLOSE

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        parser = self._parser
        status = parser.get_status_code()
        if not 100 <= status < 200:
            body, headers = b"".join(self._body), RawHeaders(self._fields)
            self._done.append(Response(status, headers, body, bool(parser.should_keep_alive())))
        self._reset()

    def feed(self, data: bytes) -> None:
        """Bytes received from the server (parsed at once, callbacks collect responses)."""
        try:
            self._parser.feed_data(data)
        except self._errors as error:
            raise FramingError(f"httptools: {error}") from error

    def next_response(self, head_request: bool) -> Response | None:
        """The next whole response, or None for now."""
        if head_request:
            raise FramingError("the httptools parser cannot frame a HEAD reply")
        return self._done.popleft() if self._done else None

    def at_eof(self, head_request: bool) -> Response | None:
        """The close ends a body framed by it; anything else pending was cut short."""
        if self._done:
            return self._done.popleft()
        if self._until_close:
            status, body = self._parser.get_status_code(), b"".join(self._body)
            response = Response(status, RawHeaders(self._fields), body, keep_alive=False)
            self._reset()
            return response
        if self._started:
            raise FramingError("connection closed inside a response")
        return None


PARSERS: dict[str, type[MinimalParser] | type[HttptoolsParser]] = {
    "httptools": HttptoolsParser,  # the default
    "minimal": MinimalParser,
}
DEFAULT_PARSER = "httptools"
