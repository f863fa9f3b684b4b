"""`cnnref check` on implementations with known answers (verification/tests/fixtures/impls/):
every buggy one (one classic bug each) must fail with exit status 1 and the right
diagnosis, every correct one (vectorised NumPy, pure Python loops, FFT in float64 cast
back, torch-backed returning tensors, **kwargs) must pass with exit status 0, and hangs,
crashes, wrong return types and import errors must be reported, never crash the checker.
Runs with few examples to stay fast; the defaults are measured, not asserted."""
from __future__ import annotations

import contextlib
import io
import json
import os
import pathlib
import subprocess
import sys
from importlib.metadata import entry_points

import numpy as np
import pytest

from cnnref import cli
from cnnref import reference as ref
from cnnref.verification.check.battery import Options, run_battery
from cnnref.verification.check.diagnose import diagnose
from cnnref.verification.check.protocol import accepts_of, load_impl
from cnnref.verification.check.report import exit_status
from cnnref.verification.check.runner import TIMEOUT_AFTER_A_HANG, RunOptions, run_check
from cnnref.verification.mutants.conv import FLOAT32
from cnnref.verification.mutants.planted import planted
from cnnref.verification.operators.registry import CHECKABLE, REGISTRY

IMPLS = pathlib.Path(__file__).parent / "fixtures" / "impls"
OPS = ["conv_output_size", "conv2d", "conv2d_backward"]
FAST = RunOptions(max_examples=10, seed=0, timeout=10.0, budget=10.0)

CORRECT = ["numpy_ok", "loops_ok", "fft_ok", "winograd_ok", "torch_ok", "kwargs_ok",
           "float64_only_ok"]

# fixture -> {function: substring of the expected complete diagnosis}; functions not
# listed must pass.
BUGGY = {
    "bug_flip": {"conv2d": "kernel flipped", "conv2d_backward": "kernel flipped"},
    "bug_bias_ignored": {"conv2d": "bias ignored"},
    "bug_bias_mean": {"conv2d_backward": "bias gradient averaged (mean instead of sum over N, H"},
    "bug_stride_backward": {"conv2d_backward": "stride forgotten in the backward"},
    "bug_overwrite": {"conv2d_backward": "overwrite instead of accumulate"},
    "bug_gw_transposed": {"conv2d_backward": "grad_weight transposed (kH and kW"},
    "bug_float32": {"conv2d": FLOAT32, "conv2d_backward": FLOAT32},
    "bug_no_plus_one": {"conv2d": "off-by-one", "conv2d_backward": None},
    "bug_one_side_pad": {"conv2d": "padding applied only before", "conv2d_backward": None},
    "bug_dilation_ignored": {"conv2d": "dilation ignored", "conv2d_backward": None},
    "bug_groups_first": {"conv2d": "groups ignored"},
    "bug_true_division": {"conv_output_size": "missing floor"},
    "bug_kernel_transposed": {"conv2d": "kernel transposed", "conv2d_backward": "kernel transposed"},
}


def _run(name: str, opts: RunOptions = FAST, ops=OPS) -> dict:
    return run_check(str(IMPLS / f"{name}.py"), ops, opts)


def _by_op(report: dict) -> dict:
    return {r["op"]: r for r in report["results"]}


def _assert_no_false_alarm(name: str, report: dict):
    failed = {op: r["failure"]["message"] for op, r in _by_op(report).items()
              if r["status"] == "fail"}
    assert not failed, f"false alarm on correct implementation {name}: {failed}"


def _assert_flagged(name: str, report: dict, expected: dict, ops):
    """Exit 1; each function in `expected` fails with a complete diagnosis containing its
    substring (None: any failure), every other one of `ops` passes."""
    results = _by_op(report)
    assert exit_status(report) == 1, f"{name}: bug not flagged"
    for op in ops:
        if op not in expected:
            assert results[op]["status"] == "pass", \
                f"{name}.{op} should pass: {results[op].get('failure', {}).get('message')}"
            continue
        assert results[op]["status"] == "fail", f"{name}.{op} should fail"
        if expected[op] is None:   # fails for a reason with no single mutant (a crash)
            continue
        complete = [d["mistake"] for d in results[op]["failure"]["diagnosis"] if d["complete"]]
        assert any(expected[op] in m for m in complete), \
            f"{name}.{op}: diagnosis {complete}, but should include {expected[op]!r}"


