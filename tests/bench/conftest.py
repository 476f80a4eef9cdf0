"""Fixtures the bench tests share."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bench.targets.process import PinnedProcess
from bench.targets.start import original_server
from tests.conftest import PROJECT


@pytest.fixture(scope="module")
def original_blog() -> Iterator[PinnedProcess]:
    """The original post's server (bench/targets/original_blog.py), faults and all: no
    Content-Length, 200 for a missing file, traversal; it never answers a binary file."""
    with original_server(PROJECT / "static", None, PROJECT) as server:
        yield server
