"""Locust scenarios, one small file each; every file also runs alone with `locust -f`.

This module names them without importing locust (which patches with gevent on import),
so the runner can list and validate scenarios in its own process.
"""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent

# name → what it measures; the file is HERE / f"{name}.py"
SCENARIOS: dict[str, str] = {
    "small": "the 1 KiB page on keep-alive connections",
    "close": "the 1 KiB page with Connection: close on every request",
    "large": "the 1 MiB file",
    "notfound": "missing paths, 404 expected",
    "mixed": "page visits: html/css/js/image/json, 5% missing, conditional revisits",
    "range": "byte ranges of the 100 KiB file, 206 expected",
}


# The HTTP clients a scenario can load with (locust's `--client`, bench's `--client`).
LEAN = "lean"  # bench.scenarios.client: persistent gevent sockets, strict framing
FASTHTTP = "fasthttp"  # locust's FastHttpSession (geventhttpclient): realism comparisons
CLIENTS = (LEAN, FASTHTTP)


def scenario_file(name: str) -> Path:
    """The locustfile of scenario `name`."""
    if name not in SCENARIOS:
        raise KeyError(f"unknown scenario {name!r}; known: {', '.join(SCENARIOS)}")
    return HERE / f"{name}.py"
