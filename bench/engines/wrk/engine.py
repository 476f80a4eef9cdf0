"""wrk as a load engine: the fixed-GET scenarios at rates locust cannot reach.

The one place wrk is run, for the runner and for `bench.perf` alike: a process pinned and
bounded in time, always reaped. It owns one wrk trial: a warm-up run (wrk cannot reset its
counters mid-run), then the measured run with the runner's window around it; and the
reading of `wrk_report.lua`'s lines (wrk's exact µs latencies and its counters) into the
same `Measured` locust gives. `run_wrk` is a plain measured run read from wrk's own text.
wrk checks the status class only (>= 400 is a failure), never the body: the conformance gate
checks content before each trial. Scenarios that need logic per request (conditional
requests, ranges, expected 404s) stay with locust.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from bench.engines.interface import LoadPlan, Window
from bench.engines.locust.scenarios.paths import LARGE, PAGE
from bench.engines.wrk.command import (
    GRACE_SECONDS,
    WrkError,
    WrkResult,
    find_wrk,
    parse_wrk,
    wrk_command,
    wrk_version,
)  # fmt: skip
from bench.plan.axes import WRK, wrk_unsupported
from bench.results.figures import LatencySummary, Measured

REPORT_SCRIPT = Path(__file__).with_name("wrk_report.lua")
# wrk counts a reply slower than its timeout (default 2 s) as an error and leaves it out of
# its latency histogram; locust waits 60 s. 10 s keeps a slow reply a latency within any
# trial, for 80 MB of address space (one µs counter per value; untouched pages stay free).
TIMEOUT_S = 10
GRACE_S = GRACE_SECONDS  # past the run time before a silent wrk is killed
_LINE = re.compile(r"^wrk-report (\w+) (\S+)\s*$", re.MULTILINE)
_PERCENTILES = ("p50_us", "p90_us", "p99_us", "p999_us", "p9999_us")
_ERRORS = ("errors_connect", "errors_read", "errors_write", "errors_status", "errors_timeout")
_FIELDS = (*_PERCENTILES, "max_us", "mean_us", "requests", "duration_us", "bytes", *_ERRORS)


@dataclass(frozen=True, slots=True)
class WrkRequest:
    """What wrk sends in a scenario: the same GET, with the same headers, every time."""

    path: str
    headers: tuple[str, ...] = ()


WRK_SCENARIOS: dict[str, WrkRequest] = {
    "small": WrkRequest(PAGE),
    "close": WrkRequest(PAGE, ("Connection: close",)),
    "large": WrkRequest(LARGE),
}


def unsupported(scenario: str) -> str | None:
    """None if wrk can run `scenario`; else why not, in one line (`bench.plan.axes`)."""
    return wrk_unsupported(scenario)


class WrkEngine:
    """wrk, one thread, its connections as the cell's users; the closed model only."""

    name = WRK

    def unavailable(self) -> str | None:
        """Why wrk cannot run here, or None."""
        return None if find_wrk() else "engine wrk needs the wrk binary (apt-get install wrk)"

    def version(self) -> str | None:
        """`wrk -v`'s first words, or None when it is not installed."""
        binary = find_wrk()
        return wrk_version(binary) if binary is not None else None

    def workers(self, plan: LoadPlan) -> int:
        """wrk has no workers: one process, one thread."""
        return 0

    def processes(self, plan: LoadPlan) -> int:
        """One wrk process."""
        return 1

    def run(self, plan: LoadPlan, url: str, window: Window) -> Measured:
        """The trial's scenario at `url`, its connections the cell's users."""
        cell = plan.trial.cell
        return run_wrk_trial(
            cell.scenario, url, plan.raw, duration=plan.duration, warmup=plan.warmup,
            connections=cell.users, cpus=plan.cpus, window=window,
        )  # fmt: skip


def run_wrk_trial(
    scenario: str,
    url: str,
    raw: Path,
    *,
    duration: int,
    warmup: int,
    connections: int,
    cpus: tuple[int, ...] | None,
    window: Window,
) -> Measured:
    """Warm up, then measure `scenario` at `url` with one wrk thread; raises WrkError.

    wrk's output goes to `raw` (wrk-warmup.txt, wrk.txt, and their .stderr files). The
    window opens as the measured wrk starts and closes once it has exited.
    """
    reason = unsupported(scenario)
    if reason is not None:
        raise WrkError(reason)
    binary = find_wrk()
    if binary is None:
        raise WrkError("wrk is not installed (apt install wrk)")
    request = WRK_SCENARIOS[scenario]
    target = url.rstrip("/") + request.path

    def command(seconds: int) -> list[str]:
        return wrk_command(
            binary, target, duration=seconds, connections=connections,
            headers=request.headers, script=REPORT_SCRIPT, timeout=TIMEOUT_S,
        )  # fmt: skip

    raw.mkdir(parents=True, exist_ok=True)
    if warmup > 0:
        _run(command(warmup), raw / "wrk-warmup.txt", cpus, warmup, None)
    return parse_report(_run(command(duration), raw / "wrk.txt", cpus, duration, window))


