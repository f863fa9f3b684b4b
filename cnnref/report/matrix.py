"""The conformance matrix report: reports/matrix.md and the dashboard section, from the
data `cnnref matrix` writes (reports/matrix.json). load -> compute -> render.

Presentation after ONNX's backend scoreboard: one grid per function, a row per feature,
a column per framework, every cell coloured by its verdict and linking to its evidence
(the convention, the largest error, the smallest case and its reproduction).
"""
from __future__ import annotations

import json
from collections import Counter
from html import escape
from pathlib import Path

from cnnref.report import markup
from cnnref.report.markup import Figure

VERDICTS = ("agrees", "differs", "refuses", "not defined", "not run")
SYMBOL = {"agrees": "ok", "differs": "DIFFERS", "refuses": "refuses",
          "not defined": "-", "not run": "not run"}
COLOUR = {"agrees": "#d7f0dc", "differs": "#f8d0cc", "refuses": "#fde9b8",
          "not defined": "#eeeeee", "not run": "#ffffff"}


# --- load ----------------------------------------------------------------------------

def load(reports_dir: Path) -> dict | None:
    path = Path(reports_dir) / "matrix.json"
    if not path.exists():
        return None
    data = json.loads(path.read_text())
    for key in ("frameworks", "cells"):
        if key not in data:
            raise ValueError(f"matrix.load: {path} has no {key!r}: not written by "
                             "`cnnref matrix`")
    return data


def build(run_dir) -> dict | None:
    """The provider's data: reports/matrix.json beside reports/runs/<run>, or None when
    `cnnref matrix` has not run."""
    return load(Path(run_dir).resolve().parents[1])


# --- compute -------------------------------------------------------------------------

def short(convention: str | None) -> str:
    """'NaN ignored (torch: ...)' -> 'NaN ignored'."""
    return "" if not convention else convention.split(" (")[0]


def counts(data: dict) -> dict:
    """{framework: Counter(verdict)}."""
    out = {fw: Counter() for fw, e in data["frameworks"].items() if e["installed"]}
    for c in data["cells"]:
        out[c["framework"]][c["verdict"]] += 1
    return out


def grids(data: dict) -> dict:
    """{op: {feature: {framework: cell}}}, ops and features in data order."""
    out: dict = {}
    for c in data["cells"]:
        out.setdefault(c["op"], {}).setdefault(c["feature"], {})[c["framework"]] = c
    return out


def findings(data: dict) -> list:
    """The differs cells, then the refuses cells, by framework and function."""
    order = {"differs": 0, "refuses": 1}
    return sorted((c for c in data["cells"] if c["verdict"] in order),
                  key=lambda c: (order[c["verdict"]], c["framework"], c["op"], c["feature"]))


def overview(data: dict) -> dict:
    """{op: {framework: Counter(verdict)}}: one grid of functions x frameworks, each
    cell the verdict counts over that function's features."""
    out: dict = {}
    for c in data["cells"]:
        out.setdefault(c["op"], {}).setdefault(c["framework"], Counter())[c["verdict"]] += 1
    return out


def worst(tally: Counter) -> str:
    """The verdict a function's cell is coloured by: differs before refuses before
    agrees; 'not defined' only when the function is."""
    for verdict in ("differs", "refuses", "agrees", "not run", "not defined"):
        if tally.get(verdict):
            return verdict
    return "not run"


def summary_line(tally: Counter) -> str:
    """'2 differ, 1 refused, 9 agree' of one function's features."""
    if tally.get("not defined"):
        return "-"
    words = (("differs", "differ"), ("refuses", "refused"), ("agrees", "agree"),
             ("not run", "not run"))
    return ", ".join(f"{tally[v]} {w}" for v, w in words if tally.get(v))


def anchor(cell: dict) -> str:
    raw = f"m-{cell['framework']}-{cell['op']}-{cell['feature']}"
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in raw)


def columns(data: dict) -> list:
    return [fw for fw, e in data["frameworks"].items() if e["installed"]
            and "import_error" not in e]


# --- render: markdown ----------------------------------------------------------------

def _label(cell: dict | None) -> str:
    if cell is None:
        return ""
    text = SYMBOL[cell["verdict"]]
    if cell["verdict"] == "differs" and cell.get("convention"):
        text += f": {short(cell['convention'])}"
    return text


