"""The `mixed` scenario really exercises conditional requests: its revisits come back 304
from our server (a broken ETag round trip would leave the "(304)" rows empty)."""

from __future__ import annotations

import csv
import subprocess
from pathlib import Path

from tests.bench.engines.test_latency import LOCUST
from tests.conftest import PROJECT
from tests.serverchecks import checked_server


def stats_rows(prefix: Path) -> dict[str, dict[str, str]]:
    """locust's final _stats.csv, by request name."""
    with Path(f"{prefix}_stats.csv").open(newline="", encoding="utf-8") as file:
        return {row["Name"]: row for row in csv.DictReader(file)}


def test_mixed_revisits_get_304s(tmp_path: Path) -> None:
    prefix = tmp_path / "mixed"
    argv = [
        LOCUST, "-f", "bench/engines/locust/scenarios/mixed.py", "--headless",
        "-u", "2", "-r", "2", "-t", "3s",
        "--only-summary", "--loglevel", "WARNING", "--csv", str(prefix),
    ]  # fmt: skip
    with checked_server(["--root", str(PROJECT / "static")]) as server:
        done = subprocess.run(
            [*argv, "--host", server.url], cwd=PROJECT, capture_output=True, text=True, timeout=90
        )
    assert done.returncode == 0, done.stderr[-2000:]
    rows = stats_rows(prefix)
    conditional = {name: row for name, row in rows.items() if name.endswith(" (304)")}
    assert conditional, f"no conditional request was sent: {sorted(rows)}"
    assert sum(int(row["Request Count"]) for row in conditional.values()) > 0
    assert all(row["Failure Count"] == "0" for row in rows.values()), rows["Aggregated"]
