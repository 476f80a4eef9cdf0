"""`python -m bench run`: parse the options into a matrix and runner settings, then run.

A bad value gets one line on stderr and exit code 2. The exit code of a run says whether
every trial succeeded (0), some failed (1, each with its reason in the table), or the
run was interrupted (130). A run ends by building its report; `python -m bench report`
rebuilds one (bench.report.command).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from urllib.parse import urlsplit

from bench.engines.registry import engine_named
from bench.plan.axes import CLIENTS, ENGINES, LEAN, LOCUST, SCENARIOS
from bench.plan.matrix import CLOSED, EQUAL_SHARE, SWEEP_SHARES, Matrix, equal_load
from bench.plan.presets import PRODUCT_CACHES, preset
from bench.plan.servers import ImpossibleServer, VariantModes, refuse_impossible
from bench.run.settings import RunnerSettings, split_cpus
from bench.targets.peers import PEERS
from bench.targets.start import catalogue
from server.cli_types import OneLineErrors, bounded, list_of, usable_cpu
from server.config import CACHE_MODES, READERS
from server.variants import VARIANTS

PROJECT = Path(__file__).resolve().parents[2]
EXTERNAL = "external"  # the variant label of a server given with --host


class UsageError(Exception):
    """A request this machine cannot honour; one line, exit code 2."""


def _choice(allowed: Sequence[str], what: str) -> Callable[[str], str]:
    def parse(text: str) -> str:
        if text not in allowed:
            raise argparse.ArgumentTypeError(
                f"unknown {what} {text!r}; known: {', '.join(allowed)}"
            )
        return text

    return parse


def _url(text: str) -> str:
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise argparse.ArgumentTypeError(f"not an http(s) URL: {text!r}")
    return text.rstrip("/")


def build_parser() -> argparse.ArgumentParser:
    """`python -m bench run --help` documents every option."""
    parser = OneLineErrors(prog="python -m bench", description="staticbench's load harness.")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run a matrix of trials with locust")
    size = run.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="the reduced matrix CI runs (< 3 min)")
    size.add_argument("--full", action="store_true", help="every combination (long)")
    add = run.add_argument
    add("--variants", type=list_of(_choice(list(VARIANTS), "variant")), help="e.g. asyncio,uvloop")
    add(
        "--cache", type=list_of(_choice(list(CACHE_MODES), "cache mode")),
        help="cache modes, e.g. off,on,alru (default with --variants or --reader: on,off)",
    )  # fmt: skip
    add(
        "--reader", type=list_of(_choice(list(READERS), "reader")),
        help="how our server reads a file it does not serve from its cache, e.g. "
        "aiofile,thread,blocking (default: each variant's own)",
    )  # fmt: skip
    add("--scenarios", type=list_of(_choice(list(SCENARIOS), "scenario")), help="e.g. small,mixed")
    add("--users", type=list_of(bounded(int, 1)), help="concurrent users, e.g. 10,50")
    add("--duration", type=bounded(int, 1), help="measured seconds per trial")
    add("--warmup", type=bounded(int, 0), help="seconds of load before measuring, not counted")
    add("--repeat", type=bounded(int, 1), help="repeats of every cell, interleaved")
    add("--out", type=Path, default=PROJECT / "reports", help="where run directories go")
    add("--server-cpus", type=list_of(usable_cpu), help="CPUs for the server (default: the first)")
    add("--load-cpus", type=list_of(usable_cpu), help="CPUs for locust (default: the rest)")
    add(
        "--load-workers",
        type=bounded(int, 0),
        default=0,
        help="locust worker processes (distributed)",
    )
    add(
        "--remote-workers",
        type=bounded(int, 0),
        default=0,
        help="locust workers on other machines to wait for (they run `locust -f "
        "bench/engines/locust/scenarios/<scenario>.py --worker --master-host <this machine>`)",
    )
    add(
        "--master-bind",
        default="127.0.0.1",
        help="address the locust master listens on for remote workers",
    )
    add("--host", type=_url, help="load a server already running there; start none")
    add(
        "--engine", type=list_of(_choice(ENGINES, "engine")), default=(LOCUST,),
        help="load engines: locust (default), wrk (its simple GET scenarios, beyond locust's "
        "ceiling; needs the wrk binary), or locust,wrk for both side by side",
    )  # fmt: skip
    add(
        "--sweep", action="store_true",
        help="per cell: the closed-model maximum, then the open model at "
        f"{', '.join(map(str, SWEEP_SHARES))}%% of it (latency vs load)",
    )  # fmt: skip
    add(
        "--rate", type=list_of(bounded(int, 1)), metavar="REQ_PER_S",
        help="open model at these fixed targets (requests/s), e.g. 1000,5000",
    )  # fmt: skip
    add(
        "--client", type=list_of(_choice(CLIENTS, "client")), default=(LEAN,),
        help="locust's HTTP client: lean (default; fast, strict framing), fasthttp "
        "(geventhttpclient, for realism comparisons), or lean,fasthttp for both side by side",
    )  # fmt: skip
    add(
        "--equal-load", type=bounded(int, 0, 95), metavar="PCT", default=EQUAL_SHARE,
        help="per scenario, every server also at one open-model rate: PCT%% of the slowest "
        f"closed-model maximum (default {EQUAL_SHARE}; 0: none). Latency and CPU per request "
        "compare like with like there",
    )  # fmt: skip
    add(
        "--peers", type=list_of(_choice(list(PEERS), "peer")),
        help="reference servers in the same matrix: nginx,aiohttp,uvicorn "
        "(one that is not installed is skipped)",
    )  # fmt: skip
    _add_report_parser(commands)
    return parser


def _add_report_parser(commands: argparse._SubParsersAction[OneLineErrors]) -> None:
    report = commands.add_parser(
        "report", help="build report.html, summary.md and charts from a run directory"
    )
    report.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="e.g. reports/latest")
    report.add_argument("--baseline", type=Path, metavar="OTHER_RUN_DIR", help="compare with")
    report.add_argument(
        "--fail-on-regression",
        type=_percent,
        metavar="PCT",
        help="exit 1 when a cell's req/s fell by more than PCT%% beyond the noise "
        "(its 95%% interval entirely below -PCT%%); needs --baseline",
    )
    report.add_argument(
        "--no-charts",
        dest="charts",
        action="store_false",
        help="the tables and the verdict only, no charts/*.png: several times faster, e.g. "
        "for a regression gate",
    )


def _percent(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 <= value < 100:
        raise argparse.ArgumentTypeError(f"must be in [0, 100), got {value:g}")
    return value


def matrix_from(args: argparse.Namespace, modes: Sequence[VariantModes]) -> Matrix:
    """The preset the flags chose over the variants in `modes`, with every axis or timing
    the user gave replacing its own. --variants, --cache or --reader replace the preset's
    choice of servers by their product (ImpossibleServer when a variant named has none
    of the modes asked for); --scenarios applies to every block of the preset."""
    matrix = preset("quick" if args.quick else "full" if args.full else "default", modes)
    if args.variants or args.cache or args.reader:
        variants = tuple(args.variants or (m.name for m in modes))
        caches, readers = tuple(args.cache or PRODUCT_CACHES), tuple(args.reader or ())
        if args.variants:
            refuse_impossible(variants, caches, readers, modes)
        matrix = dataclasses.replace(
            matrix, variants=variants, caches=caches, readers=readers, extra=()
        )
    if args.scenarios:
        extra = tuple(dataclasses.replace(block, scenarios=None) for block in matrix.extra)
        matrix = dataclasses.replace(matrix, scenarios=tuple(args.scenarios), extra=extra)
    overrides = {
        "users": args.users, "duration": args.duration, "warmup": args.warmup,
        "repeats": args.repeat,
    }  # fmt: skip
    matrix = dataclasses.replace(matrix, **{k: v for k, v in overrides.items() if v is not None})
    matrix = dataclasses.replace(
        matrix, engines=tuple(args.engine), clients=tuple(args.client), loads=_loads(args),
        peers=tuple(args.peers or ()),
    )  # fmt: skip
    if args.host is not None and args.variants is None:
        matrix = dataclasses.replace(
            matrix, variants=(EXTERNAL,), caches=("n/a",), readers=(), extra=()
        )
    return matrix


def _loads(args: argparse.Namespace) -> tuple[str, ...]:
    """The closed maximum (unless only fixed rates), sweep shares, rates, the equal load."""
    loads: tuple[str, ...] = (CLOSED,) if args.sweep or not args.rate else ()
    loads += tuple(f"{share}%" for share in SWEEP_SHARES) if args.sweep else ()
    loads += tuple(f"{rate}/s" for rate in args.rate or ())
    loads += (equal_load(args.equal_load),) if args.equal_load and CLOSED in loads else ()
    return loads


def _available(matrix: Matrix, explicit: bool) -> Matrix:
    """Drop variants this machine cannot run (an error when the user asked for them; a
    preset never plans them) and peers that are not installed (skipped with a line); an
    engine asked for must exist."""
    missing = [
        name
        for name, variant in VARIANTS.items()
        if not variant.available() and (name in matrix.variants or not explicit)
    ]
    for name in missing:
        if explicit:
            raise UsageError(f"variant {name!r} needs {VARIANTS[name].requires}")
        print(f"skipping variant {name}: needs {VARIANTS[name].requires}")
    for name in matrix.engines:
        if (why := engine_named(name).unavailable()) is not None:
            raise UsageError(why)
    absent = [name for name in matrix.peers if not PEERS[name].available()]
    for name in absent:
        print(f"skipping peer {name}: not installed (needs {PEERS[name].requires})")
    matrix = dataclasses.replace(
        matrix,
        variants=tuple(v for v in matrix.variants if v not in missing),
        peers=tuple(p for p in matrix.peers if p not in absent),
    )
    for line in matrix.skipped():
        print(f"not measured: {line}")
    if not matrix.cells():
        raise UsageError("nothing to measure: no cell of this matrix can run here")
    return matrix


def settings_from(args: argparse.Namespace, matrix: Matrix) -> RunnerSettings:
    """Pinning (default: server on the first CPU, load on the rest) and the load mode."""
    server_cpus, load_cpus = split_cpus(sorted(os.sched_getaffinity(0)))
    return RunnerSettings(
        duration=matrix.duration,
        warmup=matrix.warmup,
        server_cpus=args.server_cpus or server_cpus,
        load_cpus=args.load_cpus or load_cpus,
        load_workers=args.load_workers,
        remote_workers=args.remote_workers,
        master_bind=args.master_bind,
        host=args.host,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `python -m bench`."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(arguments)
    if args.command == "report":
        from bench.report.command import report_command  # matplotlib only when reporting

        return report_command(
            args.run_dir, args.baseline, args.fail_on_regression, charts=args.charts
        )
    try:
        if args.host is not None and args.peers:
            raise UsageError("--peers starts its own servers; it cannot be used with --host")
        if args.host is not None and args.reader:
            raise UsageError("--reader is how the server we start reads; not with --host")
        matrix = _available(matrix_from(args, catalogue()), explicit=args.variants is not None)
    except (UsageError, ImpossibleServer) as error:
        print(f"python -m bench: error: {error}", file=sys.stderr)
        return 2
    settings = settings_from(args, matrix)
    print(_plan(matrix, settings), flush=True)
    # Only now pandas (through bench.results): a wrong command line is answered at once.
    from bench.results.console import render_console_summary
    from bench.results.table import FAILED, read_results
    from bench.run.campaign import run_campaign

    outcome = run_campaign(matrix, settings, args.out, arguments)
    results = read_results(outcome.directory)
    print("\n" + render_console_summary(results))
    print(f"\nresults: {outcome.directory / 'results.csv'} (run.json, raw locust files beside it)")
    from bench.report.command import report_after_run

    report_after_run(outcome.directory)
    if outcome.interrupted:
        return 130
    return 1 if (results["status"] == FAILED).any() else 0


def _plan(matrix: Matrix, settings: RunnerSettings) -> str:
    trials = len(matrix.trials())
    pinning = (
        f"server on CPU {settings.server_cpus}, load on CPU {settings.load_cpus}"
        if settings.server_cpus else "not pinned (fewer than 2 CPUs)"
    )  # fmt: skip
    axes = (
        f"engines {','.join(matrix.engines)}; locust clients {','.join(matrix.clients)}; "
        f"loads {','.join(matrix.loads)}"
    )
    peers = f"; peers {','.join(matrix.peers)}" if matrix.peers else ""
    return (
        f"{trials} trials: {len(matrix.cells())} cells × {matrix.repeats} repeats, "
        f"{matrix.warmup} s warm-up + {matrix.duration} s measured each; {pinning}\n"
        f"{axes}{peers}"
    )
