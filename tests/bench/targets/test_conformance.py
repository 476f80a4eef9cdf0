"""The conformance gate: our servers pass, the original post's server and a wrong site fail."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.targets.conformance import check
from bench.targets.process import PinnedProcess, free_port
from tests.conftest import PROJECT, each_variant
from tests.serverchecks import checked_server

STATIC = PROJECT / "static"


@pytest.mark.parametrize("variant", each_variant())
def test_every_variant_passes(variant: str) -> None:
    with checked_server(["--variant", variant, "--root", str(STATIC)]) as server:
        assert check(server.url, STATIC) == []


def test_the_original_post_fails_on_every_count(original_blog: PinnedProcess) -> None:
    problems = "\n".join(check(original_blog.url, STATIC))
    assert "Content-Length None" in problems  # no framing
    assert "expected 404" in problems  # 200 for a missing file
    assert "persistent connection" in problems
    assert "escapes the root" in problems  # traversal


def test_a_server_with_another_site_fails(tmp_path: Path) -> None:
    with checked_server(["--root", str(STATIC / "docs")]) as server:
        problems = check(server.url, STATIC)
    assert problems
    assert any("/index.html" in problem for problem in problems)


def test_nothing_listening_is_a_problem_not_a_crash() -> None:
    problems = check(f"http://127.0.0.1:{free_port()}", STATIC)
    assert len(problems) == 4
    assert all("refused" in problem.lower() for problem in problems)
