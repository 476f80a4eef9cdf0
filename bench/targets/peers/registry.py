"""The peer registry: names → well-known servers, each with a cheap check, a version and
its launcher — the one place a peer is added.

Asking never costs an import of a peer's packages: availability is the nginx binary on the
path or `find_spec` for the packages, and versions come from package metadata.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from importlib import metadata

import bench.targets.peers.launchers as launchers
from bench.targets.nginx import find_nginx, nginx_version
from bench.targets.peers.launchers import Launcher


@dataclass(frozen=True, slots=True)
class Peer:
    """One reference server: what it needs installed and how to tell its version."""

    name: str
    requires: str  # human text for skip reasons and notes
    probe: Callable[[], bool] = field(repr=False, compare=False)
    version: Callable[[], str] = field(repr=False, compare=False)
    launch: Launcher = field(repr=False, compare=False)

    def available(self) -> bool:
        """Whether it can run here; imports nothing."""
        return self.probe()

    def describe(self) -> str:
        """Its version line for run metadata, e.g. 'nginx/1.22.1'."""
        if not self.available():
            return f"{self.name}: not installed (needs {self.requires})"
        return self.version()


def _importable(*modules: str) -> bool:
    return all(importlib.util.find_spec(module) is not None for module in modules)


def _nginx_installed() -> bool:
    return find_nginx() is not None


def _nginx_version() -> str:
    binary = find_nginx()
    return nginx_version(binary) if binary is not None else "nginx: not installed"


def _aiohttp_version() -> str:
    return f"aiohttp {metadata.version('aiohttp')} (asyncio loop)"


def _uvicorn_version() -> str:
    # What uvicorn's "auto" picks: uvloop and httptools when importable, else asyncio and h11.
    loop = "uvloop" if _importable("uvloop") else "asyncio"
    http = "httptools" if _importable("httptools") else "h11"
    uvicorn, starlette = metadata.version("uvicorn"), metadata.version("starlette")
    return f"uvicorn {uvicorn} + starlette {starlette} (loop {loop}, http {http})"


PEERS: dict[str, Peer] = {
    peer.name: peer
    for peer in (
        Peer(
            "nginx",
            "the nginx binary (apt-get install nginx)",
            _nginx_installed,
            _nginx_version,
            launchers.nginx,
        ),
        Peer(
            "aiohttp",
            "pip install aiohttp (or the peers extra)",
            partial(_importable, "aiohttp"),
            _aiohttp_version,
            launchers.aiohttp,
        ),
        Peer(
            "uvicorn",
            "pip install uvicorn starlette (or the peers extra)",
            partial(_importable, "uvicorn", "starlette"),
            _uvicorn_version,
            launchers.uvicorn,
        ),
    )
}