def _framework_table(data: dict) -> list:
    lines = ["| framework | version | " + " | ".join(VERDICTS) + " | seconds |",
             "|---|---|" + "---|" * len(VERDICTS) + "---|"]
    per = counts(data)
    for fw, e in data["frameworks"].items():
        if not e["installed"]:
            lines.append(f"| {fw} | not installed |" + " |" * len(VERDICTS) + " |")
            continue
        if "import_error" in e:
            lines.append(f"| {fw} | {e.get('version')} | adapter failed to import: "
                         f"{e['import_error']} |" + " |" * len(VERDICTS))
            continue
        row = " | ".join(str(per[fw][v]) for v in VERDICTS)
        lines.append(f"| {fw} | {e.get('version')} | {row} | {e.get('seconds', '')} |")
    return lines


def _overview_markdown(data: dict, cols: list) -> list:
    lines = ["## Overview: features per function", "",
             "| function | " + " | ".join(cols) + " |", "|---|" + "---|" * len(cols)]
    for op, per in overview(data).items():
        cells = (summary_line(per.get(fw, Counter())) for fw in cols)
        lines.append(f"| [{op}](#{op}) | " + " | ".join(cells) + " |")
    return lines + [""]


def render_markdown(data: dict) -> str:
    cols = columns(data)
    lines = ["# Conformance matrix", "",
             "Every framework's CNN operators against the reference, feature by feature "
             "(`cnnref matrix`). A cell: **ok** (agrees within the derived tolerance), "
             "**DIFFERS** (with the named convention, when a known one explains it), "
             "**refuses** (the framework raises), **-** (not defined).", "",
             *_settings_line(data), *_framework_table(data), "",
             *_overview_markdown(data, cols)]
    for op, rows in grids(data).items():
        lines += [f"## {op}", "", "| feature | " + " | ".join(cols) + " |",
                  "|---|" + "---|" * len(cols)]
        for feature, cells in rows.items():
            lines.append(f"| {feature} | " + " | ".join(_label(cells.get(fw)) for fw in cols)
                         + " |")
        lines.append("")
    lines += ["## Findings", ""]
    for c in findings(data):
        lines += _finding_markdown(c)
    return "\n".join(lines) + "\n"


def _settings_line(data: dict) -> list:
    st = data.get("settings") or {}
    if not st:
        return []
    return [f"Cases per function: the worked examples and corners, then {st.get('draws')} "
            f"hypothesis draws per family (seed {st.get('seed')}); per call "
            f"{st.get('timeout')} s, per function {st.get('deadline')} s after its "
            "warm-up.", ""]


def _finding_markdown(c: dict) -> list:
    head = f"### {c['framework']} {c['op']}: {c['feature']} {c['verdict']}"
    out = [head, ""]
    if c.get("convention"):
        out.append(f"Convention: {c['convention']}.")
    if c.get("max_error") is not None:
        out.append(f"Largest error {c['max_error']:.3g} ({c['failing']} of {c['cases']} "
                   "cases).")
    case = c.get("case") or {}
    if case.get("message"):
        out.append(f"Smallest case: `{case.get('label')}`: {case['message'][:300]}")
    if c.get("reproduction"):
        out += ["", "<details><summary>reproduction</summary>", "", "```python",
                c["reproduction"], "```", "", "</details>"]
    return out + [""]


# --- render: HTML --------------------------------------------------------------------

def headline(data: dict) -> list[Figure]:
    """The dashboard's headline figure: the verdicts over every framework's cells, the
    frameworks with a difference named in the detail."""
    per = counts(data)
    total = sum(per.values(), Counter())
    cells = sum(total[v] for v in ("agrees", "differs", "refuses"))
    differing = [fw for fw, t in per.items() if t.get("differs")]
    return [Figure("conformance matrix: cells agreeing",
                   f"{total['agrees']} / {cells}", "ok" if not differing else "",
                   f"{len(per)} frameworks; {total['differs']} differ, {total['refuses']} "
                   f"refused" + (f" ({', '.join(differing)})" if differing else ""))]


