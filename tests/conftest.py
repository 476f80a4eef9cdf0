"""Shared fixtures: a test copy of the demo site, and real servers for every variant."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.targets.process import ServerProcess
from server.variants import VARIANTS

PROJECT = Path(__file__).resolve().parent.parent
VARIANT_NAMES = list(VARIANTS)
CACHE_MODES = ["on", "off"]
SECRET = b"outside the root: must never be served\n"


def _generated_static() -> Path:
    """The demo site with its generated large files in place."""
    subprocess.run([sys.executable, str(PROJECT / "scripts" / "make_static.py")], check=True)
    return PROJECT / "static"


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the demo site plus traps: a secret beside the root, symlinks out and in."""
    base = tmp_path_factory.mktemp("site")
    root = base / "root"
    shutil.copytree(_generated_static(), root)
    (base / "secret.txt").write_bytes(SECRET)
    os.symlink(base / "secret.txt", root / "escape.txt")
    os.symlink(root / "index.html", root / "alias.html")
    os.mkfifo(root / "fifo")
    return root


def _skip_if_unavailable(name: str) -> list[pytest.MarkDecorator]:
    variant = VARIANTS[name]
    return (
        [] if variant.available() else [pytest.mark.skip(reason=f"{name} needs {variant.requires}")]
    )


def variant_params() -> list[object]:
    """Every registered variant × cache mode; unavailable variants are skipped, not hidden."""
    return [
        pytest.param((name, cache), id=f"{name}-cache_{cache}", marks=_skip_if_unavailable(name))
        for name in VARIANT_NAMES
        for cache in CACHE_MODES
    ]


def each_variant() -> list[object]:
    """Every registered variant once (default cache); unavailable ones skipped with a reason."""
    return [pytest.param(name, id=name, marks=_skip_if_unavailable(name)) for name in VARIANT_NAMES]


def variant_of(server: ServerProcess) -> str:
    """The --variant a ServerProcess was started with."""
    return server.args[server.args.index("--variant") + 1]


@pytest.fixture(scope="session", params=variant_params())
def server(request: pytest.FixtureRequest, site: Path) -> Iterator[ServerProcess]:
    """A running server of one variant and cache mode, shared by the tests that use it."""
    variant, cache = request.param
    args = [
        "--variant",
        variant,
        "--cache",
        cache,
        "--root",
        str(site),
        "--max-connections",
        "2000",
    ]
    with ServerProcess(args) as running:
        yield running
