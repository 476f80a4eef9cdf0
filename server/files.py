"""Mapping URL paths to files safely, and what we know about a file once found.

It owns the traversal guard (layered: decode once, refuse dangerous segments, then check
the real path after symlinks) and the per-file metadata (validators, content type) that
responses need. It never reads file contents (that is `server.store`) and never builds
responses.
"""

from __future__ import annotations

import mimetypes
import os
import stat
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol
from urllib.parse import unquote_to_bytes

from server.response import header_lines, http_date

INDEX_FILE = "index.html"

# Python's built-in table only: /etc/mime.types differs between machines.
_MIME = mimetypes.MimeTypes(filenames=())
# RFC 9239 made text/javascript the one JavaScript type; Python < 3.12 still says otherwise.
for _extension in (".js", ".mjs"):
    _MIME.add_type("text/javascript", _extension)
_CHARSET_TYPES = {"application/javascript", "text/javascript", "image/svg+xml", "application/xml"}


@dataclass(frozen=True, slots=True)
class FileEntry:
    """A regular file inside the root: identity, validators and pre-rendered headers.

    `body` holds the contents when they were read into memory; None means stream them.
    """

    real_path: str
    size: int
    mtime_ns: int
    inode: int
    etag: str
    modified: int  # Last-Modified, whole seconds since the epoch
    validators: bytes  # Last-Modified and ETag lines (what a 304 repeats)
    meta_headers: bytes  # Content-Type, Accept-Ranges and the validators
    full_headers: bytes  # meta_headers plus the whole file's Content-Length
    body: bytes | None = None

    def with_body(self, body: bytes) -> FileEntry:
        """The same entry holding `body` in memory."""
        # By hand: dataclasses.replace costs several µs, and the cache-off path pays it per request.
        return FileEntry(
            self.real_path, self.size, self.mtime_ns, self.inode, self.etag, self.modified,
            self.validators, self.meta_headers, self.full_headers, body,
        )  # fmt: skip

    def identity(self) -> tuple[str, int, int, int]:
        """What changes when the file is replaced or modified."""
        return (self.real_path, self.size, self.mtime_ns, self.inode)


@dataclass(frozen=True, slots=True)
class Redirect:
    """A directory asked for without its trailing slash: send the client to `location`."""

    location: str


@dataclass(frozen=True, slots=True)
class Missing:
    """Nothing servable at that path (absent, outside the root, not a regular file, refused)."""


MISSING = Missing()
Lookup = FileEntry | Redirect | Missing


class FileStore(Protocol):
    """What the static semantics needs from a store (`server.store` has the stores).

    `lookup_now` answers what needs no awaiting (None: await `lookup`); `lookup_blocking`
    is for threads; `hit` is a fresh file in memory (a hit) or None, which changes nothing.
    """

    def lookup_now(self, key: str) -> Lookup | None: ...

    def hit(self, key: str) -> FileEntry | None: ...

    async def lookup(self, key: str) -> Lookup: ...

    def lookup_blocking(self, key: str) -> Lookup: ...


