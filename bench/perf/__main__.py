"""`python -m bench.perf`: speed and memory of every variant against nginx, one run.

It only moves processes: start a server pinned to one core, warm it up, run wrk pinned
to the other, measure RSS and idle connections, always stop the server by its PID. What
it cannot run (no nginx, no wrk, a missing variant) it skips and says so. Results go to
`bench.perf.verdicts`; `bench.perf.render` prints them. Exit 0 when it ran (a MISS is a finding,
not a failure), 2 for bad options.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from types import FrameType
from typing import Any, NamedTuple, Protocol

from bench.engines.wrk.command import WrkError, find_wrk, wrk_version
from bench.engines.wrk.engine import run_wrk
from bench.measure.cores import CoreBusy
from bench.measure.sampling import TreeSampler
from bench.perf.memory import measure_memory, raise_nofile
from bench.perf.render import render
from bench.perf.verdicts import (
    IDLE_CONNECTIONS,
    NGINX,
    NGINX_CLOSE,
    READER_SEPARATOR,
    LoadRow,
    Report,
    median_rows,
    to_json,
)
from bench.results.environment import MISSING, machine_info, versions
from bench.targets.nginx import NginxServer, find_nginx, nginx_version
from bench.targets.process import ChildStartError, PinnedProcess, ServerProcess, free_port
from bench.targets.start import original_server
from server.cli_types import OneLineErrors, bounded
from server.config import CACHE_MODES, READERS
from server.variants import VARIANTS, available_variants

PROJECT = Path(__file__).resolve().parents[2]
STATIC = PROJECT / "static"
PAGE = "/index.html"
LARGE_PAGE = "/generated/1m.bin"
WARMUP_SECONDS = 1
CLOSE = ("Connection: close",)


class Running(Protocol):
    """What the bench needs of any started server."""

    @property
    def url(self) -> str: ...
    @property
    def pid(self) -> int: ...


Starter = Callable[[], AbstractContextManager[Running]]


class Measured(NamedTuple):
    """One of our servers to measure: its row's name, the variant and the --reader asked."""

    row: str
    variant: str
    reader: str | None


@dataclass(frozen=True, slots=True)
class Options:
    """The parsed command line."""

    duration: int
    connections: int
    server_cpus: list[int] | None
    load_cpus: list[int] | None
    variants: list[str]
    cache: str | None  # None: each variant's own (on; the blog variants' alru)
    readers: list[str] | None  # None: each variant's own (its first reader)
    skip_nginx: bool
    json_path: Path | None
    rounds: int = 1


def _variant_list(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in VARIANTS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"unknown variant(s) {unknown}; known: {list(VARIANTS)}")
    return names


def _reader_list(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in READERS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"unknown reader(s) {unknown}; known: {list(READERS)}")
    return list(dict.fromkeys(names))


def build_parser() -> argparse.ArgumentParser:
    """The argument parser; `--help` documents every option."""
    parser = OneLineErrors(prog="python -m bench.perf", description=__doc__)
    add = parser.add_argument
    add("--duration", type=bounded(int, 1), default=5, help="whole seconds per run (default 5)")
    add("--quick", action="store_true", help="3 s per run and one round (overrides both)")
    add(
        "--rounds",
        type=bounded(int, 1),
        default=3,
        help="every server measured this many times, the servers in turn; each row is the "
        "median (default 3)",
    )
    add("--connections", type=bounded(int, 1), default=50, help="wrk connections (default 50)")
    add("--server-cpu", type=int, default=0, help="CPU for the server (default 0)")
    add("--load-cpu", type=int, default=1, help="CPU for wrk and this process (default 1)")
    add("--variants", type=_variant_list, default=None, help="comma list (default: all here)")
    add(
        "--cache",
        choices=CACHE_MODES,
        default=None,
        help="our variants' --cache (default: each its own, on; alru for the blog variants)",
    )
    add(
        "--reader",
        type=_reader_list,
        default=None,
        help="comma list of our variants' --reader, each measured in turn (default: each "
        "variant's own); a row with another reader than the variant's own is named "
        "VARIANT:READER and has no target",
    )
    add("--skip-nginx", action="store_true", help="do not measure nginx")
    add("--json", type=Path, default=None, help="also write the results as JSON here")
    return parser