def _html_cell(cell: dict | None) -> str:
    if cell is None:
        return "<td></td>"
    style = f"background:{COLOUR[cell['verdict']]}"
    text = escape(_label(cell))
    if cell["verdict"] in ("differs", "refuses"):
        text = f'<a href="#{anchor(cell)}">{text}</a>'
    return f'<td style="{style}" title="{escape(cell.get("note") or "")}">{text}</td>'


def _html_grid(op: str, rows: dict, cols: list) -> str:
    head = "".join(f"<th>{escape(fw)}</th>" for fw in cols)
    body = "".join(f"<tr><td>{escape(f)}</td>" + "".join(_html_cell(cells.get(fw))
                                                          for fw in cols) + "</tr>"
                   for f, cells in rows.items())
    return (f'<h3 id="m-grid-{escape(op)}">{escape(op)}</h3><div class="scroll"><table>'
            f"<tr><th>feature</th>{head}</tr>{body}</table></div>")


def _html_finding(c: dict) -> str:
    case = c.get("case") or {}
    parts = [f'<h4 id="{anchor(c)}">{escape(c["framework"])} {escape(c["op"])}: '
             f'{escape(c["feature"])} {c["verdict"]}</h4>']
    if c.get("convention"):
        parts.append(f"<p>Convention: {escape(c['convention'])}.</p>")
    if c.get("max_error") is not None:
        parts.append(f"<p>Largest error {c['max_error']:.3g} ({c['failing']} of "
                     f"{c['cases']} cases).</p>")
    if case.get("message"):
        parts.append(f"<p>Smallest case <code>{escape(case.get('label') or '')}</code>: "
                     f"{escape(case['message'][:300])}</p>")
    if c.get("reproduction"):
        n = len(c["reproduction"].splitlines())
        parts.append(f'<details><summary>reproduction ({n} lines)</summary><div '
                     f'class="scroll"><pre>{escape(c["reproduction"])}</pre></div></details>')
    return "\n".join(parts)


def _html_overview(data: dict, cols: list) -> str:
    """One grid, functions x frameworks, each cell linking to the function's grid."""
    head = "".join(f"<th>{escape(fw)}</th>" for fw in cols)
    rows = []
    for op, per in overview(data).items():
        tds = []
        for fw in cols:
            tally = per.get(fw, Counter())
            tds.append(f'<td style="background:{COLOUR[worst(tally)]}">'
                       f'<a href="#m-grid-{escape(op)}">{escape(summary_line(tally))}</a>'
                       "</td>")
        rows.append(f"<tr><td>{escape(op)}</td>{''.join(tds)}</tr>")
    return (f'<div class="scroll"><table class="matrix-overview"><tr><th>function</th>'
            f"{head}</tr>{''.join(rows)}</table></div>")


def render_html(data: dict) -> str:
    cols = columns(data)
    table = "\n".join(_framework_table(data))
    legend = " ".join(f'<span style="background:{COLOUR[v]};padding:0 6px">{v}</span>'
                      for v in VERDICTS)
    grids_html = "\n".join(_html_grid(op, rows, cols) for op, rows in grids(data).items())
    found = "\n".join(_html_finding(c) for c in findings(data))
    n_find = len(findings(data))
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in table.splitlines()]
    return (f"<p>Every framework's CNN operators against the reference, feature by "
            f"feature. {legend}</p>{markup.table(rows[0], rows[2:])}\n"
            f"{_html_overview(data, cols)}\n"
            f"<details><summary>Every function's grid, feature by feature "
            f"({markup.count(len(grids(data)), 'function')})</summary>\n{grids_html}"
            f"</details>\n"
            f"<details><summary>Findings ({n_find}): each differs and refuses cell with "
            f"its case and reproduction</summary>\n{found}</details>")


def summary(data: dict) -> str:
    """The terminal summary: verdict counts per framework."""
    return "\n".join(_framework_table(data))


def write(data: dict, out: Path, json_path: str | None = None) -> list:
    """reports/matrix.json and reports/matrix.md (and --json FILE)."""
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "matrix.json", out / "matrix.md"]
    paths[0].write_text(json.dumps(data, indent=1, default=str))
    paths[1].write_text(render_markdown(data))
    if json_path:
        Path(json_path).write_text(json.dumps(data, indent=1, default=str))
        paths.append(Path(json_path))
    return paths
