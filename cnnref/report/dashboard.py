"""The self-contained HTML dashboard (reports/index.html) and its section providers.

A provider is three functions: build(run_dir) -> data, render_markdown(data) -> str and
render_html(data) -> str; plugging one in is one line in PROVIDERS. No network is needed
to view the page: CSS is inline and plots are inline SVG (cnnref/report/svg.py).
"""
from __future__ import annotations

from dataclasses import dataclass
from html import escape
from typing import Callable

from cnnref.report import (correctness, junit_summary, matrix, speedup, speedup_render,
                           training)


@dataclass(frozen=True)
class Provider:
    """One dashboard section: `name` is reports/<name>.md and the page anchor."""
    name: str
    title: str
    build: Callable
    render_markdown: Callable
    render_html: Callable


PROVIDERS = (
    Provider("verification", "Verification run", junit_summary.build,
             junit_summary.render_markdown, junit_summary.render_html),
    Provider("correctness", "Correctness", correctness.build, correctness.render_markdown,
             correctness.render_html),
    Provider("speedup", "Speed-up", speedup.build, speedup_render.render_markdown,
             speedup_render.render_html),
    Provider("training", "Training", training.build, training.render_markdown,
             training.render_html),
    Provider("matrix", "Conformance matrix", matrix.build, matrix.render_markdown,
             matrix.render_html),
)


def providers(*names: str) -> tuple[Provider, ...]:
    """The providers of these names, in PROVIDERS order (all of them without names)."""
    unknown = set(names) - {p.name for p in PROVIDERS}
    if unknown:
        raise ValueError(f"dashboard.providers: no provider named {sorted(unknown)}")
    return tuple(p for p in PROVIDERS if not names or p.name in names)

CSS = """
body { font-family: sans-serif; margin: 1.5em auto; max-width: 1200px; color: #222; }
nav a { margin-right: 1em; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 13px; }
th, td { border: 1px solid #ccc; padding: 3px 7px; text-align: left; vertical-align: top;
         white-space: pre-line; }
th { background: #f0f0f0; }
tr.ok td:last-child, p.ok { color: #1a7f37; }
tr.bad td:last-child, p.bad { color: #c62828; font-weight: bold; }
tr.na td:last-child { color: #777; }
.plot { margin: 0.5em 0; }
code { background: #f4f4f4; padding: 0 3px; }
"""


@dataclass(frozen=True)
class Section:
    name: str
    title: str
    markdown: str
    html: str


def build_sections(run_dir, providers=PROVIDERS, extra: dict | None = None) -> list[Section]:
    """Build and render every provider. `extra` maps a provider name to a function
    data -> data run between build and render (e.g. attaching a comparison). A provider
    whose build returns None has nothing to show (training: `cnnref train` never ran)
    and is left out; missing data it needs is its error to raise."""
    sections = []
    for p in providers:
        data = p.build(run_dir)
        if data is None:
            continue
        if extra and p.name in extra:
            data = extra[p.name](data)
        sections.append(Section(p.name, p.title, p.render_markdown(data),
                                p.render_html(data)))
    return sections


def render_page(sections: list[Section], subtitle: str = "") -> str:
    nav = " ".join(f'<a href="#{s.name}">{escape(s.title)}</a>' for s in sections)
    body = "\n".join(f'<section id="{s.name}"><h2>{escape(s.title)}</h2>\n{s.html}\n</section>'
                     for s in sections)
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<title>cnnref report</title>"
            f"<style>{CSS}</style></head><body>\n<h1>cnnref report</h1>"
            f"<p>{escape(subtitle)}</p><nav>{nav}</nav>\n{body}\n</body></html>\n")
