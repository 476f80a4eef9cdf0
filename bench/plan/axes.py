"""The names on the matrix's axes beyond our variants: scenarios, load engines, reference peers.

Plain names and what each engine can be planned for, with no import of an engine or a
target, so the matrix and the report know them without loading the run-time stack. The
scenario files (`bench.engines.locust.scenarios`), the engines (`bench.engines.registry`)
and the peers (`bench.targets.peers.registry`) exist under these names; a test checks it.
"""

from __future__ import annotations

# name → what it measures; each is a locust file (bench/engines/locust/scenarios/<name>.py)
SCENARIOS: dict[str, str] = {
    "small": "the 1 KiB page on keep-alive connections",
    "close": "the 1 KiB page with Connection: close on every request",
    "large": "the 1 MiB file",
    "notfound": "missing paths, 404 expected",
    "mixed": "page visits: html/css/js/image/json, 5% missing, conditional revisits",
    "range": "byte ranges of the 100 KiB file, 206 expected",
}

# The HTTP clients a locust scenario can load with (locust's and bench's `--client`).
LEAN = "lean"  # bench.engines.locust.scenarios.client: persistent gevent sockets, strict framing
FASTHTTP = "fasthttp"  # locust's FastHttpSession (geventhttpclient): realism comparisons
CLIENTS = (LEAN, FASTHTTP)

LOCUST = "locust"
WRK = "wrk"
ENGINES = (LOCUST, WRK)

PEER_NAMES = ("nginx", "aiohttp", "uvicorn")

# wrk sends one fixed GET per scenario (bench.engines.wrk.engine.WRK_SCENARIOS); the others
# need logic per request, which only locust's scenarios have.
WRK_SCENARIOS = ("small", "close", "large")
_NEEDS_LOCUST = {
    "notfound": "404 expected, which wrk counts as a failure",
    "mixed": "conditional requests, status mix",
    "range": "a random byte range per request, 206 expected",
}


def unsupported(engine: str, scenario: str, open_model: bool) -> str | None:
    """Why `engine` cannot run `scenario` (under the open model), or None when it can."""
    if engine == LOCUST:
        return None
    if open_model:
        return "wrk has no open model (it only measures the maximum); use locust"
    return wrk_unsupported(scenario)


def wrk_unsupported(scenario: str) -> str | None:
    """None if wrk can run `scenario`; else why not, in one line."""
    if scenario in WRK_SCENARIOS:
        return None
    if scenario not in SCENARIOS:
        return f"unknown scenario {scenario!r}"
    why = _NEEDS_LOCUST.get(scenario, "not one fixed GET")
    return f"scenario {scenario} needs locust ({why})"