@pytest.mark.parametrize("name", CORRECT)
def test_correct_implementations_pass(name):
    report = _run(name)
    _assert_no_false_alarm(name, report)
    assert exit_status(report) == 0


def test_the_reference_itself_passes():
    report = run_check(str(pathlib.Path(__file__).parents[2] / "reference"), list(CHECKABLE),
                       FAST)
    failed = {r["op"]: r.get("failure", {}).get("message") for r in report["results"]
              if r["status"] != "pass"}
    assert not failed, f"the reference fails its own check: {failed}"
    assert exit_status(report) == 0


@pytest.mark.parametrize("name", sorted(BUGGY))
def test_buggy_implementations_fail_with_a_diagnosis(name):
    _assert_flagged(name, _run(name), BUGGY[name], OPS)


def test_failure_has_smallest_case_max_error_and_runnable_repro():
    """bug_float32 fails only on random float64 inputs, so hypothesis shrinks it; the
    snippet, run as is, reproduces a nonzero difference."""
    fail = _by_op(_run("bug_float32"))["conv2d"]["failure"]
    assert fail["family"] == "random"
    assert "(1, 1, 1, 1)" in fail["case"], f"not shrunk: {fail['case']}"
    assert fail["max_error"] > fail["allowed"]
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        exec(compile(fail["repro"], "<repro>", "exec"), {})
    assert float(buf.getvalue().split()[-1]) > 0, buf.getvalue()


def test_missing_keywords_are_not_passed_and_reported_as_not_covered():
    results = _by_op(_run("fft_ok"))
    assert results["conv_output_size"]["status"] == "skipped"
    not_covered = results["conv2d"]["not_covered"]
    assert "not in the signature" in not_covered["dilation>1"]
    assert "unsupported" in not_covered["padding=same"]


def test_hang_is_a_failure_of_that_function_only():
    report = _run("bad_hang", RunOptions(10, 0, timeout=2.0, budget=5.0))
    results = _by_op(report)
    assert results["conv2d"]["failure"]["kind"] == "timeout"
    assert results["conv2d_backward"]["status"] == "pass"
    assert exit_status(report) == 1


def test_crash_none_and_exceptions_are_failures():
    results = _by_op(_run("bad_crash"))
    assert results["conv2d_backward"]["failure"]["kind"] == "crashed"
    assert results["conv2d"]["failure"]["kind"] == "missing"
    assert results["conv_output_size"]["failure"]["kind"] == "raised"


def test_cli_exit_codes_and_json(tmp_path, capsys):
    out = tmp_path / "r.json"
    status = cli.main(["check", str(IMPLS / "bug_bias_mean.py"), "--max-examples", "5",
                       "--json", str(out)])
    assert status == 1
    data = json.loads(out.read_text())
    assert data["exit_status"] == 1
    text = capsys.readouterr().out
    assert "bias gradient averaged" in text and "reproduce:" in text
    assert cli.main(["check", str(IMPLS / "bad_import.py")]) == 2
    assert cli.main(["check", str(IMPLS / "numpy_ok.py"), "--ops", "nonsense"]) == 2
    assert cli.main(["check", str(IMPLS / "numpy_ok.py"), "--ops", "conv2d",
                     "--max-examples", "5"]) == 0


def test_ops_before_impl_and_a_missing_file(capsys):
    """`cnnref check --ops conv2d IMPL` (the README's order): --ops leaves IMPL alone; a
    missing file says so instead of 'No module named'."""
    impl = str(IMPLS / "numpy_ok.py")
    assert cli.main(["check", "--ops", "conv2d", "conv2d_backward", impl, "--max-examples",
                     "3"]) == 0
    out = capsys.readouterr().out
    assert "conv2d " in out and "conv2d_backward " in out and "2 passed" in out, out
    assert cli.main(["check", "--ops", "conv2d"]) == 2
    assert "IMPL is required" in capsys.readouterr().err
    assert cli.main(["check", str(IMPLS / "no_such_file.py")]) == 2
    err = capsys.readouterr()
    assert "no_such_file.py: no such file or directory" in err.out + err.err
    assert "No module named" not in err.out + err.err


