"""`python -m bench.interactive` as a person runs it, with real processes on 127.0.0.1.

The web UI comes up listing our user classes, a swarm started through its API is counted,
SIGINT stops locust and the server (exit 0, no PID left); a child that dies on its own stops
the other (exit 1); a bad option is one line on stderr and exit 2.
"""

from __future__ import annotations

import contextlib
import json
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import psutil
import pytest

from bench.targets.probe import http_status
from bench.targets.process import READY_TIMEOUT_S, free_port
from tests.conftest import PROJECT

READY_SECONDS = READY_TIMEOUT_S + 30  # the server's own start bound, then locust's UI
STOP_SECONDS = 15.0
_CLASSES = re.compile(r'"available_user_classes":\s*(\[[^\]]*\])')


@dataclass
class Interactive:
    """A running `python -m bench.interactive`, its combined output, and what it started."""

    process: subprocess.Popen[str]
    web_port: int
    output: IO[str]
    children: list[psutil.Process] = field(default_factory=list)

    def text(self) -> str:
        """Everything it printed so far (stdout and stderr)."""
        self.output.seek(0)
        return self.output.read()

    def printed(self, pattern: str) -> str:
        """The first group of `pattern` in its output."""
        match = re.search(pattern, self.text(), re.MULTILINE)
        assert match, self.text()
        return match.group(1)

    def get(self, path: str) -> bytes:
        """GET a path of the web UI."""
        url = f"http://127.0.0.1:{self.web_port}{path}"
        with urllib.request.urlopen(url, timeout=5) as response:
            body: bytes = response.read()
            return body

    def post(self, path: str, form: dict[str, Any]) -> Any:
        """POST a form to the web UI; its JSON answer."""
        data = urllib.parse.urlencode(form).encode()
        url = f"http://127.0.0.1:{self.web_port}{path}"
        with urllib.request.urlopen(url, data=data, timeout=5) as response:
            return json.loads(response.read())

    def await_web_ui(self) -> None:
        """Until it says where to open the UI and / answers 200 (bounded); note its children."""
        deadline = time.monotonic() + READY_SECONDS
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.text()
            if "open http://" in self.text():
                assert http_status(self.web_port, "/") == 200
                self.children = psutil.Process(self.process.pid).children(recursive=True)
                return
            time.sleep(0.1)
        pytest.fail(f"web UI not up after {READY_SECONDS} s: {self.text()}")


def _alive(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _leftovers(children: list[psutil.Process], seconds: float = 5.0) -> list[psutil.Process]:
    deadline = time.monotonic() + seconds
    while (alive := [child for child in children if _alive(child)]) and time.monotonic() < deadline:
        time.sleep(0.05)
    return alive


@contextlib.contextmanager
def interactive(*args: str) -> Iterator[Interactive]:
    """Start it on a free web port; always stop it and whatever it started, by PID."""
    with tempfile.TemporaryFile("w+", encoding="utf-8") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "bench.interactive", "--web-port", str(port := free_port()),
             *args],
            cwd=PROJECT, stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT,
            text=True,
        )  # fmt: skip
        running = Interactive(process, port, output)
        try:
            yield running
        finally:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(STOP_SECONDS)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            for child in _leftovers(running.children, seconds=1.0):
                with contextlib.suppress(psutil.NoSuchProcess):
                    child.kill()
            with contextlib.suppress(Exception):
                Path(running.printed(r"^locust\s+log in (\S+)")).unlink()


def _request_count(ui: Interactive) -> tuple[int, int]:
    stats = json.loads(ui.get("/stats/requests"))["stats"]
    total = next(row for row in stats if row["name"] == "Aggregated")
    return total["num_requests"], total["num_failures"]


