"""What wrk is to the bench: its binary, its version, its command line, its text output.

It owns the wrk command line (always `--latency`, one thread) and the parser for its text
output; running it (pinned to a CPU, bounded in time) is `bench.engines.wrk.engine`'s.
Every failure wrk reports — socket errors (connect/read/write/timeout) and non-2xx/3xx
responses — is kept, never dropped.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.engines.interface import EngineError

_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}
_PERCENTILE = re.compile(r"^\s*(\d+(?:\.\d+)?)%\s+(\d+(?:\.\d+)?)(us|ms|s|m|h)\s*$", re.M)
_REQUESTS = re.compile(r"^\s*(\d+) requests in (\d+(?:\.\d+)?)(us|ms|s|m|h),", re.M)
_RATE = re.compile(r"^Requests/sec:\s+(\d+(?:\.\d+)?)\s*$", re.M)
_SOCKET_ERRORS = re.compile(
    r"^\s*Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)\s*$", re.M
)
_NON_2XX_3XX = re.compile(r"^\s*Non-2xx or 3xx responses: (\d+)\s*$", re.M)
# Beyond the run itself: wrk's startup, and its own socket timeout draining at the end.
GRACE_SECONDS = 30.0


class WrkError(EngineError, RuntimeError):
    """wrk failed, timed out, or printed something this parser does not understand."""


@dataclass(frozen=True, slots=True)
class WrkResult:
    """One wrk run: throughput, latency percentiles (ms) and every error it counted."""

    requests: int
    seconds: float
    requests_per_s: float
    percentiles_ms: dict[float, float]
    connect_errors: int = 0
    read_errors: int = 0
    write_errors: int = 0
    timeout_errors: int = 0
    non_2xx_3xx: int = 0

    @property
    def p50_ms(self) -> float:
        """Median latency in milliseconds."""
        return self.percentiles_ms[50.0]

    @property
    def p99_ms(self) -> float:
        """99th percentile latency in milliseconds."""
        return self.percentiles_ms[99.0]

    @property
    def socket_errors(self) -> int:
        """connect + read + write + timeout errors."""
        return self.connect_errors + self.read_errors + self.write_errors + self.timeout_errors

    @property
    def errors(self) -> int:
        """Socket errors plus non-2xx/3xx responses."""
        return self.socket_errors + self.non_2xx_3xx


def _to_ms(value: str, unit: str) -> float:
    return float(value) * _UNIT_MS[unit]


def parse_wrk(text: str) -> WrkResult:
    """Parse `wrk --latency` output; raises WrkError when a required line is missing."""
    rate = _RATE.search(text)
    total = _REQUESTS.search(text)
    percentiles = {float(p): _to_ms(v, u) for p, v, u in _PERCENTILE.findall(text)}
    if rate is None or total is None:
        raise WrkError(f"no 'Requests/sec' or 'requests in' line in wrk output:\n{text}")
    if 50.0 not in percentiles or 99.0 not in percentiles:
        raise WrkError(f"no latency distribution (was --latency given?) in wrk output:\n{text}")
    socket_errors = _SOCKET_ERRORS.search(text)
    connect, read, write, timeout = map(int, socket_errors.groups()) if socket_errors else (0,) * 4
    non_2xx = _NON_2XX_3XX.search(text)
    return WrkResult(
        requests=int(total.group(1)),
        seconds=_to_ms(total.group(2), total.group(3)) / 1000.0,
        requests_per_s=float(rate.group(1)),
        percentiles_ms=percentiles,
        connect_errors=connect,
        read_errors=read,
        write_errors=write,
        timeout_errors=timeout,
        non_2xx_3xx=int(non_2xx.group(1)) if non_2xx else 0,
    )


def find_wrk() -> str | None:
    """Path of the wrk binary, or None when it is not installed."""
    return shutil.which("wrk")


def wrk_version(binary: str) -> str:
    """First words of `wrk -v`, e.g. 'wrk debian/4.1.0-3+b2 [epoll]'."""
    done = subprocess.run([binary, "-v"], capture_output=True, text=True, timeout=10, check=False)
    first = (done.stdout or done.stderr).splitlines()[:1]
    return first[0].split(" Copyright")[0].strip() if first else "unknown"


def wrk_command(
    binary: str,
    url: str,
    *,
    duration: int,
    connections: int,
    headers: Sequence[str] = (),
    script: Path | None = None,
    timeout: int | None = None,
) -> list[str]:
    """The command line: one thread, `connections` connections, `--latency`.

    wrk takes whole seconds only ("-d1.5s" is a usage error). `script` is a Lua file
    (`-s`), `timeout` wrk's per-request timeout in seconds (its default is 2).
    """
    command = [binary, "-t1", f"-c{connections}", f"-d{duration}s", "--latency"]
    if timeout is not None:
        command += ["--timeout", f"{timeout}s"]
    if script is not None:
        command += ["-s", str(script)]
    for header in headers:
        command += ["-H", header]
    return [*command, url]
