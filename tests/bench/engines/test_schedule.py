"""The open model's pacing (bench.engines.locust.scenarios.schedule): planned send times a
fixed interval apart, never a sleep longer than one interval, a user held up catches up at
once with its lateness charged. (Issue 15: no sleep computed from two clock bases or a
stale loop clock can leave a user silent for seconds.)"""

from __future__ import annotations

import time
from itertools import pairwise

import gevent
import pytest

from bench.engines.locust.scenarios.schedule import Schedule

RATE = 20.0  # requests/s per user, as in the solo open-model trial (400/s over 20 users)
INTERVAL = 1 / RATE


class Clock:
    """A clock that moves only when the schedule sleeps or the test says so."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def schedule(clock: Clock) -> Schedule:
    return Schedule(RATE, clock=clock, sleep=clock.sleep)


def test_a_user_on_time_sleeps_one_interval_between_sends() -> None:
    clock = Clock()
    paced = schedule(clock)
    assert paced.next_slot() == 0.0
    assert 0.0 <= clock.slept[0] <= INTERVAL  # the random phase
    sent = [clock.now]
    for _ in range(20):
        assert paced.next_slot() == 0.0
        sent.append(clock.now)
    gaps = [later - earlier for earlier, later in pairwise(sent)]
    assert gaps == pytest.approx([INTERVAL] * 20)


@pytest.mark.parametrize("held_s", [0.3, 5.0, 60.0])
def test_a_user_held_up_sends_at_once_and_never_sleeps_longer_than_an_interval(
    held_s: float,
) -> None:
    clock = Clock()
    paced = schedule(clock)
    paced.next_slot()
    clock.now += held_s  # the hub blocked, the process stopped, a request took this long
    behind = round(held_s / INTERVAL)
    lateness = [paced.next_slot() for _ in range(behind + 10)]
    assert lateness[0] == pytest.approx(held_s - INTERVAL, abs=INTERVAL)
    assert all(late > 0 for late in lateness[: behind - 1])  # the backlog leaves at once
    assert lateness[-5:] == [0.0] * 5  # then back on schedule
    assert max(clock.slept) <= INTERVAL


def test_on_gevent_a_blocked_hub_is_caught_up_without_sleeping() -> None:
    # The real clock and gevent.sleep (which refreshes the loop's cached time first): a
    # hub blocked for BLOCK_S leaves the user behind, and it sends the backlog at once.
    block_s = 0.3
    paced = Schedule(RATE)
    paced.next_slot()
    time.sleep(block_s)  # the test process is not monkey-patched: this blocks the hub
    first = paced.next_slot()
    assert first >= block_s - INTERVAL
    # Then back on schedule: the next call that sleeps, sleeps at most about one interval
    # (a sleep of seconds, from a stale or mixed clock, would raise gevent.Timeout here).
    with gevent.Timeout(block_s + 20 * INTERVAL + 5.0):
        while True:
            began = time.perf_counter()
            paced.next_slot()
            if time.perf_counter() - began >= INTERVAL / 2:
                break