class SiteRoot:
    """The directory being served; resolves URL paths to `Lookup` outcomes."""

    def __init__(self, root: str) -> None:
        self.real_root = os.path.realpath(root)
        if not os.path.isdir(self.real_root):
            raise NotADirectoryError(root)
        # Ends in exactly one separator, even when the root is "/" (root + sep would be "//").
        self._prefix = os.path.join(self.real_root, "")

    def resolve(self, url_path: str) -> Lookup:
        """Resolve a still percent-encoded URL path (no query) to what it names."""
        segments = safe_segments(url_path)
        if segments is None:
            return MISSING
        located = self._locate(self.real_root, segments)
        if located is None:
            return MISSING
        real, info = located
        if stat.S_ISDIR(info.st_mode):
            return self._directory(url_path, real)
        if not stat.S_ISREG(info.st_mode) or url_path.endswith("/"):
            return MISSING  # a trailing slash names a directory, never a file
        return describe(real, info)

    def _directory(self, url_path: str, real: str) -> Lookup:
        if not url_path.endswith("/"):
            return Redirect(url_path + "/")
        located = self._locate(real, [INDEX_FILE])
        if located is None or not stat.S_ISREG(located[1].st_mode):
            return MISSING
        return describe(*located)

    def _locate(self, real_base: str, segments: list[str]) -> tuple[str, os.stat_result] | None:
        """The real path of `real_base`/segments (inside the root) and its stat; None if absent.

        One lstat per segment while no symlink is on the way — the common case, and several
        times cheaper than realpath, which lstats every component from `/` — and the last
        lstat is the stat. A symlink hands over to realpath and the containment check.
        """
        path = real_base
        info: os.stat_result | None = None
        try:
            for depth, segment in enumerate(segments, 1):
                path = os.path.join(path, segment)
                info = os.lstat(path)
                if stat.S_ISLNK(info.st_mode):
                    return self._through_links(os.path.join(path, *segments[depth:]))
            return path, info if info is not None else os.stat(path)
        except (OSError, ValueError):
            return None

    def _through_links(self, candidate: str) -> tuple[str, os.stat_result] | None:
        real = os.path.realpath(candidate)
        if not self._contains(real):
            return None
        try:
            return real, os.stat(real)
        except (OSError, ValueError):
            return None

    def _contains(self, real: str) -> bool:
        return real == self.real_root or real.startswith(self._prefix)


def safe_segments(url_path: str) -> list[str] | None:
    """Decode a URL path exactly once into path segments, or None when it must be refused.

    Refused: anything not starting with `/`, invalid UTF-8, NUL, backslashes, `.`/`..`
    segments (encoded or not), empty inner segments (`//`), and drive forms (`C:`).
    """
    if not url_path.startswith("/"):
        return None
    try:
        decoded = unquote_to_bytes(url_path).decode("utf-8")
    except UnicodeDecodeError:
        return None
    if "\x00" in decoded or "\\" in decoded:
        return None
    segments = decoded[1:].split("/")
    if segments[-1] == "":
        segments.pop()  # a trailing slash names a directory
    for segment in segments:
        if segment in ("", ".", "..") or ":" in segment:
            return None
    return segments


def describe(real_path: str, info: os.stat_result) -> FileEntry:
    """Metadata and pre-rendered headers for a regular file."""
    modified = int(info.st_mtime)
    etag, validators, meta, full = _headers(real_path, info.st_size, info.st_mtime_ns, modified)
    return FileEntry(
        real_path, info.st_size, info.st_mtime_ns, info.st_ino, etag, modified,
        validators, meta, full,
    )  # fmt: skip


# A pure function of what stat said, so memoising it never serves anything stale (a changed
# file is a new key); rendering cost more than resolving and reading on the cache-off path.
@lru_cache(maxsize=1024)
def _headers(
    real_path: str, size: int, mtime_ns: int, modified: int
) -> tuple[str, bytes, bytes, bytes]:
    """The ETag and the header lines `describe` pre-renders."""
    etag = f'"{size:x}-{mtime_ns:x}"'
    validators = header_lines(("Last-Modified", http_date(modified)), ("ETag", etag))
    meta = (
        header_lines(("Content-Type", content_type(real_path)), ("Accept-Ranges", "bytes"))
        + validators
    )
    return etag, validators, meta, meta + header_lines(("Content-Length", size))


def content_type(path: str) -> str:
    """The media type for a file name, with `charset=utf-8` for text types."""
    guessed, encoding = _MIME.guess_type(path, strict=False)
    if guessed is None or encoding is not None:
        return "application/octet-stream"
    if guessed.startswith("text/") or guessed in _CHARSET_TYPES:
        return f"{guessed}; charset=utf-8"
    return guessed
