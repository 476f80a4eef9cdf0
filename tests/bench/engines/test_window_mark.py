"""The server's cost window opens when locust says its warm-up is over, not at a guess.

The runner used to open it a fixed 1 s (locust's start-up, guessed) plus the warm-up after
starting locust; on a loaded machine locust's imports alone can take longer, so the server
was sampled over seconds in which no measured request ran (a NaN cost, seen under
`--under-load`). Locust now writes the moment it forgot its warm-up to a mark file.
"""

from __future__ import annotations

import json
from pathlib import Path

from bench.engines.locust.processes import (
    LOCUST_STARTUP_S,
    MEASURE_TAIL_S,
    LoadRun,
    locust_command,
)
from bench.plan.matrix import Cell, Trial
from tests.conftest import PROJECT
from tests.serverchecks import checked_server

SLOW_START_S = 2.0  # more than the guessed start-up, so the guess would open too early
WARMUP_S = 1


def test_the_window_opens_when_locust_forgets_its_warm_up(tmp_path: Path) -> None:
    assert SLOW_START_S > LOCUST_STARTUP_S  # the premise: the old guess opens too early
    raw = tmp_path / "raw"
    raw.mkdir()
    # locust, started late, as a loaded machine starts it: the guess cannot know
    slow_locust = ["sh", "-c", f'sleep {SLOW_START_S}; exec "$0" "$@"', *locust_command()]
    trial = Trial(Cell("asyncio", "on", "small", 5), 1)
    args = ["--variant", "asyncio", "--root", str(PROJECT / "static")]
    with checked_server(args) as server:
        load = LoadRun(slow_locust, trial, server.url, raw, duration=1, warmup=WARMUP_S, cpus=None)
        with load:
            opened = load.window_opened()
            load.wait()
    assert (raw / "window-opened").is_file(), "locust never said its window opened"
    assert opened >= SLOW_START_S + WARMUP_S, f"opened {opened:.2f} s after start"
    assert load.window_closes(opened) == opened + 1 + MEASURE_TAIL_S  # duration + the tail
    # the evidence a stalled trial lacked (bench.engines.locust.scenarios.loopwatch)
    (watch,) = [json.loads(path.read_text()) for path in (raw / "hdr").glob("*.loop.json")]
    assert watch["retries"] == 0  # the server closed no connection it had not announced
    assert 0.0 <= watch["max_lag_s"] < load.run_time
