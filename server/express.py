"""The express lane: the most common request recognised in one match over its bytes.

A keep-alive `GET` or `HEAD` of an origin-form target, HTTP/1.1, one `Host` field and no
field that could change the answer (conditionals, `Range`, a body, `Connection` other than
`keep-alive`), arriving alone in one piece: the server's answer depends only on the
target's path and the method, so a shell whose parser holds nothing asks `plain(data)`
first and, when the site has that path in memory (`StaticSite.ready`), writes the ready
bytes without building a request, a route or a response. Anything else (or any doubt)
is None and takes the general path (`server.protocol`, `server.static`), which gives the
same answer: the pattern accepts only heads the parser accepts, and tests hold the two
lanes to the same response for the same bytes.
"""

from __future__ import annotations

import re

from server.protocol import MAX_HEADER_FIELDS, MAX_REQUEST_LINE

_TOKEN = rb"[-!#$%&'*+.^_`|~0-9A-Za-z]++"
_VALUE = rb"[^\x00-\x08\x0a-\x1f\x7f]*+\r\n"  # RFC 9110 §5.5: no controls but HTAB
# Names whose fields the general path reads: a head holding any of them (or any `If-`
# field) is not plain, except for the one Host and `Connection: keep-alive` (which an
# HTTP/1.1 request means anyway, RFC 9112 §9.3).
_READ = rb"(?i:host|connection|content-length|transfer-encoding|range):|(?i:if-)"
_IGNORED = rb"(?:(?!" + _READ + rb")" + _TOKEN + rb":" + _VALUE
_KEEP_ALIVE = rb"|(?i:connection):[ \t]*+(?i:keep-alive)[ \t]*+\r\n)*+"
_OTHERS = _IGNORED + _KEEP_ALIVE
# RFC 9112 §3.2.1: origin-form = absolute-path [ "?" query ]; no fragment (route's rule).
_PATH = rb"(/[\x21\x22\x24-\x3e\x40-\x7e]*+)(?:\?[\x21\x22\x24-\x7e]*+)?"
_PLAIN = re.compile(
    rb"(GET|HEAD) " + _PATH + rb" HTTP/1\.1\r\n" + _OTHERS + rb"(?i:host):" + _VALUE + _OTHERS
    + rb"\r\n"
).fullmatch  # fmt: skip
# A head this short cannot hold more than MAX_HEADER_FIELDS field lines (each >= 4 bytes);
# a longer one has one line feed per field, one after the request line and one at the end.
_FEW_FIELDS = 4 * MAX_HEADER_FIELDS


def plain(data: bytes) -> tuple[str, bool] | None:
    """(path, whether the body is sent) when `data` is exactly one plain head; else None.

    The path is still percent-encoded and without its query, as `static.route` keys the
    store. Within the parser's limits by construction: the whole head is no longer than
    a request line may be, and holds at most MAX_HEADER_FIELDS fields.
    """
    if len(data) > _FEW_FIELDS and (
        len(data) > MAX_REQUEST_LINE or data.count(b"\n") > MAX_HEADER_FIELDS + 2
    ):
        return None
    match = _PLAIN(data)
    if match is None:
        return None
    method, path = match.groups()
    return path.decode("ascii"), method == b"GET"
