"""reports/training.md and its SVG figures, rendered from reports/training/NET.json (written
by `cnnref train`): load -> render, pure functions; a missing section is left out, never
filled with placeholder numbers. Also a dashboard provider (cnnref/report/dashboard.py):
build / render_markdown / render_html, the figures inline.
"""
from __future__ import annotations

import json
import math
import pathlib
import re

from cnnref.report import markup, svg
from cnnref.report.markup import Figure

DOCUMENTS_D3 = {"table18_1": "the documents report 96.3 % test accuracy for this CNN (20 "
                             "epochs) against 81.6 % for their dense net on gray images "
                             "(100 epochs), seed 004"}
PAIRS = (("numpy64~torch64", "float64: NumPy vs PyTorch"),
         ("numpy32~torch32", "float32: NumPy vs PyTorch"),
         ("numpy32~numpy64", "NumPy float32 vs NumPy float64"),
         ("torch32~torch64", "PyTorch float32 vs PyTorch float64"),
         ("nudged64~numpy64", "float64 nudged by 2^-24 vs float64"))


def load(out: pathlib.Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((out / "training").glob("*.json"))]


def _digits(d: float) -> float:
    """Agreeing decimal digits, -log10 of a relative difference (17: identical)."""
    return 17.0 if d <= 0 else min(17.0, -math.log10(d))


