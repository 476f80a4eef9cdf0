"""Micro-benchmarks of the core: marked `microbench`, skipped unless asked for.

They print figures (pytest-benchmark) and assert nothing about time. Run them with
`pytest tests/microbench` (or `nox -s microbench`); a plain `pytest` run skips them and
`pytest -m "not microbench"` deselects them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


def _asked_for(config: pytest.Config) -> bool:
    """True when the command line names this folder (or a file in it) or the marker."""
    markexpr: str = config.getoption("markexpr") or ""
    if "microbench" in markexpr.replace("not microbench", ""):
        return True
    for arg in config.args:
        path = Path(arg.split("::")[0]).resolve()
        if path == HERE or HERE in path.parents:
            return True
    return False


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every benchmark here; skip them when the run did not ask for them."""
    skip = None if _asked_for(config) else pytest.mark.skip(reason="run: pytest tests/microbench")
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.microbench)
            if skip is not None:
                item.add_marker(skip)
