"""scripts/client_rates.py refuses a bad server or scenario name with one line, exit 2,
before it starts anything."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import PROJECT


@pytest.mark.parametrize(
    ("option", "value"), [("--servers", "nginx,apache"), ("--scenarios", "small,huge")]
)
def test_a_bad_name_is_one_line_and_exit_2(option: str, value: str) -> None:
    done = subprocess.run(
        [sys.executable, "scripts/client_rates.py", option, value],
        cwd=PROJECT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2
    assert "unknown server or scenario" in done.stderr
    assert "Traceback" not in done.stderr
    assert "| server |" not in done.stdout  # nothing was measured
