"""server.files: the traversal guard, resolving URL paths on a real tree, content types."""

from __future__ import annotations

import os
import socket
from pathlib import Path
from urllib.parse import quote

import pytest

from server.files import MISSING, FileEntry, Redirect, SiteRoot, content_type, safe_segments
from server.response import http_date

# -- safe_segments -------------------------------------------------------------------------

ACCEPTED = [
    ("/", []),
    ("/index.html", ["index.html"]),
    ("/docs/", ["docs"]),
    ("/docs/index.html", ["docs", "index.html"]),
    ("/docs/hello%20world.txt", ["docs", "hello world.txt"]),
    ("/docs/hello world.txt", ["docs", "hello world.txt"]),
    ("/docs/a+b.txt", ["docs", "a+b.txt"]),  # '+' is a space only in query strings
    ("/docs/a%2Bb.txt", ["docs", "a+b.txt"]),
    ("/docs/caf%C3%A9.txt", ["docs", "café.txt"]),
    ("/docs/caf%c3%a9.txt", ["docs", "café.txt"]),
    ("/%252e%252e/x", ["%2e%2e", "x"]),  # decoded exactly once: a literal name, not '..'
    ("/%25", ["%"]),
    ("/...", ["..."]),
    ("/.hidden", [".hidden"]),
    ("/a..b", ["a..b"]),
]

REFUSED = [
    "",
    "index.html",
    "docs/",
    "%2Findex.html",
    "/a%00b",
    "/%00",
    "/a%5Cb",
    "/a%5cb",
    "/a\\b",
    "/..",
    "/../etc/passwd",
    "/docs/../../etc/passwd",
    "/docs/..",
    "/.",
    "/./index.html",
    "/docs/./index.html",
    "/%2e%2e/etc/passwd",
    "/%2E%2E/etc/passwd",
    "/%2E./etc/passwd",
    "/.%2e/etc/passwd",
    "/%2e/index.html",
    "/docs/%2e%2e/%2e%2e/etc/passwd",
    "/docs%2f..%2f..%2fetc/passwd",
    "//",
    "//etc/passwd",
    "/docs//index.html",
    "/docs//",
    "/C:",
    "/C:/Windows/win.ini",
    "/c%3A/Windows",
    "/docs/C:",
    "/%ff",
    "/%C3",  # truncated UTF-8 sequence
    "/%C0%AE%C0%AE/etc/passwd",  # overlong encoding of '.'
    "/%ED%A0%80",  # an encoded surrogate
]


@pytest.mark.parametrize(("url_path", "segments"), ACCEPTED)
def test_safe_segments_accepts(url_path: str, segments: list[str]) -> None:
    assert safe_segments(url_path) == segments


@pytest.mark.parametrize("url_path", REFUSED)
def test_safe_segments_refuses(url_path: str) -> None:
    assert safe_segments(url_path) is None


