"""What every scenario shares: the demo site's expected answers, how a reply is checked,
and the two load models.

Imported only inside locust processes (it imports locust, which patches with gevent).
A wrong status or a body of the wrong length is a failure, never a silent success.

Closed model (the default): N users, no think time — N requests always in flight, which
finds the maximum rate. Open model (`--user-rate R`): every user sends R requests/s on a
fixed schedule of planned send times, whatever the server does; a request's latency is
measured from its *planned* time, so a stall is charged to every request it delayed, not
only to the few in flight (coordinated-omission correction, as in wrk2). Locust's own
statistics stay uncorrected; the HDR histogram holds the corrected latency.
"""

from __future__ import annotations

import argparse
import os
import random
import time
from collections.abc import Callable, Mapping
from contextlib import suppress
from functools import cache
from pathlib import Path
from typing import cast
from urllib.parse import urlsplit

import gevent
from locust import User, constant, events
from locust.contrib.fasthttp import FastHttpSession
from locust.env import Environment
from locust.exception import StopTest
from locust.runners import WorkerRunner
from locust.user.task import LOCUST_STATE_RUNNING

from bench.engines.locust.latency import (
    HIGHEST_US,
    SUFFIX,
    WINDOW_SUFFIX,
    CountingRecorder,
    ProcessWindow,
    save,
)
from bench.engines.locust.scenarios import (
    WINDOW_MARK_ENV,
    clock,  # noqa: F401  (-t counts from the start)
)
from bench.engines.locust.scenarios.client import ClientError, LeanClient
from bench.engines.locust.scenarios.framing import DEFAULT_PARSER, PARSERS
from bench.engines.locust.scenarios.loopwatch import SUFFIX as LOOP_SUFFIX
from bench.engines.locust.scenarios.loopwatch import LoopWatch
from bench.engines.locust.scenarios.schedule import Schedule
from bench.plan.axes import CLIENTS, LEAN

# Where each locust process writes its latency histogram at exit (the runner sets it).
HDR_DIR = os.environ.get("STATICBENCH_HDR_DIR")
LATENCY = CountingRecorder()
WINDOW = ProcessWindow()  # this process's measured window: the warm-up reset to the stop
LOOP = LoopWatch()  # how long this process's loop stood still at worst (a stall's evidence)
SITE = Path(os.environ.get("STATICBENCH_SITE", Path(__file__).resolve().parents[4] / "static"))
NOT_FOUND_PAGE = "not_found.html"
LAG_KEY = "staticbench_lag_ms"  # request context: how late the open model sent it
PLANNED_KEY = "staticbench_planned_at"  # request context: its planned send time (wall clock)
# (path, (status, body length, exact body or None), headers, name, context) → headers
Fetch = Callable[
    [str, tuple[int, int, bytes | None], dict[str, str] | None, str, dict[str, float]],
    Mapping[str, str],
]
NO_HEADERS: Mapping[str, str] = {}
# The user's own task loop yields to the hub at least this often, even when no request
# blocks (a request that fails before any I/O would otherwise starve locust's timers).
YIELD_EVERY = 64


@cache  # a stat per request cost a fifth of the lean client's time
def size_of(path: str) -> int:
    """The size of a demo-site file as served (the site is deterministic)."""
    return (SITE / path.lstrip("/")).stat().st_size


@events.init_command_line_parser.add_listener
def _add_options(parser: argparse.ArgumentParser) -> None:
    # A custom option travels from the master to its workers with every spawn message.
    parser.add_argument(
        "--user-rate", type=float, default=0.0, include_in_web_ui=True,
        help="open model: requests/s each user sends on a fixed schedule (0: closed model)",
    )  # fmt: skip
    parser.add_argument(
        "--client", choices=CLIENTS, default=LEAN, include_in_web_ui=True,
        help="HTTP client: lean (bench.scenarios.client, fast) or fasthttp (geventhttpclient)",
    )  # fmt: skip
    parser.add_argument(
        "--lean-parser", choices=list(PARSERS), default=DEFAULT_PARSER, include_in_web_ui=False,
        help="the lean client's response parser: httptools (llhttp) or minimal (plain Python)",
    )  # fmt: skip


class ResponseMismatch(Exception):
    """A reply that was framed well but is not the one the scenario expects."""


