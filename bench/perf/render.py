"""Plain-text tables for a perf `Report`: it only reads results, it never measures.

Right-aligned numbers, left-aligned names, one blank line between sections, footnotes
under the table they explain.
"""

from __future__ import annotations

from collections.abc import Sequence

from bench.perf.verdicts import (
    CLOSE_COMPARISONS,
    CLOSE_TARGET,
    IDLE_CONNECTIONS,
    IDLE_LIMIT_MB,
    IDLE_TARGETED,
    KEEPALIVE_COMPARISONS,
    LARGE_COMPARISONS,
    NONE,
    RSS_LIMIT_MB,
    Comparison,
    LoadRow,
    MemoryRow,
    Report,
    assess,
    overall,
    verdict,
)

CEILING_NOTE = (
    "ceiling-asyncio/-uvloop: the ceiling sketch (bench/perf/ceiling.py), NOT a variant: prebuilt\n"
    "  bytes, no parsing or checks. `vs ceiling` compares a variant with it on the same loop."
)
CORE_NOTE = (
    "req/s: with several rounds, the median round's (its latencies and CPU too); spread:\n"
    "  (max - min) / median of the rounds' req/s, how much this machine moved the figure.\n"
    "srv/wrk core: how busy the server's and wrk's pinned cores were during the run (all\n"
    "  processes and kernel network work). The side near 100% set the pace; when wrk's core\n"
    "  is the full one, the ratio to nginx understates the gap. srv µs/req: the server's own\n"
    "  process CPU time (user + system) per response; unlike the core's share, other\n"
    "  processes on the same core do not inflate it."
)


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Aligned columns: the first left-aligned, the others right-aligned."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        first, *rest = (str(cell) for cell in cells)
        parts = [first.ljust(widths[0])]
        parts += [cell.rjust(width) for cell, width in zip(rest, widths[1:], strict=True)]
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([line(headers), rule, *(line(row) for row in rows)])


def _num(value: float | None, spec: str, suffix: str = "") -> str:
    return NONE if value is None else f"{value:{spec}}{suffix}"


def _errors(row: LoadRow) -> str:
    result = row.result
    if result is None:
        return NONE
    if result.errors == 0:
        return "0"
    kinds = [
        ("connect", result.connect_errors),
        ("read", result.read_errors),
        ("write", result.write_errors),
        ("timeout", result.timeout_errors),
        ("non-2xx/3xx", result.non_2xx_3xx),
    ]
    return ", ".join(f"{name} {count}" for name, count in kinds if count)


def _one_line(note: str, limit: int = 120) -> str:
    """The last line of a (possibly multi-line) reason, shortened: tables stay readable."""
    lines = [line.strip() for line in note.strip().splitlines() if line.strip()]
    last = lines[-1] if lines else ""
    return last if len(last) <= limit else last[: limit - 1] + "…"


def _load_cells(rows: list[LoadRow], row: LoadRow, comparisons: Sequence[Comparison]) -> list[str]:
    result = row.result
    if result is None:
        blank = [NONE] * (8 + 2 * len(comparisons))
        return [row.server, *blank, f"skipped: {_one_line(row.note)}"]
    server_core = None if row.server_core is None else row.server_core * 100
    load_core = None if row.load_core is None else row.load_core * 100
    cells = [row.server, f"{result.requests_per_s:,.0f}", _num(row.spread, ".0%"),
             f"{result.p50_ms:.2f} ms",
             f"{result.p99_ms:.2f} ms", _errors(row), _num(server_core, ".0f", "%"),
             _num(row.cpu_us_per_request, ".1f"), _num(load_core, ".0f", "%")]  # fmt: skip
    outcomes = []
    for comparison in comparisons:
        value, target, outcome = assess(rows, row, comparison)
        cells += [_num(value, ".2f", "×"), _num(target, "g", "×")]
        outcomes.append(outcome)
    return [*cells, overall(outcomes)]


def load_table(title: str, rows: list[LoadRow], comparisons: Sequence[Comparison]) -> str:
    """One load's rows with a ratio and target column pair per comparison."""
    headers = ["server", "req/s", "spread", "p50", "p99", "errors", "srv core", "srv µs/req",
               "wrk core"]  # fmt: skip
    for comparison in comparisons:
        headers += [f"vs {comparison.label}", "target"]
    cells = [_load_cells(rows, row, comparisons) for row in rows]
    return f"{title}\n{table([*headers, 'verdict'], cells)}"


