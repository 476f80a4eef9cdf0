"""Locust's `--run-time` must count from when the load starts, not from `import locust`.

gevent timers count from the event loop's cached time, refreshed only when the loop runs.
Locust creates the hub when it is imported and arms its `--run-time` timer before the loop
has ever run, so the timer fires early by the whole start-up (imports, the locustfile):
~1 s on a quiet machine, 5 s and more on a busy one, where a 5 s run then loaded the
server for 0.3 s and its trial failed with "no request after the warm-up". Locust fires
`init` just before it arms the timer: refreshing the clock there makes `-t` mean what it
says. Imported by bench.engines.locust.scenarios.base, so every scenario has it.
"""

from __future__ import annotations

import gevent
from locust import events


@events.init.add_listener
def refresh_loop_clock(**_: object) -> None:
    """Bring the loop's cached time up to date before locust arms its `--run-time` timer."""
    gevent.get_hub().loop.update_now()
