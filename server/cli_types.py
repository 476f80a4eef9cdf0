"""Command-line value types every entry point shares: the server's and the bench's.

A value the user got wrong is one line on stderr and exit code 2, never a multi-line usage
dump or a traceback: `OneLineErrors` is the parser, the rest are argparse `type=` checkers
whose errors say what was wrong. It lives in `server` because the server must never import
the bench; the bench imports it from here. Pure argparse, no I/O beyond the CPU affinity.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from typing import NoReturn, TypeVar

T = TypeVar("T")
N = TypeVar("N", int, float)


class OneLineErrors(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line, like every other user error."""

    def error(self, message: str) -> NoReturn:
        # argparse would print the whole multi-line usage first; --help is one flag away.
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


class DefaultsHelp(argparse.ArgumentDefaultsHelpFormatter):
    """Each option's default in `--help`, except where there is none to show (None): those
    options say in their own words what they fall back to."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default is None:
            return action.help
        return super()._get_help_string(action)


def bounded(kind: Callable[[str], N], low: float, high: float | None = None) -> Callable[[str], N]:
    """A number of `kind` (int or float) between `low` and `high` (inclusive; None: no top)."""
    what = "a whole number" if kind is int else "a number"

    def parse(text: str) -> N:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not {what}: {text!r}") from None
        if value < low or (high is not None and value > high):
            limit = f">= {low}" if high is None else f"between {low} and {high}"
            raise argparse.ArgumentTypeError(f"must be {limit}, got {text}")
        return value

    return parse


def on_off(text: str) -> bool:
    """`on` or `off`, as True or False."""
    if text not in ("on", "off"):
        raise argparse.ArgumentTypeError(f"must be 'on' or 'off', got {text!r}")
    return text == "on"


def list_of(item: Callable[[str], T]) -> Callable[[str], tuple[T, ...]]:
    """A comma list of `item`s (blanks ignored); an empty list is an error."""

    def parse(text: str) -> tuple[T, ...]:
        values = tuple(item(part.strip()) for part in text.split(",") if part.strip())
        if not values:
            raise argparse.ArgumentTypeError("empty list")
        return values

    return parse


cpu_number = bounded(int, 0)


def usable_cpu(text: str) -> int:
    """A CPU number this process may run on."""
    cpu = cpu_number(text)
    if cpu not in os.sched_getaffinity(0):
        usable = ",".join(map(str, sorted(os.sched_getaffinity(0))))
        raise argparse.ArgumentTypeError(f"CPU {cpu} is not usable here (usable: {usable})")
    return cpu
