"""summary.md: the report's headline tables in GitHub Markdown, sized for a CI job summary.

No charts (a job summary cannot show files beside it) and no full per-cell tables; it
points at report.html instead. The verdict comes first, as in report.html. Row classes
become a leading symbol so marks survive without colour.
"""

from __future__ import annotations

from bench.report.tables import Page, Table

_SYMBOLS = {"failed": "❌ ", "marked": "⚠️ ", "regression": "🔴 ", "better": "🟢 "}


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_table(table: Table) -> str:
    """A Markdown table under a heading, its caption below in italics."""
    header = table.header if any(table.header) else ["", ""]
    lines = [f"### {table.title}", "", "| " + " | ".join(map(_cell, header)) + " |"]
    lines.append("|" + "|".join("---" for _ in header) + "|")
    for i, row in enumerate(table.rows):
        kind = table.classes[i] if i < len(table.classes) else ""
        cells = [_cell(c) for c in row]
        cells[0] = _SYMBOLS.get(kind, "") + cells[0]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", f"_{_cell(table.caption)}_", ""] if table.caption else [""]
    return "\n".join(lines)


def render_markdown_summary(page: Page) -> str:
    """The whole summary: the verdict, the alarm, what each choice buys, the compact
    tables, the environment and
    the sections always shown; every cell is in report.html and results.csv."""
    parts = [f"## {page.title}", ""]
    if page.verdict:
        parts += [f"- {line}" for line in page.verdict] + [""]
    if page.alarm:
        parts += [f"**{'🔴 ' if page.alarm.raised else ''}{page.alarm.text}**", ""]
    parts += [render_table(table) for table in [*page.choices, *page.answer]]
    parts.append(render_table(page.environment))
    for heading, tables in page.sections:
        parts += [f"#### {heading}", ""]
        parts += [render_table(table) for table in tables]
    parts.append(
        "Charts and every cell's figures: `report.html` and `charts/*.png` in the run "
        "directory; every trial: `results.csv`."
    )
    return "\n".join(parts) + "\n"
