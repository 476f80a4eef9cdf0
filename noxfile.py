"""Developer tasks: `nox --list` is the menu. Plain `nox` runs the fast ones (lint, tests)."""

from __future__ import annotations

import nox

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.sessions = ["lint", "tests"]
nox.options.reuse_existing_virtualenvs = True


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


@nox.session
def tests(session: nox.Session) -> None:
    """The test suite: real servers on 127.0.0.1 for every variant × cache mode."""
    session.install("-e", ".[test,bench,peers]")
    _site(session)
    session.run("pytest", "-m", "not microbench", *session.posargs)


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
