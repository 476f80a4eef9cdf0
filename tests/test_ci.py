"""CI cannot be green by accident: the scripts `.ci/run` and the workflow share, and the
rule that a missing tool fails a test under CI=true instead of skipping it."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest

import tests.conftest as shared
from tests.conftest import PROJECT

CI_DIR = PROJECT / ".ci"


def run_dir(tmp_path: Path, statuses: list[str], report: bool = True) -> Path:
    """A run directory with a results.csv of these trial statuses (and a report)."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    with (tmp_path / "results.csv").open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["variant", "status", "reason", "requests_per_s"])
        for n, status in enumerate(statuses):
            writer.writerow(["uvloop", status, "" if status == "ok" else f"why {n}", 100.0])
    if report:
        (tmp_path / "report.html").write_text("<html></html>")
    return tmp_path


def verdict(directory: Path, exit_code: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(CI_DIR / "bench_verdict.py"), str(directory), str(exit_code)],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip


def test_a_benchmark_where_every_trial_failed_fails_ci(tmp_path: Path) -> None:
    done = verdict(run_dir(tmp_path, ["failed"] * 3), 1)
    assert done.returncode == 1
    assert done.stderr.strip() == "CI: every one of 3 benchmark trials failed; first: why 0"


def test_a_few_failed_trials_pass_with_their_count(tmp_path: Path) -> None:
    done = verdict(run_dir(tmp_path, ["ok", "failed", "ok", "failed", "ok"]), 1)
    assert done.returncode == 0
    assert done.stdout.startswith("CI: WARNING: 2 of 5 benchmark trials failed")


def test_a_clean_run_passes(tmp_path: Path) -> None:
    done = verdict(run_dir(tmp_path, ["ok", "ok"]), 0)
    assert (done.returncode, done.stdout.strip()) == (0, "CI: all 2 benchmark trials passed")


@pytest.mark.parametrize(
    ("statuses", "report", "exit_code", "says"),
    [
        (None, True, 1, "wrote no"),
        (["ok"], False, 0, "report was not built"),
        ([], True, 0, "ran no trial"),
        (["ok", "ok"], True, 1, "exited 1 although every trial passed"),  # a crash after them
    ],
    ids=["no-results", "no-report", "no-trials", "crash-after-trials"],
)
def test_a_run_that_did_not_finish_fails_ci(
    tmp_path: Path, statuses: list[str] | None, report: bool, exit_code: int, says: str
) -> None:
    directory = tmp_path if statuses is None else run_dir(tmp_path, statuses, report)
    done = verdict(directory, exit_code)
    assert done.returncode == 1
    assert says in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def tools_check(tmp_path: Path, ci: bool) -> subprocess.CompletedProcess[str]:
    """`.ci/tools --check` with a PATH holding only bash: no chromium, no wrk."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    bash = subprocess.run(["bash", "-c", "command -v bash"], capture_output=True, text=True)
    (bin_dir / "bash").symlink_to(bash.stdout.strip())
    env = {"PATH": str(bin_dir), **({"CI": "true"} if ci else {})}
    return subprocess.run(
        [str(bin_dir / "bash"), str(CI_DIR / "tools"), "--check"],
        capture_output=True, text=True, timeout=30, check=False, env=env,
    )  # fmt: skip


def test_a_missing_tool_fails_ci_with_one_line(tmp_path: Path) -> None:
    done = tools_check(tmp_path, ci=True)
    assert done.returncode == 1
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("CI: chromium ")
    assert "wrk not installed, and CI=true needs them" in line


def test_a_missing_tool_outside_ci_only_says_what_will_skip(tmp_path: Path) -> None:
    done = tools_check(tmp_path, ci=False)
    assert done.returncode == 0
    assert "the tests that need them will skip" in done.stdout


def test_require_tool_skips_locally_and_fails_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(shared.TOOLS, "wrk", lambda: None)
    monkeypatch.setattr(shared, "ON_CI", False)
    with pytest.raises(pytest.skip.Exception, match="wrk is not installed"):
        shared.require_tool("wrk")
    monkeypatch.setattr(shared, "ON_CI", True)
    with pytest.raises(pytest.fail.Exception, match="CI=true: wrk is not installed"):
        shared.require_tool("wrk")


def test_the_ci_workflow_is_valid_and_applies_the_same_rules_as_ci_run() -> None:
    yaml = pytest.importorskip("yaml", reason="PyYAML is not installed")
    document = yaml.safe_load((PROJECT / ".github" / "workflows" / "ci.yml").read_text())
    triggers = document.get("on", document.get(True))  # YAML 1.1 reads a bare `on` as True
    assert {"push", "pull_request"} <= set(triggers)
    (job,) = document["jobs"].values()
    assert job["runs-on"] == "ubuntu-latest"
    steps = job["steps"]
    for step in steps:
        assert ("uses" in step) != ("run" in step), step
    runs = [step["run"].strip() for step in steps if "run" in step]
    ci_run = [
        line.strip()
        for line in (CI_DIR / "run").read_text().splitlines()
        if line.strip() and not line.startswith(("#", "set ", "cd "))
    ]
    assert ci_run == [".ci/tools", "python3 -m pip install nox && nox -s lint tests", ".ci/bench"]
    assert runs[:3] == ci_run  # the same three steps, in the same order
    assert "GITHUB_STEP_SUMMARY" in " ".join(runs)
    assert any(step.get("uses", "").startswith("actions/upload-artifact") for step in steps)
    python = next(s for s in steps if s.get("uses", "").startswith("actions/setup-python"))
    assert python["with"]["python-version"] == "3.11"


def test_the_ci_scripts_are_executable() -> None:
    for name in ("run", "tools", "bench"):
        assert os.access(CI_DIR / name, os.X_OK), name