def _run(
    command: list[str], out: Path, cpus: tuple[int, ...] | None, seconds: int, window: Window | None
) -> str:
    """Run wrk to its end (killed by PID `seconds` + grace after it started); its stdout.

    `window`, if given, opens once wrk has started and closes once it is gone, whatever
    happened: the runner's samplers never outlive the load.
    """
    with out.open("w") as stdout, out.with_suffix(".stderr").open("w+") as stderr:
        process = _start(command, stdout, stderr, cpus)
        opened: Window | None = None
        try:
            if window is not None:
                window.begin([process.pid])
                opened = window
            code = _wait(process, seconds + GRACE_S)
        finally:
            _stop(process)
            if opened is not None:
                opened.end()
        stderr.seek(0)
        problem = stderr.read().strip()
    text = out.read_text(errors="replace")
    if code != 0:
        said = (problem or text.strip() or "nothing").splitlines()[-1]
        raise WrkError(f"wrk exited {code}: {said}")
    return text


def run_wrk(
    binary: str,
    url: str,
    *,
    duration: int,
    connections: int,
    headers: Sequence[str] = (),
    cpus: Sequence[int] | None = None,
) -> WrkResult:
    """One plain wrk run (pinned to `cpus` if given, killed if it outlives the run by the
    grace), read from wrk's own text output; raises WrkError."""
    command = wrk_command(binary, url, duration=duration, connections=connections, headers=headers)
    pin = tuple(cpus) if cpus else None
    with tempfile.TemporaryDirectory(prefix="staticbench-wrk-") as directory:
        return parse_wrk(_run(command, Path(directory) / "wrk.txt", pin, duration, None))


def _start(
    command: list[str], stdout: IO[str], stderr: IO[str], cpus: tuple[int, ...] | None
) -> subprocess.Popen[bytes]:
    """wrk, pinned to `cpus` in the child before it runs; WrkError if it cannot start."""
    pin = list(cpus) if cpus else None
    try:
        return subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr,
            preexec_fn=(lambda: os.sched_setaffinity(0, pin)) if pin else None,
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError) as error:  # e.g. a CPU we may not use
        raise WrkError(f"wrk did not start: {error}") from None


def _wait(process: subprocess.Popen[bytes], limit: float) -> int:
    """wrk's exit code; WrkError if it still runs after `limit` seconds."""
    try:
        return process.wait(limit)
    except subprocess.TimeoutExpired:
        raise WrkError(f"wrk still running {limit:g} s after it started; killed") from None


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Kill wrk by its PID if it still runs, and reap it."""
    if process.poll() is None:
        process.kill()
    process.wait()


def parse_report(text: str) -> Measured:
    """The figures `wrk_report.lua` printed; WrkError if a line is missing or no reply came.

    Every completed reply is in wrk's histogram except one slower than its timeout (then a
    timeout error, i.e. a failure), so the histogram's count is the request count.
    """
    values = _report_values(text)
    requests, seconds = values["requests"], values["duration_us"] / 1e6
    if requests <= 0 or seconds <= 0:
        errors = ", ".join(f"{name[7:]} {values[name]:g}" for name in _ERRORS)
        raise WrkError(f"wrk completed no request in {seconds:g} s (errors: {errors})")
    ms = {name: values[name] / 1000.0 for name in (*_PERCENTILES, "max_us", "mean_us")}
    return Measured(
        requests=requests, failures=sum(values[name] for name in _ERRORS),
        requests_per_s=requests / seconds, mean_ms=ms["mean_us"], p50_ms=ms["p50_us"],
        p90_ms=ms["p90_us"], p99_ms=ms["p99_us"], p999_ms=ms["p999_us"], max_ms=ms["max_us"],
        bytes_per_s=values["bytes"] / seconds, window_s=seconds,
        latency=LatencySummary(
            hdr_count=int(requests), hdr_p50_us=values["p50_us"], hdr_p90_us=values["p90_us"],
            hdr_p99_us=values["p99_us"], hdr_p999_us=values["p999_us"],
            hdr_p9999_us=values["p9999_us"], hdr_max_us=values["max_us"],
        ),
    )  # fmt: skip


def _report_values(text: str) -> dict[str, float]:
    """The report's name → value; WrkError naming what is missing or not a number."""
    values: dict[str, float] = {}
    for name, value in _LINE.findall(text):
        try:
            values[name] = float(value)
        except ValueError:
            raise WrkError(f"wrk report line {name!r} has no number: {value!r}") from None
    missing = [name for name in _FIELDS if name not in values]
    if missing:
        raise WrkError(f"wrk report lacks {', '.join(missing)} ({REPORT_SCRIPT.name} not run?)")
    return values
