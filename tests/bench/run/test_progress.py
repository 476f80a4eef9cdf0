"""The line each trial prints: its figures and every mark, readable at any magnitude."""

from __future__ import annotations

import dataclasses
import io
import math

from bench.plan.matrix import Cell, Trial
from bench.results.table import OK, SCHEMA_VERSION, ResultRow, failed_row
from bench.run.progress import Progress, headline

IDENTITY = {
    "variant": "uvloop", "style": "protocol", "loop": "uvloop", "cache": "on",
    "reader": "aiofile", "default_reader": "aiofile", "scenario": "small", "users": 50,
    "engine": "locust", "client": "lean",
    "load": "50%", "repeat": 1, "load_workers": 0, "started_at": "2026-11-26T00:00:00+00:00",
}  # fmt: skip


def row(**changes: object) -> ResultRow:
    base = failed_row(IDENTITY, "")
    figures = {
        "status": OK, "requests_per_s": 2_329.0, "p99_ms": 4.0, "hdr_p99_us": 1_940_200.0,
        "failures": 0.0, "overhead_s": 0.3, "target_rps": 2_576.0, "rate_short": True,
        "schema_version": SCHEMA_VERSION,
    }  # fmt: skip
    return dataclasses.replace(base, **{**figures, **changes})


def test_an_open_model_line_names_target_and_shortfall() -> None:
    line = headline(row())
    assert "2,329 req/s of 2,576 target (SHORT of target)" in line
    assert "p99 1,940 ms" in line  # the corrected µs histogram, never "1.94e+03"


def test_the_engine_p99_stands_in_when_there_is_no_histogram() -> None:
    line = headline(row(hdr_p99_us=math.nan, target_rps=math.nan, rate_short=False))
    assert "p99 4 ms" in line
    assert "target" not in line


def test_a_generator_bound_trial_says_so() -> None:
    assert "(generator-bound)" in headline(row(generator_bound=True))


def test_a_failed_trial_shows_its_reason() -> None:
    assert headline(failed_row(IDENTITY, "locust exited 2")) == "FAILED: locust exited 2"


def test_a_trial_line_names_a_reader_only_when_it_is_not_the_variants_own() -> None:
    stream = io.StringIO()
    progress = Progress(2, 6.0, stream)
    for reader in ("aiofile", "thread"):
        cell = Cell("asyncio", "off", "small", 50, reader=reader, default_reader="aiofile")
        progress.starting(Trial(cell, 1))
    first, second = stream.getvalue().split("… ")[:2]
    assert " asyncio cache=off r1" in first
    assert " asyncio·thread cache=off r1" in second
