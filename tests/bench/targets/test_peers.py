"""Reference peers, for real: each started on the test site, gated, pinned and stopped."""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import nullcontext
from pathlib import Path

import psutil
import pytest

from bench.targets.conformance import check
from bench.targets.peers import PEERS, PeerServer, start_peer
from bench.targets.process import ChildStartError
from tests.conftest import PROJECT, SECRET

CPUS = (max(os.sched_getaffinity(0)),)  # one core, the last: not the one pytest tends to use


def each_peer() -> list[object]:
    """Every registered peer; one not installed here is `missing` (skips; fails under CI=true)."""
    return [
        pytest.param(
            name,
            id=name,
            marks=[]
            if peer.available()
            else [pytest.mark.missing(f"{name} needs {peer.requires}")],
        )
        for name, peer in PEERS.items()
    ]


def our_children() -> set[int]:
    """PIDs of every process this test process has started and not yet lost."""
    return {child.pid for child in psutil.Process().children(recursive=True)}


@pytest.fixture(scope="module", params=each_peer())
def peer_name(request: pytest.FixtureRequest) -> str:
    """The name of the peer the module-scoped checks run against."""
    name: str = request.param
    return name


@pytest.fixture(scope="module")
def peer(
    peer_name: str, site: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PeerServer]:
    """One running peer on the test site, pinned to CPUS, shared by the checks below."""
    with start_peer(peer_name, site, CPUS, tmp_path_factory.mktemp(f"logs-{peer_name}")) as server:
        yield server


def get(url: str) -> tuple[int, bytes]:
    """Status and body of one GET, whatever the status."""
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


# -- the registry ----------------------------------------------------------------------------


def test_the_registry_names_the_three_peers_in_order() -> None:
    assert list(PEERS) == ["nginx", "aiohttp", "uvicorn"]
    assert all(name == peer.name and peer.requires for name, peer in PEERS.items())


@pytest.mark.parametrize("name", each_peer())
def test_describe_names_the_peer_and_its_version(name: str) -> None:
    described = PEERS[name].describe()
    assert described.startswith(
        {"nginx": "nginx/", "aiohttp": "aiohttp ", "uvicorn": "uvicorn "}[name]
    )
    assert any(char.isdigit() for char in described)
    if name == "uvicorn":
        assert " + starlette " in described


def test_asking_about_peers_imports_none_of_them() -> None:
    """available() and describe() are cheap: no peer package (nor locust) gets imported."""
    code = (
        "import sys\n"
        "from bench.targets.peers import PEERS\n"
        "for peer in PEERS.values(): peer.available(); peer.describe()\n"
        "heavy = {'aiohttp', 'uvicorn', 'starlette', 'locust', 'gevent'} & set(sys.modules)\n"
        "print(sorted(heavy))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"


# -- a running peer --------------------------------------------------------------------------


def test_peer_passes_the_conformance_gate(peer: PeerServer, site: Path) -> None:
    assert peer.url.startswith("http://127.0.0.1:")
    assert check(peer.url, site) == []


def test_peer_serves_the_exact_file(peer: PeerServer, site: Path) -> None:
    assert get(peer.url + "/index.html") == (200, (site / "index.html").read_bytes())


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="pinning needs at least 2 CPUs")
def test_peer_runs_pinned_to_the_cores_given(peer: PeerServer) -> None:
    root = psutil.Process(peer.pid)
    for process in [root, *root.children(recursive=True)]:
        assert process.cpu_affinity() == list(CPUS), process


def test_peer_leads_a_process_group_of_its_own(peer: PeerServer) -> None:
    assert os.getpgid(peer.pid) == peer.pid


def test_peer_refuses_a_symlink_out_of_the_root(
    peer_name: str, peer: PeerServer, request: pytest.FixtureRequest
) -> None:
    if peer_name == "nginx":
        reason = "nginx follows symlinks by default (disable_symlinks off); ours refuses"
        request.applymarker(pytest.mark.xfail(reason=reason, strict=True))
    status, body = get(peer.url + "/escape.txt")
    assert status != 200
    assert SECRET not in body


# -- stopping and failing --------------------------------------------------------------------


@pytest.mark.parametrize("fail", [False, True], ids=["clean-exit", "error-in-block"])
@pytest.mark.parametrize("name", each_peer())
def test_peer_and_its_children_are_gone_after_the_block(
    name: str, fail: bool, site: Path, tmp_path: Path
) -> None:
    before = our_children()
    with (
        pytest.raises(RuntimeError) if fail else nullcontext(),
        start_peer(name, site, None, tmp_path) as server,
    ):
        root = psutil.Process(server.pid)
        tree = [root, *root.children(recursive=True)]
        if fail:
            raise RuntimeError("the load run broke")
    assert not psutil.pid_exists(server.pid)
    assert not [process for process in tree if process.is_running()]
    assert our_children() <= before


def test_an_unknown_peer_is_refused_by_name(site: Path, tmp_path: Path) -> None:
    with (
        pytest.raises(ValueError, match=r"unknown peer 'apache': choose from nginx, aiohttp"),
        start_peer("apache", site, None, tmp_path),
    ):
        pytest.fail("started an unknown peer")


@pytest.mark.parametrize("name", each_peer())
def test_a_peer_that_cannot_serve_the_root_fails_in_one_line(name: str, tmp_path: Path) -> None:
    """A root that does not exist: the Python peers exit at once, nginx answers 404."""
    missing, logs = tmp_path / "no-such-site", tmp_path / "logs"
    before = our_children()
    with pytest.raises(ChildStartError) as failure, start_peer(name, missing, None, logs):
        pytest.fail("started without a site")
    message = str(failure.value)
    assert message.startswith(name)
    assert "\n" not in message
    assert str(missing) in message  # the peer's own words, from its log's tail
    assert our_children() <= before
    assert any(log.name.startswith(name) for log in logs.iterdir())
