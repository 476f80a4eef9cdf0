"""`python -m bench.interactive`: locust's web UI against one of our servers, for a person.

It only moves processes: start the server (pinned when there are two CPUs or more), start
locust's web UI with the class picker over every scenario (as a subprocess: gevent must never
patch this process), wait, and on Ctrl-C, SIGTERM or SIGHUP stop locust, then the server, by
PID. Both run in their own process group, so a terminal's Ctrl-C reaches only this process
and the order holds. If either dies on its own, the other is stopped and the exit code is 1.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from bench.engines.locust.scenarios import SCENARIOS, scenario_file
from bench.plan.axes import CLIENTS, LEAN
from bench.targets.probe import http_status
from bench.targets.process import ChildProcess, ChildStartError, ServerProcess
from server.cli import build_parser as build_server_parser
from server.cli_types import OneLineErrors, bounded, cpu_number, list_of
from server.config import CACHE_MODES, ServerConfig
from server.variants import VARIANTS, available_variants

PROJECT = Path(__file__).resolve().parents[1]
WEB_HOST = "127.0.0.1"
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
POLL_SECONDS = 0.2
LOG_TAIL_LINES = 30


@dataclass(frozen=True, slots=True)
class Options:
    """The parsed command line."""

    variant: str
    cache: str  # a --cache mode: off, on or alru
    web_port: int
    server_cpus: tuple[int, ...] | None  # None: nothing pinned
    load_cpus: tuple[int, ...] | None
    server_args: tuple[str, ...]  # passed through to `python -m server`
    site: Path  # the directory the server serves; the scenarios check sizes against it
    client: str = LEAN  # the web UI form's default HTTP client (it can be changed there)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser; `--help` documents every option."""
    parser = OneLineErrors(
        prog="python -m bench.interactive",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add = parser.add_argument
    default = ServerConfig()
    add("--variant", choices=list(VARIANTS), default=default.variant, help="server I/O design")
    add("--cache", choices=CACHE_MODES, default=None, help="server file cache (default: its own)")
    add(
        "--web-port",
        type=bounded(int, 1, 65535),
        default=8089,
        help="locust web UI port (default 8089)",
    )
    add("--server-cpus", type=list_of(cpu_number), default=(0,), help="comma list (default 0)")
    add(
        "--load-cpus",
        type=list_of(cpu_number),
        default=(1,),
        help="comma list, for locust (default 1)",
    )
    add("--client", choices=CLIENTS, default=LEAN, help="HTTP client preselected in the web UI")
    add(
        "--server-args",
        nargs=argparse.REMAINDER,
        default=[],
        help="everything after it goes to `python -m server`, e.g. --server-args --workers 2",
    )
    return parser


def parse_options(argv: Sequence[str] | None) -> tuple[Options, list[str]]:
    """Options plus notes on what the machine changed; bad values exit 2 with one line."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.variant not in available_variants():
        parser.error(f"variant {args.variant!r} needs {VARIANTS[args.variant].requires}")
    server_cpus, load_cpus, notes = _pinning(parser, args.server_cpus, args.load_cpus)
    root = _check_server_args(args.server_args)
    if not _port_is_free(args.web_port):
        parser.error(f"--web-port {args.web_port} is busy on {WEB_HOST}")
    options = Options(
        variant=args.variant,
        cache=args.cache or VARIANTS[args.variant].default_cache,
        web_port=args.web_port,
        server_cpus=server_cpus,
        load_cpus=load_cpus,
        server_args=tuple(args.server_args),
        site=(PROJECT / root).resolve(),
        client=args.client,
    )
    return options, notes


def _pinning(
    parser: argparse.ArgumentParser, server: tuple[int, ...], load: tuple[int, ...]
) -> tuple[tuple[int, ...] | None, tuple[int, ...] | None, list[str]]:
    """The CPU sets to pin to, or None for both when the machine offers only one."""
    allowed = sorted(os.sched_getaffinity(0))
    if len(allowed) < 2:
        return None, None, [f"only one CPU ({allowed}) available: nothing pinned"]
    if not set(server + load) <= set(allowed):
        parser.error(f"--server-cpus/--load-cpus must be among the CPUs available: {allowed}")
    if set(server) & set(load):
        parser.error("--server-cpus and --load-cpus must not share a CPU")
    return server, load, []


def _check_server_args(extra: Sequence[str]) -> str:
    """Validate the pass-through options as the server would; the root they name."""
    parser = build_server_parser()
    parser.prog = "python -m bench.interactive --server-args"
    parser.set_defaults(variant=None, cache=None)
    namespace = parser.parse_args(extra)  # one line and exit 2 when wrong, as the server would
    if namespace.variant is not None or namespace.cache is not None:
        parser.error("give --variant and --cache before --server-args")
    root: str = namespace.root
    return root


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # Like locust's own listener: a TIME_WAIT left by an earlier run does not count.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((WEB_HOST, port))
        except OSError:
            return False
    return True


class LocustWebUI(ChildProcess):
    """`locust -f <every scenario> --class-picker`, ready when its web UI answers 200 on /.

    Its stderr (where locust logs) is a log file that outlives it, not a hidden temporary.
    """

    def __init__(
        self, host: str, web_port: int, log: Path, cpus: Sequence[int] | None, client: str = LEAN
    ) -> None:
        argv = locust_argv(host, web_port, client)
        super().__init__(argv, cpus=cpus, cwd=str(PROJECT), log=log, own_group=True)
        self.web_port = web_port
        self.log = log

    @property
    def url(self) -> str:
        """The web UI's address."""
        return f"http://{WEB_HOST}:{self.web_port}"

    def _await_ready(self, deadline: float) -> None:
        while time.monotonic() < deadline:
            self._fail_if_exited()
            try:
                if http_status(self.web_port, "/") == 200:
                    return
            except (OSError, ValueError):
                pass
            time.sleep(0.1)
        raise self._not_ready()


def locust_argv(host: str, web_port: int, client: str = LEAN) -> list[str]:
    """The locust command line: every scenario file, the class picker, the web UI, and the
    scenarios' `--client` (shown in the UI's form, where it can be changed per start)."""
    files = ",".join(str(scenario_file(name)) for name in SCENARIOS)
    return [
        sys.executable, "-m", "locust", "-f", files, "--class-picker", "--host", host,
        "--web-host", WEB_HOST, "--web-port", str(web_port), "--client", client,
    ]  # fmt: skip


class StopRequest:
    """Set by SIGINT, SIGTERM or SIGHUP; polled, so a signal never cuts a stop in half."""

    def __init__(self) -> None:
        self.signum: int | None = None
        for signum in STOP_SIGNALS:
            signal.signal(signum, self._handle)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.signum = signum


def run(options: Options, notes: Sequence[str]) -> int:
    """Start the server, then locust; wait; stop locust, then the server. The exit code."""
    stop = StopRequest()  # before any child: a Ctrl-C during start-up is honoured after it
    server = ServerProcess(
        ["--variant", options.variant, "--cache", options.cache, *options.server_args],
        cpus=options.server_cpus,
        own_group=True,
    )
    os.environ["STATICBENCH_SITE"] = str(options.site)  # what the scenarios expect to be served
    for note in notes:
        print(f"note: {note}", flush=True)
    try:
        with server:
            print(f"server  {server.url}  ({_describe(options)})", flush=True)
            locust = LocustWebUI(
                server.url, options.web_port, _new_log(), options.load_cpus, options.client
            )
            with locust:
                print(f"locust  log in {locust.log}", flush=True)
                print(_open_line(locust.url), flush=True)
                code = _watch(stop, {"locust": locust, "the server": server})
    except ChildStartError as error:
        return _start_failed(server, error)
    print("stopped locust and the server", flush=True)
    return code


def _describe(options: Options) -> str:
    pinning = "nothing pinned"
    if options.server_cpus and options.load_cpus:
        server = ",".join(map(str, options.server_cpus))
        load = ",".join(map(str, options.load_cpus))
        pinning = f"server on CPU {server}, locust on CPU {load}"
    return f"variant {options.variant}, cache {options.cache}, {pinning}"


def _open_line(url: str) -> str:
    return f"open {url} — pick a scenario, users and spawn rate; Ctrl-C stops both"


def _new_log() -> Path:
    handle, path = tempfile.mkstemp(prefix="staticbench-locust-", suffix=".log")
    os.close(handle)
    return Path(path)


def _watch(stop: StopRequest, children: dict[str, ChildProcess]) -> int:
    """Wait for a stop signal (0) or a child that exits on its own (1, with its output)."""
    while stop.signum is None:
        for name, child in children.items():
            assert child.process is not None
            code = child.process.poll()
            if code is not None:
                _report_death(name, child, code)
                return 1
        time.sleep(POLL_SECONDS)
    print(f"got {signal.Signals(stop.signum).name}: stopping locust, then the server", flush=True)
    return 0


def _report_death(name: str, child: ChildProcess, code: int) -> None:
    output = child.stderr().rstrip() or "(nothing on its stderr)"
    if isinstance(child, LocustWebUI):
        tail = "\n".join(output.splitlines()[-LOG_TAIL_LINES:])
        output = f"{tail}\n(whole log: {child.log})"
    print(
        f"python -m bench.interactive: {name} exited on its own ({code}); stopping the other",
        output,
        sep="\n",
        file=sys.stderr,
        flush=True,
    )


def _start_failed(server: ServerProcess, error: ChildStartError) -> int:
    """One message; exit 2 when the server refused its options (as it would alone), else 1."""
    print(f"python -m bench.interactive: error: {error}".rstrip(), file=sys.stderr)
    refused = server.process is not None and server.process.returncode == 2
    return 2 if refused else 1


def main(argv: Sequence[str] | None = None) -> int:
    """Parse, then run; exit 2 for bad options."""
    options, notes = parse_options(argv)
    return run(options, notes)


if __name__ == "__main__":
    raise SystemExit(main())
