"""Where and with what a benchmark ran: CPU, cores, commit, tool and library versions.

It only reads the environment (/proc/cpuinfo, git, `nginx -v`, `wrk -v`, package
metadata); a tool that is missing is recorded as "not installed", never an error.
"""

from __future__ import annotations

import contextlib
import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path

from bench.nginx import nginx_version
from bench.wrk import wrk_version

MISSING = "not installed"


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


def versions(wrk: str | None, nginx: str | None) -> dict[str, str]:
    """Python, nginx, wrk and uvloop versions (MISSING for what is absent)."""
    found = {
        "python": platform.python_version(),
        "nginx": nginx_version(nginx) if nginx else MISSING,
        "wrk": wrk_version(wrk) if wrk else MISSING,
        "uvloop": MISSING,
    }
    with contextlib.suppress(metadata.PackageNotFoundError):
        found["uvloop"] = metadata.version("uvloop")
    return found
