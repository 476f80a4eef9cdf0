"""The sans-IO HTTP/1.1 request parser: bytes in, `Request` objects out.

It owns framing (RFC 9112): where a request head ends, which body bytes belong to it, and
whether the connection may carry another request. It never touches a socket, a loop or a
thread, so every server shell gets the same answers whatever its packet boundaries are.
Errors are `ProtocolError`s carrying the HTTP status every shell answers with.
"""

from __future__ import annotations

import re
from enum import Enum, auto
from typing import NamedTuple

MAX_REQUEST_LINE = 8 * 1024
MAX_HEAD_BYTES = 64 * 1024
MAX_HEADER_FIELDS = 100
MAX_BODY_BYTES = 64 * 1024

# RFC 9110 §5.6.2: token = 1*tchar.
_TOKEN = rb"[-!#$%&'*+.^_`|~0-9A-Za-z]+"
# RFC 9112 §3: request-line = method SP request-target SP HTTP-version.
_REQUEST_LINE = re.compile(rb"(" + _TOKEN + rb") ([\x21-\x7e]+) HTTP/([0-9])\.([0-9])")
_IS_TOKEN = re.compile(_TOKEN).fullmatch
# RFC 9110 §5.5: field values hold no control characters other than HTAB.
_FIELD_CONTROL = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]").search
_CHUNK_SIZE = re.compile(rb"([0-9A-Fa-f]{1,8})[ \t]*(?:;[^\x00-\x08\x0a-\x1f\x7f]*)?")
_HEAD_END_LF = re.compile(rb"\r?\n\r?\n")
# RFC 9112 §2.1: HTTP-message = start-line CRLF *( field-line CRLF ) CRLF, with CRLF line
# endings only and each field-line as in §5 (name token, ":", value without controls). One
# C-level match validates a whole common head at once, on the head decoded as latin-1 (one
# decode, and every group is already text); anything else (bare LFs, leading empty lines,
# an error to name precisely) takes the line-by-line path below.
_TEXT_TOKEN = _TOKEN.decode("ascii")
_FIELD_LINE = _TEXT_TOKEN + r":[^\x00-\x08\x0a-\x1f\x7f]*+\r\n"
_CRLF_HEAD = re.compile(
    r"(" + _TEXT_TOKEN + r") ([\x21-\x7e]++) HTTP/1\.([0-9])\r\n((?:" + _FIELD_LINE + r")*+)\r\n"
).fullmatch
# Each field line is at least this long (a one-character name, ":", CRLF).
_SHORTEST_FIELD_LINE = 4
_NOT_REQUEST_LINE = re.compile(rb"[^\x20-\x7e]")  # a byte no request-line may contain


_new = tuple.__new__


