"""server.response: rendering heads and payloads, text responses, HTTP dates."""

from __future__ import annotations

import re
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.response import (
    CLOSE,
    KEEP_ALIVE,
    PERSIST,
    FileSpan,
    Response,
    header_lines,
    http_date,
    parse_http_date,
    text_response,
)

IMF_FIXDATE = re.compile(
    r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
    r"\d{4} \d\d:\d\d:\d\d GMT"
)


def split_head(head: bytes) -> tuple[str, dict[str, str]]:
    """The status line and the fields of a rendered head (which must end with CRLF CRLF)."""
    assert head.endswith(b"\r\n\r\n")
    status_line, *lines = head[:-4].decode("latin-1").split("\r\n")
    fields: dict[str, str] = {}
    for line in lines:
        name, _, value = line.partition(": ")
        assert name, line
        assert name not in fields, line
        fields[name] = value
    return status_line, fields


# -- Response -----------------------------------------------------------------------------


def test_head_has_status_line_server_date_headers_and_blank_line() -> None:
    headers = header_lines(("Content-Type", "text/html"), ("Content-Length", 5))
    before = int(time.time())
    status_line, fields = split_head(Response(200, headers, b"hello").head())
    after = int(time.time())
    assert status_line == "HTTP/1.1 200 OK"
    assert fields["Server"] == "staticbench"
    assert IMF_FIXDATE.fullmatch(fields["Date"])
    date = parse_http_date(fields["Date"])
    assert date is not None
    assert before <= date <= after
    assert fields["Content-Type"] == "text/html"
    assert fields["Content-Length"] == "5"
    assert "Connection" not in fields  # HTTP/1.1 persists by default: nothing to say


@pytest.mark.parametrize(
    ("connection", "line", "closes"),
    [(PERSIST, None, False), (KEEP_ALIVE, "keep-alive", False), (CLOSE, "close", True)],
)
def test_connection_line(connection: bytes, line: str | None, closes: bool) -> None:
    response = Response(204, b"", connection=connection)
    assert split_head(response.head())[1].get("Connection") == line
    assert response.close is closes


def test_closing_announces_close() -> None:
    response = Response(200, b"Content-Length: 2\r\n", b"ok")
    closing = response.closing()
    assert closing.close
    assert split_head(closing.head())[1]["Connection"] == "close"
    assert (closing.status, closing.headers, closing.body) == (200, response.headers, b"ok")
    assert closing.closing() is closing


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        (200, "OK"),
        (206, "Partial Content"),
        (304, "Not Modified"),
        (404, "Not Found"),
        (431, "Request Header Fields Too Large"),
        (505, "HTTP Version Not Supported"),
    ],
)
def test_status_lines(status: int, reason: str) -> None:
    assert Response(status, b"").head().startswith(f"HTTP/1.1 {status} {reason}\r\n".encode())


def test_payload_includes_the_body_only_when_sent() -> None:
    response = Response(200, b"Content-Length: 5\r\n", b"hello")
    assert response.payload() == response.head() + b"hello"
    head_only = Response(200, b"Content-Length: 5\r\n", b"hello", send_body=False)
    assert head_only.payload() == head_only.head()
    assert head_only.payload().endswith(b"Content-Length: 5\r\n\r\n")


def test_file_span_is_streamed_not_rendered() -> None:
    span = FileSpan("/srv/big.bin", 10, 100)
    response = Response(206, b"Content-Length: 100\r\n", span)
    assert response.payload() == response.head()
    assert response.streamed_span() == span
    assert Response(206, b"", span, send_body=False).streamed_span() is None
    assert Response(200, b"", b"in memory").streamed_span() is None


def test_header_lines() -> None:
    assert header_lines() == b""
    assert header_lines(("A", "b"), ("Content-Length", 12)) == b"A: b\r\nContent-Length: 12\r\n"
    assert header_lines(("X", "caf\xe9")) == b"X: caf\xe9\r\n"


# -- text_response ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "detail"),
    [(404, ""), (400, "malformed request line"), (413, "déjà trop grand ✓"), (301, "")],
)
def test_text_response_content_length_matches_body(status: int, detail: str) -> None:
    response = text_response(status, detail)
    assert isinstance(response.body, bytes)
    _, fields = split_head(response.head())
    assert int(fields["Content-Length"]) == len(response.body)
    assert fields["Content-Type"] == "text/plain; charset=utf-8"
    assert response.body.decode().startswith(str(status))
    assert detail.encode() in response.body
    assert response.payload().endswith(b"\r\n\r\n" + response.body)
    assert not response.close