# -- SiteRoot.resolve on a real tree -------------------------------------------------------


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """A small site at tmp_path/site, with a secret beside it (outside the root)."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("secret\n")
    (outside / "index.html").write_text("<p>outside</p>\n")
    root = tmp_path / "site"
    (root / "docs").mkdir(parents=True)
    (root / "empty").mkdir()
    (root / "my dir").mkdir()
    (root / "my dir" / "index.html").write_text("<p>spaced</p>\n")
    (root / "index.html").write_text("<h1>home</h1>\n")
    (root / "page.txt").write_text("a page\n")
    (root / "docs" / "index.html").write_text("<h1>docs</h1>\n")
    (root / "docs" / "hello world.txt").write_text("hello\n")
    (root / "docs" / "café.txt").write_text("café\n")
    (root / "docs" / "a+b.txt").write_text("a+b\n")
    return root


def resolve(root: Path, url_path: str) -> object:
    """`SiteRoot(root).resolve(url_path)`."""
    return SiteRoot(str(root)).resolve(url_path)


def resolved_file(root: Path, url_path: str) -> FileEntry:
    found = resolve(root, url_path)
    assert isinstance(found, FileEntry), found
    return found


def test_regular_file_is_described(site: Path) -> None:
    path = site / "page.txt"
    os.utime(path, ns=(784111777_000_000_000, 784111777_250_000_000))
    entry = resolved_file(site, "/page.txt")
    info = path.stat()
    assert entry.real_path == str(path.resolve())
    assert (entry.size, entry.mtime_ns, entry.inode) == (7, info.st_mtime_ns, info.st_ino)
    assert entry.modified == 784111777
    assert entry.etag[0] == entry.etag[-1] == '"'
    assert entry.body is None
    assert entry.validators == (
        f"Last-Modified: Sun, 06 Nov 1994 08:49:37 GMT\r\nETag: {entry.etag}\r\n".encode()
    )
    assert entry.meta_headers == (
        b"Content-Type: text/plain; charset=utf-8\r\nAccept-Ranges: bytes\r\n" + entry.validators
    )
    assert entry.full_headers == entry.meta_headers + b"Content-Length: 7\r\n"


def test_etag_tracks_size_and_mtime(site: Path) -> None:
    path = site / "page.txt"
    first = resolved_file(site, "/page.txt")
    assert resolved_file(site, "/page.txt").etag == first.etag  # stable while unchanged
    os.utime(path, ns=(first.mtime_ns, first.mtime_ns + 1))
    touched = resolved_file(site, "/page.txt")
    path.write_text("a longer page\n")
    os.utime(path, ns=(first.mtime_ns, first.mtime_ns + 1))
    resized = resolved_file(site, "/page.txt")
    assert len({first.etag, touched.etag, resized.etag}) == 3
    assert resized.full_headers.endswith(b"Content-Length: 14\r\n")
    assert http_date(resized.modified).encode() in resized.validators


@pytest.mark.parametrize(
    ("url_path", "relative"),
    [
        ("/", "index.html"),
        ("/index.html", "index.html"),
        ("/docs/", "docs/index.html"),
        ("/docs/hello%20world.txt", "docs/hello world.txt"),
        ("/docs/caf%C3%A9.txt", "docs/café.txt"),
        ("/docs/a+b.txt", "docs/a+b.txt"),
        ("/my%20dir/", "my dir/index.html"),
    ],
)
def test_resolves_to_file(site: Path, url_path: str, relative: str) -> None:
    assert resolved_file(site, url_path).real_path == str((site / relative).resolve())


@pytest.mark.parametrize(
    ("url_path", "location"),
    [("/docs", "/docs/"), ("/empty", "/empty/"), ("/my%20dir", "/my%20dir/")],
)
def test_directory_without_slash_redirects(site: Path, url_path: str, location: str) -> None:
    assert resolve(site, url_path) == Redirect(location)


@pytest.mark.parametrize(
    "url_path",
    [
        "/nope.html",
        "/docs/nope.txt",
        "/nope/",
        "/empty/",  # a directory without index.html is never listed
        "/page.txt/",  # a trailing slash names a directory
        "/page.txt/x",
        "/../outside/secret.txt",
        "/%2e%2e/outside/secret.txt",
        "/docs/a%00b",
        "/" + "x" * 5000,  # ENAMETOOLONG
    ],
)
def test_missing(site: Path, url_path: str) -> None:
    assert resolve(site, url_path) is MISSING


def test_symlink_pointing_outside_is_missing(site: Path) -> None:
    outside = site.parent / "outside"
    (site / "escape.txt").symlink_to(outside / "secret.txt")
    (site / "escape_dir").symlink_to(outside, target_is_directory=True)
    (site / "docs" / "up").symlink_to("..", target_is_directory=True)  # inside: allowed
    (site / "docs" / "upup").symlink_to("../..", target_is_directory=True)
    for url_path in ["/escape.txt", "/escape_dir/secret.txt", "/escape_dir/", "/docs/upup/"]:
        assert resolve(site, url_path) is MISSING, url_path
    inside = resolved_file(site, "/docs/up/docs/")
    assert inside.real_path == str((site / "docs" / "index.html").resolve())


def test_index_symlinked_outside_is_missing(site: Path) -> None:
    (site / "empty" / "index.html").symlink_to(site.parent / "outside" / "index.html")
    assert resolve(site, "/empty/") is MISSING


def test_symlink_pointing_inside_is_served(site: Path) -> None:
    (site / "alias.txt").symlink_to("page.txt")
    (site / "docs" / "home.html").symlink_to(site / "index.html")
    assert resolved_file(site, "/alias.txt").real_path == str((site / "page.txt").resolve())
    home = resolved_file(site, "/docs/home.html")
    assert home.real_path == str((site / "index.html").resolve())


def test_dangling_and_looping_symlinks_are_missing(site: Path) -> None:
    (site / "dangling.txt").symlink_to("gone.txt")
    (site / "loop_a").symlink_to("loop_b")
    (site / "loop_b").symlink_to("loop_a")
    for url_path in ["/dangling.txt", "/loop_a", "/loop_b/"]:
        assert resolve(site, url_path) is MISSING, url_path


def test_fifo_is_missing(site: Path) -> None:
    os.mkfifo(site / "pipe")
    assert resolve(site, "/pipe") is MISSING  # and resolving must not block opening it


def test_socket_is_missing(site: Path) -> None:
    with socket.socket(socket.AF_UNIX) as listener:
        listener.bind(str(site / "sock"))
        assert resolve(site, "/sock") is MISSING


def test_root_must_be_a_directory(site: Path) -> None:
    with pytest.raises(NotADirectoryError):
        SiteRoot(str(site / "page.txt"))


def test_filesystem_root_contains_its_files(site: Path) -> None:
    """Serving "/" itself: containment must not look for a "//" prefix."""
    entry = SiteRoot("/").resolve(quote(str(site / "page.txt")))
    assert isinstance(entry, FileEntry)
    assert entry.real_path == str((site / "page.txt").resolve())


# -- content_type --------------------------------------------------------------------------

JAVASCRIPT = {"application/javascript; charset=utf-8", "text/javascript; charset=utf-8"}


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("index.html", {"text/html; charset=utf-8"}),
        ("INDEX.HTML", {"text/html; charset=utf-8"}),
        ("style.css", {"text/css; charset=utf-8"}),
        ("app.js", JAVASCRIPT),
        ("notes.txt", {"text/plain; charset=utf-8"}),
        ("logo.svg", {"image/svg+xml; charset=utf-8"}),
        ("site.json", {"application/json"}),  # UTF-8 by definition: no charset parameter
        ("logo.png", {"image/png"}),
        ("photo.jpg", {"image/jpeg"}),
        ("100k.bin", {"application/octet-stream"}),
        ("file.unknownext", {"application/octet-stream"}),
        ("README", {"application/octet-stream"}),
        ("archive.tar.gz", {"application/octet-stream"}),  # never claim a content-coding
        ("docs/café.txt", {"text/plain; charset=utf-8"}),
    ],
)
def test_content_type(name: str, expected: set[str]) -> None:
    assert content_type(name) in expected