class ProtocolError(Exception):
    """A request we must refuse; `status` is what every shell answers before closing."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


class Request(NamedTuple):
    """One parsed request head. Header names are lower-case; repeats are comma-joined.

    A NamedTuple rather than a frozen dataclass: one is built per request, and tuple
    construction costs a third of a frozen dataclass's.
    """

    method: str
    target: str
    version: str
    headers: dict[str, str]
    keep_alive: bool


class _State(Enum):
    HEAD = auto()
    BODY = auto()
    CHUNK_SIZE = auto()
    CHUNK_DATA = auto()
    CHUNK_END = auto()
    TRAILERS = auto()
    BROKEN = auto()


class RequestParser:
    """Incremental parser: `feed()` bytes as they arrive, then take requests with `next()`.

    Request bodies are read and discarded (a static server has no use for them), so the
    next pipelined request is found whatever body came before it.
    """

    def __init__(self, max_body: int = MAX_BODY_BYTES) -> None:
        self._buffer: bytes | bytearray = b""  # bytes while it holds one feed() untouched
        self._state = _State.HEAD
        self._scanned = 0  # bytes of the buffer already searched for the end of the head
        self._remaining = 0  # body bytes (or chunk bytes) still to discard
        self._body_seen = 0
        self._max_body = max_body

    def feed(self, data: bytes) -> None:
        """Append bytes as they arrive from the peer."""
        if not self._buffer:
            self._buffer = bytes(data)  # no copy: a request usually arrives in one piece
            return
        if not isinstance(self._buffer, bytearray):
            self._buffer = bytearray(self._buffer)
        self._buffer += data

    @property
    def has_partial_request(self) -> bool:
        """True when bytes of a request that is not complete yet are buffered."""
        return bool(self._buffer) or self._state is not _State.HEAD

    def next(self) -> Request | None:
        """The next complete request, or None until more bytes arrive; raises ProtocolError."""
        state = self._state
        if state is _State.HEAD:
            if not self._buffer:
                return None  # nothing buffered: the common answer after a response
        elif state is _State.BROKEN:
            raise ProtocolError(400, "connection already failed")
        try:
            if state is not _State.HEAD and not self._discard_body():
                return None
            return self._crlf_head() or self._next_head()
        except ProtocolError:
            self._state = _State.BROKEN
            raise

    # -- the head --------------------------------------------------------------------

    def _crlf_head(self) -> Request | None:
        """The common head (CRLF only, within limits), parsed in one match; else None.

        The hot path of every request, so the checks that cannot fail for a short head are
        skipped by its length and the helpers are written out here.
        """
        buffer, scanned = self._buffer, self._scanned
        end = buffer.find(b"\r\n\r\n", scanned - 3 if scanned > 3 else 0) + 4
        if end < 4 or end > MAX_HEAD_BYTES:
            return None
        whole = end == len(buffer)
        match = _CRLF_HEAD((buffer if whole else buffer[:end]).decode("latin-1"))
        if match is None or (end > MAX_REQUEST_LINE and match.start(4) - 2 > MAX_REQUEST_LINE):
            return None
        method, target, minor, fields = match.groups()
        if (
            len(fields) > _SHORTEST_FIELD_LINE * MAX_HEADER_FIELDS
            and fields.count("\n") > MAX_HEADER_FIELDS
        ):
            return None
        self._scanned = 0
        if whole:
            self._buffer = b""
        else:
            del self._mutable()[:end]
        headers = _decode_fields(fields)
        if minor == "0":  # RFC 9110 §6.2: 1.x above 1.1 is taken as 1.1, as below
            version, keep_alive = "HTTP/1.0", _keep_alive("HTTP/1.0", headers)
        elif "host" not in headers:
            raise ProtocolError(400, "missing Host header")  # RFC 9112 §3.2
        else:  # RFC 9112 §9.3: 1.1 persists unless told otherwise
            version = "HTTP/1.1"
            keep_alive = "connection" not in headers or _keep_alive(version, headers)
        # tuple's own __new__: a NamedTuple's runs Python code; the same values, one C call
        request: Request = _new(Request, (method, target, version, headers, keep_alive))
        if "content-length" in headers or "transfer-encoding" in headers:
            self._start_body(request)  # a GET has no body: skip the framing checks
        return request

    def _mutable(self) -> bytearray:
        """The buffer as a bytearray, for the paths that trim it in place."""
        if not isinstance(self._buffer, bytearray):
            self._buffer = bytearray(self._buffer)
        return self._buffer

    def _next_head(self) -> Request | None:
        buffer = self._mutable()
        if buffer and buffer[0] in b"\r\n":
            # RFC 9112 §2.2: ignore empty lines received before a request-line.
            blank = len(buffer) - len(buffer.lstrip(b"\r\n"))
            del buffer[:blank]
            self._scanned = 0
        start = max(0, self._scanned - 3)
        end = buffer.find(b"\r\n\r\n", start)
        head: bytes | None
        # The fast path needs a head with CRLF line endings only; any bare LF goes the slow way.
        if end >= 0 and buffer.count(b"\n", 0, end) == buffer.count(b"\r\n", 0, end):
            head = bytes(buffer[:end])
            del buffer[: end + 4]
        else:
            head = self._take_lf_head(start)
            if head is None:
                return None
        self._scanned = 0
        request = _parse_head(head)
        self._start_body(request)
        return request

    def _take_lf_head(self, start: int) -> bytes | None:
        """Heads with bare LFs (RFC 9112 §2.2 lets a recipient accept them).

        Also taken when a CRLF CRLF was found after a bare LF: an earlier bare-LF head end
        may precede it, and the head's lines must be split on both kinds of line ending.
        """
        buffer = self._mutable()
        match = _HEAD_END_LF.search(buffer, start)
        if match is None:
            self._scanned = len(buffer)
            _check_incomplete_head(buffer)
            return None
        head = bytes(buffer[: match.start()]).replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        del buffer[: match.end()]
        return head

    # -- the body (read and discarded) --------------------------------------------------

    def _start_body(self, request: Request) -> None:
        headers = request.headers
        if "transfer-encoding" in headers and "content-length" in headers:
            # RFC 9112 §6.1: both at once is a request-smuggling vector; refuse it.
            raise ProtocolError(400, "both Transfer-Encoding and Content-Length")
        if "transfer-encoding" in headers:
            coding = headers["transfer-encoding"].strip().lower()
            if coding != "chunked":
                raise ProtocolError(501, "unsupported transfer-coding")
            self._state, self._body_seen = _State.CHUNK_SIZE, 0
            return
        length = _content_length(headers.get("content-length"))
        if length > self._max_body:
            raise ProtocolError(413, "request body too large")
        if length:
            self._state, self._remaining = _State.BODY, length

    def _discard_body(self) -> bool:
        """Discard body bytes; True once the body is fully consumed."""
        while self._state is not _State.HEAD:
            if not self._step_body():
                return False
        return True

    def _step_body(self) -> bool:
        """One step of the body state machine; False when it needs more bytes."""
        state = self._state
        if state is _State.BODY or state is _State.CHUNK_DATA:
            return self._discard_counted()
        line = self._take_line()
        if line is None:
            return False
        if state is _State.CHUNK_SIZE:
            self._start_chunk(line)
        elif state is _State.CHUNK_END:
            if line:
                raise ProtocolError(400, "chunk data longer than its size")
            self._state = _State.CHUNK_SIZE
        elif line == b"":  # the empty line that ends the trailer section
            self._state = _State.HEAD
        return True

    def _discard_counted(self) -> bool:
        taken = min(self._remaining, len(self._buffer))
        del self._mutable()[:taken]
        self._remaining -= taken
        if self._remaining:
            return False
        self._state = _State.HEAD if self._state is _State.BODY else _State.CHUNK_END
        return True

    def _start_chunk(self, line: bytes) -> None:
        match = _CHUNK_SIZE.fullmatch(line)
        if match is None:
            raise ProtocolError(400, "malformed chunk size")
        size = int(match.group(1), 16)
        self._body_seen += size
        if self._body_seen > self._max_body:
            raise ProtocolError(413, "request body too large")
        if size == 0:
            self._state = _State.TRAILERS
        else:
            self._state, self._remaining = _State.CHUNK_DATA, size

    def _take_line(self) -> bytes | None:
        if _first_line_length(self._buffer) > MAX_REQUEST_LINE:
            raise ProtocolError(400, "chunk line too long")
        end = self._buffer.find(b"\n")
        if end < 0:
            return None
        line = bytes(self._buffer[:end]).removesuffix(b"\r")
        del self._mutable()[: end + 1]
        return line


def _check_incomplete_head(buffer: bytes | bytearray) -> None:
    """Refuse a head that is still incomplete but already over a limit, or already invalid.

    Sizes are never measured larger than `_parse_head` measures the complete head, and in
    the same order, so packet boundaries never change whether a head is too large.
    """
    line_length = _first_line_length(buffer)
    if line_length > MAX_REQUEST_LINE:
        raise ProtocolError(414, "request line too long")
    tail = buffer[-3:]  # CR/LF bytes here may be the start of the head's terminator
    if len(buffer) - len(tail) + len(tail.rstrip(b"\r\n")) > MAX_HEAD_BYTES:
        raise ProtocolError(431, "request header section too large")
    if _NOT_REQUEST_LINE.search(buffer, 0, line_length):
        # Binary garbage or a TLS ClientHello: refuse now rather than wait for a newline.
        raise ProtocolError(400, "malformed request line")


def _first_line_length(buffer: bytes | bytearray) -> int:
    """Length of the buffer's first line without its line ending, complete or not yet."""
    end = buffer.find(b"\n")
    if end < 0:
        end = len(buffer)  # a final CR may be the start of the CRLF
    return end - buffer.endswith(b"\r", 0, end)


