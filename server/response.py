"""Responses as values, and their rendering to bytes (RFC 9112 §4, RFC 9110 §6).

It owns the status line, the headers every response carries (`Date`, `Server`,
`Connection`) and HTTP dates. It never decides *which* response to send (that is
`server.static`) and never does I/O.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC
from email.utils import formatdate, parsedate_to_datetime
from http import HTTPStatus

SERVER_NAME = b"staticbench"

CLOSE = b"Connection: close\r\n"
KEEP_ALIVE = b"Connection: keep-alive\r\n"  # only HTTP/1.0 clients need to be told
PERSIST = b""  # HTTP/1.1 persists by default: say nothing

_STATUS_LINES = {
    status.value: f"HTTP/1.1 {status.value} {status.phrase}\r\n".encode("ascii")
    for status in HTTPStatus
}


@dataclass(frozen=True, slots=True)
class FileSpan:
    """Body bytes to stream from a file rather than hold in memory."""

    path: str
    offset: int
    length: int


@dataclass(frozen=True, slots=True)
class Response:
    """A response ready to render: `headers` are pre-rendered `Name: value\\r\\n` lines.

    `body` is what a GET would carry; `send_body` is False for HEAD and 304, whose
    headers still describe it.
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
        return b"".join(
            (_STATUS_LINES[self.status], _date_and_server(), self.headers, self.connection, b"\r\n")
        )

    def payload(self) -> bytes:
        """Head and in-memory body in one buffer, so a small response is one send."""
        if self.send_body and isinstance(self.body, bytes):
            return self.head() + self.body
        return self.head()

    def streamed_span(self) -> FileSpan | None:
        """The file span to send after `head()`, when the body is streamed."""
        if self.send_body and isinstance(self.body, FileSpan):
            return self.body
        return None


def header_lines(*pairs: tuple[str, str | int]) -> bytes:
    """Render header pairs as `Name: value\\r\\n` lines (values must be latin-1)."""
    return "".join(f"{name}: {value}\r\n" for name, value in pairs).encode("latin-1")


def text_response(
    status: int, detail: str = "", *, close: bool = False, extra: bytes = b""
) -> Response:
    """A short plain-text response for errors and redirects; never echoes file paths."""
    phrase = HTTPStatus(status).phrase
    body = f"{status} {phrase}{': ' + detail if detail else ''}\n".encode()
    headers = (
        header_lines(("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", len(body)))
        + extra
    )
    return Response(status, headers, body, CLOSE if close else PERSIST)


# -- dates (RFC 9110 §5.6.7) -------------------------------------------------------------

_date_cache: tuple[int, bytes] = (0, b"")


def _date_and_server() -> bytes:
    """`Date` and `Server` lines; the date is re-rendered at most once a second."""
    global _date_cache
    now = int(time.time())
    if _date_cache[0] != now:
        _date_cache = (now, b"Server: %s\r\nDate: %s\r\n" % (SERVER_NAME, http_date(now).encode()))
    return _date_cache[1]


def http_date(timestamp: float) -> str:
    """IMF-fixdate, e.g. `Sun, 06 Nov 1994 08:49:37 GMT`."""
    return formatdate(timestamp, usegmt=True)


def parse_http_date(value: str) -> int | None:
    """Seconds since the epoch for an HTTP date in any of its three forms, or None."""
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if parsed.tzinfo is None:
        # asctime carries no zone, and every HTTP date is UTC (RFC 9110 §5.6.7).
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp())
