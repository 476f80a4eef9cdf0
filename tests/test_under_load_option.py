"""`--under-load` itself: the per-test hang guard grows with the load it adds."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import PROJECT, UNDER_LOAD_TIMEOUT_FACTOR

PROBE = """
def test_probe(request):
    print("timeout", request.config._env_timeout)
"""


def run_probe(tmp_path: Path, *options: str) -> str:
    """pytest on one probe test, with our conftest as a plugin; the probe's printed line."""
    probe = tmp_path / "test_probe.py"
    probe.write_text(PROBE)
    argv = [
        sys.executable, "-m", "pytest", "-q", "-s", "-p", "tests.conftest", "-p", "no:randomly",
        "--rootdir", str(tmp_path), "--timeout", "7", *options, str(probe),
    ]  # fmt: skip
    done = subprocess.run(argv, cwd=PROJECT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return next(line for line in done.stdout.splitlines() if "timeout" in line)


def test_under_load_the_per_test_timeout_grows(tmp_path: Path) -> None:
    assert run_probe(tmp_path).startswith("timeout 7.0")
    grown = 7.0 * UNDER_LOAD_TIMEOUT_FACTOR
    assert run_probe(tmp_path, "--under-load").startswith(f"timeout {grown}")
