"""What every scenario shares: the demo site's expected answers and how a reply is checked.

Imported only inside locust processes (it imports locust, which patches with gevent).
A wrong status or a body of the wrong length is a failure, never a silent success.
"""

from __future__ import annotations

import os
from pathlib import Path

from locust import FastHttpUser, constant, events
from locust.env import Environment
from locust.runners import WorkerRunner

from bench.latency import HIGHEST_US, SUFFIX, new_histogram, save

# Where each locust process writes its latency histogram at exit (the runner sets it).
HDR_DIR = os.environ.get("STATICBENCH_HDR_DIR")
LATENCY = new_histogram()
SITE = Path(os.environ.get("STATICBENCH_SITE", Path(__file__).resolve().parents[2] / "static"))
PAGE = "/index.html"
NOT_FOUND_PAGE = "not_found.html"


def size_of(path: str) -> int:
    """The size of a demo-site file as served (the site is deterministic)."""
    return (SITE / path.lstrip("/")).stat().st_size


class StaticUser(FastHttpUser):
    """A closed-loop client: no think time, so N users keep N requests in flight."""

    abstract = True
    wait_time = constant(0)

    def expect(
        self,
        path: str,
        status: int,
        length: int,
        *,
        headers: dict[str, str] | None = None,
        name: str | None = None,
    ) -> dict[str, str]:
        """GET `path`; a failure unless the status and body length are as expected.

        A reply the client cannot even parse (e.g. a bogus Content-Encoding) raises inside
        `client.get`; locust would file it under exceptions and count no request at all, so
        it is reported here as a failed request instead.
        """
        try:
            return self._expect(path, status, length, headers, name or path)
        except Exception as error:  # any client error is the server's failure
            self.environment.events.request.fire(
                request_type="GET", name=name or path, response_time=0, response_length=0,
                exception=error, context={},
            )  # fmt: skip
            return {}

    def _expect(
        self, path: str, status: int, length: int, headers: dict[str, str] | None, name: str
    ) -> dict[str, str]:
        with self.client.get(path, headers=headers, name=name, catch_response=True) as response:
            got = len(response.content or b"")
            if response.status_code != status:
                response.failure(f"expected {status}, got {response.status_code}")
            elif got != length:
                response.failure(f"expected {length} body bytes, got {got}")
            else:
                response.success()
            return dict(response.headers or {})


@events.test_start.add_listener
def _reset_after_warmup(environment: Environment, **_: object) -> None:
    """Forget the first STATICBENCH_WARMUP seconds, so the measured window starts warm.

    test_start fires on the master and on every worker when the load starts (not when the
    process starts: a master may wait for workers first), so each node drops its own.
    """
    warmup = float(os.environ.get("STATICBENCH_WARMUP", "0"))
    runner = environment.runner
    if warmup <= 0 or runner is None:
        return
    import gevent

    def forget_warmup() -> None:
        runner.stats.reset_all()
        LATENCY.reset()

    gevent.spawn_later(warmup, forget_warmup)


def _record_latency(response_time: float, **_: object) -> None:
    """Every request, success or failure, as locust counts them: µs, unrounded."""
    LATENCY.record_value(min(HIGHEST_US, max(1, round(response_time * 1000))))


if HDR_DIR:  # only when someone will read the histogram (the runner sets the directory)
    events.request.add_listener(_record_latency)


@events.quitting.add_listener
def _write_latency(environment: Environment, **_: object) -> None:
    """This process's histogram, and the request count locust itself holds at exit.

    A master records no requests (its histogram is empty); its count is the merged total
    of its workers' reports, which the runner checks the merged histogram against.
    """
    if not HDR_DIR:
        return
    directory = Path(HDR_DIR)
    save(LATENCY, directory / f"{os.getpid()}{SUFFIX}")
    runner = environment.runner
    if runner is not None and not isinstance(runner, WorkerRunner):
        (directory / "locust-total.txt").write_text(f"{runner.stats.total.num_requests}\n")
