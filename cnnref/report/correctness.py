"""The correctness report: one row per FORMULAS ID, the documents' worked examples beside
ours, and their errata. A dashboard provider (cnnref/report/dashboard.py): load -> compute
-> render, pure functions over a run directory written by `cnnref report`.

Inputs (all required; a missing one is an error, never a placeholder):
  run_dir/junit.xml    pytest's results: test items per ID, outcomes, hypothesis statistics
  run_dir/record.json  worst |error| / allowed per (op, tensor, candidate, dtype), written by
                       verification/tests/conftest.py from the harness
  run_dir/bench.json   the speed-up run: D1/D2 claims and the numpy/torch versions
Optional: <reports>/training/table18_1.json (`cnnref train table18_1`) for D3.

Tests back IDs explicitly: `@pytest.mark.formulas("C7", "C11")` on a test, which the
suite's conftest records as the testcase property `formulas` of the JUnit XML. Renaming a
test changes nothing here. An ID without a passing test is "not verified": an error
listed at the top of the report. Example: a run where only one test marked
formulas("B8") ran gives B8 "verified" and 38 IDs "not verified".
"""
from __future__ import annotations

import base64
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

from cnnref.report import correctness_examples as ex
from cnnref.report import correctness_render, speedup
from cnnref.report.errata import ERRATA
from cnnref.report.formulas import CATALOGUE, IDS, order_key

# (op, tensor) of the harness record -> the IDs whose worst error it is.
OP_IDS = {("conv2d", "out"): ("B4", "B5", "B6", "B7"), ("conv2d", "grad_x"): ("C7", "C8", "C9"),
          ("conv2d", "grad_weight"): ("C10",), ("conv2d", "grad_bias"): ("C11",),
          "max_pool2d": ("C12",), "avg_pool2d": ("C13",), "lenet_subsample": ("C14",),
          "batch_norm": ("C15",), "relu": ("C6",), "leaky_relu": ("C6",), "sigmoid": ("C6",),
          "tanh": ("C6",), "softmax": ("C2",), "log_softmax": ("C2",),
          ("cross_entropy", "out"): ("C2",), ("cross_entropy", "grad_x"): ("C3",),
          ("dense", "out"): ("C1",), "dense": ("C4",)}
METHODS = (("against PyTorch", ("torch", "autograd")),
           ("against finite differences", ("central_differences", "finite_difference")),
           ("against a worked example", ("seed", "worked", "example", "lenet5", "table18",
                                         "figure", "landmark")))
NOT_VERIFIABLE = {
    "D1": "the documents' times (38.06 s for 10 runs of the loops, 0.07 s with numba) are "
          "of their machine and code; ours are timed in the Speed-up report (timings are "
          "kept out of this report so that it reproduces byte for byte)",
    "D3": "the accuracies are of the documents' own colour images, which are not "
          "available; ours come from generated data (reference.datasets.colour_shapes)",
}


# --- load ------------------------------------------------------------------------------

def _need(path: Path, what: str) -> Path:
    if not path.exists():
        raise ValueError(f"correctness: no {what} at {path} (run `cnnref report`)")
    return path


def _hypothesis_stats(root) -> dict[str, dict]:
    """node id -> {'examples': passing examples, 'max_examples': int | None}."""
    out = {}
    for prop in root.iter("property"):
        name = prop.get("name", "")
        if not name.startswith("hypothesis-statistics-"):
            continue
        text = base64.b64decode(prop.get("value", "")).decode("utf-8", "replace")
        cap = re.search(r"max_examples=(\d+)", text)
        out[name[len("hypothesis-statistics-"):]] = {
            "examples": sum(int(n) for n in re.findall(r"(\d+) passing", text)),
            "max_examples": int(cap.group(1)) if cap else None}
    return out


def load_junit(run_dir) -> list[dict]:
    """One dict per test item: node, file, func, outcome, hypothesis examples."""
    root = ET.parse(_need(Path(run_dir) / "junit.xml", "junit.xml")).getroot()
    stats = _hypothesis_stats(root)
    items = []
    for case in root.iter("testcase"):
        file = case.get("classname", "").replace(".", "/") + ".py"
        name = case.get("name", "")
        node = f"{file}::{name}"
        outcome = ("failed" if case.find("failure") is not None or case.find("error") is not None
                   else "skipped" if case.find("skipped") is not None else "passed")
        items.append({"node": node, "file": file, "func": name.split("[")[0],
                      "outcome": outcome, "ids": _formulas(case),
                      **stats.get(node, {"examples": 0, "max_examples": None})})
    return items


def _formulas(testcase) -> tuple[str, ...]:
    """The IDs of the testcase's `formulas` property (space-separated), in catalogue
    order; an ID the catalogue lacks is an error (a typo would back nothing)."""
    ids = []
    for prop in testcase.iter("property"):
        if prop.get("name") == "formulas":
            ids += prop.get("value", "").split()
    unknown = sorted(set(ids) - set(IDS))
    if unknown:
        raise ValueError(f"correctness: {testcase.get('name')} is marked with IDs the "
                         f"catalogue lacks: {unknown}")
    return tuple(sorted(set(ids), key=order_key))


