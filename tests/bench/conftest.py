"""Fixtures the bench tests share."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest

from bench.targets.process import PinnedProcess, free_port
from tests.conftest import PROJECT


@pytest.fixture(scope="module")
def original_blog() -> Iterator[PinnedProcess]:
    """The original post's server (bench/targets/original_blog.py), faults and all: no
    Content-Length, 200 for a missing file, traversal; it never answers a binary file."""
    port = free_port()
    argv = [
        sys.executable,
        "-m",
        "bench.targets.original_blog",
        "--port",
        str(port),
        "--root",
        "static",
    ]
    with PinnedProcess(argv, port, cwd=str(PROJECT)) as server:
        yield server
