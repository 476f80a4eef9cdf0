"""summary.md: the report's headline tables in GitHub Markdown, sized for a CI job summary.

No charts (a job summary cannot show files beside it); it points at report.html instead.
The environment comes first, as in report.html. Row classes become a leading symbol so
marks survive without colour.
"""

from __future__ import annotations

from bench.report.tables import Alarm, Table

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
    lines += ["", f"_{_cell(table.caption)}_", ""]
    return "\n".join(lines)


def render_markdown_summary(
    title: str,
    environment: Table,
    headlines: list[str],
    sections: list[tuple[str, list[Table]]],
    verdict: Alarm | None = None,
) -> str:
    """The whole summary: title, environment, verdict, headlines, then the tables."""
    parts = [f"## {title}", "", render_table(environment)]
    if verdict:
        parts += [f"**{'🔴 ' if verdict.raised else ''}{verdict.text}**", ""]
    if headlines:
        parts += [f"- {line}" for line in headlines] + [""]
    for heading, tables in sections:
        parts += [f"#### {heading}", ""]
        parts += [render_table(table) for table in tables]
    parts.append("Charts and the full page: `report.html` and `charts/*.png` in the run directory.")
    return "\n".join(parts) + "\n"
