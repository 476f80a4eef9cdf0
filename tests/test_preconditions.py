"""server.preconditions: RFC 9110 §13.2.2's order of conditionals, then Range, as tables.

Every case runs against a 1000-byte file whose Last-Modified is `IMF` below; `{etag}` in a
header value stands for that file's entity tag.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from server.files import FileEntry, describe
from server.preconditions import (
    FULL,
    Decision,
    Outcome,
    byte_range,
    etag_matches,
    evaluate,
    if_range_holds,
)
from server.protocol import Request

SIZE = 1000
MODIFIED = 784111777  # the three forms of this instant (RFC 9110 §5.6.7):
IMF = "Sun, 06 Nov 1994 08:49:37 GMT"
RFC850 = "Sunday, 06-Nov-94 08:49:37 GMT"
ASCTIME = "Sun Nov  6 08:49:37 1994"
EARLIER = "Sun, 06 Nov 1994 08:49:36 GMT"
LATER = "Sun, 06 Nov 1994 08:49:38 GMT"
GARBAGE_DATES = ["yesterday", "", "Sun, 06 Nov 1994", "Sun, 32 Nov 1994 08:49:37 GMT"]
OTHER = '"not-our-tag"'

PRECONDITION_FAILED = Decision(Outcome.PRECONDITION_FAILED)
NOT_MODIFIED = Decision(Outcome.NOT_MODIFIED)
UNSATISFIABLE = Decision(Outcome.RANGE_NOT_SATISFIABLE)


def partial(first: int, last: int) -> Decision:
    return Decision(Outcome.PARTIAL, first, last)


@pytest.fixture
def entry(tmp_path: Path) -> FileEntry:
    """A real 1000-byte file last modified at MODIFIED (plus a fraction of a second)."""
    path = tmp_path / "file.bin"
    path.write_bytes(bytes(range(250)) * 4)
    os.utime(path, ns=(MODIFIED * 10**9, MODIFIED * 10**9 + 500_000_000))
    return describe(str(path), path.stat())


def request(method: str = "GET", **headers: str) -> Request:
    """A request for the file; keyword `if_none_match="x"` becomes header `if-none-match`."""
    fields = {name.replace("_", "-"): value for name, value in headers.items()}
    return Request(method, "/file.bin", "HTTP/1.1", fields, True)


def decide(entry: FileEntry, method: str, headers: dict[str, str]) -> Decision:
    filled = {name: value.format(etag=entry.etag) for name, value in headers.items()}
    return evaluate(request(method, **filled), entry)


def test_the_fixture_is_what_the_tables_assume(entry: FileEntry) -> None:
    assert (entry.size, entry.modified) == (SIZE, MODIFIED)
    assert entry.etag[0] == entry.etag[-1] == '"'  # a strong tag


# -- evaluate: the whole decision -----------------------------------------------------------

CONDITIONALS = [
    ("plain GET", {}, FULL),
    ("plain HEAD", {}, FULL),
    # Step 1: If-Match, strong comparison.
    ("if-match ours", {"if_match": "{etag}"}, FULL),
    ("if-match star", {"if_match": "*"}, FULL),
    ("if-match in list", {"if_match": f"{OTHER}, {{etag}}"}, FULL),
    ("if-match other", {"if_match": OTHER}, PRECONDITION_FAILED),
    ("if-match weak ours", {"if_match": "W/{etag}"}, PRECONDITION_FAILED),
    ("if-match beats inm", {"if_match": OTHER, "if_none_match": "{etag}"}, PRECONDITION_FAILED),
    # Step 2: If-Unmodified-Since, only without If-Match.
    ("ius earlier", {"if_unmodified_since": EARLIER}, PRECONDITION_FAILED),
    ("ius equal", {"if_unmodified_since": IMF}, FULL),
    ("ius later", {"if_unmodified_since": LATER}, FULL),
    ("ius rfc850 equal", {"if_unmodified_since": RFC850}, FULL),
    ("ius asctime equal", {"if_unmodified_since": ASCTIME}, FULL),
    ("ius after if-match", {"if_match": "{etag}", "if_unmodified_since": EARLIER}, FULL),
    # Step 3: If-None-Match, weak comparison.
    ("inm ours", {"if_none_match": "{etag}"}, NOT_MODIFIED),
    ("inm weak ours", {"if_none_match": "W/{etag}"}, NOT_MODIFIED),
    ("inm in list", {"if_none_match": f"{OTHER}, W/{{etag}}"}, NOT_MODIFIED),
    ("inm list no space", {"if_none_match": f"{OTHER},{{etag}}"}, NOT_MODIFIED),
    ("inm star", {"if_none_match": "*"}, NOT_MODIFIED),
    ("inm other", {"if_none_match": OTHER}, FULL),
    ("inm unquoted", {"if_none_match": "{etag}"[1:-1]}, FULL),
    # Step 4: If-Modified-Since, only without If-None-Match.
    ("ims equal", {"if_modified_since": IMF}, NOT_MODIFIED),
    ("ims later", {"if_modified_since": LATER}, NOT_MODIFIED),
    ("ims earlier", {"if_modified_since": EARLIER}, FULL),
    ("ims rfc850 equal", {"if_modified_since": RFC850}, NOT_MODIFIED),
    ("ims asctime equal", {"if_modified_since": ASCTIME}, NOT_MODIFIED),
    ("inm other beats ims", {"if_none_match": OTHER, "if_modified_since": LATER}, FULL),
    ("inm ours beats ims", {"if_none_match": "{etag}", "if_modified_since": EARLIER}, NOT_MODIFIED),
    ("ius fails before ims", {"if_unmodified_since": EARLIER, "if_modified_since": LATER},
     PRECONDITION_FAILED),
]  # fmt: skip

GARBAGE = [
    (f"{name} {value!r}", {name: value}, FULL)
    for name in ("if_modified_since", "if_unmodified_since")
    for value in GARBAGE_DATES
]


@pytest.mark.parametrize("method", ["GET", "HEAD"])
@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        pytest.param(headers, expected, id=name)
        for name, headers, expected in CONDITIONALS + GARBAGE
    ],
)
def test_conditionals(
    entry: FileEntry, method: str, headers: dict[str, str], expected: Decision
) -> None:
    assert decide(entry, method, headers) == expected


RANGES = [
    ("first 100", {"range": "bytes=0-99"}, partial(0, 99)),
    ("from 100", {"range": "bytes=100-"}, partial(100, 999)),
    ("last 100", {"range": "bytes=-100"}, partial(900, 999)),
    ("one byte", {"range": "bytes=0-0"}, partial(0, 0)),
    ("last byte", {"range": "bytes=999-999"}, partial(999, 999)),
    ("last clamped", {"range": "bytes=500-5000"}, partial(500, 999)),
    ("suffix clamped", {"range": "bytes=-5000"}, partial(0, 999)),
    ("first at size", {"range": "bytes=1000-"}, UNSATISFIABLE),
    ("first past size", {"range": "bytes=5000-6000"}, UNSATISFIABLE),
    ("suffix zero", {"range": "bytes=-0"}, UNSATISFIABLE),
    ("two ranges", {"range": "bytes=0-1,5-6"}, FULL),
    ("last before first", {"range": "bytes=5-2"}, FULL),
    ("no positions", {"range": "bytes=-"}, FULL),
    ("other unit", {"range": "items=0-5"}, FULL),
    ("not numbers", {"range": "bytes=a-b"}, FULL),
    ("negative", {"range": "bytes=--5"}, FULL),
    # If-Range (RFC 9110 §13.1.5): the range only while the validator still holds.
    ("if-range ours", {"range": "bytes=0-99", "if_range": "{etag}"}, partial(0, 99)),
    ("if-range weak ours", {"range": "bytes=0-99", "if_range": "W/{etag}"}, FULL),
    ("if-range other", {"range": "bytes=0-99", "if_range": OTHER}, FULL),
    ("if-range date equal", {"range": "bytes=0-99", "if_range": IMF}, partial(0, 99)),
    ("if-range date earlier", {"range": "bytes=0-99", "if_range": EARLIER}, FULL),
    ("if-range date later", {"range": "bytes=0-99", "if_range": LATER}, FULL),
    ("if-range garbage", {"range": "bytes=0-99", "if_range": "soon"}, FULL),
    ("if-range alone", {"if_range": "{etag}"}, FULL),
    # Preconditions come before Range.
    ("inm ours with range", {"range": "bytes=0-99", "if_none_match": "{etag}"}, NOT_MODIFIED),
    ("if-match other with range", {"range": "bytes=0-99", "if_match": OTHER},
     PRECONDITION_FAILED),
    ("ims earlier with range", {"range": "bytes=0-99", "if_modified_since": EARLIER},
     partial(0, 99)),
    ("unsatisfiable despite ims", {"range": "bytes=2000-", "if_modified_since": EARLIER},
     UNSATISFIABLE),
]  # fmt: skip


@pytest.mark.parametrize(
    ("headers", "expected"),
    [pytest.param(headers, expected, id=name) for name, headers, expected in RANGES],
)
def test_ranges_on_get(entry: FileEntry, headers: dict[str, str], expected: Decision) -> None:
    assert decide(entry, "GET", headers) == expected


@pytest.mark.parametrize("field", ["bytes=0-99", "bytes=-100", "bytes=5000-"])
def test_range_is_ignored_for_head(entry: FileEntry, field: str) -> None:
    assert evaluate(request("HEAD", range=field), entry) == FULL


@pytest.mark.parametrize("name", ["if_modified_since", "if_unmodified_since"])
def test_overflowing_date_is_ignored(entry: FileEntry, name: str) -> None:
    field = {name: "Sun, 06 Nov 99999999999999999999 08:49:37 GMT"}
    assert evaluate(request(**field), entry) == FULL


# -- the pieces ------------------------------------------------------------------------------

TAG = '"abc"'


@pytest.mark.parametrize(
    ("field", "weak", "expected"),
    [
        ('"abc"', False, True),
        ('"abc"', True, True),
        ('W/"abc"', False, False),  # strong comparison never matches a weak tag
        ('W/"abc"', True, True),
        ('"abd"', True, False),
        ('"ABC"', True, False),  # entity tags are case-sensitive
        ("abc", True, False),  # unquoted: not an entity tag
        ('"x", "abc"', False, True),
        ('"x",W/"abc"', True, True),
        ('  "x" ,  "abc"  ', False, True),
        ('"x", "y"', True, False),
        ("*", False, True),
        (" * ", True, True),
        ("", True, False),
        ('"abc', True, False),
    ],
)
def test_etag_matches(field: str, weak: bool, expected: bool) -> None:
    assert etag_matches(field, TAG, weak=weak) is expected


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        ("{etag}", True),
        (" {etag} ", True),
        ("W/{etag}", False),
        (OTHER, False),
        (IMF, True),
        (RFC850, True),
        (ASCTIME, True),
        (EARLIER, False),
        (LATER, False),  # a later date is not "exactly" Last-Modified
        ("garbage", False),
        ("", False),
    ],
)
def test_if_range_holds(entry: FileEntry, field: str, expected: bool) -> None:
    assert if_range_holds(field.format(etag=entry.etag), entry) is expected


@pytest.mark.parametrize(
    ("field", "size", "expected"),
    [
        ("bytes=0-99", 1000, partial(0, 99)),
        ("bytes=0-", 1000, partial(0, 999)),
        ("bytes=-1", 1000, partial(999, 999)),
        ("bytes= 10-20 ", 1000, partial(10, 20)),
        ("BYTES=10-20", 1000, partial(10, 20)),  # range units are case-insensitive
        ("bytes=0-" + "9" * 30, 1000, partial(0, 999)),
        ("bytes=0-" + "9" * 5000, 1000, partial(0, 999)),  # beyond int()'s digit limit
        ("bytes=-" + "9" * 5000, 1000, partial(0, 999)),
        ("bytes=" + "9" * 5000 + "-", 1000, UNSATISFIABLE),
        ("bytes=" + "0" * 5000 + "7-8", 1000, partial(7, 8)),
        ("bytes=0-", 0, UNSATISFIABLE),  # nothing in an empty file can be selected
        ("bytes=-5", 0, FULL),  # satisfiable, but a 206 cannot describe zero bytes
        ("bytes=0-0", 1, partial(0, 0)),
        ("bytes=-0", 1000, UNSATISFIABLE),
        ("bytes=1000-1000", 1000, UNSATISFIABLE),
        ("bytes=1000-", 1000, UNSATISFIABLE),
        ("bytes=0-1, 3-4", 1000, FULL),
        ("bytes=0-1,", 1000, FULL),
        ("bytes=1-0", 1000, FULL),
        ("bytes=", 1000, FULL),
        ("bytes 0-1", 1000, FULL),
        ("bytes=0x10-20", 1000, FULL),
        ("bytes=\u0661-\u0662", 1000, FULL),  # Arabic-Indic digits are not DIGIT
        ("", 1000, FULL),
    ],
)
def test_byte_range(field: str, size: int, expected: Decision) -> None:
    assert byte_range(field, size) == expected