def load_record(run_dir) -> list[dict]:
    return json.loads(_need(Path(run_dir) / "record.json", "record.json").read_text())


def load_training(run_dir) -> dict | None:
    """reports/training/table18_1.json beside reports/runs/<run>, if `cnnref train` ran."""
    path = Path(run_dir).resolve().parents[1] / "training" / "table18_1.json"
    return json.loads(path.read_text()) if path.exists() else None


# --- compute ---------------------------------------------------------------------------

def method_of(func: str) -> str:
    return next((label for label, words in METHODS if any(w in func for w in words)),
                "against arithmetic")


def worst_ratios(record) -> dict[str, dict[str, float]]:
    """ID -> dtype -> worst |error| / allowed of the reference over the run."""
    out: dict[str, dict[str, float]] = {}
    for row in record:
        if row["candidate"] != "reference":
            continue
        for fid in OP_IDS.get((row["op"], row["tensor"]), OP_IDS.get(row["op"], ())):
            d = out.setdefault(fid, {})
            d[row["dtype"]] = max(d.get(row["dtype"], 0.0), float(row["worst_ratio"]))
    return out


def algorithm_bounds(record) -> list[dict]:
    """The bounds of one algorithm measured on chosen inputs: record rows whose candidate
    is 'reference <algorithm> (<inputs>)' (verification/tests/test_winograd.py writes the
    Winograd rows), sorted; worst |error| / bound."""
    rows = [{"op": r["op"], "what": r["candidate"][len("reference "):], "dtype": r["dtype"],
             "ratio": float(r["worst_ratio"])}
            for r in record if r["candidate"].startswith("reference ")]
    return sorted(rows, key=lambda r: (r["op"], r["what"], r["dtype"]))


# Operators beyond the documents, by the formula each implements (the reference's
# docstrings give it in full); tested against PyTorch by the harness like the rest.
BEYOND_DOCUMENTS = {
    "conv1d": "conv2d's cross-correlation (B4) with one spatial axis, (N, C, L)",
    "conv3d": "conv2d's cross-correlation (B4) with three spatial axes, (N, C, D, H, W)",
    "conv_transpose1d": "the convolution's input gradient (C7-C8) as a layer, 1-D",
    "conv_transpose2d": "out = conv_backward(grad_out=x, w).grad_x, O = (i-1)s - 2p + d(k-1)"
                        " + output_padding + 1",
    "conv_transpose3d": "the convolution's input gradient (C7-C8) as a layer, 3-D",
    "max_pool1d": "max_pool2d's rules (C12) along one axis",
    "max_pool3d": "max_pool2d's rules (C12) along three axes",
    "avg_pool1d": "avg_pool2d's rules (C13) along one axis",
    "avg_pool3d": "avg_pool2d's rules (C13) along three axes",
    "unfold": "im2col (B4-B6) in torch's layout (N, C*kH*kW, L)",
    "fold": "col2im, the adjoint of unfold: overlapping windows add",
    "adaptive_avg_pool1d": "mean over bins [floor(i n/m), ceil((i+1) n/m))",
    "adaptive_avg_pool2d": "mean over bins [floor(i n/m), ceil((i+1) n/m)) per axis",
    "adaptive_avg_pool3d": "mean over bins [floor(i n/m), ceil((i+1) n/m)) per axis",
    "adaptive_max_pool1d": "max over the adaptive bins, torch's ties and NaN",
    "adaptive_max_pool2d": "max over the adaptive bins, row-major first maximum",
    "adaptive_max_pool3d": "max over the adaptive bins, row-major first maximum",
    "lp_pool1d": "(k avg_pool(x^p))^(1/p)",
    "lp_pool2d": "(k avg_pool(x^p))^(1/p), the p-th root of the window's sum of x^p",
    "lp_pool3d": "(k avg_pool(x^p))^(1/p)",
    "max_unpool1d": "values placed at their indices in zeros of (i-1)s - 2p + k",
    "max_unpool2d": "values placed at their indices in zeros of (i-1)s - 2p + k",
    "max_unpool3d": "values placed at their indices in zeros of (i-1)s - 2p + k",
    "layer_norm": "(x - mean) / sqrt(var + eps) * gamma + beta over the last axes",
    "group_norm": "the same over each sample's C/G channels and spatial axes",
    "instance_norm": "the same over each sample-channel's spatial axes",
    "nll_loss": "-w[t] input[t], 'mean' divided by the kept targets' weights",
    "cross_entropy": "-sum_c q_c log_softmax_c, q from weights, ignore_index, label "
                     "smoothing or probabilities (C2 extended)",
}


def beyond_rows(record) -> list[dict]:
    """One row per operator beyond the documents: its formula and the reference's worst
    |error| / allowed per dtype over every tensor of it (absent: not in this run)."""
    rows = []
    for op, formula in BEYOND_DOCUMENTS.items():
        worst: dict[str, float] = {}
        for row in record:
            if row["op"] == op and row["candidate"] == "reference":
                worst[row["dtype"]] = max(worst.get(row["dtype"], 0.0),
                                          float(row["worst_ratio"]))
        rows.append({"op": op, "formula": formula, "worst": worst})
    return rows


