"""`python -m bench run` as a person runs it: real servers, real locust, on 127.0.0.1.

A tiny matrix runs end to end into a run directory (results, run.json, raw locust files,
`latest`); a failed trial is recorded and the run goes on (exit 1); two locust workers give
one merged row; a bad option is one line on stderr, exit 2, and no run directory.
"""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil
import pytest

from bench.engines.locust.latency import merge_directory, process_totals
from bench.plan.matrix import CLOSED, equal_target
from bench.results.table import CSV_NAME, FAILED, OK, SCHEMA_VERSION, read_results
from bench.targets.process import PinnedProcess
from server.variants import VARIANTS
from tests.bench.run.test_runner import Descendants
from tests.conftest import PROJECT

# Any one `python -m bench run` here; a hung run is killed, not waited for. Margin: two
# 10 s trials and the report, whose build took over 60 s on a busy machine (90 s was
# exceeded by a two-trial run while other suites shared the machine).
RUN_LIMIT_S = 180.0
TINY = ["--users", "2", "--repeat", "1", "--equal-load", "0"]


def run_bench(args: Sequence[str], limit: float = RUN_LIMIT_S) -> subprocess.CompletedProcess[str]:
    """`python -m bench ARGS` from the project root; killed with all it started past `limit`."""
    process = subprocess.Popen(
        [sys.executable, "-m", "bench", *args], cwd=PROJECT, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        stdout, stderr = process.communicate(timeout=limit)
    except BaseException:
        started = psutil.Process(process.pid).children(recursive=True)
        process.kill()
        for child in started:
            if child.is_running():
                child.kill()
        process.communicate()
        raise
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def run_directory(out: Path) -> Path:
    """The one run directory under `out`, which `out/latest` must point at."""
    runs = [path for path in out.iterdir() if path.is_dir() and not path.is_symlink()]
    assert len(runs) == 1, runs
    assert (out / "latest").is_symlink()
    assert (out / "latest").resolve() == runs[0].resolve()
    return runs[0]


def aggregated_request_count(stats: Path) -> int:
    """The Aggregated "Request Count" of a raw locust_stats.csv."""
    with stats.open(newline="", encoding="utf-8") as file:
        rows = [row for row in csv.DictReader(file) if row["Name"] == "Aggregated"]
    assert len(rows) == 1, rows
    return int(rows[0]["Request Count"])


def locust_bucket(ms: float) -> float:
    """Locust's rounding of a response time into its percentile buckets (~2 digits)."""
    for limit, digits in ((100, 0), (1000, -1), (10000, -2)):
        if ms < limit:
            return round(ms, digits)
    return round(ms, -3)


def test_tiny_run_end_to_end(tmp_path: Path) -> None:
    out = tmp_path / "reports"
    args = ["run", "--variants", "asyncio", "--cache", "on", "--scenarios", "small"]
    args += ["--users", "5", "--duration", "2", "--warmup", "1", "--repeat", "1"]
    with Descendants() as children:
        done = run_bench([*args, "--out", str(out)])
    assert done.returncode == 0, done.stdout + done.stderr
    assert not children.alive()
    assert children.matching("-m server"), "no server was started"
    own = VARIANTS["asyncio"].readers[0]
    assert children.matching(f"--reader {own}"), "the server was not told its reader"

    directory = run_directory(out)
    assert (directory / CSV_NAME).is_file()
    assert not list(directory.glob("*.parquet"))  # one table format

    record = json.loads((directory / "run.json").read_text(encoding="utf-8"))
    assert re.fullmatch(r"[0-9a-f]{40}", record["git"]["commit"])
    assert record["python"] == ".".join(map(str, sys.version_info[:3]))
    assert record["packages"]["locust"]
    assert record["machine"]["cpu_count"] >= 1
    assert record["settings"]["matrix"]["scenarios"] == ["small"]
    assert record["settings"]["runner"]["duration"] == 2
    assert "--scenarios small" in record["command"]
    assert record["started_at"] <= record["finished_at"]
    assert record["interrupted"] is False

    raw = directory / "raw" / "asyncio-on-small-u5-lean-r1"
    for name in ("locust_stats.csv", "locust_stats_history.csv", "locust_failures.csv"):
        assert (raw / name).is_file(), name

    results = read_results(directory)
    assert list(results["load"]) == [CLOSED, "equal50%"]  # the equal load follows by default
    assert (results["status"] == OK).all(), list(results["reason"])
    row, equal = results.iloc[0], results.iloc[1]
    assert equal["target_rps"] == equal_target("equal50%", [row["requests_per_s"]])
    assert 0 < equal["target_rps"] <= row["requests_per_s"] / 2
    assert row["schema_version"] == SCHEMA_VERSION
    assert (row["variant"], row["cache"], row["scenario"], row["users"]) == (
        "asyncio", "on", "small", 5,
    )  # fmt: skip
    assert (row["style"], row["loop"], row["reader"], row["default_reader"]) == (
        "protocol", "asyncio", own, own,
    )  # fmt: skip
    assert row["requests"] > 0
    assert row["requests_per_s"] > 0
    assert row["failures"] == 0
    assert row["window_s"] > 0
    assert row["overhead_s"] >= 0
    # p50/p99 are locust's bucketed values (~2 digits); the max is exact.
    assert row["p50_ms"] <= row["p99_ms"] <= locust_bucket(row["max_ms"])
    assert row["requests"] == aggregated_request_count(raw / "locust_stats.csv")

    assert "[2/2]" in done.stdout
    assert re.search(r"[\d,]+ req/s", done.stdout), done.stdout
    assert re.search(r"req/s \(median\).*trials ok", done.stdout), done.stdout
    summary_row = r"small\s+5\s+locust\s+lean\s+closed\s+asyncio\s+on\s+[\d,]+\s+—\s+\S+\s+0\s+"
    assert re.search(summary_row + r"(generator-bound\s+)?1/1", done.stdout), done.stdout
    # Locust's own summary table and logging go to the raw directory, never to stdout.
    for chatter in ("Aggregated", "Response time percentiles", "locust.main"):
        assert chatter not in done.stdout
    assert "Aggregated" in (raw / "locust.stderr").read_text(encoding="utf-8")


def test_a_failed_trial_is_recorded_and_the_run_goes_on(
    tmp_path: Path, original_blog: PinnedProcess
) -> None:
    """The original post's server fails the conformance gate: every trial is recorded as
    failed with the gate's reasons, the run still goes through all of them, then exit 1."""
    out = tmp_path / "reports"
    args = ["run", "--host", original_blog.url, "--scenarios", "large,small", *TINY]
    with Descendants() as children:
        done = run_bench([*args, "--duration", "1", "--warmup", "0", "--out", str(out)])
    assert done.returncode == 1, done.stdout + done.stderr
    assert not children.alive()
    assert not children.matching("-m server"), "--host must start no server"
    assert "[2/2]" in done.stdout  # the run went on after the first failure

    results = read_results(run_directory(out))
    assert list(results["scenario"]) == ["large", "small"]
    assert list(results["status"]) == [FAILED, FAILED]
    for _, failed in results.iterrows():
        assert "conformance gate" in failed["reason"]
        assert "expected 404" in failed["reason"]  # the post's 200 for a missing file
        assert failed["requests"] != failed["requests"]  # NaN: no measurement, never a zero


def test_two_workers_give_one_merged_row(tmp_path: Path) -> None:
    """`--load-workers 2`: a master and two forked workers; the master's totals are the row.

    The master sees worker reports every 3 s, so the window needs several seconds.
    """
    out = tmp_path / "reports"
    args = ["run", "--variants", "asyncio", "--cache", "on", "--scenarios", "small", *TINY]
    args += ["--users", "4", "--duration", "6", "--warmup", "1", "--load-workers", "2"]
    args += ["--equal-load", "50"]  # TINY turns it off; the merged equal-load row is checked too
    with Descendants() as children:
        done = run_bench([*args, "--out", str(out)])
    assert done.returncode == 0, done.stdout + done.stderr
    assert not children.alive(), "a locust worker or the server outlived the run"
    assert len(children.matching("locust")) >= 3, "expected a master and two workers"
    assert children.listening, "the server and the master must have listened"
    assert {host for host, _ in children.listening} == {"127.0.0.1"}, children.listening

    directory = run_directory(out)
    results = read_results(directory)
    assert list(results["load"]) == [CLOSED, "equal50%"]  # the equal load follows by default
    assert (results["status"] == OK).all(), list(results["reason"])
    row, equal = results.iloc[0], results.iloc[1]
    assert equal["target_rps"] == equal_target("equal50%", [row["requests_per_s"]])
    assert 0 < equal["target_rps"] <= row["requests_per_s"] / 2
    assert row["load_workers"] == 2
    assert row["requests"] > 0
    assert row["window_s"] > 0
    # The processes' own counts since their own warm-up resets, as in their histograms; not
    # the master's CSV, which under load counted 10,912 against the workers' 9,719 (warm-up
    # reports arriving after its reset) or misses the workers' last reports.
    hdr = directory / "raw" / "asyncio-on-small-u4-lean-r1" / "hdr"
    assert row["requests"] == process_totals(hdr)[0] == merge_directory(hdr).get_total_count()


BAD_OPTIONS = {
    "unknown-variant": ["--variants", "asyncio,nginx2"],
    "unknown-scenario": ["--scenarios", "small,huge"],
    "cache-maybe": ["--cache", "maybe"],
    "zero-users": ["--users", "0"],
    "duration-abc": ["--duration", "abc"],
    "server-cpu-99": ["--server-cpus", "99"],
    "quick-and-full": ["--quick", "--full"],
    "ftp-host": ["--host", "ftp://x"],
    "unknown-engine": ["--engine", "ab"],
    "unknown-client": ["--client", "lean,requests"],
    "unknown-peer": ["--peers", "nginx,apache"],
    "zero-rate": ["--rate", "0"],
    "equal-load-over-95": ["--equal-load", "200"],
    "peers-with-host": ["--peers", "aiohttp", "--host", "http://127.0.0.1:9"],
    "wrk-cannot-run-any": ["--engine", "wrk", "--scenarios", "mixed"],
}


@pytest.fixture(scope="module")
def rejected(
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, tuple[subprocess.CompletedProcess[str], Path]]:
    """Every bad command line, run at once; each with the --out it was given."""
    base = tmp_path_factory.mktemp("rejected")

    def run(name: str) -> tuple[subprocess.CompletedProcess[str], Path]:
        out = base / name
        return run_bench(["run", *BAD_OPTIONS[name], "--out", str(out)], limit=30), out

    # One at a time per CPU: all at once made every one of them take 30 s on a busy 2-core
    # machine when each imported pandas (~3 s); now none does (see the test below).
    with ThreadPoolExecutor(len(os.sched_getaffinity(0))) as pool:
        return dict(zip(BAD_OPTIONS, pool.map(run, BAD_OPTIONS), strict=True))


@pytest.mark.parametrize("name", list(BAD_OPTIONS))
def test_bad_options_are_one_line_and_exit_2(
    rejected: dict[str, tuple[subprocess.CompletedProcess[str], Path]], name: str
) -> None:
    done, out = rejected[name]
    assert done.returncode == 2, done.stdout + done.stderr
    assert len(done.stderr.splitlines()) == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert "error" in done.stderr
    assert not out.exists(), "a rejected command created a run directory"


CHECK_WITHOUT_PANDAS = """
import sys
from bench.run.cli import main
try:
    code = main(sys.argv[1:])
except SystemExit as exited:
    code = exited.code
print(code, "pandas" in sys.modules)
"""


@pytest.mark.parametrize("name", ["unknown-variant", "peers-with-host", "wrk-cannot-run-any"])
def test_a_bad_command_line_is_answered_before_pandas_is_imported(name: str) -> None:
    # pandas takes seconds to import on a busy machine: a typo must not wait for it.
    args = ["run", *BAD_OPTIONS[name]]
    done = subprocess.run([sys.executable, "-c", CHECK_WITHOUT_PANDAS, *args], cwd=PROJECT,
                          capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    last = done.stdout.splitlines()[-1:]  # after any "not measured" lines
    assert [line.split() for line in last] == [["2", "False"]], done.stdout + done.stderr
