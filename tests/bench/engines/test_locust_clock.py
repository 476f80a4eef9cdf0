"""Locust's --run-time counts from the load's start even when start-up was slow.

One cause of "no request completed after the warm-up" (most trials on a busy machine failed
with it): gevent's clock was stale when locust armed its run-time timer, so a slow start-up
was subtracted from the run, which ended almost as soon as it began (see
bench/engines/locust/scenarios/clock.py). Here a locustfile stalls its own import for 3 s,
like a busy machine, and the run must still last its whole -t from its test_start.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from bench.engines.locust.latency import WINDOW_SUFFIX
from tests.bench.engines.test_latency import LOCUST
from tests.conftest import PROJECT
from tests.serverchecks import checked_server

RUN_S = 3
SLOW_STARTUP = """\
from gevent.monkey import get_original

from bench.engines.locust.scenarios.small import SmallPage  # the user and every shared hook

get_original("time", "sleep")({seconds})  # a start-up as slow as on a busy machine
"""


def test_a_slow_start_up_does_not_shorten_the_run(tmp_path: Path) -> None:
    locustfile = tmp_path / "slow_start.py"
    locustfile.write_text(SLOW_STARTUP.format(seconds=RUN_S))
    argv = [
        LOCUST, "-f", str(locustfile), "--headless", "-u", "2", "-r", "2", "-t", f"{RUN_S}s",
        "--only-summary", "--loglevel", "WARNING",
    ]  # fmt: skip
    env = {**os.environ, "STATICBENCH_HDR_DIR": str(tmp_path)}
    with checked_server(["--root", str(PROJECT / "static")]) as server:
        done = subprocess.run(
            [*argv, "--host", server.url], cwd=PROJECT, env=env, capture_output=True, timeout=90
        )
    assert done.returncode == 0, done.stderr[-2000:]
    windows = list(tmp_path.glob(f"*{WINDOW_SUFFIX}"))
    assert windows, f"no window written: the {RUN_S} s run ended before its load started"
    (window_file,) = windows
    window = json.loads(window_file.read_text())
    ran = window["stop"] - window["start"]  # from test_start to test_stop, wall clock
    assert ran >= RUN_S - 0.2, f"a {RUN_S} s run loaded the server for {ran:.2f} s"
    assert window["requests"] > 0
