"""The self-contained HTML dashboard (OUT/index.html) and its section providers.

A provider is three functions, build(run_dir) -> data (None: nothing to show),
render_markdown(data) -> str (or None: no .md file) and render_html(data) -> str, and
optionally three more: headline(data) -> [markup.Figure] (tiles of the headline band),
plots(data) -> [svg] (the plots band) and footer(data) -> [str] (the machine). Plugging
one in is one line in PROVIDERS; its headline figures join the band in PROVIDERS order.

The page reads top to bottom as a reader takes it in: the headline band (every
provider's figures: verification status, formulas, speed-ups, ...), the plots band, then
each section's details, long lists collapsed behind their count, and a footer with the
machine, the library versions and the BLAS kernel. It needs no network: CSS inline,
plots inline SVG (cnnref/report/svg.py), one line of script that opens the collapsed
blocks for printing. Tables scroll inside their own box, so nothing is cut at 400 px.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Callable

from cnnref.report import (correctness, history, junit_summary, markup, matrix, speedup,
                           speedup_render, training)


@dataclass(frozen=True)
class Provider:
    """One dashboard section: `name` is OUT/<name>.md and the page anchor."""
    name: str
    title: str
    build: Callable
    render_markdown: Callable | None
    render_html: Callable
    headline: Callable | None = None
    plots: Callable | None = None
    footer: Callable | None = None


PROVIDERS = (
    Provider("verification", "Verification run", junit_summary.build,
             junit_summary.render_markdown, junit_summary.render_html,
             headline=junit_summary.headline),
    Provider("correctness", "Correctness", correctness.build, correctness.render_markdown,
             correctness.render_html, headline=correctness.headline),
    Provider("speedup", "Speed-up", speedup.build, speedup_render.render_markdown,
             speedup_render.render_html, headline=speedup_render.headline,
             plots=speedup_render.plots, footer=speedup_render.footer),
    Provider("training", "Training", training.build, training.render_markdown,
             training.render_html, headline=training.headline),
    Provider("matrix", "Conformance matrix", matrix.build, matrix.render_markdown,
             matrix.render_html, headline=matrix.headline),
    Provider("history", "History", history.build, None, history.render_html,
             plots=history.plots),
)


def providers(*names: str) -> tuple[Provider, ...]:
    """The providers of these names, in PROVIDERS order (all of them without names)."""
    unknown = set(names) - {p.name for p in PROVIDERS}
    if unknown:
        raise ValueError(f"dashboard.providers: no provider named {sorted(unknown)}")
    return tuple(p for p in PROVIDERS if not names or p.name in names)


@dataclass(frozen=True)
class Section:
    name: str
    title: str
    markdown: str | None
    html: str
    figures: tuple = ()
    plots: tuple = ()
    footer: tuple = ()


def _render(p: Provider, data) -> Section:
    part = lambda f: tuple(f(data)) if f else ()  # noqa: E731
    return Section(p.name, p.title, p.render_markdown(data) if p.render_markdown else None,
                   p.render_html(data), part(p.headline), part(p.plots), part(p.footer))


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
        sections.append(_render(p, data))
    return sections


def run_meta(run_dir) -> dict:
    """RUN_DIR/run.json (profile, note, step times), {} for a run without one."""
    path = Path(run_dir) / "run.json"
    return json.loads(path.read_text()) if path.exists() else {}


def _subtitle(meta: dict, run_name: str) -> str:
    steps = ", ".join(f"{k} {v / 60:.1f} min" for k, v in meta.get("steps", {}).items())
    parts = [f"run {run_name}", meta.get("created", ""),
             f"profile {meta['profile']}" if "profile" in meta else "",
             f"measured in {steps}" if steps else ""]
    return " · ".join(p for p in parts if p)


def render_page(sections: list[Section], run_dir=None) -> str:
    """The page: header, headline band, plots band, navigation, sections, footer."""
    meta = run_meta(run_dir) if run_dir else {}
    name = Path(run_dir).name if run_dir else ""
    figures = [f for s in sections for f in s.figures]
    plots = [p for s in sections for p in s.plots]
    nav = " ".join(f'<a href="#{s.name}">{escape(s.title)}</a>' for s in sections)
    body = "\n".join(f'<section id="{s.name}"><h2>{escape(s.title)}</h2>\n{s.html}\n</section>'
                     for s in sections)
    note = f'<p class="note">{markup.inline(meta["note"])}</p>' if meta.get("note") else ""
    foot = [f for s in sections for f in s.footer]
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        f"<title>cnnref report</title><style>{CSS}</style></head><body>\n"
        f"<header><h1>cnnref report</h1><p class=\"sub\">{escape(_subtitle(meta, name))}</p>"
        f"{note}</header>\n"
        f'<section id="headline" class="band">{"".join(map(markup.figure, figures))}</section>\n'
        f'<section id="plots" class="plots">{"".join(map(markup.plot, plots))}</section>\n'
        f"<nav>{nav}</nav>\n{body}\n"
        f"<footer><h2>Machine</h2><ul>{''.join(f'<li>{markup.inline(x)}</li>' for x in foot)}"
        f"</ul>{note}<p>Generated by <code>cnnref report</code>.</p></footer>\n"
        f"<script>{PRINT_SCRIPT}</script>\n</body></html>\n")


# printing opens every collapsed block, so paper shows what the screen hides
PRINT_SCRIPT = ("addEventListener('beforeprint',()=>document.querySelectorAll('details')"
                ".forEach(d=>d.open=true))")

CSS = """
body { font-family: system-ui, sans-serif; margin: 0 auto; max-width: 1200px;
       padding: 0 12px 2em; color: #222; line-height: 1.4; }
h1 { margin: 0.5em 0 0.1em; font-size: 1.6em; }
h2 { border-bottom: 1px solid #ddd; padding-bottom: 2px; margin-top: 1.5em; }
p, li { overflow-wrap: break-word; }   /* a long test id or path wraps, never widens */
.sub, .note { margin: 0.2em 0; color: #555; font-size: 13px; }
.band { display: grid; grid-template-columns: repeat(auto-fill, minmax(165px, 1fr));
        gap: 8px; margin: 0.6em 0; }
.fig { border: 1px solid #ddd; border-left: 6px solid #aaa; border-radius: 4px;
       padding: 5px 9px; background: #fafafa; min-width: 0; }
.fig.ok { border-left-color: #1a7f37; } .fig.bad { border-left-color: #c62828; }
.fig .label { font-size: 12px; color: #444; }
.fig .value { font-size: 1.45em; font-weight: 650; }
.fig.bad .value { color: #c62828; }
.fig .detail { font-size: 11px; color: #666; overflow-wrap: anywhere; }
.plots { display: flex; flex-wrap: wrap; gap: 12px; align-items: flex-start; }
.plot { max-width: 100%; }
.plot svg { max-width: 100%; height: auto; display: block; }
nav { margin: 0.8em 0; font-size: 14px; }
nav a { margin-right: 1em; }
.scroll { overflow-x: auto; max-width: 100%; margin: 0.5em 0 1.2em; }
table { border-collapse: collapse; font-size: 13px; }
th, td { border: 1px solid #ccc; padding: 3px 7px; text-align: left; vertical-align: top;
         white-space: pre-line; }
td { min-width: 3em; max-width: 36em; }
td:nth-child(2) { min-width: 14em; }     /* the "what" of a row: never a narrow strip */
th { background: #f0f0f0; }
tr.ok td:last-child, p.ok { color: #1a7f37; }
tr.bad td:last-child, p.bad { color: #c62828; font-weight: bold; }
tr.na td:last-child { color: #777; }
ul.compact { margin: 0; padding-left: 1.1em; }
details { margin: 0.4em 0; }
summary { cursor: pointer; }
code { background: #f4f4f4; padding: 0 3px; font-size: 0.92em; }
footer { margin-top: 2em; border-top: 1px solid #ccc; font-size: 12px; color: #444; }
footer h2 { font-size: 14px; border: none; }
@media (max-width: 600px) {
  body { padding: 0 8px 2em; font-size: 15px; }
  .band { grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 6px; }
  .fig .value { font-size: 1.2em; }
  .fig .detail { display: none; }   /* the tile's title and the sections say it */
  table { font-size: 12px; }
}
@media print {
  body { max-width: none; font-size: 11px; }
  nav, summary { display: none; }
  .scroll { overflow: visible; }
  .fig, .plot, tr { break-inside: avoid; }
  a { color: inherit; text-decoration: none; }
}
"""
