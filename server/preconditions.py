"""Conditional requests and byte ranges as pure decisions (RFC 9110 §13 and §14).

Given a request's headers and a file's validators, decide: full response, partial
(206), not modified (304), precondition failed (412) or range not satisfiable (416).
Table-tested without any file or socket.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum, auto

from server.files import FileEntry
from server.protocol import Request
from server.response import parse_http_date

_ENTITY_TAG = re.compile(r'\s*(W/)?("[\x21\x23-\x7e\x80-\xff]*")\s*(?:,|$)')
# RFC 9110 §14.1: range units are case-insensitive. ASCII digits only (`\d` is Unicode).
_BYTE_RANGE = re.compile(r"bytes=[ \t]*([0-9]*)-([0-9]*)[ \t]*", re.IGNORECASE)
# Positions longer than this exceed any file; parsing them whole could hit int()'s
# 4300-digit limit (a ValueError, i.e. a 500) on a hostile header.
_MAX_POSITION_DIGITS = 18


class Outcome(Enum):
    FULL = auto()
    PARTIAL = auto()
    NOT_MODIFIED = auto()
    PRECONDITION_FAILED = auto()
    RANGE_NOT_SATISFIABLE = auto()


@dataclass(frozen=True, slots=True)
class Decision:
    """What to send; `first`/`last` are the inclusive byte positions of a PARTIAL."""

    outcome: Outcome
    first: int = 0
    last: int = 0


FULL = Decision(Outcome.FULL)


def evaluate(request: Request, entry: FileEntry) -> Decision:
    """Apply the preconditions in RFC 9110 §13.2.2's order, then Range."""
    headers = request.headers
    if CONDITIONAL_FIELDS.isdisjoint(headers):
        return FULL  # the common case: a plain GET
    failed = _precondition_failure(headers, entry)
    if failed is not None:
        return failed
    if request.method != "GET" or "range" not in headers:
        return FULL
    if "if-range" in headers and not if_range_holds(headers["if-range"], entry):
        return FULL
    return byte_range(headers["range"], entry.size)


# The fields that can make a GET anything but the whole file; without them, FULL.
CONDITIONAL_FIELDS = frozenset(
    {"if-match", "if-unmodified-since", "if-none-match", "if-modified-since", "range"}
)


def _precondition_failure(headers: dict[str, str], entry: FileEntry) -> Decision | None:
    if _fails_unless(headers, entry):
        return Decision(Outcome.PRECONDITION_FAILED)
    if _not_modified(headers, entry):
        return Decision(Outcome.NOT_MODIFIED)  # GET/HEAD only: other methods got 405
    return None


def _fails_unless(headers: dict[str, str], entry: FileEntry) -> bool:
    """Steps 1-2: If-Match, else If-Unmodified-Since."""
    if "if-match" in headers:
        return not etag_matches(headers["if-match"], entry.etag, weak=False)
    since = _date_field(headers, "if-unmodified-since")
    return since is not None and entry.modified > since


def _not_modified(headers: dict[str, str], entry: FileEntry) -> bool:
    """Steps 3-4: If-None-Match, else If-Modified-Since."""
    if "if-none-match" in headers:
        return etag_matches(headers["if-none-match"], entry.etag, weak=True)
    since = _date_field(headers, "if-modified-since")
    return since is not None and entry.modified <= since


def _date_field(headers: dict[str, str], name: str) -> int | None:
    value = headers.get(name)
    return None if value is None else parse_http_date(value)


def etag_matches(field: str, current: str, *, weak: bool) -> bool:
    """Whether an If-Match / If-None-Match list names `current` (a strong tag of ours).

    Weak comparison (§8.8.3.2) ignores `W/`; strong comparison never matches a weak tag.
    """
    if field.strip() == "*":
        return True
    for match in _ENTITY_TAG.finditer(field):
        is_weak, tag = match.groups()
        if tag == current and (weak or not is_weak):
            return True
    return False


def if_range_holds(field: str, entry: FileEntry) -> bool:
    """RFC 9110 §13.1.5: an entity tag must match strongly; a date must equal Last-Modified."""
    field = field.strip()
    if field.startswith(('"', "W/")):
        return etag_matches(field, entry.etag, weak=False)
    return parse_http_date(field) == entry.modified


def byte_range(field: str, size: int) -> Decision:
    """One `bytes=` range (§14.2); other forms, including several ranges, are ignored."""
    match = _BYTE_RANGE.fullmatch(field.strip())
    if match is None:
        return FULL
    first_text, last_text = match.groups()
    if not first_text:
        return _suffix_range(last_text, size)
    first = _position(first_text)
    last = _position(last_text) if last_text else None
    if last is not None and last < first:
        return FULL  # syntactically invalid: ignore the header
    if first >= size:  # §14.1.1: first-pos at or past the end selects nothing
        return Decision(Outcome.RANGE_NOT_SATISFIABLE)
    return Decision(Outcome.PARTIAL, first, size - 1 if last is None else min(last, size - 1))


def _suffix_range(length_text: str, size: int) -> Decision:
    """`bytes=-N`: the last N bytes, or the whole file when it is shorter."""
    if not length_text:
        return FULL  # `bytes=-` names no range at all
    length = _position(length_text)
    if length == 0:
        return Decision(Outcome.RANGE_NOT_SATISFIABLE)
    if size == 0:
        # Satisfiable by §14.1.1's definition, yet no Content-Range can describe zero
        # bytes: ignore the Range and send the (empty) whole.
        return FULL
    return Decision(Outcome.PARTIAL, max(0, size - length), size - 1)


def _position(digits: str) -> int:
    """A byte position; absurdly long ones become a number larger than any file."""
    digits = digits.lstrip("0") or "0"
    return int(digits) if len(digits) <= _MAX_POSITION_DIGITS else 10**_MAX_POSITION_DIGITS
