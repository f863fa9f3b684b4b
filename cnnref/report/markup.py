"""The HTML building blocks every dashboard section uses: inline Markdown, tables that
scroll inside their own box, and long lists collapsed behind a count. Strings in,
strings out.

Example: table(["ID", "what"], [["A1", "`floor(x)`"]]) is a <div class="scroll"> holding
a table whose second cell reads <code>floor(x)</code>.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from html import escape

# a list longer than this is collapsed behind its count
COLLAPSE_AFTER = 3


def inline(text) -> str:
    """One line of the reports' Markdown as HTML: `code`, **bold**, the rest escaped.
    Test node ids (long, without spaces) may break after '/' and '_'."""
    out = escape(str(text))
    out = re.sub(r"`([^`]*)`", r"<code>\1</code>", out)
    out = re.sub(r"\*\*([^*]*)\*\*", r"<b>\1</b>", out)
    return out.replace("/", "/<wbr>").replace("_", "_<wbr>") if ".py::" in str(text) else out


def details(summary: str, body: str, open_: bool = False) -> str:
    """A collapsed block: `summary` (HTML) always visible, `body` (HTML) on a click."""
    return (f"<details{' open' if open_ else ''}><summary>{summary}</summary>{body}"
            f"</details>")


def count(n: int, noun: str, plural: str | None = None) -> str:
    """count(1, 'test') -> '1 test'; count(3, 'erratum', 'errata') -> '3 errata'."""
    return f"{n} {noun if n == 1 else plural or noun + 's'}"


def item_list(items, noun: str, limit: int = COLLAPSE_AFTER, plural: str | None = None) -> str:
    """A list of strings: up to `limit` shown, a longer one behind 'N <noun(s)>'."""
    items = list(items)
    body = "<ul class=\"compact\">" + "".join(f"<li>{inline(i)}</li>" for i in items) + "</ul>"
    if len(items) <= limit:
        return body
    return details(count(len(items), noun, plural), body)


def table(head, rows, classes=None, raw=()) -> str:
    """A table in its own horizontally scrolling box (nothing is cut at any width).
    Cells are inline Markdown, except the columns listed in `raw`, which are HTML."""
    th = "".join(f"<th>{escape(h)}</th>" for h in head)
    body = []
    for i, row in enumerate(rows):
        cls = f' class="{classes[i]}"' if classes and classes[i] else ""
        body.append(f"<tr{cls}>" + "".join(
            f"<td>{c if j in raw else inline(c)}</td>" for j, c in enumerate(row)) + "</tr>")
    return (f'<div class="scroll"><table><thead><tr>{th}</tr></thead><tbody>'
            + "\n".join(body) + "</tbody></table></div>")


def plot(svg_text: str) -> str:
    return f'<div class="plot">{svg_text}</div>'


@dataclass(frozen=True)
class Figure:
    """One tile of the dashboard's headline band: a provider's `headline(data)` returns
    a list of these. `status`: 'ok', 'bad', 'na' or '' (neutral)."""
    label: str
    value: str
    status: str = ""
    detail: str = ""


def figure(f: Figure) -> str:
    cls = f"fig {f.status}".strip()
    return (f'<div class="{cls}" title="{escape(f.detail)}">'
            f'<div class="label">{inline(f.label)}</div>'
            f'<div class="value">{inline(f.value)}</div>'
            + (f'<div class="detail">{inline(f.detail)}</div>' if f.detail else "") + "</div>")
