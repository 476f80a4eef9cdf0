"""report.html: one self-contained page — inline CSS, charts as base64 PNG data URIs.

It opens from disk with no network: no external stylesheet, script, font or link. All
text is escaped; the numbers come formatted from `bench.report.tables`.
"""

from __future__ import annotations

import base64
from html import escape
from pathlib import Path

from bench.report.charts import Chart
from bench.report.tables import Page, Table

_CSS = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 1.5em auto; max-width: 1500px;
       padding: 0 1em; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 1.6em; }
table { border-collapse: collapse; margin: .4em 0 .2em; font-size: 13px; }
th, td { border: 1px solid #ccc; padding: .2em .5em; text-align: right; vertical-align: top; }
th { background: #f2f2f2; } td:first-child, th:first-child { text-align: left; }
caption { caption-side: bottom; text-align: left; font-size: 12px; color: #555;
          padding-top: .3em; max-width: 1100px; }
table.env td { text-align: left; }
tr.failed td { background: #f8d7da; } tr.marked td { background: #fff3cd; }
tr.regression td { background: #f5c2c7; font-weight: bold; }
tr.better td { background: #d1e7dd; } tr.noise td { color: #555; }
figure { margin: 1em 0; } figure img { max-width: 100%; height: auto; border: 1px solid #ddd; }
figcaption { font-size: 12px; color: #555; }
.verdict { font-size: 1.1em; padding: .5em .8em; border-left: 4px solid #888; }
.verdict.fail { border-color: #b02a37; background: #f8d7da; }
ul.answer { font-size: 1.05em; } ul.answer li { margin: .25em 0; }
details { margin: 1.2em 0; } details > summary { font-size: 1.2em; font-weight: bold;
                                                 cursor: pointer; }
"""


def data_uri(path: Path) -> str:
    """The PNG at `path` as a data: URI."""
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def render_table(table: Table, css_class: str = "") -> str:
    """A <table> with its caption; row classes carry the marks."""
    head = "".join(f"<th>{escape(h)}</th>" for h in table.header)
    body = []
    for i, row in enumerate(table.rows):
        kind = table.classes[i] if i < len(table.classes) else ""
        cells = "".join(f"<td>{escape(cell)}</td>" for cell in row)
        body.append(f'<tr class="{escape(kind)}">{cells}</tr>')
    klass = f' class="{css_class}"' if css_class else ""
    head_row = "" if not any(table.header) else f"<thead><tr>{head}</tr></thead>"
    return (
        f"<h3>{escape(table.title)}</h3><table{klass}><caption>{escape(table.caption)}</caption>"
        f"{head_row}<tbody>{''.join(body)}</tbody></table>"
    )


def render_chart(chart: Chart) -> str:
    """A <figure> with the chart inline."""
    return (
        f'<figure id="{escape(chart.name)}"><img src="{data_uri(chart.path)}" '
        f'alt="{escape(chart.title)}"><figcaption>{escape(chart.title)} '
        f"(also <code>charts/{escape(chart.path.name)}</code>)</figcaption></figure>"
    )


def render_page(page: Page, answer_charts: list[Chart], charts: list[Chart]) -> str:
    """The whole page: the verdict, what each choice buys, the verdict's charts and compact
    tables on the first screen,
    then the environment, the other sections and charts, and every cell collapsed."""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{escape(page.title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{escape(page.title)}</h1>",
    ]
    if page.verdict:
        items = "".join(f"<li>{escape(line)}</li>" for line in page.verdict)
        parts.append(f'<h2>Verdict</h2><ul class="answer">{items}</ul>')
    if page.alarm:
        fail = " fail" if page.alarm.raised else ""
        parts.append(f'<p class="verdict{fail}">{escape(page.alarm.text)}</p>')
    parts.extend(render_table(table) for table in page.choices)
    parts.extend(render_chart(chart) for chart in answer_charts)
    parts.extend(render_table(table) for table in page.answer)
    parts.append(render_table(page.environment, "env"))
    for heading, tables in page.sections:
        parts.append(f"<h2>{escape(heading)}</h2>")
        parts.extend(render_table(table) for table in tables)
    if charts:
        parts.append("<h2>More charts</h2>")
        parts.extend(render_chart(chart) for chart in charts)
    for heading, tables in page.details:
        parts.append(f"<details><summary>{escape(heading)}</summary>")
        parts.extend(render_table(table) for table in tables)
        parts.append("</details>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
