"""The wrk engine: its report parser, which scenarios it takes, and real runs against our server.

The real runs start `python -m server` (uvloop, cache on) pinned to one CPU and wrk to
another, and check what the runner relies on: the window opens on the wrk process and closes
after it is gone, every request is counted, and failures are never a silent success.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import pytest

import bench.engines.wrk.engine as engine
from bench.engines.locust.scenarios import SCENARIOS
from bench.engines.locust.scenarios.paths import LARGE, PAGE
from bench.engines.wrk.command import WrkError, wrk_command
from bench.engines.wrk.engine import (
    REPORT_SCRIPT,
    WRK_SCENARIOS,
    parse_report,
    run_wrk_trial,
    unsupported,
)
from bench.results.figures import Measured
from bench.targets.process import free_port
from tests.serverchecks import checked_server

needs_wrk = pytest.mark.tool("wrk")
_CPUS = sorted(os.sched_getaffinity(0))
SERVER_CPUS, LOAD_CPUS = ((_CPUS[0],), (_CPUS[1],)) if len(_CPUS) >= 2 else (None, None)

# A real run's stdout (1 s, 10 connections, against our uvloop server): wrk's own text, then
# the lines bench/engines/wrk/wrk_report.lua prints from done().
REPORT = """\
Running 1s test @ http://127.0.0.1:18231/index.html
  1 threads and 10 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   381.64us    0.89ms  13.89ms   98.38%
    Req/Sec    34.62k     7.58k   40.97k    90.00%
  Latency Distribution
     50%  242.00us
     75%  343.00us
     90%  476.00us
     99%    3.11ms
  34316 requests in 1.00s, 42.87MB read
Requests/sec:  34299.23
Transfer/sec:     42.85MB
wrk-report p50_us 242
wrk-report p90_us 476
wrk-report p99_us 3111
wrk-report p999_us 12729
wrk-report p9999_us 13878
wrk-report max_us 13893
wrk-report mean_us 381.64467465377004
wrk-report requests 34316
wrk-report duration_us 1000489
wrk-report bytes 44953960
wrk-report errors_connect 0
wrk-report errors_read 0
wrk-report errors_write 0
wrk-report errors_status 0
wrk-report errors_timeout 0
"""
REPORT_NAMES = [line.split()[1] for line in REPORT.splitlines() if line.startswith("wrk-report")]


def with_value(name: str, value: str) -> str:
    """REPORT with one report line's value replaced."""
    return "\n".join(
        f"wrk-report {name} {value}" if line.startswith(f"wrk-report {name} ") else line
        for line in REPORT.splitlines()
    )


# -- the report ------------------------------------------------------------------------------


def test_report_lines_become_the_runner_figures() -> None:
    measured = parse_report(REPORT)
    seconds = 1.000489
    assert measured.requests == 34316
    assert measured.failures == 0
    assert measured.window_s == pytest.approx(seconds)
    assert measured.requests_per_s == pytest.approx(34316 / seconds)
    assert measured.bytes_per_s == pytest.approx(44953960 / seconds)
    assert (measured.p50_ms, measured.p90_ms, measured.p99_ms) == (0.242, 0.476, 3.111)
    assert (measured.p999_ms, measured.max_ms) == (12.729, 13.893)
    assert measured.mean_ms == pytest.approx(0.38164467)
    latency = measured.latency
    assert latency.count == 34316
    assert (latency.p50_us, latency.p90_us, latency.p99_us) == (242, 476, 3111)
    assert (latency.p999_us, latency.p9999_us, latency.max_us) == (12729, 13878, 13893)


def test_every_kind_of_error_is_a_failure() -> None:
    text = REPORT
    for count, kind in enumerate(("connect", "read", "write", "status", "timeout"), start=1):
        text = text.replace(f"wrk-report errors_{kind} 0", f"wrk-report errors_{kind} {count}")
    assert parse_report(text).failures == 1 + 2 + 3 + 4 + 5


@pytest.mark.parametrize("name", REPORT_NAMES)
def test_a_missing_report_line_is_an_error(name: str) -> None:
    without = "\n".join(line for line in REPORT.splitlines() if f"wrk-report {name} " not in line)
    with pytest.raises(WrkError, match=name):
        parse_report(without)