def parse_options(argv: Sequence[str] | None) -> tuple[Options, list[str]]:
    """Options plus notes on what the machine changed; bad values exit 2 via argparse."""
    parser = build_parser()
    args = parser.parse_args(argv)
    notes: list[str] = []
    allowed = sorted(os.sched_getaffinity(0))
    server_cpus: list[int] | None = [args.server_cpu]
    load_cpus: list[int] | None = [args.load_cpu]
    if len(allowed) < 2:
        server_cpus = load_cpus = None
        notes.append(
            f"only one CPU ({allowed}) available: nothing pinned, server and load share it"
        )
    elif args.server_cpu not in allowed or args.load_cpu not in allowed:
        parser.error(f"--server-cpu/--load-cpu must be among the CPUs available: {allowed}")
    elif args.server_cpu == args.load_cpu:
        parser.error("--server-cpu and --load-cpu must differ")
    if not (STATIC / LARGE_PAGE.lstrip("/")).is_file():  # a 404 rate would measure nothing
        parser.error(f"{STATIC}{LARGE_PAGE} is missing: run `python scripts/make_static.py` "
                     "first (`nox -s perf` does)")  # fmt: skip
    if args.json is not None and not args.json.parent.is_dir():
        parser.error(f"--json: directory not found: {args.json.parent}")
    options = Options(
        duration=3 if args.quick else int(args.duration),
        connections=int(args.connections),
        server_cpus=server_cpus,
        load_cpus=load_cpus,
        variants=args.variants or list(VARIANTS),
        cache=args.cache,
        readers=args.reader,
        skip_nginx=args.skip_nginx,
        json_path=args.json,
        rounds=1 if args.quick else int(args.rounds),
    )
    return options, notes


def new_report(options: Options, wrk: str | None, nginx: str | None) -> Report:
    """An empty report carrying machine, versions and settings."""
    settings: dict[str, Any] = {"duration": options.duration, "rounds": options.rounds,
                                "connections": options.connections,
                                "server_cpus": options.server_cpus, "load_cpus": options.load_cpus,
                                "warmup": WARMUP_SECONDS, "page": PAGE,
                                "large_page": LARGE_PAGE,
                                "cache": options.cache or "own",
                                "reader": ",".join(options.readers or ["own"])}  # fmt: skip
    tools = {
        "nginx": nginx_version(nginx) if nginx else MISSING,
        "wrk": wrk_version(wrk) if wrk else MISSING,
    }
    return Report(machine_info(PROJECT), versions(tools), settings)


def ours(
    variant: str, cache: str | None, reader: str | None, cpus: list[int] | None
) -> ServerProcess:
    """Our server; idle connections kept 60 s so the idle-memory probe sees them."""
    args = ["--variant", variant, "--cache", cache or VARIANTS[variant].default_cache,
            "--root", str(STATIC), "--keepalive-timeout", "60"]  # fmt: skip
    if reader is not None:
        args += ["--reader", reader]
    return ServerProcess(args, cpus=cpus)


def original(cpus: list[int] | None) -> PinnedProcess:
    """The original blog post's server on a free port."""
    return original_server(STATIC, tuple(cpus) if cpus else None, PROJECT)


def ceiling(loop: str, cpus: list[int] | None) -> PinnedProcess:
    """The ceiling sketch (not a variant: prebuilt bytes, no parsing) on `loop`."""
    port = free_port()
    argv = [sys.executable, "-m", "bench.perf.ceiling", "--port", str(port), "--loop", loop,
            "--root", str(STATIC)]  # fmt: skip
    return PinnedProcess(argv, port, cpus=cpus, cwd=str(PROJECT))


