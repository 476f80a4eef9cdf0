"""The express lane: the most common request recognised in one match over its bytes.

A `GET` or `HEAD` of an origin-form target, HTTP/1.1, one `Host` field and no field that
could change the answer (conditionals, `Range`, a body, `Connection` other than
`keep-alive` or, all of them, `close`), arriving alone in one piece: the server's answer
depends only on the target's path, the method and whether the connection closes after it,
so a shell whose parser holds nothing asks `plain(data)` first and, when the site has that
path in memory (`StaticSite.ready`), writes the ready bytes without building a request, a
route or a response. Anything else (or any doubt) is None and takes the general path
(`server.protocol`, `server.static`), which gives the same answer: the patterns accept
only heads the parser accepts, and tests hold the two lanes to the same response for the
same bytes.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from server.protocol import MAX_HEADER_FIELDS, MAX_REQUEST_LINE

_TOKEN = rb"[-!#$%&'*+.^_`|~0-9A-Za-z]++"
_VALUE = rb"[^\x00-\x08\x0a-\x1f\x7f]*+\r\n"  # RFC 9110 §5.5: no controls but HTAB
# Names whose fields the general path reads: a head holding any of them (or any `If-`
# field) is not plain, except for the one Host and `Connection` lines of one option.
_READ = rb"(?i:host|connection|content-length|transfer-encoding|range):|(?i:if-)"
_IGNORED = rb"(?:(?!" + _READ + rb")" + _TOKEN + rb":" + _VALUE
# RFC 9112 §3.2.1: origin-form = absolute-path [ "?" query ]; no fragment (route's rule).
_PATH = rb"(/[\x21\x22\x24-\x3e\x40-\x7e]*+)(?:\?[\x21\x22\x24-\x7e]*+)?"


def _plain_head(option: bytes) -> Callable[[bytes], re.Match[bytes] | None]:
    """`fullmatch` of a plain head whose `Connection` fields (if any) each say `option`."""
    others = _IGNORED + rb"|(?i:connection):[ \t]*+(?i:" + option + rb")[ \t]*+\r\n)*+"
    return re.compile(
        rb"(GET|HEAD) " + _PATH + rb" HTTP/1\.1\r\n" + others + rb"(?i:host):" + _VALUE + others
        + rb"\r\n"
    ).fullmatch  # fmt: skip


# `keep-alive` says what HTTP/1.1 means anyway (RFC 9112 §9.3): such a head persists.
_PERSISTS = _plain_head(rb"keep-alive")
# A head that failed `_PERSISTS` and passes this one has a `close` (RFC 9112 §9.6). Tried
# only when "lose" is in the head: a `CLOSE` in capitals takes the general path instead.
_CLOSES = _plain_head(rb"close")
# A head this short cannot hold more than MAX_HEADER_FIELDS field lines (each >= 4 bytes);
# a longer one has one line feed per field, one after the request line and one at the end.
_FEW_FIELDS = 4 * MAX_HEADER_FIELDS


# A plain request, what its answer depends on: the path (still percent-encoded and without
# its query, as `static.route` keys the store), whether the body is sent (GET; not HEAD),
# and whether the connection closes after it. A tuple: a NamedTuple's `__new__` is Python.
Plain = tuple[str, bool, bool]


def plain(data: bytes) -> Plain | None:
    """(path, whether the body is sent, whether the connection closes) when `data` is
    exactly one plain head; else None.

    Within the parser's limits by construction: the whole head is no longer than a request
    line may be, and holds at most MAX_HEADER_FIELDS fields.
    """
    if len(data) > _FEW_FIELDS and (
        len(data) > MAX_REQUEST_LINE or data.count(b"\n") > MAX_HEADER_FIELDS + 2
    ):
        return None
    close = False
    match = _PERSISTS(data)
    if match is None:
        if b"lose" not in data or (match := _CLOSES(data)) is None:
            return None
        close = True
    method, path = match.groups()
    return path.decode("ascii"), method == b"GET", close