def mismatch(status: int, body: bytes, want_status: int, want_length: int,
             want_body: bytes | None) -> str | None:  # fmt: skip
    """Why a reply is not the expected one, or None when it is."""
    if status != want_status:
        return f"expected {want_status}, got {status}"
    if len(body) != want_length:
        return f"expected {want_length} body bytes, got {len(body)}"
    if want_body is not None and body != want_body:
        return "the body is not the expected bytes"
    return None


class StaticUser(User):
    """A client of the demo site: closed loop (no think time), or paced by a `Schedule`.

    Each scenario is written once against `expect`; the `--client` option picks the HTTP
    client under it: `lean` (bench.scenarios.client, the default) or `fasthttp` (locust's
    FastHttpSession, geventhttpclient), for realism comparisons.
    """

    abstract = True
    wait_time = constant(0)
    retries = 0  # this process's lean requests sent again after an idle close (at stop)

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        jobs = type(self).tasks  # weighted: a task of weight 3 is listed 3 times
        if all(not isinstance(job, type) for job in jobs):  # no nested TaskSets
            self._jobs = cast(list[Callable[[StaticUser], None]], list(jobs))
            self.tasks = [StaticUser.run_tasks]  # locust runs this one task, once per user
        options = environment.parsed_options
        rate = float(getattr(options, "user_rate", 0.0) or 0.0)
        self.schedule = Schedule(rate) if rate > 0 else None
        self.client_name = str(getattr(options, "client", LEAN) or LEAN)
        self._request_event = environment.events.request
        if self.host is None:
            raise StopTest("give the server's URL with --host")
        if self.client_name == LEAN:
            self.lean = _lean_client(
                self.host, str(getattr(options, "lean_parser", DEFAULT_PARSER))
            )
            self._fetch: Fetch = self._fetch_lean
        else:
            self.fast = FastHttpSession(
                base_url=self.host, request_event=environment.events.request, user=self
            )
            self._fetch = self._fetch_fast

    def on_stop(self) -> None:
        if self.client_name == LEAN:
            StaticUser.retries += self.lean.retries
            self.lean.close()

    def run_tasks(self) -> None:
        """The scenario's tasks, picked by weight as locust would, in a loop of our own.

        Locust's loop between two tasks (pick, run, `wait`: a `gevent.sleep(0)`, state
        changes) took ~13% of a lean request's CPU in a py-spy profile of `small` against
        nginx. With no think time a loop only has to yield, and every request yields while
        it waits for its reply (YIELD_EVERY covers requests that never wait). A graceful
        stop (locust sets the state to stopping) ends the loop after the current task, as
        locust's own would; a forced one kills the greenlet wherever it waits, as before.
        """
        jobs, choose, done = self._jobs, random.choice, 0
        while self._state == LOCUST_STATE_RUNNING:
            choose(jobs)(self)
            done += 1
            if done % YIELD_EVERY == 0:
                gevent.sleep(0)

    def expect(
        self,
        path: str,
        status: int,
        length: int,
        *,
        headers: dict[str, str] | None = None,
        name: str | None = None,
        body: bytes | None = None,
    ) -> Mapping[str, str]:
        """GET `path`; a failure unless the status and body length (and the bytes, when
        `body` is given) are as expected. The response headers, names in lower case.

        Every outcome is one `request` event. A reply the client cannot frame or even
        parse is a failed request (locust would otherwise file a FastHttpSession error
        under exceptions and count no request at all).
        """
        lag_ms = self.schedule.next_slot() * 1000 if self.schedule is not None else 0.0
        context = {LAG_KEY: lag_ms}
        if self.schedule is not None:  # which measured window the request belongs to
            context[PLANNED_KEY] = time.time() - lag_ms / 1000
        try:
            return self._fetch(path, (status, length, body), headers, name or path, context)
        except Exception as error:  # any client error is the server's failure
            self._request_event.fire(
                request_type="GET", name=name or path, response_time=0, response_length=0,
                exception=error, context=context,
            )  # fmt: skip
            return NO_HEADERS

    def _fetch_lean(
        self,
        path: str,
        want: tuple[int, int, bytes | None],
        headers: dict[str, str] | None,
        name: str,
        context: dict[str, float],
    ) -> Mapping[str, str]:
        started = time.perf_counter()
        error: Exception | None = None
        try:
            response = self.lean.request("GET", path, headers)
        except ClientError as failed:
            error, body, found = failed, b"", NO_HEADERS
        else:
            body, found = response.body, response.headers
            why = mismatch(response.status, body, *want)
            error = ResponseMismatch(why) if why else None
        self._request_event.fire(
            request_type="GET", name=name, response_time=(time.perf_counter() - started) * 1000,
            response_length=len(body), exception=error, context=context, url=path, response=None,
        )  # fmt: skip
        return found

    def _fetch_fast(
        self,
        path: str,
        want: tuple[int, int, bytes | None],
        headers: dict[str, str] | None,
        name: str,
        context: dict[str, float],
    ) -> Mapping[str, str]:
        with self.fast.get(
            path, headers=headers, name=name, catch_response=True, context=context
        ) as response:
            why = mismatch(response.status_code or 0, response.content or b"", *want)
            if why:
                response.failure(why)
            else:
                response.success()
            return {k.lower(): v for k, v in (response.headers or {}).items()}


