"""`python -m server`: parse the command line into a ServerConfig, then start.

A value the user got wrong gets one line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn

from server.config import ServerConfig
from server.process import StartupError, start
from server.store import StoreConfig
from server.variants import VARIANTS


def _bounded(
    kind: Callable[[str], float], low: float, high: float | None = None
) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if value < low or (high is not None and value > high):
            limit = f">= {low}" if high is None else f"between {low} and {high}"
            raise argparse.ArgumentTypeError(f"must be {limit}, got {text}")
        return value

    return parse


def _on_off(text: str) -> bool:
    if text not in ("on", "off"):
        raise argparse.ArgumentTypeError(f"must be 'on' or 'off', got {text!r}")
    return text == "on"


class _OneLineErrors(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line, like every other user error."""

    def error(self, message: str) -> NoReturn:
        # argparse would print the whole multi-line usage first; --help is one flag away.
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser; `--help` documents every option."""
    variants = "; ".join(f"{v.name}: {v.summary}" for v in VARIANTS.values())
    parser = _OneLineErrors(
        prog="python -m server",
        description="A static-file HTTP/1.1 server in interchangeable I/O variants.",
        epilog=f"Variants — {variants}.",
    )
    add = parser.add_argument
    add("--variant", choices=list(VARIANTS), default="asyncio", help="I/O design (default asyncio)")
    add("--cache", type=_on_off, default=True, metavar="on|off", help="file cache (default on)")
    add("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    add(
        "--port",
        type=_bounded(int, 0, 65535),
        default=8080,
        help="0 picks a free port (default 8080)",
    )
    add("--root", default="static", help="directory to serve (default static)")
    add(
        "--workers",
        type=_bounded(int, 1, 256),
        default=1,
        help="processes sharing the port (default 1)",
    )
    add("--backlog", type=_bounded(int, 1), default=1024, help="listen backlog (default 1024)")
    add(
        "--threads",
        type=_bounded(int, 1, 4096),
        default=32,
        help="threaded variant's pool size (default 32)",
    )
    add(
        "--max-connections",
        type=_bounded(int, 1),
        default=10_000,
        help="open connections allowed (default 10000)",
    )
    add(
        "--head-timeout",
        type=_bounded(float, 0.1),
        default=10.0,
        help="seconds to receive a request head (default 10)",
    )
    add(
        "--keepalive-timeout",
        type=_bounded(float, 0.1),
        default=5.0,
        help="seconds an idle connection is kept (default 5)",
    )
    add(
        "--send-timeout",
        type=_bounded(float, 0.1),
        default=30.0,
        help="seconds a client may stall reading (default 30)",
    )
    add(
        "--grace",
        type=_bounded(float, 0),
        default=5.0,
        help="seconds in-flight responses get at shutdown (default 5)",
    )
    add(
        "--cache-max-age",
        type=_bounded(float, 0),
        default=1.0,
        help="seconds before a cached file is re-checked (default 1)",
    )
    add(
        "--cache-max-entries",
        type=_bounded(int, 1),
        default=1024,
        help="cached entries (default 1024)",
    )
    add(
        "--cache-max-bytes",
        type=_bounded(int, 0),
        default=64 << 20,
        help="cached bytes (default 64 MiB)",
    )
    add(
        "--stream-threshold",
        type=_bounded(int, 0),
        default=256 << 10,
        help="larger files are streamed, not cached (default 256 KiB)",
    )
    add("--stats-dir", default=None, help="write counters as JSON here on SIGUSR1 and at exit")
    return parser


def config_from(args: argparse.Namespace) -> ServerConfig:
    """The ServerConfig an argument namespace describes."""
    store = StoreConfig(
        stream_threshold=args.stream_threshold,
        max_entries=args.cache_max_entries,
        max_bytes=args.cache_max_bytes,
        max_age=args.cache_max_age,
    )
    return ServerConfig(
        variant=args.variant, cache=args.cache, host=args.host, port=args.port, root=args.root,
        workers=args.workers, backlog=args.backlog, threads=args.threads,
        max_connections=args.max_connections, head_timeout=args.head_timeout,
        keepalive_timeout=args.keepalive_timeout, send_timeout=args.send_timeout,
        grace=args.grace, stats_dir=args.stats_dir, store=store,
    )  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: parse, start, map user errors to exit code 2."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    try:
        return start(config_from(args))
    except StartupError as error:
        print(f"python -m server: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 0
