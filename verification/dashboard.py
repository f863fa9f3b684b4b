"""The self-contained HTML dashboard (reports/index.html) and its section providers.

A provider is a module with build(run_dir) -> data, render_markdown(data) -> str and
render_html(data) -> str; plugging one in is one line in PROVIDERS. No network is needed
to view the page: CSS is inline and plots are inline SVG (verification/svg.py).
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from html import escape

# (name: reports/<name>.md and the page anchor, title, module)
PROVIDERS = (
    ("verification", "Verification run", "verification.junit_summary"),
    ("correctness", "Correctness", "verification.correctness"),
    ("speedup", "Speed-up", "verification.speedup"),
    ("training", "Training", "verification.train_report"),
)

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
    for name, title, module in providers:
        mod = importlib.import_module(module)
        data = mod.build(run_dir)
        if data is None:
            continue
        if extra and name in extra:
            data = extra[name](data)
        sections.append(Section(name, title, mod.render_markdown(data), mod.render_html(data)))
    return sections


def render_page(sections: list[Section], subtitle: str = "") -> str:
    nav = " ".join(f'<a href="#{s.name}">{escape(s.title)}</a>' for s in sections)
    body = "\n".join(f'<section id="{s.name}"><h2>{escape(s.title)}</h2>\n{s.html}\n</section>'
                     for s in sections)
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<title>cnnref report</title>"
            f"<style>{CSS}</style></head><body>\n<h1>cnnref report</h1>"
            f"<p>{escape(subtitle)}</p><nav>{nav}</nav>\n{body}\n</body></html>\n")