def test_wrk_text_without_the_report_is_an_error() -> None:
    wrk_only = REPORT.split("wrk-report", 1)[0]
    with pytest.raises(WrkError, match=r"wrk_report\.lua not run"):
        parse_report(wrk_only)


def test_a_report_value_that_is_not_a_number_is_an_error() -> None:
    with pytest.raises(WrkError, match="p99_us"):
        parse_report(with_value("p99_us", "lots"))


def test_no_completed_request_is_an_error_not_a_zero_rate() -> None:
    with pytest.raises(WrkError, match="no request"):
        parse_report(with_value("requests", "0"))


# -- scenarios and the command line ----------------------------------------------------------


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_each_scenario_is_run_by_wrk_or_says_why_not(scenario: str) -> None:
    reason = unsupported(scenario)
    if scenario in {"small", "close", "large"}:
        assert reason is None
        assert scenario in WRK_SCENARIOS
    else:
        assert reason is not None
        assert scenario not in WRK_SCENARIOS
        assert "\n" not in reason
        assert reason.startswith(f"scenario {scenario} needs locust (")


def test_an_unknown_scenario_is_unsupported() -> None:
    assert unsupported("nonesuch") == "unknown scenario 'nonesuch'"


def test_wrk_requests_what_the_locust_scenarios_request() -> None:
    assert set(WRK_SCENARIOS) <= set(SCENARIOS)
    assert WRK_SCENARIOS["small"].path == WRK_SCENARIOS["close"].path == PAGE
    assert WRK_SCENARIOS["small"].headers == WRK_SCENARIOS["large"].headers == ()
    assert WRK_SCENARIOS["close"].headers == ("Connection: close",)
    assert WRK_SCENARIOS["large"].path == LARGE


def test_wrk_command_with_the_report_script_and_a_timeout() -> None:
    command = wrk_command(
        "wrk", "http://127.0.0.1:1/x", duration=3, connections=5, script=REPORT_SCRIPT, timeout=10
    )
    assert command == [
        "wrk", "-t1", "-c5", "-d3s", "--latency", "--timeout", "10s",
        "-s", str(REPORT_SCRIPT), "http://127.0.0.1:1/x",
    ]  # fmt: skip
    assert REPORT_SCRIPT.is_file()


# -- real runs -------------------------------------------------------------------------------


@dataclass
class RecordingWindow:
    """A runner window that records what the engine did with it, and what ran then."""

    calls: list[str] = field(default_factory=list)
    pids: list[int] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    commands: list[list[str]] = field(default_factory=list)
    affinities: list[set[int]] = field(default_factory=list)
    begun_at: float = 0.0
    alive_at_end: list[bool] = field(default_factory=list)

    def begin(self, load_pids: list[int]) -> None:
        self.calls.append("begin")
        self.begun_at = time.monotonic()
        self.pids += load_pids
        for pid in load_pids:
            try:  # a wrk that fails at once (nothing listening) may be gone already
                process = psutil.Process(pid)
                self.names.append(process.name())
                self.commands.append(process.cmdline())
                self.affinities.append(os.sched_getaffinity(pid))
            except (psutil.Error, OSError):
                self.names.append("(exited)")

    def end(self) -> None:
        self.calls.append("end")
        self.alive_at_end = [psutil.pid_exists(pid) for pid in self.pids]


@pytest.fixture(scope="module")
def served(site: Path) -> Iterator[str]:
    """Our uvloop server with its cache on, pinned to the first CPU: its URL."""
    args = ["--variant", "uvloop", "--cache", "on", "--root", str(site)]
    with checked_server(args, cpus=SERVER_CPUS) as server:
        yield server.url


def trial(scenario: str, url: str, raw: Path, window: RecordingWindow) -> Measured:
    """One short wrk trial: 1 s, 8 connections, pinned to the load CPU."""
    return run_wrk_trial(
        scenario, url, raw, duration=1, warmup=0, connections=8, cpus=LOAD_CPUS,
        window=window,
    )  # fmt: skip