def _status(fid, tests, errata) -> tuple[str, str]:
    outcomes = [t["outcome"] for t in tests]
    if not tests:
        return "not verified", "no test backs this ID"
    if "failed" in outcomes:
        return "failed", "failing: " + ", ".join(sorted({t["node"] for t in tests
                                                         if t["outcome"] == "failed"}))
    if "passed" not in outcomes:
        return "not verified", "every backing test was skipped"
    if fid in NOT_VERIFIABLE:
        return "not verifiable", NOT_VERIFIABLE[fid]
    if errata:
        return "verified with erratum", ", ".join(e.id for e in errata)
    return "verified", ""


def formula_rows(items, ratios) -> list[dict]:
    rows = []
    for f in CATALOGUE:
        tests = [t for t in items if f.id in t["ids"]]
        errata = [e for e in ERRATA if e.formula_id == f.id]
        status, why = _status(f.id, tests, errata)
        funcs = sorted({f"{t['file']}::{t['func']}" for t in tests})
        rows.append({"id": f.id, "what": f.what, "source": f.source, "status": status,
                     "why": why, "tests": funcs, "cases": len(tests),
                     "failing": sorted({t["node"] for t in tests if t["outcome"] == "failed"}),
                     "passed": sum(t["outcome"] == "passed" for t in tests),
                     "examples": sum(t["examples"] for t in tests),
                     "methods": sorted({method_of(t["func"]) for t in tests}),
                     "worst": ratios.get(f.id, {}), "errata": [e.id for e in errata]})
    return rows


def errata_rows(items) -> list[dict]:
    seen: dict[str, set] = {}
    for t in items:
        seen.setdefault(f"{t['file']}::{t['func']}", set()).add(t["outcome"])
    outcome = {k: next(o for o in ("failed", "passed", "skipped") if o in v)
               for k, v in seen.items()}
    rows = [{**e.__dict__, "outcome": outcome.get(e.test, "not run")} for e in ERRATA]
    return sorted(rows, key=lambda r: (order_key(r["formula_id"]), r["id"]))


def problems(rows, errata, ratios) -> list[str]:
    out = [f"{r['id']}: {r['status']}: {r['why']}" for r in rows
           if r["status"] in ("not verified", "failed")]
    out += [f"{e['id']}: its test {e['test']} {e['outcome']}" for e in errata
            if e["outcome"] != "passed"]
    expected = sorted({fid for ids in OP_IDS.values() for fid in ids}, key=order_key)
    out += [f"{fid}: record.json has no worst-error row for it (harness tests not run?)"
            for fid in expected if fid not in ratios]
    return out


def environment(speed: dict) -> dict:
    """numpy, torch and Python versions of the run (the torch group's process)."""
    env = speed["environment"].get("torch", {})
    if not all(k in env for k in ("numpy", "torch", "python")):
        raise ValueError("correctness: the run's bench.json lacks the torch group's "
                         "numpy/torch/python versions")
    return {k: env[k] for k in ("numpy", "torch", "python")}


def hypothesis_summary(items) -> dict:
    caps = sorted({t["max_examples"] for t in items if t["max_examples"]})
    props = [t for t in items if t["examples"]]
    return {"properties": len(props), "examples": sum(t["examples"] for t in props),
            "max_examples": caps}


def compute(items, record, speed, training) -> dict:
    ratios = worst_ratios(record)
    rows = formula_rows(items, ratios)
    errata = errata_rows(items)
    examples = ex.examples(speed["claims"], training)
    for row in rows:
        ex.annotate(row, speed["claims"], training)
    counts = {s: sum(r["status"] == s for r in rows) for s in
              ("verified", "verified with erratum", "not verifiable", "not verified", "failed")}
    return {"environment": environment(speed), "hypothesis": hypothesis_summary(items),
            "tests": len(items), "formulas": rows, "counts": counts, "examples": examples,
            "errata": errata, "problems": problems(rows, errata, ratios),
            "algorithm_bounds": algorithm_bounds(record),
            "beyond": beyond_rows(record)}


def load_speed(run_dir) -> dict:
    """From bench.json: the documents' D1/D2 claims beside ours and the environments."""
    raw = speedup.load(run_dir)
    return {"claims": speedup.claims(speedup.index(raw), raw),
            "environment": {g: v.get("environment", {}) for g, v in raw["groups"].items()}}


def build(run_dir) -> dict:
    """The dashboard provider entry point: load and compute."""
    return compute(load_junit(run_dir), load_record(run_dir), load_speed(run_dir),
                   load_training(run_dir))


def render_markdown(data) -> str:
    return correctness_render.markdown(data)


def render_html(data) -> str:
    return correctness_render.html(data)


def headline(data) -> list:
    return correctness_render.headline(data)
