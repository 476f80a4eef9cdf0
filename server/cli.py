"""`python -m server`: parse the command line into a ServerConfig, then start.

A value the user got wrong gets one line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence

from server.cli_types import DefaultsHelp, OneLineErrors, bounded, on_off
from server.config import CACHE_MODES, READERS, ServerConfig, StoreConfig
from server.process import StartupError, start
from server.variants import VARIANTS

# (flag, parser, help); the default comes from the ServerConfig / StoreConfig field the flag
# names, so the --help text and the Python API can never disagree.
_SERVER_OPTIONS: list[tuple[str, Callable[[str], object], str]] = [
    ("--port", bounded(int, 0, 65535), "0 picks a free port"),
    ("--workers", bounded(int, 1, 256), "processes sharing the port (SO_REUSEPORT)"),
    ("--backlog", bounded(int, 1), "listen backlog, the same for every variant"),
    ("--threads", bounded(int, 1, 4096), "threaded variant's pool size"),
    ("--max-connections", bounded(int, 1), "open connections allowed"),
    ("--head-timeout", bounded(float, 0.1), "seconds to receive a request head"),
    ("--keepalive-timeout", bounded(float, 0.1), "seconds an idle connection is kept"),
    ("--send-timeout", bounded(float, 0.1), "seconds a send may make no progress"),
    ("--grace", bounded(float, 0), "seconds in-flight responses get at shutdown"),
]
_STORE_OPTIONS: list[tuple[str, str, Callable[[str], object], str]] = [
    (
        "--cache-max-age",
        "max_age",
        bounded(float, 0),
        "seconds before a cached file is re-checked",
    ),
    ("--cache-max-entries", "max_entries", bounded(int, 1), "cached entries"),
    ("--cache-max-bytes", "max_bytes", bounded(int, 0), "cached bytes"),
    ("--stream-threshold", "stream_threshold", bounded(int, 0), "larger files are streamed"),
]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser; `--help` documents every option."""
    variants = "; ".join(f"{v.name}: {v.summary}" for v in VARIANTS.values())
    parser = OneLineErrors(
        prog="python -m server",
        description="A static-file HTTP/1.1 server in interchangeable I/O variants.",
        epilog=f"Variants — {variants}.",
        formatter_class=DefaultsHelp,
    )
    defaults, store = ServerConfig(), StoreConfig()
    add = parser.add_argument
    add("--variant", choices=list(VARIANTS), default=defaults.variant, help="I/O design")
    add(
        "--cache",
        choices=CACHE_MODES,
        default=None,
        help="file cache (default: on; the blog variants have alru, the post's, or off)",
    )
    add(
        "--reader",
        choices=READERS,
        default=None,
        help="how a file not in memory is read (default: the variant's first)",
    )
    sendfile = "on" if defaults.sendfile else "off"
    add(
        "--sendfile",
        type=on_off,
        default=sendfile,
        metavar="on|off",
        help="large files by sendfile",
    )
    add("--host", default=defaults.host, help="address to listen on")
    add("--root", default=defaults.root, help="directory to serve")
    for flag, kind, text in _SERVER_OPTIONS:
        add(flag, type=kind, default=getattr(defaults, _field(flag)), help=text)
    for flag, field, kind, text in _STORE_OPTIONS:
        metavar = _field(flag).upper()
        add(
            flag,
            type=kind,
            dest=f"store_{field}",
            metavar=metavar,
            default=getattr(store, field),
            help=text,
        )
    add("--stats-dir", default=None, help="write counters as JSON here on SIGUSR1 and at exit")
    return parser


def _field(flag: str) -> str:
    return flag.removeprefix("--").replace("-", "_")


def config_from(args: argparse.Namespace) -> ServerConfig:
    """The ServerConfig an argument namespace describes."""
    values = vars(args)
    store = StoreConfig(**{field: values[f"store_{field}"] for _, field, _, _ in _STORE_OPTIONS})
    plain = ["variant", "cache", "reader", "sendfile", "host", "root", "stats_dir"]
    plain += [_field(flag) for flag, _, _ in _SERVER_OPTIONS]
    return ServerConfig(**{name: values[name] for name in plain}, store=store)


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