def test_pytest_plugin_runs_the_battery_as_items(tmp_path):
    """One item per function and family; the failing family fails, later ones skip."""
    root = pathlib.Path(__file__).parents[2]
    env = dict(os.environ)
    # Installed, the package's pytest11 entry point loads the plugin; naming it again
    # with -p would register it twice (pytest refuses that).
    installed = any(e.name == "cnnref" for e in entry_points(group="pytest11"))
    plugin = [] if installed else ["-p", "cnnref.verification.check.plugin"]
    # the console script, not `python -m pytest`: in the repository root the latter puts
    # the checkout's cnnref/ folder (without its subpackages) before an installed cnnref
    script = pathlib.Path(sys.executable).with_name("pytest")
    pytest_cmd = [str(script)] if script.exists() else [sys.executable, "-m", "pytest"]
    cmd = [*pytest_cmd, *plugin, "-q", "-rs",
           "-p", "no:cacheprovider", f"--cnnref-impl={IMPLS / 'bug_bias_mean.py'}",
           "--cnnref-max-examples=5"]
    out = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert out.returncode == 1, out.stdout + out.stderr
    module = load_impl(str(IMPLS / "bug_bias_mean.py"))     # the checker's own loader
    undefined = sum(5 for op in CHECKABLE if not hasattr(module, op))   # 5 families each
    assert f"1 failed, 9 passed, {3 + undefined} skipped" in out.stdout, out.stdout
    assert "bias gradient averaged" in out.stdout
    quiet = subprocess.run([*pytest_cmd, *plugin,
                            "-q", "-p", "no:cacheprovider"], cwd=tmp_path, env=env,
                           capture_output=True, text=True)
    assert "no tests ran" in quiet.stdout, "the plugin must do nothing without --cnnref-impl"
    # in the repository root (testpaths: the whole suite), the battery alone, unless test
    # paths are given
    alone = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True)
    assert f"1 failed, 9 passed, {3 + undefined} skipped" in alone.stdout, alone.stdout
    (tmp_path / "own").mkdir()
    (tmp_path / "own" / "test_own.py").write_text("def test_own():\n    assert 1 + 1 == 2\n")
    both = subprocess.run(cmd + ["own/test_own.py"], cwd=tmp_path, env=env, capture_output=True,
                          text=True)
    assert f"1 failed, 10 passed, {3 + undefined} skipped" in both.stdout, both.stdout


# --- pooling, batch norm, activations, losses, dense ---------------------------------------

LAYER_OPS = ["max_pool2d", "max_pool2d_backward", "avg_pool2d", "avg_pool2d_backward",
             "batch_norm", "batch_norm_backward", "relu", "relu_backward", "leaky_relu",
             "leaky_relu_backward", "sigmoid", "sigmoid_backward", "tanh", "tanh_backward",
             "softmax", "softmax_backward", "log_softmax", "log_softmax_backward",
             "cross_entropy", "cross_entropy_backward", "dense", "dense_backward"]
# vectorised NumPy (running statistics in place), pure Python loops (pooling and batch
# norm only; batch_norm returns (y, mean, var)), torch-backed (in place via from_numpy)
CORRECT_LAYERS = ["layers_numpy_ok", "layers_loops_ok", "layers_torch_ok"]

BUGGY_LAYERS = {
    "bug_pool_ties_last": {"max_pool2d_backward": "ties go to the last maximum"},
    "bug_pool_zero_pad": {"max_pool2d": "padded with 0 instead of -inf",
                          "max_pool2d_backward": "padded with 0 instead of -inf"},
    "bug_pool_overwrite": {"max_pool2d_backward": "overwrite instead of accumulate",
                           "avg_pool2d_backward": "overwrite instead of accumulate"},
    "bug_pool_ceil_ignored": {"max_pool2d": "ceil_mode ignored", "avg_pool2d":
                              "ceil_mode ignored", "max_pool2d_backward": None,
                              "avg_pool2d_backward": None},
    "bug_avg_divisor_kk": {"avg_pool2d": "divisor always k*k",
                           "avg_pool2d_backward": "divisor always k*k"},
    "bug_avg_divisor_clipped": {"avg_pool2d": "divisor always the count of input pixels",
                                "avg_pool2d_backward": "divisor always the count"},
    "bug_bn_unbiased": {"batch_norm": "unbiased variance used for normalising",
                        "batch_norm_backward": "unbiased variance used for normalising"},
    "bug_bn_eval_batch": {"batch_norm": "evaluation mode uses the batch statistics",
                          "batch_norm_backward": "evaluation mode uses the batch statistics"},
    "bug_bn_no_mean_terms": {"batch_norm_backward": "mean terms missing"},
    "bug_bn_running_biased": {"batch_norm": "running_var updated with the biased variance"},
    "bug_softmax_no_max": {op: "no max subtraction" for op in
                           ("softmax", "softmax_backward", "cross_entropy_backward")},
    "bug_sigmoid_from_x": {"sigmoid_backward": "derivative from x instead of f(x)"},
    "bug_relu_one_at_zero": {"relu_backward": "derivative 1 at x = 0"},
    "bug_ce_sum": {"cross_entropy": "summed over the batch instead of the mean"},
    "bug_dense_gw_transposed": {"dense_backward": "grad_weight transposed"},
}


