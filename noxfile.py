"""Developer tasks: `nox --list` is the menu. Plain `nox` runs the fast ones (lint, tests)."""

from __future__ import annotations

import os

import nox

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.sessions = ["lint", "tests"]
nox.options.reuse_existing_virtualenvs = True


def _install_compiled(session: nox.Session, *args: str) -> None:
    """`session.install`, then every module compiled to bytecode once. Where
    PYTHONDONTWRITEBYTECODE is set (as on the project's shared machine), each of the suite's
    hundreds of Python processes (servers, locust, `python -m bench`, the workers) would
    otherwise compile all it imports again: `import bench.report` took 3.5 s of CPU, 1.3 s
    compiled. uv compiles only when asked (pip always does); the project's own packages
    get their `__pycache__` (ignored by git) here."""
    session.install(*(["--compile-bytecode"] if session.venv_backend == "uv" else []), *args)
    session.run_install("python", "-m", "compileall", "-q", "server", "bench", "tests", "scripts")


def _site(session: nox.Session) -> None:
    """Generate the demo site's large files (deterministic, skipped when present)."""
    session.run("python", "scripts/make_static.py")


@nox.session
def lint(session: nox.Session) -> None:
    """ruff (lint + format check), mypy --strict and the import contracts (lint-imports)."""
    session.install("-e", ".[lint,test,bench,peers]")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("mypy")
    session.run("lint-imports")


# Parallel by default: two pytest-xdist workers (at most one per CPU), each test file on one
# worker (`--dist loadfile`), so a file's module fixtures (servers, locust runs, a report
# built) are set up once, not once per worker; then the tests marked `solo` (their premise is
# CPUs of their own) in one process. Not `--dist loadgroup`: with pytest 9.2 it silently
# stops grouping (pytest-xdist issue #1386). Files are handed out longest first (the list in
# tests/conftest.py; `--no-loadscope-reorder` keeps xdist from ordering them by their number
# of tests instead), so that the two workers end together. Choosing the process
# count (`-n 0` runs everything in one process) or the tests by marker (`-m`) yourself makes
# it one plain pytest run with your arguments.
WORKERS = min(2, len(os.sched_getaffinity(0)))
NO_TESTS = 5  # pytest's exit code when nothing was selected: a file without solo tests
# pytest keeps the test modules it rewrote for its assertions in __pycache__ (ignored by
# git), but not where PYTHONDONTWRITEBYTECODE is set, as on the project's shared machine:
# there every pytest process (each worker, the solo part, the suite's own pytest runs)
# rewrote them all again: collecting the suite took 14 s, 6 s with the cache (here). In a
# fresh clone the two workers still rewrite them once, side by side; the solo part and
# every later run find them. An empty value is "not set" to Python.
WRITE_BYTECODE = {"PYTHONDONTWRITEBYTECODE": ""}


def _own_choice(posargs: list[str]) -> bool:
    """Whether the arguments pick the process count or the markers themselves."""
    return any(arg in ("-n", "-m", "--numprocesses") or arg.startswith(("-n", "--numprocesses="))
               for arg in posargs)  # fmt: skip


@nox.session
def tests(session: nox.Session) -> None:
    """The test suite: real servers on 127.0.0.1 for every variant × cache mode."""
    _install_compiled(session, "-e", ".[test,bench,peers]")
    _site(session)
    if _own_choice(session.posargs) or WORKERS < 2:
        session.run("pytest", "-m", "not microbench", *session.posargs, env=WRITE_BYTECODE)
        return
    parallel = ["-n", str(WORKERS), "--dist", "loadfile", "--no-loadscope-reorder"]
    session.run("pytest", "-m", "not microbench and not solo", *parallel, *session.posargs,
                env=WRITE_BYTECODE)  # fmt: skip
    session.run("pytest", "-m", "solo and not microbench", *session.posargs,
                success_codes=[0, NO_TESTS], env=WRITE_BYTECODE)  # fmt: skip


@nox.session(default=False)
def microbench(session: nox.Session) -> None:
    """pytest-benchmark micro-benchmarks of the core, saved for later comparison."""
    session.install("-e", ".[test,bench]")
    _site(session)
    session.run(
        "pytest", "tests/microbench", "-m", "microbench", "--benchmark-autosave", *session.posargs
    )


@nox.session(default=False)
def bench(session: nox.Session) -> None:
    """Every variant × cache under locust (~10 min), ending in its report; `-- --quick` for CI."""
    session.install("-e", ".[bench,peers]")
    _site(session)
    session.run("python", "-m", "bench", "run", *session.posargs)  # builds the report at the end


@nox.session(default=False)
def report(session: nox.Session) -> None:
    """Rebuild a run's report: `nox -s report -- RUN_DIR [--baseline OTHER_RUN_DIR]`."""
    session.install("-e", ".[bench]")
    session.run("python", "-m", "bench", "report", *(session.posargs or ["reports/latest"]))


@nox.session(default=False)
def perf(session: nox.Session) -> None:
    """Speed and memory targets: nginx vs every variant under wrk (needs nginx and wrk)."""
    session.install("-e", ".[bench]")
    _site(session)
    session.run("python", "-m", "bench.perf", *session.posargs)


@nox.session(default=False)
def serve(session: nox.Session) -> None:
    """Serve the demo site: `nox -s serve -- --variant uvloop --port 8080`."""
    session.install("-e", ".")
    _site(session)
    session.run("python", "-m", "server", *session.posargs)


@nox.session(default=False)
def locust(session: nox.Session) -> None:
    """Interactive load: the locust web UI on 127.0.0.1:8089 against one server: `nox -s locust -- --variant uvloop --cache on`"""  # noqa: E501
    session.install("-e", ".[bench]")
    _site(session)
    session.run("python", "-m", "bench.interactive", *session.posargs)