def _wrk(report: Report) -> str:
    settings = report.settings
    command = f"wrk -t1 -c{settings['connections']} -d{settings['duration']:g}s"
    rounds = settings.get("rounds", 1)
    return command if rounds == 1 else f"{command}, median of {rounds} rounds"


def _modes(report: Report) -> str:
    """Which cache and reader our variants ran with, as the table titles say it."""
    cache = report.settings.get("cache", "on")
    reader = report.settings.get("reader", "own")
    modes = "each variant's own cache" if cache == "own" else f"cache {cache}"
    return modes if reader == "own" else f"{modes}, reader {reader}"


def keepalive_table(report: Report) -> str:
    """Keep-alive throughput against nginx and the ceiling sketch."""
    page = report.settings.get("page", "/index.html")
    title = f"Keep-alive: {_wrk(report)} GET {page} ({_modes(report)})"
    text = load_table(title, report.keepalive, KEEPALIVE_COMPARISONS)
    return f"{text}\n{CEILING_NOTE}\n{CORE_NOTE}"


def close_table(report: Report) -> str:
    """Close-per-request throughput against nginx, the ceiling and the original design."""
    server, reference, target = CLOSE_TARGET
    title = (f"Connection: close on every request: {_wrk(report)} -H 'Connection: close' "
             f"GET {report.settings.get('page', '/index.html')}")  # fmt: skip
    notes = [
        f"targets: uvloop >= 0.8x nginx; {server} >= {target:g}x {reference}.",
        f"{reference}: the original blog post's server (bench/targets/original_blog.py):",
        "  listen(1), no Content-Length. Its read errors ARE that missing Content-Length: wrk can",
        "  only end such a response at the server's close and counts each one as a read error.",
        "  wrk also opens one spare connection per such response and closes it unused, which the",
        "  original answers with a logged traceback: its figure here is a lower bound (locust gets",
        "  ~1.6x more).",
    ]
    return load_table(title, report.close, CLOSE_COMPARISONS) + "\n" + "\n".join(notes)


def large_table(report: Report) -> str:
    """A 1 MiB file, keep-alive, against nginx."""
    page = report.settings.get("large_page", "the 1 MiB file")
    title = f"Large file: {_wrk(report)} GET {page} ({_modes(report)})"
    note = ("nginx-close: nginx with -H 'Connection: close', a new connection per file, which\n"
            "  the blog variants make by design (the post's one request per connection): their\n"
            "  second ratio compares like with like.")  # fmt: skip
    return f"{load_table(title, report.large, LARGE_COMPARISONS)}\n{note}"


def _memory_cells(row: MemoryRow) -> list[str]:
    targeted = row.server in IDLE_TARGETED
    delta = row.idle_delta_mb
    idle_verdict = verdict(delta, IDLE_LIMIT_MB if targeted else None, at_most=True)
    if delta is not None and not targeted:
        idle_verdict = "info"
    return [row.server, f"{row.rss_mb:.1f} MB", verdict(row.rss_mb, RSS_LIMIT_MB, at_most=True),
            f"{row.idle_held}/{row.idle_opened}", _num(delta, ".1f", " MB"),
            _num(row.per_connection_kb, ".1f", " kB"), idle_verdict, row.note]  # fmt: skip


def memory_table(report: Report) -> str:
    """RSS after load and the cost of idle keep-alive connections."""
    title = (f"Memory (RSS of the server's process tree; limits: < {RSS_LIMIT_MB:g} MB after "
             f"load, < {IDLE_LIMIT_MB:g} MB for {IDLE_CONNECTIONS:,} idle keep-alive "
             "connections, asyncio and uvloop)")  # fmt: skip
    headers = ["server", "RSS", "verdict", "idle held", "idle +RSS", "per conn", "verdict", "note"]
    rows = [_memory_cells(row) for row in report.memory]
    return f"{title}\n{table(headers, rows)}"


def header(report: Report) -> str:
    """One line of machine, one of versions, one of pinning."""
    machine = ", ".join(f"{key} {value}" for key, value in report.machine.items())
    versions = ", ".join(f"{key} {value}" for key, value in report.versions.items())
    return f"machine: {machine}\nversions: {versions}"


def render(report: Report) -> str:
    """The whole report as text."""
    sections = [header(report)]
    if report.keepalive:
        sections.append(keepalive_table(report))
    if report.close:
        sections.append(close_table(report))
    if report.large:
        sections.append(large_table(report))
    if report.memory:
        sections.append(memory_table(report))
    if report.notes:
        sections.append("\n".join(f"note: {note}" for note in report.notes))
    return "\n\n".join(sections)