@pytest.mark.parametrize("name", CORRECT_LAYERS)
def test_correct_layer_implementations_pass(name):
    report = _run(name, ops=LAYER_OPS)
    results = _by_op(report)
    _assert_no_false_alarm(name, report)
    assert exit_status(report) == 0
    # the running statistics are compared however they come back: in place or returned
    assert results["batch_norm"]["covered"].get("running_var compared"), results["batch_norm"]


@pytest.mark.parametrize("name", sorted(BUGGY_LAYERS))
def test_buggy_layer_implementations_fail_with_a_diagnosis(name):
    _assert_flagged(name, _run(name, ops=LAYER_OPS), BUGGY_LAYERS[name], LAYER_OPS)


def _layer_mutants():
    """Every checkable function's classic mistakes but conv_output_size's (integers: see
    test_buggy_implementations_fail_with_a_diagnosis)."""
    return [(op, name) for op in CHECKABLE if op != "conv_output_size"
            for name in REGISTRY[op].mutants or {}]


@pytest.mark.parametrize("op,name", _layer_mutants())
def test_every_layer_mutant_is_caught_and_named(op, name):
    """Each classic mistake, planted in the reference, fails the battery (examples,
    corners or hypothesis) and the diagnosis names it."""
    spec, fn = planted(op, REGISTRY[op].mutants[name])
    state = run_battery(spec, fn, accepts_of(fn), Options(15, 0, 5.0), lambda label: None)
    assert state.failure is not None, f"{op}: mutant {name!r} not caught"
    found = [d["mistake"] for d in diagnose(spec, state.failure)]
    assert name in found, f"{op}: caught {name!r} in {state.failure.case.describe()}, " \
        f"but the diagnosis says {found}"


# --- implementations written the other correct ways, and bugs hiding in fast paths ----------

@pytest.mark.parametrize("name, ops", [
    ("logsumexp_ok", ["softmax", "softmax_backward", "log_softmax", "log_softmax_backward",
                      "cross_entropy", "cross_entropy_backward", "sigmoid",
                      "sigmoid_backward", "tanh", "tanh_backward"]),
    ("integral_avg_ok", ["avg_pool2d"]),
])
def test_other_correct_algorithms_pass(name, ops):
    """x - logsumexp(x) rounds at the scale of x (log_softmax([1000, 1000]) errs by
    ~5e-14), (1 + tanh(x/2))/2 and 2 sigmoid(2x) - 1 at the scale of 1, a summed-area table
    at the scale of the plane's sums: all correct, all within the tolerance model."""
    report = _run(name, ops=ops)
    _assert_no_false_alarm(name, report)


@pytest.mark.parametrize("name, op", [
    ("bug_pool_default_stride_ceil", "max_pool2d"),      # pool(x, 2) on 5x7 -> 3x4
    ("bug_avg_fastpath_override", "avg_pool2d"),         # divisor_override in the fast path
    ("bug_kwargs_pool_batch", "max_pool2d_backward"),    # N > 1 behind NotImplementedError
])
def test_bugs_in_fast_paths_and_behind_refusals_are_caught(name, op):
    """The default stride on a size that is no multiple of the kernel is in the corners;
    refusing ceil_mode or dilation blames only those arguments, never batch>1 or
    overlapping windows, so the cases that catch the bug still run."""
    report = _run(name, ops=[op])
    result = _by_op(report)[op]
    assert result["status"] == "fail", f"{name}.{op}: bug not flagged; covered " \
        f"{result.get('covered')}, not covered {result.get('not_covered')}"
    if name == "bug_kwargs_pool_batch":
        assert "ceil_mode" in result["not_covered"] and \
            "batch>1" not in result["not_covered"], result["not_covered"]


