"""Dashboard provider: the headline speed ratios across the saved runs (asv's idea, in one
file). Load every OUT/runs/*/bench.json of the current run's profile, compute
speedup.headline_ratios of each, render a small trend plot and a table. Fewer than two
runs of that profile: nothing to show (build returns None).

Example: runs 20250101-1200 and 20250102-1200, im2col over the loops 2100x and 2300x,
give a two-point line from 2100 to 2300 and a table of two rows.
"""
from __future__ import annotations

import json
from pathlib import Path

from cnnref.report import markup, speedup, svg


def _load(run: Path) -> dict | None:
    try:
        return speedup.load(run)
    except (ValueError, json.JSONDecodeError):
        return None       # an unfinished or older run: not part of the history


def build(run_dir) -> dict | None:
    run_dir = Path(run_dir).resolve()
    current = _load(run_dir)
    if current is None or not run_dir.parent.is_dir():
        return None
    runs = []
    for run in sorted(p for p in run_dir.parent.iterdir() if p.is_dir()):
        raw = current if run == run_dir else _load(run)
        if raw is not None and raw.get("profile") == current["profile"]:
            runs.append({"run": run.name, "created": raw.get("created") or run.name,
                         "ratios": speedup.headline_ratios(speedup.index(raw))})
    return {"profile": current["profile"], "runs": runs} if len(runs) >= 2 else None


def _series(data) -> dict:
    labels = {k: label for k, label, *_ in speedup.HEADLINE}
    series = {}
    for key, label in labels.items():
        pts = [(i + 1, r["ratios"][key]) for i, r in enumerate(data["runs"])
               if r["ratios"].get(key)]
        if pts:
            series[label] = pts
    return series


def plots(data) -> list[str]:
    return [svg.line_chart(f"Headline ratios across {len(data['runs'])} runs "
                           f"(profile {data['profile']})", _series(data),
                           "run (oldest first)", "x (log scale)", logx=False, logy=True,
                           width=560, height=240, legend_below=True)]


def render_html(data) -> str:
    keys = [(k, label) for k, label, *_ in speedup.HEADLINE]
    rows = [[str(i + 1), r["created"]] + ["" if r["ratios"][k] is None else
                                          f"{r['ratios'][k]:.3g}x" for k, _ in keys]
            for i, r in enumerate(data["runs"])]
    return (f"<p>Every saved run of profile <code>{data['profile']}</code> in this output "
            f"folder's runs/ (baseline time / reference time: &gt; 1 is faster).</p>"
            + markup.details(markup.count(len(rows), "run"), markup.table(
                ["run", "created"] + [label for _, label in keys], rows)))