@needs_wrk
def test_a_real_small_run_is_measured_inside_the_window(served: str, tmp_path: Path) -> None:
    window = RecordingWindow()
    started = time.monotonic()
    measured = run_wrk_trial(
        "small", served, tmp_path, duration=1, warmup=1, connections=8, cpus=LOAD_CPUS,
        window=window,
    )  # fmt: skip
    assert window.calls == ["begin", "end"]
    assert window.names == ["wrk"]
    assert window.begun_at - started >= 1.0  # after the warm-up run
    assert window.alive_at_end == [False]  # closed once wrk had exited
    if LOAD_CPUS is not None:
        assert window.affinities == [set(LOAD_CPUS)]
    assert measured.requests > 100
    assert measured.failures == 0
    assert measured.latency.count == measured.requests
    latency = measured.latency
    assert 0 < latency.p50_us <= latency.p99_us <= latency.max_us
    assert measured.p50_ms == latency.p50_us / 1000
    assert 0.9 <= measured.window_s <= 3  # wrk's own clock: 1 s and its stop
    assert "wrk-report requests" in (tmp_path / "wrk-warmup.txt").read_text()
    assert "wrk-report requests" in (tmp_path / "wrk.txt").read_text()
    assert (tmp_path / "wrk.stderr").exists()


@needs_wrk
def test_a_real_close_run_opens_a_connection_per_request(served: str, tmp_path: Path) -> None:
    window = RecordingWindow()
    measured = trial("close", served, tmp_path, window)
    assert measured.requests > 100
    assert measured.failures == 0
    assert window.commands[0][-3:] == ["-H", "Connection: close", served + PAGE]


@needs_wrk
def test_a_real_large_run_moves_a_mebibyte_per_request(served: str, tmp_path: Path) -> None:
    measured = trial("large", served, tmp_path, RecordingWindow())
    assert measured.requests > 10
    assert measured.failures == 0
    assert measured.bytes_per_s >= measured.requests_per_s * 1024 * 1024


@needs_wrk
def test_nothing_listening_is_an_error(tmp_path: Path) -> None:
    window = RecordingWindow()
    with pytest.raises(WrkError, match=r"^wrk exited 1: unable to connect to 127\.0\.0\.1") as info:
        trial("small", f"http://127.0.0.1:{free_port()}", tmp_path, window)
    assert "\n" not in str(info.value)
    assert window.calls == ["begin", "end"]


@needs_wrk
def test_a_missing_page_counts_every_reply_as_a_failure(served: str, tmp_path: Path) -> None:
    measured = trial("small", served + "/missing", tmp_path, RecordingWindow())  # 404s
    assert measured.requests > 100
    assert measured.failures == measured.requests


@needs_wrk
def test_a_wrk_that_outlives_its_time_is_killed(
    served: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine, "GRACE_S", -0.5)  # a 1 s run may take 0.5 s
    window = RecordingWindow()
    with pytest.raises(WrkError, match=r"still running 0\.5 s after it started; killed"):
        trial("small", served, tmp_path, window)
    assert window.calls == ["begin", "end"]
    assert window.alive_at_end == [False]


@needs_wrk
def test_a_wrk_that_cannot_start_is_an_error(tmp_path: Path) -> None:
    window = RecordingWindow()
    with pytest.raises(WrkError, match="wrk did not start"):
        run_wrk_trial(
            "small", "http://127.0.0.1:1", tmp_path, duration=1, warmup=0, connections=1,
            cpus=(max(_CPUS) + 1000,), window=window,
        )  # fmt: skip
    assert window.calls == []


def test_a_missing_wrk_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine, "find_wrk", lambda: None)
    window = RecordingWindow()
    with pytest.raises(WrkError, match="wrk is not installed"):
        trial("small", "http://127.0.0.1:1", tmp_path, window)
    assert window.calls == []


def test_a_locust_only_scenario_runs_nothing(tmp_path: Path) -> None:
    window = RecordingWindow()
    with pytest.raises(WrkError, match="scenario mixed needs locust"):
        trial("mixed", "http://127.0.0.1:1", tmp_path, window)
    assert window.calls == []