def _parse_head(head: bytes) -> Request:
    """Parse a complete head (without its final blank line) into a Request."""
    lines = head.split(b"\r\n")
    if len(lines[0]) > MAX_REQUEST_LINE:
        raise ProtocolError(414, "request line too long")
    if len(head) > MAX_HEAD_BYTES:
        raise ProtocolError(431, "request header section too large")
    method, target, version = _parse_request_line(lines[0])
    headers = _parse_fields(lines[1:])
    if version == "HTTP/1.1":
        _require_host(headers)
    return Request(method, target, version, headers, _keep_alive(version, headers))


def _parse_request_line(line: bytes) -> tuple[str, str, str]:
    if line.endswith(b" HTTP/1.1") and line.count(b" ") == 2:  # the common case, no regex
        method, target, _ = line.split(b" ")
        if _IS_TOKEN(method) and not _NOT_REQUEST_LINE.search(target) and target:
            return method.decode("ascii"), target.decode("ascii"), "HTTP/1.1"
    match = _REQUEST_LINE.fullmatch(line)
    if match is None:
        raise ProtocolError(400, "malformed request line")
    method, target, major, minor = match.groups()
    if major != b"1":
        raise ProtocolError(505, "HTTP version not supported")
    # RFC 9110 §6.2: a 1.x recipient treats a higher minor version as the highest it knows.
    version = "HTTP/1.0" if minor == b"0" else "HTTP/1.1"
    return method.decode("ascii"), target.decode("ascii"), version


