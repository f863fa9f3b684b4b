"""`cnnref check` on learners' code as written: refusal means "not covered", a failing
function is still run feature by feature, the report leads with a one-line verdict, and
layer classes (examples/layers/: four styles, each with its LayerSpec) are checked
through check/layers.py. The buggy layers (fixtures/layers/) each plant one classic
mistake in an example style; each must fail with that mistake named, and every correct
style must pass within what it supports."""
from __future__ import annotations

import pathlib

import numpy as np
import pytest

from cnnref import cli
from cnnref.verification.check import layers
from cnnref.verification.check.report import exit_status, render
from cnnref.verification.check.runner import RunOptions, run_check
from cnnref.verification.mutants import conv as conv_mutants
from cnnref.verification.mutants import pooling as pool_mutants

ROOT = pathlib.Path(__file__).parents[2]
EXAMPLES = ROOT / "examples" / "layers"
FIXTURES = pathlib.Path(__file__).parent / "fixtures"
FAST = RunOptions(max_examples=10, seed=0, timeout=10.0, budget=10.0)
CONV = ["conv2d", "conv2d_backward"]
POOL = ["max_pool2d", "max_pool2d_backward"]


def _results(path, ops, opts=FAST) -> dict:
    report = run_check(str(path), ops, opts)
    return report, {r["op"]: r for r in report["results"]}


# (style, {function: features it must list as not covered (refused or declared)})
STYLES = {
    "cs231n_style": {"conv2d": ["padding=same", "stride=pair"],
                     "max_pool2d": ["stride=pair"]},
    "numpy_ml_style": {"conv2d": ["padding=pair"], "max_pool2d": ["stride=pair"]},
    "mlfs_style": {"conv2d": ["padding>0"], "max_pool2d": ["stride=pair"]},
    "learn_dl_style": {"conv2d": ["padding=same"], "max_pool2d": ["stride=pair"]},
}


@pytest.mark.parametrize("style", sorted(STYLES))
def test_correct_layer_styles_pass_within_what_they_support(style):
    report, results = _results(EXAMPLES / f"check_{style}.py", CONV + POOL)
    failed = {op: r["failure"]["message"] for op, r in results.items() if r["status"] == "fail"}
    assert not failed, f"false alarm on {style}: {failed}"
    assert exit_status(report) == 0
    for op, features in STYLES[style].items():
        for f in features:
            assert results[op]["not_covered"][f].startswith("unsupported: NotImplementedError")
    # what it does support was reached: overlapping windows, ties, N > 1
    assert results["max_pool2d_backward"]["covered"].get("ties")
    assert results["conv2d_backward"]["covered"].get("batch>1")


BUGGY = {
    "bug_ties_all": {"max_pool2d_backward": pool_mutants.TIES_ALL},
    "bug_drop_last": {"conv2d": conv_mutants.DROP_LAST},
    "bug_width_padding": {"conv2d": conv_mutants.WIDTH_PADDING, "conv2d_backward": None},
    "bug_pool_backward_zero_pad": {"max_pool2d_backward": "in the backward's argmax"},
    "bug_no_offset": {"conv2d_backward": conv_mutants.NO_OFFSET},
    "bug_square_only": {"conv2d_backward": conv_mutants.SQUARE_ONLY},
}


def _named(result: dict) -> list:
    """Every mistake named for a failing function: its diagnosis and its other cases'."""
    f = result["failure"]
    return [d["mistake"] for d in f.get("diagnosis") or [] if d["complete"]] + \
        (result.get("per_feature") or {}).get("named", [])


@pytest.mark.parametrize("name", sorted(BUGGY))
def test_planted_layer_bugs_are_flagged_and_named(name):
    path = FIXTURES / "layers" / f"{name}.py"
    ops = CONV if any(op.startswith("conv") for op in BUGGY[name]) else POOL
    report, results = _results(path, ops)
    assert exit_status(report) == 1
    for op in ops:
        if op not in BUGGY[name]:
            assert results[op]["status"] == "pass", results[op].get("failure")
            continue
        assert results[op]["status"] == "fail", f"{name}.{op} not flagged"
        if BUGGY[name][op] is not None:
            assert any(BUGGY[name][op] in m for m in _named(results[op])), _named(results[op])


def test_a_crash_does_not_hide_the_rest():
    """The square-kernel-only backward crashes on tall kernels (its first failure) and is
    wrong on wide ones: the feature-by-feature run reports both, and what is right."""
    _, results = _results(FIXTURES / "layers" / "bug_square_only.py", ["conv2d_backward"])
    summary = results["conv2d_backward"]["per_feature"]
    assert "non-square kernel" in summary["crashes"], summary
    assert conv_mutants.SQUARE_ONLY in summary["named"], summary
    assert "stride>1" in summary["right"], summary


def test_the_report_leads_with_a_verdict():
    path = FIXTURES / "layers" / "bug_ties_all.py"
    report, _ = _results(path, CONV + POOL)
    text = render(str(path), report, FAST).splitlines()
    assert text[2] == ("1 function right (1 within what it supports: see 'not covered'), "
                       "1 wrong (max_pool2d_backward: gradient sent to every tied maximum), "
                       "2 not defined"), text[2]
    limits = [line for line in text if "PASS within the covered space; NOT COVERED: " in line]
    assert len(limits) == 1 and "stride=pair" in limits[0], text


def test_a_declared_assumption_is_not_covered_not_failed(capsys):
    """assume_nopad_ok ignores its padding argument: declared in the module (ASSUME), the
    padded cases are not run; without the declaration they fail; --assume declares it too."""
    path = FIXTURES / "impls" / "assume_nopad_ok.py"
    report, results = _results(path, POOL)
    assert exit_status(report) == 0, results
    assert results["max_pool2d"]["not_covered"]["padding>0"] == "declared: padding=0 assumed"
    bare = FIXTURES / "layers" / "_nopad_undeclared.py"
    bare.write_text(path.read_text().replace('ASSUME = {"padding": 0}', ""))
    try:
        assert exit_status(_results(bare, POOL)[0]) == 1
        assert cli.main(["check", str(bare), "--ops", "max_pool2d", "--max-examples", "5",
                         "--assume", "padding=0"]) == 0
    finally:
        bare.unlink()
    assert "NOT COVERED: padding>0, padding=pair" in capsys.readouterr().out


def test_paths_and_layouts_round_trip():
    """The spec's paths read and write attributes, dict items and per-filter objects; the
    layouts transpose there and back."""
    class F:
        def __init__(self):
            self.w, self.b = np.zeros((2, 3, 3)), 0.0

    class L:
        def __init__(self):
            self.filters, self.params = [F(), F()], {"W": np.zeros((3, 3, 2, 2))}
    layer, w = L(), np.arange(36.0).reshape(2, 2, 3, 3)
    layers.write(layer, "filters[*].w", w)
    layers.write(layer, "filters[*].b", np.array([1.0, 2.0]))
    assert np.array_equal(layers.read(layer, "filters[*].w"), w)
    assert layer.filters[1].b == 2.0 and isinstance(layer.filters[1].b, float)
    spec = layers.LayerSpec("conv2d", None, weight_layout="HWIO", data="NHWC")
    layers.write(layer, "params['W']", np.transpose(w, layers._perm("HWIO")))
    assert np.array_equal(layers.from_weight_layout(spec, layer.params["W"], w.shape), w)
    x = np.arange(24.0).reshape(1, 2, 3, 4)
    assert np.array_equal(layers.from_data(spec, layers.to_data(spec, x)), x)
