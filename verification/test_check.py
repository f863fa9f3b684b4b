"""`cnnref check` on implementations with known answers (verification/fixtures/impls/):
every buggy one (one classic bug each) must fail with exit status 1 and the right
diagnosis, every correct one (vectorised NumPy, pure Python loops, FFT in float64 cast
back, torch-backed returning tensors, **kwargs) must pass with exit status 0, and hangs,
crashes, wrong return types and import errors must be reported, never crash the checker.
Runs with few examples to stay fast; the defaults are measured, not asserted."""
from __future__ import annotations

import json
import pathlib

import pytest

from verification import cli
from verification.check_report import exit_status
from verification.check_runner import RunOptions, run_check
from verification.mutants import FLOAT32

IMPLS = pathlib.Path(__file__).parent / "fixtures" / "impls"
OPS = ["conv_output_size", "conv2d", "conv2d_backward"]
FAST = RunOptions(max_examples=10, seed=0, timeout=10.0, budget=10.0)

CORRECT = ["numpy_ok", "loops_ok", "fft_ok", "torch_ok", "kwargs_ok", "float64_only_ok"]

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


def _run(name: str, opts: RunOptions = FAST) -> dict:
    return run_check(str(IMPLS / f"{name}.py"), OPS, opts)


def _by_op(report: dict) -> dict:
    return {r["op"]: r for r in report["results"]}


@pytest.mark.parametrize("name", CORRECT)
def test_correct_implementations_pass(name):
    report = _run(name)
    failed = {op: r["failure"]["message"] for op, r in _by_op(report).items()
              if r["status"] == "fail"}
    assert not failed, f"false alarm on correct implementation {name}: {failed}"
    assert exit_status(report) == 0


def test_the_reference_itself_passes():
    report = run_check("reference", OPS, FAST)
    assert [r["status"] for r in report["results"]] == ["pass"] * 3
    assert exit_status(report) == 0


@pytest.mark.parametrize("name", sorted(BUGGY))
def test_buggy_implementations_fail_with_a_diagnosis(name):
    report = _run(name)
    results = _by_op(report)
    assert exit_status(report) == 1, f"{name}: bug not flagged"
    for op in OPS:
        if op not in BUGGY[name]:
            assert results[op]["status"] == "pass", \
                f"{name}.{op} should pass: {results[op].get('failure', {}).get('message')}"
            continue
        assert results[op]["status"] == "fail", f"{name}.{op} should fail"
        expected = BUGGY[name][op]
        if expected is None:       # fails for a reason with no single mutant (a crash)
            continue
        complete = [d["mistake"] for d in results[op]["failure"]["diagnosis"] if d["complete"]]
        assert any(expected in m for m in complete), \
            f"{name}.{op}: diagnosis {complete}, but should include {expected!r}"


def test_failure_has_smallest_case_max_error_and_runnable_repro():
    """bug_float32 fails only on random float64 inputs, so hypothesis shrinks it; the
    snippet, run as is, reproduces a nonzero difference."""
    fail = _by_op(_run("bug_float32"))["conv2d"]["failure"]
    assert fail["family"] == "random"
    assert "(1, 1, 1, 1)" in fail["case"], f"not shrunk: {fail['case']}"
    assert fail["max_error"] > fail["allowed"]
    import contextlib
    import io
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


def test_pytest_plugin_runs_the_battery_as_items(tmp_path):
    """One item per function and family; the failing family fails, later ones skip."""
    import os
    import subprocess
    import sys
    root = pathlib.Path(__file__).parent.parent
    env = {**os.environ, "PYTHONPATH": str(root)}
    cmd = [sys.executable, "-m", "pytest", "-p", "verification.plugin", "-q", "-rs",
           "-p", "no:cacheprovider", f"--cnnref-impl={IMPLS / 'bug_bias_mean.py'}",
           "--cnnref-max-examples=5"]
    out = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert out.returncode == 1, out.stdout + out.stderr
    assert "1 failed, 9 passed, 3 skipped" in out.stdout, out.stdout
    assert "bias gradient averaged" in out.stdout
    quiet = subprocess.run([sys.executable, "-m", "pytest", "-p", "verification.plugin",
                            "-q", "-p", "no:cacheprovider"], cwd=tmp_path, env=env,
                           capture_output=True, text=True)
    assert "no tests ran" in quiet.stdout, "the plugin must do nothing without --cnnref-impl"