def load(
    wrk: str, options: Options, server: Running, name: str, close: bool, page: str = PAGE
) -> LoadRow:
    """Warm up (not counted), then one measured wrk run, noting how busy both cores were."""
    cpus = options.load_cpus
    measure = partial(run_wrk, wrk, server.url + page, connections=options.connections,
                      headers=CLOSE if close else (), cpus=cpus)  # fmt: skip
    try:
        measure(duration=WARMUP_SECONDS)
        sampler = TreeSampler(server.pid, interval=1.0)
        with CoreBusy(options.server_cpus) as server_core, CoreBusy(cpus) as load_core:
            sampler.begin()
            result = measure(duration=options.duration)
            usage = sampler.end()
    except WrkError as error:
        return LoadRow(name, None, f"wrk failed: {error}")
    return LoadRow(name, result, server_core=server_core.busy, load_core=load_core.busy,
                   server_cpu_s=usage.cpu_s)  # fmt: skip


@contextmanager
def serving(name: str, start: Starter, rows: list[LoadRow]) -> Iterator[Running | None]:
    """The started server (always stopped after), or None with a row saying why it is not."""
    with ExitStack() as stack:
        try:
            server: Running | None = stack.enter_context(start())
        except ChildStartError as error:
            rows.append(LoadRow(name, None, f"did not start: {error}"))
            server = None
        yield server


def skipped(options: Options, wrk: str | None, nginx: str | None, here: set[str]) -> list[str]:
    """One note per thing this run cannot measure, with the reason."""
    notes = [f"skipped variant {name}: needs {VARIANTS[name].requires}"
             for name in options.variants if name not in here]  # fmt: skip
    if wrk is None:
        notes.append("skipped both throughput tables: wrk is not installed")
    if options.skip_nginx:
        notes.append("skipped nginx: --skip-nginx")
    elif nginx is None:
        notes.append("skipped nginx: not installed (no nginx on PATH or in /usr/sbin)")
    return notes


def _measurable(options: Options, here: set[str], report: Report) -> list[str]:
    """The variants asked for that run here with the --cache asked for (a note for the rest)."""
    names = [name for name in options.variants if name in here]
    if options.cache is None:
        return names
    lacking = [name for name in names if options.cache not in VARIANTS[name].caches]
    report.notes += [f"{name}: not measured, it has no --cache {options.cache}" for name in lacking]
    return [name for name in names if name not in lacking]


def servers_to_measure(options: Options, names: list[str], report: Report) -> list[Measured]:
    """(row name, variant, reader) for every variant × --reader it has (a note for the rest).

    A variant's own reader keeps the variant's name, so its targets apply; another reader
    is the row `VARIANT:READER`, compared with the same references but without a target.
    """
    measured: list[Measured] = []
    for name in names:
        variant = VARIANTS[name]
        readers: list[str | None] = [*options.readers] if options.readers else [None]
        for reader in readers:
            if reader is not None and reader not in variant.readers:
                report.notes.append(f"{name}: not measured with --reader {reader}, it has none")
            elif reader is None or reader == variant.readers[0]:
                measured.append(Measured(name, name, reader))
            else:
                measured.append(Measured(f"{name}{READER_SEPARATOR}{reader}", name, reader))
    return measured


def run(options: Options, report: Report, wrk: str | None, nginx: str | None) -> None:
    """Every measurement the tools and variants here allow: `options.rounds` passes over
    every server (so a slow minute on a shared machine falls on all of them, not on one),
    each table row the median of its rounds; memory once, in the first."""
    here = set(available_variants())
    report.notes += skipped(options, wrk, nginx, here)
    measured = servers_to_measure(options, _measurable(options, here, report), report)
    refs = references(options, nginx, "uvloop" in here) if wrk else []
    rounds = [Report(report.machine, report.versions, report.settings)
              for _ in range(options.rounds)]  # fmt: skip
    for number, part in enumerate(rounds):
        one_round(options, part, wrk, refs, measured, memory=number == 0)
    report.keepalive = median_rows([part.keepalive for part in rounds])
    report.close = median_rows([part.close for part in rounds])
    report.large = median_rows([part.large for part in rounds])
    report.memory = rounds[0].memory