def _parse_fields(lines: list[bytes]) -> dict[str, str]:
    """RFC 9112 §5: field-line = field-name ":" OWS field-value OWS."""
    if len(lines) > MAX_HEADER_FIELDS:
        raise ProtocolError(431, "too many header fields")
    headers: dict[str, str] = {}
    for line in lines:
        raw_name, colon, raw_value = line.partition(b":")
        # A name that is not a token covers obs-fold (a line starting with SP/HTAB,
        # §5.2) and whitespace before the colon (§5.1).
        if not colon or not _IS_TOKEN(raw_name) or _FIELD_CONTROL(raw_value):
            raise ProtocolError(400, "malformed header field")
        name = raw_name.decode("ascii").lower()
        value = raw_value.strip(b" \t").decode("latin-1")
        if name in headers:
            value = _combine(name, headers[name], value)
        headers[name] = value
    return headers


def _decode_fields(fields: str) -> dict[str, str]:
    """Field lines already validated (and decoded) by `_CRLF_HEAD`: split and trimmed."""
    headers: dict[str, str] = {}
    if not fields:
        return headers
    for line in fields[:-2].split("\r\n"):
        name, _, value = line.partition(":")
        name = name.lower()
        value = value.strip(" \t")
        if name in headers:
            value = _combine(name, headers[name], value)
        headers[name] = value
    return headers


def _combine(name: str, first: str, second: str) -> str:
    if name == "host":
        raise ProtocolError(400, "more than one Host header")
    return f"{first}, {second}"


def _require_host(headers: dict[str, str]) -> None:
    """RFC 9112 §3.2: an HTTP/1.1 request without a Host field gets 400 (repeats: `_combine`)."""
    if "host" not in headers:
        raise ProtocolError(400, "missing Host header")


def _content_length(value: str | None) -> int:
    """RFC 9110 §8.6: a list of identical values is one value; differing values are an error."""
    if value is None:
        return 0
    values = {item.strip() for item in value.split(",")}
    if len(values) != 1:
        raise ProtocolError(400, "conflicting Content-Length values")
    (single,) = values
    if not single.isdigit() or not single.isascii() or len(single) > 18:
        raise ProtocolError(400, "invalid Content-Length")
    return int(single)


def _keep_alive(version: str, headers: dict[str, str]) -> bool:
    """RFC 9112 §9.3: 1.1 persists unless `close`; 1.0 only with `keep-alive`."""
    connection = headers.get("connection")
    if connection is None:
        return version == "HTTP/1.1"
    options = {token.strip().lower() for token in connection.split(",")}
    if "close" in options:
        return False
    return version == "HTTP/1.1" or "keep-alive" in options