@pytest.mark.slow
def test_web_ui_swarms_and_sigint_stops_both() -> None:
    with interactive("--variant", "asyncio") as ui:
        ui.await_web_ui()
        server_url = ui.printed(r"^server\s+(http://\S+)")
        log = Path(ui.printed(r"^locust\s+log in (\S+)"))
        assert f"open http://127.0.0.1:{ui.web_port} — pick a scenario" in ui.text()
        names = [" ".join(child.cmdline()) for child in ui.children]
        assert any("-m server" in name for name in names), names
        assert any("-m locust" in name and "--class-picker" in name for name in names), names

        match = _CLASSES.search(ui.get("/").decode())
        assert match, "no class picker in the web UI's page"
        assert {"SmallPage", "MixedVisit"} <= set(json.loads(match.group(1)))

        form = {"user_count": 2, "spawn_rate": 2, "user_classes": "SmallPage", "host": server_url}
        assert ui.post("/swarm", form)["success"] is True
        deadline = time.monotonic() + 10
        while (counts := _request_count(ui))[0] == 0 and time.monotonic() < deadline:
            time.sleep(0.2)
        requests, failures = counts
        assert requests > 0
        assert failures == 0

        ui.process.send_signal(signal.SIGINT)
        assert ui.process.wait(STOP_SECONDS) == 0, ui.text()
        assert _leftovers(ui.children) == []
        assert "stopping locust, then the server" in ui.text()
        assert "Starting web interface" not in ui.text()  # locust's chatter goes to its log
        assert "Starting web interface" in log.read_text()


@pytest.mark.slow
@pytest.mark.parametrize("client", ["lean", "fasthttp"])
def test_the_web_ui_offers_the_client_and_runs_it(client: str) -> None:
    with interactive("--variant", "asyncio", "--client", client) as ui:
        ui.await_web_ui()
        # --client is the form's default (locust fills it from the command line)
        page = ui.get("/").decode()
        default = re.search(r'"client":\s*\{[^}]*"default_value":\s*"(\w+)"', page)
        assert default is not None, "no client option in the web UI's form"
        assert default.group(1) == client
        server_url = ui.printed(r"^server\s+(http://\S+)")
        form = {
            "user_count": 2, "spawn_rate": 2, "user_classes": "MixedVisit", "host": server_url,
            "client": client,
        }  # fmt: skip
        assert ui.post("/swarm", form)["success"] is True
        deadline = time.monotonic() + 10
        while (counts := _request_count(ui))[0] < 20 and time.monotonic() < deadline:
            time.sleep(0.2)
        requests, failures = counts
        assert requests >= 20
        assert failures == 0


@pytest.mark.slow
def test_a_child_dying_stops_the_other() -> None:
    with interactive("--variant", "asyncio") as ui:
        ui.await_web_ui()
        server = next(child for child in ui.children if "server" in child.cmdline())
        server.kill()
        assert ui.process.wait(STOP_SECONDS) == 1, ui.text()
        assert "the server exited on its own" in ui.text()
        assert _leftovers(ui.children) == []


@contextlib.contextmanager
def _listening() -> Iterator[int]:
    """A port something listens on, for as long as the block runs."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield listener.getsockname()[1]


@pytest.mark.parametrize(
    ("args", "mention"),
    [
        (["--variant", "nope"], "--variant"),
        (["--cache", "maybe"], "--cache"),
        (["--web-port", "70000"], "--web-port"),
        (["--web-port", "BUSY"], "busy"),
        (["--server-args", "--workers", "0"], "--workers"),
    ],
    ids=["variant", "cache", "web-port", "busy-web-port", "server-args"],
)
def test_bad_option_is_one_line_and_exit_2(args: list[str], mention: str) -> None:
    with _listening() as busy:
        argv = [str(busy) if arg == "BUSY" else arg for arg in args]
        done = subprocess.run(
            [sys.executable, "-m", "bench.interactive", *argv],
            cwd=PROJECT, capture_output=True, text=True, timeout=20, check=False,
        )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert len(done.stderr.splitlines()) == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert mention in done.stderr
    assert done.stdout == ""
