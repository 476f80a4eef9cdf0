"""Responses as values, and their rendering to bytes (RFC 9112 §4, RFC 9110 §6).

It owns the status line, the headers every response carries (`Date`, `Server`,
`Connection`) and HTTP dates. It never decides *which* response to send (that is
`server.static`) and never does I/O.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import date
from email.utils import formatdate
from http import HTTPStatus
from typing import NamedTuple

SERVER_NAME = b"staticbench"

CLOSE = b"Connection: close\r\n"
KEEP_ALIVE = b"Connection: keep-alive\r\n"  # only HTTP/1.0 clients need to be told
PERSIST = b""  # HTTP/1.1 persists by default: say nothing
# The connection line and the blank line that ends every head, in one piece.
_HEAD_ENDS = {line: line + b"\r\n" for line in (CLOSE, KEEP_ALIVE, PERSIST)}

# RFC 9110 renamed a few reason phrases that Python 3.11's HTTPStatus still spells the old way.
_RFC9110_PHRASES = {413: "Content Too Large", 414: "URI Too Long", 416: "Range Not Satisfiable"}


def reason_phrase(status: int) -> str:
    """The RFC 9110 reason phrase for `status`."""
    return _RFC9110_PHRASES.get(status) or HTTPStatus(status).phrase


_STATUS_LINES = {
    status.value: f"HTTP/1.1 {status.value} {reason_phrase(status.value)}\r\n".encode("ascii")
    for status in HTTPStatus
}


@dataclass(frozen=True, slots=True)
class FileSpan:
    """Body bytes to stream from a file rather than hold in memory."""

    path: str
    offset: int
    length: int


class Response(NamedTuple):
    """A response ready to render: `headers` are pre-rendered `Name: value\\r\\n` lines.

    `body` is what a GET would carry; `send_body` is False for HEAD and 304, whose
    headers still describe it. A NamedTuple because one is built per request.
    """

    status: int
    headers: bytes
    body: bytes | FileSpan = b""
    connection: bytes = PERSIST
    send_body: bool = True

    @property
    def close(self) -> bool:
        """Whether the connection must be closed once this response is sent."""
        return self.connection == CLOSE

    def closing(self) -> Response:
        """The same response, announcing that the connection closes after it."""
        if self.connection == CLOSE:
            return self
        return Response(self.status, self.headers, self.body, CLOSE, self.send_body)

    def head(self) -> bytes:
        """The status line and header section, ending with the blank line."""
        return b"".join(self.pieces()[:-1])

    def pieces(self) -> tuple[bytes, bytes, bytes, bytes, bytes]:
        """Head and in-memory body as ready pieces for `writelines`: the body is not copied."""
        body = self.body if self.send_body and isinstance(self.body, bytes) else b""
        date = DATE_LINE.line if DATE_LINE.ticking else DATE_LINE.current()  # a call less
        return (_STATUS_LINES[self.status], date, self.headers, _HEAD_ENDS[self.connection], body)

    def payload(self) -> bytes:
        """Head and in-memory body in one buffer, so a small response is one send."""
        return b"".join(self.pieces())

    def streamed_span(self) -> FileSpan | None:
        """The file span to send after `head()`, when the body is streamed."""
        if self.send_body and isinstance(self.body, FileSpan):
            return self.body
        return None


_OK = _STATUS_LINES[200]
_CLOSE_END = _HEAD_ENDS[CLOSE]


def ok_payload(headers: bytes, body: bytes, send_body: bool, close: bool) -> bytes:
    """`Response(200, headers, body, CLOSE or PERSIST, send_body).payload()`, in one join."""
    date = DATE_LINE.line if DATE_LINE.ticking else DATE_LINE.current()
    end = _CLOSE_END if close else b"\r\n"
    return b"".join((_OK, date, headers, end, body if send_body else b""))


def header_lines(*pairs: tuple[str, str | int]) -> bytes:
    """Render header pairs as `Name: value\\r\\n` lines (values must be latin-1)."""
    return "".join(f"{name}: {value}\r\n" for name, value in pairs).encode("latin-1")


def text_response(
    status: int, detail: str = "", *, close: bool = False, extra: bytes = b""
) -> Response:
    """A short plain-text response for errors and redirects; never echoes file paths."""
    phrase = reason_phrase(status)
    body = f"{status} {phrase}{': ' + detail if detail else ''}\n".encode()
    headers = (
        header_lines(("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", len(body)))
        + extra
    )
    return Response(status, headers, body, CLOSE if close else PERSIST)


# -- dates (RFC 9110 §5.6.7) -------------------------------------------------------------


class DateLine:
    """The `Server` and `Date` lines every response carries, rendered once a second.

    An event-loop shell calls `tick()` once a second (as uvicorn does), and then a response
    reads the ready bytes without a clock read. Until something ticks (the threaded shell,
    tests), `current()` checks the clock itself.
    """

    def __init__(self) -> None:
        self.second = -1
        self.line = b""
        self.ticking = False

    def current(self) -> bytes:
        """The lines for now (at most one tick old when a shell ticks)."""
        if not self.ticking:
            now = int(time.time())
            if now != self.second:
                self._render(now)
        return self.line

    def tick(self) -> None:
        """Re-render for the current second; from now on the caller keeps the lines fresh."""
        self.ticking = True
        self._render(int(time.time()))

    def _render(self, now: int) -> None:
        self.second = now
        self.line = b"Server: %s\r\nDate: %s\r\n" % (SERVER_NAME, http_date(now).encode())


DATE_LINE = DateLine()


def http_date(timestamp: float) -> str:
    """IMF-fixdate, e.g. `Sun, 06 Nov 1994 08:49:37 GMT`."""
    return formatdate(timestamp, usegmt=True)


_MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MONTHS = {name: number for number, name in enumerate(_MONTH_NAMES, 1)}
_MONTH = rf"(?P<month>{'|'.join(_MONTH_NAMES)})"
_CLOCK = r"(?P<hour>\d\d):(?P<minute>\d\d):(?P<second>\d\d)"
# RFC 9110 §5.6.7: IMF-fixdate, then the obsolete RFC 850 and asctime forms. The grammar
# is case-sensitive; email.utils' parser is far more lenient, and a recipient MUST ignore
# an If-Modified-Since that is not a valid HTTP-date (§13.1.3).
_HTTP_DATES = [
    re.compile(pattern, re.ASCII)
    for pattern in (
        rf"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), (?P<day>\d\d) {_MONTH} (?P<year>\d{{4}}) {_CLOCK} GMT",
        rf"(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day, (?P<day>\d\d)-{_MONTH}-(?P<year>\d\d) "
        rf"{_CLOCK} GMT",
        rf"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) {_MONTH} (?P<day>[ \d]\d) {_CLOCK} (?P<year>\d{{4}})",
    )
]
_EPOCH = date(1970, 1, 1)


def parse_http_date(value: str) -> int | None:
    """Seconds since the epoch for an HTTP date in any of its three forms, or None."""
    value = value.strip()
    for pattern in _HTTP_DATES:
        match = pattern.fullmatch(value)
        if match is not None:
            return _timestamp(match)
    return None


def _timestamp(match: re.Match[str]) -> int | None:
    year, day = int(match["year"]), int(match["day"])
    if len(match["year"]) == 2:
        year = _rfc850_year(year)
    hour, minute, second = int(match["hour"]), int(match["minute"]), int(match["second"])
    if hour > 23 or minute > 59 or second > 60:  # 60: a leap second
        return None
    try:
        days = (date(year, _MONTHS[match["month"]], day) - _EPOCH).days
    except ValueError:  # no such day, e.g. 31 Feb
        return None
    return days * 86400 + hour * 3600 + minute * 60 + second


def _rfc850_year(two_digits: int) -> int:
    """RFC 9110 §5.6.7: a two-digit year more than 50 years ahead is in the past century."""
    this_year = time.gmtime().tm_year
    year = this_year - this_year % 100 + two_digits
    return year - 100 if year > this_year + 50 else year