def test_text_response_close_and_extra_headers() -> None:
    response = text_response(405, close=True, extra=header_lines(("Allow", "GET, HEAD")))
    _, fields = split_head(response.head())
    assert fields["Allow"] == "GET, HEAD"
    assert fields["Connection"] == "close"
    assert response.close
    assert response.body == b"405 Method Not Allowed\n"


# -- HTTP dates (RFC 9110 §5.6.7) ---------------------------------------------------------

NOV_6_1994 = 784111777  # the example in RFC 9110 §5.6.7


def test_http_date_is_imf_fixdate() -> None:
    assert http_date(NOV_6_1994) == "Sun, 06 Nov 1994 08:49:37 GMT"
    assert http_date(0) == "Thu, 01 Jan 1970 00:00:00 GMT"
    assert http_date(NOV_6_1994 + 0.9) == "Sun, 06 Nov 1994 08:49:37 GMT"


@pytest.mark.parametrize(
    "value",
    [
        "Sun, 06 Nov 1994 08:49:37 GMT",  # IMF-fixdate
        "Sunday, 06-Nov-94 08:49:37 GMT",  # obsolete RFC 850 format
        "Sun Nov  6 08:49:37 1994",  # ANSI C's asctime() format
    ],
    ids=["IMF-fixdate", "RFC 850", "asctime"],
)
def test_parse_the_three_formats(value: str) -> None:
    assert parse_http_date(value) == NOV_6_1994


def test_parse_asctime_with_two_digit_day() -> None:
    assert parse_http_date("Wed Nov 16 08:49:37 1994") == NOV_6_1994 + 10 * 86400


def test_parse_leap_second_and_surrounding_whitespace() -> None:
    assert parse_http_date("Sat, 31 Dec 2016 23:59:60 GMT") == 1483228800
    assert parse_http_date(" Sun, 06 Nov 1994 08:49:37 GMT\t") == NOV_6_1994


def test_rfc_850_two_digit_years_are_at_most_50_years_ahead() -> None:
    """RFC 9110 §5.6.7: further ahead than that means the same year in the past century."""
    this_year = time.gmtime().tm_year
    for ahead in (-60, -1, 0, 1, 49, 50, 51, 70):
        year = this_year + ahead
        field = f"Monday, 01-Jan-{year % 100:02d} 00:00:00 GMT"
        parsed = parse_http_date(field)
        assert parsed is not None
        expected = year if -50 < ahead <= 50 else year - 100 if ahead > 50 else year + 100
        assert time.gmtime(parsed).tm_year == expected, field


@pytest.mark.parametrize(
    "value",
    [
        "",
        "garbage",
        "784111777",
        "1994-11-06T08:49:37Z",
        "Sun, 06 Foo 1994 08:49:37 GMT",
        "Sun, 32 Nov 1994 08:49:37 GMT",
        "Sun, 31 Feb 1994 08:49:37 GMT",
        "Sun, 06 Nov 1994 25:49:37 GMT",
        "Sun, 06 Nov 1994 08:49 GMT junk",
        "Sun, 06 Nov 99999 08:49:37 GMT",
        "Sun, 06 Nov 1994 08:49:37 +9999",
        "Sun, 06 Nov 1994 08:49:37 +0000",
        "Sun, 06 Nov 99999999999999999999 08:49:37 GMT",  # no OverflowError either
        "Sun, 06 Nov 0000 08:49:37 GMT",
        "sun, 06 nov 1994 08:49:37 gmt",  # HTTP-date is case-sensitive
        "Sun, 6 Nov 1994 08:49:37 GMT",
        "Sun, 06 Nov 1994 08:49:37 GMT, Mon, 07 Nov 1994 08:49:37 GMT",
        "Sun, 06 Nov 1994 08:49:37 GMT junk",
        "Sun, 06 Nov 1994 08:49:61 GMT",
        "Sun, 06 Nov 1994 08:60:37 GMT",
        "Sun, 06 Nov \u0661\u0669\u0669\u0664 08:49:37 GMT",  # non-ASCII digits
        "Sunday, 06-Nov-1994 08:49:37 GMT",
        "Sun Nov 6 08:49:37 1994",
    ],
)
def test_parse_rejects_garbage(value: str) -> None:
    assert parse_http_date(value) is None


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=2**33))
def test_http_date_round_trip(timestamp: int) -> None:
    assert parse_http_date(http_date(timestamp)) == timestamp
    assert parse_http_date(http_date(timestamp + 0.5)) == timestamp


@settings(max_examples=300, deadline=None)
@given(
    st.text()
    | st.from_regex(r"[A-Za-z]{3}, \d{1,3} [A-Za-z]{3} \d{1,6} \d{1,3}:\d{1,3}:\d{1,3} \S{1,6}")
)
def test_parse_never_raises(value: str) -> None:
    result = parse_http_date(value)
    assert result is None or isinstance(result, int)
