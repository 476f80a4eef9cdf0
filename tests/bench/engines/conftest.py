"""Fixtures shared by the engine tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.bench.engines.lean_clients import close_all


@pytest.fixture(autouse=True)
def _close_lean_clients() -> Iterator[None]:
    yield
    close_all()