def test_after_a_hang_the_other_functions_get_a_short_timeout():
    """A shared helper that hangs must not cost the full timeout once per function: the
    first hang waits --timeout, the functions after it TIMEOUT_AFTER_A_HANG."""
    opts = RunOptions(max_examples=10, seed=0, timeout=6.0, budget=10.0)
    results = _by_op(_run("bad_hang_shared", opts))
    messages = [results[op]["failure"]["message"] for op in OPS]
    assert all(results[op]["failure"]["kind"] == "timeout" for op in OPS), messages
    assert "within 6 s" in messages[0] and all(
        f"within {TIMEOUT_AFTER_A_HANG:g} s" in m for m in messages[1:]), messages


def test_a_signature_without_bias_that_refuses_padding_forms_passes():
    """The corners run without the bias slot instead of being skipped, so the padding
    probes meet the ValueError first: 'not covered', never a failure later."""
    result = _by_op(_run("nobias_ok", ops=["conv2d"]))["conv2d"]
    assert result["status"] == "pass", result.get("failure", {}).get("message")
    assert "padding=asymmetric" in result["not_covered"] and \
        "bias" in result["not_covered"], result["not_covered"]


@pytest.mark.parametrize("name, op, why", [
    ("bug_stub", "conv2d", "raised NotImplementedError"),        # not a limitation
    ("bug_pool_stride_default", "max_pool2d", "shape"),          # pool(x, 2) -> stride 1
    ("bug_bn_bias_needs_weight", "batch_norm", "out"),           # bias without weight
])
def test_stubs_wrong_defaults_and_half_affine_batch_norm_fail(name, op, why):
    result = _by_op(_run(name, ops=[op]))[op]
    assert result["status"] == "fail", f"{name}.{op} should fail: {result}"
    assert why in result["failure"]["message"], result["failure"]["message"]


def test_undefined_functions_are_listed_compactly():
    """A function and its backward print as one name; a long list is cut at four lines
    and the rest counted."""
    from cnnref.verification.check.report import _undefined_lines
    names = [n for n in CHECKABLE if n != "conv2d"]
    lines = _undefined_lines(names)
    text = " ".join(lines)
    assert len(lines) <= 4, lines
    assert text.startswith(f"not defined (skipped), {len(names)}: ")
    assert "relu[_backward]" in text and "relu_backward" not in text
    assert "conv2d_backward" in text        # its forward is defined: listed alone
    # every name is either shown or counted in the tail: 1 + 38 pairs of names here
    grouped = len(names) - sum(1 for n in names if n.endswith("_backward")
                               and n.removesuffix("_backward") in names)
    listed, tail = text.split(": ", 1)[1].rsplit(", and ", 1)
    assert len(listed.split(", ")) + int(tail.split()[0]) == grouped, (listed, tail)
    assert tail.endswith("more (--json lists them)")
    assert _undefined_lines(["relu", "relu_backward"]) == [
        "not defined (skipped), 2: relu[_backward]"]


def test_a_newer_operator_without_groups_or_tuples_is_checked_in_what_it_takes(tmp_path):
    """conv1d(x, weight, bias, stride, padding) and adaptive_avg_pool1d taking an int
    only: drawn grouped cases become ungrouped (the weight spans every channel), a 1-tuple
    output_size is a form it may refuse; both pass, nothing is reported as failed."""
    impl = tmp_path / "mine.py"
    impl.write_text(
        "import numpy as np\n"
        "def conv1d(x, weight, bias=None, stride=1, padding=0):\n"
        "    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding)))\n"
        "    k = weight.shape[2]\n"
        "    n = (xp.shape[2] - k) // stride + 1\n"
        "    out = np.stack([np.einsum('ncl,kcl->nk', xp[:, :, i * stride:i * stride + k],"
        " weight) for i in range(n)], -1)\n"
        "    return out if bias is None else out + bias[None, :, None]\n"
        "def adaptive_avg_pool1d(x, output_size):\n"
        "    n = x.shape[-1]\n"
        "    return np.stack([x[..., (i * n) // output_size:-(-(i + 1) * n // output_size)]"
        ".mean(-1) for i in range(output_size)], -1)\n")
    report = run_check(str(impl), ["conv1d", "adaptive_avg_pool1d"], FAST)
    results = _by_op(report)
    assert results["conv1d"]["status"] == "pass", results["conv1d"].get("failure")
    assert results["adaptive_avg_pool1d"]["status"] == "pass", \
        results["adaptive_avg_pool1d"].get("failure")
    assert "output_size=tuple" in results["adaptive_avg_pool1d"]["not_covered"]
    assert "groups" in results["conv1d"]["not_covered"]["groups>1"]