def one_round(
    options: Options,
    report: Report,
    wrk: str | None,
    refs: list[tuple[str, Starter]],
    measured: list[Measured],
    *,
    memory: bool,
) -> None:
    """Each reference (under wrk), each of our servers (with its memory if `memory`), the
    original."""
    for name, start in refs:
        assert wrk is not None  # `run` has no references without wrk
        with serving(name, start, report.keepalive) as server:
            if server:
                all_loads(wrk, options, report, server, name)
    for row, name, reader in measured:
        start = partial(ours, name, options.cache, reader, options.server_cpus)
        with serving(row, start, report.keepalive) as server:
            if server:
                measure_variant(options, report, wrk, server, row, memory=memory)
    if wrk:
        with serving("original", partial(original, options.server_cpus), report.close) as server:
            if server:
                report.close.append(load(wrk, options, server, "original", close=True))


def references(options: Options, nginx: str | None, uvloop: bool) -> list[tuple[str, Starter]]:
    """What every variant is compared with: nginx and the ceiling sketch on each loop."""
    cpus = options.server_cpus
    starters: list[tuple[str, Starter]] = []
    if nginx:
        starters.append((NGINX, partial(NginxServer, nginx, STATIC, cpus=cpus)))
    for loop in ["asyncio", "uvloop"] if uvloop else ["asyncio"]:
        starters.append((f"ceiling-{loop}", partial(ceiling, loop, cpus)))
    return starters


def measure_variant(
    options: Options,
    report: Report,
    wrk: str | None,
    server: Running,
    name: str,
    *,
    memory: bool = True,
) -> None:
    """Every load wrk can run against one variant, then its memory (if `memory`)."""
    if wrk:
        all_loads(wrk, options, report, server, name)
    if not memory or READER_SEPARATOR in name:
        return  # memory is measured once per variant, with its own reader
    no_load = "" if wrk else "RSS without a load run (no wrk)"
    report.memory.append(measure_memory(server.pid, server.url, name, no_load))


def all_loads(wrk: str, options: Options, report: Report, server: Running, name: str) -> None:
    """Keep-alive, Connection: close and the 1 MiB file against one started server; for
    nginx also the 1 MiB file closing every connection, what the blog variants do."""
    report.keepalive.append(load(wrk, options, server, name, close=False))
    report.close.append(load(wrk, options, server, name, close=True))
    report.large.append(load(wrk, options, server, name, close=False, page=LARGE_PAGE))
    if name == NGINX:
        report.large.append(load(wrk, options, server, NGINX_CLOSE, close=True, page=LARGE_PAGE))


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)  # unwinds every `with`: servers and wrk get stopped


def main(argv: Sequence[str] | None = None) -> int:
    """Parse, measure, print (and write JSON); 0 when it ran."""
    options, notes = parse_options(argv)
    signal.signal(signal.SIGTERM, _terminate)
    wrk = find_wrk()
    nginx = None if options.skip_nginx else find_nginx()
    report = new_report(options, wrk, nginx)
    report.notes.extend(notes)
    raise_nofile(IDLE_CONNECTIONS + 1024)  # children inherit it: the server needs it too
    if options.load_cpus:
        os.sched_setaffinity(0, options.load_cpus)  # keep this process off the server's core
    try:
        run(options, report, wrk, nginx)
    except KeyboardInterrupt:
        print("interrupted: every server and wrk started was stopped", file=sys.stderr)
        return 130
    print(render(report), flush=True)
    if options.json_path is not None:
        options.json_path.write_text(json.dumps(to_json(report), indent=2) + "\n", "utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
