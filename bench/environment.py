"""The record of where and how a run was made: `run.json` beside the results table.

Only reads the machine (git, /proc, package metadata); written once at the start of a
run and completed at its end, so even an interrupted run says what it was.
"""

from __future__ import annotations

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

from bench.machine import cpu_model
from bench.peers import PEERS
from bench.results import SCHEMA_VERSION
from bench.wrk import find_wrk, wrk_version

PROJECT = Path(__file__).resolve().parent.parent
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


def tools(peers: Sequence[str], engines: Sequence[str]) -> dict[str, str]:
    """Versions of the reference peers and of wrk when the run uses them."""
    found = {name: PEERS[name].describe() for name in peers}
    binary = find_wrk() if "wrk" in engines else None
    if binary is not None:
        found["wrk"] = wrk_version(binary)
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
