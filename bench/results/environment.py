"""The record of where and how a benchmark ran: `run.json` beside the results table, and the
machine lines `bench.perf` prints.

Only reads the machine (git, /proc, package metadata); written once at the start of a
run and completed at its end, so even an interrupted run says what it was. Versions of
external tools (nginx, wrk, the peers) are given by the caller, who knows which it used:
this module starts no program but git. A missing tool is "not installed", never an error.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import shlex
import subprocess
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from bench.results.table import SCHEMA_VERSION

PROJECT = Path(__file__).resolve().parents[2]
MISSING = "not installed"
PACKAGES = ("locust", "uvloop", "aiofile", "pandas", "psutil", "matplotlib")
RUN_JSON = "run.json"


def utc_now() -> str:
    """The current time, UTC, ISO 8601 to the second."""
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def git_state(project: Path = PROJECT) -> dict[str, Any]:
    """The commit and whether the work tree had uncommitted changes."""

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(
                ["git", "-C", str(project), *args], capture_output=True, text=True, timeout=10
            )
        except OSError:
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    status = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": git("rev-parse", "HEAD"), "dirty": None if status is None else bool(status)}


def package_versions() -> dict[str, str | None]:
    """Versions of the packages that shape the figures (None: not installed)."""
    found: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return found


def describe_run(
    argv: Sequence[str], settings: dict[str, Any], tool_versions: dict[str, str] | None = None
) -> dict[str, Any]:
    """Everything a reader needs to judge the figures, settings included."""
    return {
        "schema_version": SCHEMA_VERSION,
        "started_at": utc_now(),
        "finished_at": None,
        "command": shlex.join([sys.executable, "-m", "bench", *argv]),
        "git": git_state(),
        "python": platform.python_version(),
        "packages": package_versions(),
        "tools": tool_versions or {},
        "machine": {
            "cpu_model": cpu_model(),
            "cpu_count": os.cpu_count(),
            "usable_cpus": sorted(os.sched_getaffinity(0)),
            "kernel": platform.release(),
            "load_average_at_start": os.getloadavg()[0],
        },
        "settings": settings,
    }


def write_run_json(directory: Path, record: dict[str, Any]) -> Path:
    """Write (or rewrite) `run.json`."""
    path = directory / RUN_JSON
    path.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return path


def cpu_model() -> str:
    """The CPU's model name, as /proc/cpuinfo says."""
    with contextlib.suppress(OSError), open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def commit(project: Path) -> str:
    """`git describe --always --dirty` of the project, or 'unknown'."""
    try:
        done = subprocess.run(
            ["git", "-C", str(project), "describe", "--always", "--dirty"],
            capture_output=True, text=True, timeout=10, check=False,
        )  # fmt: skip
    except OSError:
        return "unknown"
    return done.stdout.strip() or "unknown"


def machine_info(project: Path) -> dict[str, str]:
    """CPU model, core count, usable CPUs, commit and load average at the start."""
    return {
        "cpu": cpu_model(),
        "cores": str(os.cpu_count()),
        "usable cpus": ",".join(map(str, sorted(os.sched_getaffinity(0)))),
        "commit": commit(project),
        "load avg (start)": load_average(),
    }


def load_average() -> str:
    """The 1-minute load average: other work on the machine makes every figure noisier."""
    return f"{os.getloadavg()[0]:.2f}"


def versions(tools: dict[str, str]) -> dict[str, str]:
    """Python, the given tools' version lines (e.g. nginx, wrk) and uvloop (MISSING if absent)."""
    found = {"python": platform.python_version(), **tools, "uvloop": MISSING}
    with contextlib.suppress(metadata.PackageNotFoundError):
        found["uvloop"] = metadata.version("uvloop")
    return found