def _figures(r: dict) -> dict[str, str]:
    net, figs = r["net"], {}
    if "models" in r:
        for key, what in (("loss", "mean training loss"), ("test_acc", "test accuracy")):
            series = {name: [(e["epoch"], e[key]) for e in m["epochs"]]
                      for name, m in r["models"].items()}
            if key == "test_acc":
                series.update({f"{name} (running statistics)":
                               [(e["epoch"], e["test_acc_running_stats"]) for e in m["epochs"]]
                               for name, m in r["models"].items()
                               if "test_acc_running_stats" in m["epochs"][-1]})
            figs[f"training_{net}_{key}.svg"] = svg.line_chart(
                f"{net}: {what} per epoch", series, "epoch", what, logx=False)
    if "parity" in r:
        p = r["parity"]
        every = max(1, p["steps"] // 50)
        series = {label: [(i + 1, _digits(d)) for i, d in enumerate(p["diffs"][key])
                          if (i + 1) % every == 0 or i == 0]
                  for key, label in PAIRS[:4]}
        figs[f"training_{net}_parity.svg"] = svg.line_chart(
            f"{net}: agreeing digits after each SGD step (-log10 max relative difference)",
            series, "step", "agreeing digits", logx=False)
    return figs


def _models_md(r: dict) -> list[str]:
    lines = [f"Data: {r['data']}; {r['n_train']} training and {r['n_test']} test images, "
             f"batch {r['batch']}, {r['epochs']} epochs of plain SGD. Accuracies are of the "
             f"evaluation mode; a net with batch norm is evaluated with its statistics "
             f"re-estimated over the training set after each epoch "
             f"(Sequential.recalibrate_batch_norm), and also, in the last column, with the "
             f"momentum-0.1 running statistics training left (torch's eval()).", "",
             "| model | spec | parameters | lr | last epoch loss | train acc | test acc | "
             "test acc, running statistics |",
             "|---|---|---:|---:|---:|---:|---:|---:|"]
    for name, m in r["models"].items():
        e = m["epochs"][-1]
        running = e.get("test_acc_running_stats")
        lines.append(f"| {name} | `{m['spec']}` | {m['params']:,} | {m['lr']} | "
                     f"{e['loss']:.4f} | {e['train_acc']:.1%} | {e['test_acc']:.1%} | "
                     f"{'-' if running is None else f'{running:.1%}'} |")
    here = ", ".join(f"{name} {m['epochs'][-1]['test_acc']:.1%}"
                     for name, m in r["models"].items())
    lines += ["", f"D3, test accuracy after the last epoch here: {here}."]
    if r["net"] in DOCUMENTS_D3:
        lines[-1] += f" For comparison, {DOCUMENTS_D3[r['net']]}."
    net = r["net"]
    return lines + ["", f"![loss](training_{net}_loss.svg)",
                    f"![test accuracy](training_{net}_test_acc.svg)", ""]


def _parity_md(r: dict) -> list[str]:
    p, net = r["parity"], r["net"]
    lines = [f"### Step for step against PyTorch ({p['steps']} steps, batch {p['batch']}, "
             f"lr {p['lr']})", "",
             "Relative difference after each step: max over tensors (every parameter and "
             "batch-norm running statistic) of max|a - b| / (largest |value| in that layer of "
             "the float64 PyTorch run).", "",
             "| comparison | after step 1 | max over the run | at the end | worst tensor at "
             "the end |", "|---|---:|---:|---:|---|"]
    for key, label in PAIRS:
        d = p["diffs"][key]
        lines.append(f"| {label} | {d[0]:.2e} | {max(d):.2e} | {d[-1]:.2e} | "
                     f"{p['worst'][key]} |")
    l64, l32 = max(p["loss_diffs"]["float64"]), max(p["loss_diffs"]["float32"])
    d64, d32 = max(p["diffs"]["numpy64~torch64"]), max(p["diffs"]["numpy32~torch32"])
    own = max(p["diffs"]["numpy32~numpy64"]) + max(p["diffs"]["torch32~torch64"])
    return lines + [
        "", f"Loss, max relative difference over the run: float64 {l64:.2e}, float32 "
        f"{l32:.2e}.", "",
        f"**float64**: {d64:.2e} at most (target 1e-9: {'met' if d64 <= 1e-9 else 'NOT met'}). "
        f"Derived bound (verification/core/tolerances.py:training_parity_allowed): steps x "
        f"amplification x 2 gamma_n = {p['steps']} x {p['amplification']:.2f} x 2 "
        f"gamma_{p['reduction']} = {p['allowed64']:.2e} "
        f"({'within' if d64 <= p['allowed64'] else 'OUTSIDE'}).", "",
        _float32_md(p, d32, d64, own), "", f"![parity](training_{net}_parity.svg)", ""]


def _jump(d: list, floor: float) -> int | None:
    """The first step (1-based) where a difference series leaps: above `floor` and 30
    times everything before it. Rounding errors grow gradually; a leap is a discrete
    decision taken the other way."""
    for k in range(1, len(d)):
        if d[k] > floor and d[k] > 30 * max(d[:k]):
            return k + 1
    return None


def _float32_md(p: dict, d32: float, d64: float, own: float) -> str:
    """The float32 paragraph, written from the numbers: a random walk of roundings, or
    the leap of a discrete decision, whichever the run shows."""
    walk = math.sqrt(p["steps"]) * 2 ** -24 * p["amplification"]
    text = (f"**float32**: NumPy and PyTorch drift apart by {d32:.2e} at most. Both are "
            f"float32 roundings of the same float64 trajectory (which they share to "
            f"{d64:.0e}), so the drift is bounded by the sum of each side's own float32 "
            f"error (triangle inequality, one scale): {d32:.2e} <= {own:.2e} + {d64:.1e}. ")
    leaps = {side: _jump(p["diffs"][key], 10 * walk) for side, key in
             (("NumPy", "numpy32~numpy64"), ("PyTorch", "torch32~torch64"))}
    leaps = {side: k for side, k in leaps.items() if k is not None}
    if not leaps:
        return text + (
            f"Each side's error starts at the rounding of the weights and data to float32 "
            f"(u32 = 6.0e-08) and grows by the roundings of every step; the dynamics amplify "
            f"them little (a 2^-24 nudge of the initial weights grows by a factor "
            f"{p['amplification']:.2f} at most over the run), so the errors accumulate like "
            f"a random walk, of the order of sqrt(steps) x u32 x amplification = "
            f"{walk:.1e}, not geometrically as a chaotic divergence would.")
    where = "; ".join(f"{side} float32 at step {k}" for side, k in leaps.items())
    return text + (
        f"The float32 error does not stay a random walk of roundings (of the order of "
        f"sqrt(steps) x u32 x amplification = {walk:.1e}): it leaps ({where}), more than 30 "
        f"times its size before. A leap is a discrete decision taken the other way: two "
        f"values of a max-pooling window within float32 rounding of each other (or a "
        f"pre-activation within rounding of ReLU's kink), so the gradient goes to another "
        f"pixel; the gradient is discontinuous there and float32 cannot resolve the tie. "
        f"From then on the float32 run follows a different, equally valid trajectory. The "
        f"float64 parity above is unaffected: its differences (1e-16 relative) are far "
        f"below any such gap.")



def render(results: list[dict]) -> tuple[str, dict[str, str]]:
    lines = ["# Training the documents' networks in NumPy", "",
             "Generated by `cnnref train NET [--parity]` (cnnref/cli/train.py); the "
             "model is reference/model.py, the PyTorch twin verification/training/torch_layers.py, "
             "the parity harness verification/training/parity.py.", ""]
    figs: dict[str, str] = {}
    for r in results:
        lines += [f"## {r['net']}", ""]
        if "models" in r:
            lines += _models_md(r)
        if "parity" in r:
            lines += _parity_md(r)
        figs.update(_figures(r))
    return "\n".join(lines), figs


def write_report(out: pathlib.Path) -> pathlib.Path:
    text, figs = render(load(out))
    for name, body in figs.items():
        (out / name).write_text(body)
    (out / "training.md").write_text(text)
    return out / "training.md"


# --- dashboard provider --------------------------------------------------------------------

def build(run_dir) -> dict | None:
    """The training results beside reports/runs/<run> (reports/training/*.json), or None
    when `cnnref train` has not run."""
    results = load(pathlib.Path(run_dir).resolve().parents[1])
    return {"results": results} if results else None


def render_markdown(data) -> str:
    return render(data["results"])[0]


def headline(data) -> list[Figure]:
    """Per trained network: the CNN's test accuracy after its last epoch."""
    out = []
    for r in data["results"]:
        if "models" not in r or r["net"] not in r["models"]:
            continue
        e = r["models"][r["net"]]["epochs"][-1]
        others = ", ".join(f"{name} {m['epochs'][-1]['test_acc']:.1%}"
                           for name, m in r["models"].items() if name != r["net"])
        out.append(Figure(f"{r['net']} test accuracy (NumPy training)",
                          f"{e['test_acc']:.1%}", "",
                          f"{len(r['models'][r['net']]['epochs'])} epochs"
                          + (f"; {others}" if others else "")))
    return out


def render_html(data) -> str:
    """The Markdown of render() as HTML: headings, paragraphs, tables, and each
    ![..](figure.svg) replaced by the figure itself."""
    text, figs = render(data["results"])
    out, table = [], []
    for line in text.splitlines()[1:] + [""]:       # the title is the section's own
        if line.startswith("|"):
            if not set(line) <= set("|-: "):
                table.append([c.strip() for c in line.strip("|").split("|")])
            continue
        if table:
            out.append(markup.table(table[0], table[1:]))
            table = []
        figure = re.fullmatch(r"!\[[^]]*\]\(([^)]+)\)", line)
        if figure:
            out.append(markup.plot(figs[figure.group(1)]))
        elif line.startswith("#"):
            level = len(line) - len(line.lstrip("#")) + 1       # the section is an h2
            out.append(f"<h{level}>{markup.inline(line.lstrip('# '))}</h{level}>")
        elif line.strip():
            out.append(f"<p>{markup.inline(line)}</p>")
    return "\n".join(out)