def _lean_client(url: str, parser: str) -> LeanClient:
    parts = urlsplit(url)
    if parts.scheme != "http" or parts.hostname is None:
        raise StopTest(f"the lean client speaks plain http only, not {url!r}")
    return LeanClient(parts.hostname, parts.port or 80, parser=PARSERS[parser])


@events.test_start.add_listener
def _reset_after_warmup(environment: Environment, **_: object) -> None:
    """Forget the first STATICBENCH_WARMUP seconds, so the measured window starts warm.

    test_start fires on the master and on every worker when the load starts (not when the
    process starts: a master may wait for workers first), so each node drops its own.
    """
    warmup = float(os.environ.get("STATICBENCH_WARMUP", "0"))
    runner = environment.runner
    LOOP.start()
    WINDOW.begin()
    if warmup <= 0 or runner is None:
        _say_window_open()
        return

    def forget_warmup() -> None:
        runner.stats.reset_all()
        LATENCY.reset()
        WINDOW.begin()
        _say_window_open()

    gevent.spawn_later(warmup, forget_warmup)


def _say_window_open() -> None:
    """Tell the runner when the measured window opened (CLOCK_MONOTONIC, which every process
    on the machine shares), so it samples the server over the same seconds instead of
    guessing locust's start-up; the first process to say it wins (workers start together)."""
    path = os.environ.get(WINDOW_MARK_ENV)
    if not path:
        return
    temporary = f"{path}.{os.getpid()}"
    with open(temporary, "w", encoding="ascii") as handle:
        handle.write(repr(time.monotonic()))
    with suppress(FileExistsError):
        os.link(temporary, path)  # atomic, and never replaces an earlier process's mark
    os.unlink(temporary)


@events.test_stop.add_listener
def _note_stop(**_: object) -> None:
    """The load stopped: so did the window, and the loop's stalls that matter."""
    WINDOW.end()
    LOOP.stop()


def _record_latency(
    response_time: float,
    context: dict[str, float] | None = None,
    exception: BaseException | None = None,
    **_: object,
) -> None:
    """Every request, success or failure, as locust counts them: µs, unrounded, and in the
    open model from the planned send time (the schedule's lateness added)."""
    if exception is not None:
        WINDOW.failed()
    if context is None:
        LATENCY.record(min(HIGHEST_US, max(1, round(response_time * 1000))))
        return
    total_ms = response_time + context.get(LAG_KEY, 0.0)
    LATENCY.record(min(HIGHEST_US, max(1, round(total_ms * 1000))))
    if PLANNED_KEY in context:
        WINDOW.completed(context[PLANNED_KEY])


if HDR_DIR:  # only when someone will read the histogram (the runner sets the directory)
    events.request.add_listener(_record_latency)


@events.quitting.add_listener
def _write_latency(environment: Environment, **_: object) -> None:
    """This process's histogram, and the request count locust itself holds at exit.

    A master records no requests (its histogram is empty); its count is what its workers
    reported, which can miss their last reports: the bench counts from each process's own
    window file (`bench.engines.locust.latency.process_totals`) instead.
    """
    if not HDR_DIR:
        return
    directory = Path(HDR_DIR)
    histogram = LATENCY.histogram
    save(histogram, directory / f"{os.getpid()}{SUFFIX}")
    WINDOW.save(directory / f"{os.getpid()}{WINDOW_SUFFIX}", histogram.get_total_count())
    LOOP.stop()  # at test_stop already, unless locust quit before it
    LOOP.save(directory / f"{os.getpid()}{LOOP_SUFFIX}", StaticUser.retries)
    runner = environment.runner
    if runner is not None and not isinstance(runner, WorkerRunner):
        (directory / "locust-total.txt").write_text(f"{runner.stats.total.num_requests}\n")
