"""`cnnref check` against hostile or careless modules: input mutation is a failure naming
the argument; a worker's death is named by its signal or exit status; a runaway allocation
meets the --max-memory limit and is reported as such; a module that hangs or crashes at
import is one import error (exit 2), not one failure per function; a module that changes
NumPy's error modes or replaces NumPy functions does not change the ground truth; any
exception of the user's, printable or not, is the user's, never "the checker failed"."""
from __future__ import annotations

import pathlib

import pytest

from cnnref import cli
from cnnref.verification.check.isolation import death, default_max_memory
from cnnref.verification.check.report import exit_status
from cnnref.verification.check.runner import RunOptions, run_check

IMPLS = pathlib.Path(__file__).parent / "fixtures" / "impls"
FAST = RunOptions(max_examples=5, seed=0, timeout=10.0, budget=5.0)


def _results(name: str, ops, opts: RunOptions = FAST) -> dict:
    report = run_check(str(IMPLS / f"{name}.py"), ops, opts)
    assert "results" in report, report
    return {r["op"]: r for r in report["results"]}


def test_a_function_that_mutates_its_input_fails_naming_the_argument():
    results = _results("bad_mutates_input", ["relu", "relu_backward", "sigmoid_backward"])
    relu = results["relu"]["failure"]
    assert relu["kind"] == "mutated" and relu["tensor"] == "x", relu
    assert "relu modified its input argument(s) 'x' in place" in relu["message"]
    assert results["relu_backward"]["status"] == "pass"
    sig = results["sigmoid_backward"]["failure"]
    assert sig["kind"] == "mutated" and "'grad_out'" in sig["message"], sig


def test_batch_norm_may_update_its_running_statistics_in_place():
    """torch's contract: the running statistics are updated in place, not a mutation."""
    results = _results("layers_numpy_ok", ["batch_norm"])
    assert results["batch_norm"]["status"] == "pass", results["batch_norm"].get("failure")


def test_deaths_are_named_by_signal_or_exit_status_and_exceptions_are_the_users():
    ops = ["relu", "relu_backward", "tanh", "sigmoid", "sigmoid_backward", "tanh_backward",
           "leaky_relu"]
    r = {op: res["failure"] for op, res in _results("bad_deaths", ops).items()}
    assert r["relu"]["kind"] == "crashed" and "killed by signal SIGSEGV (11)" in r["relu"]["message"]
    assert "killed by signal SIGKILL (9)" in r["relu_backward"]["message"]
    assert r["tanh"]["kind"] == "crashed" and "exit status 3" in r["tanh"]["message"]
    assert r["sigmoid"]["kind"] == "raised" and "SystemExit: 4" in r["sigmoid"]["message"]
    assert r["sigmoid_backward"]["kind"] == "raised" and \
        "KeyboardInterrupt" in r["sigmoid_backward"]["message"]
    assert r["tanh_backward"]["kind"] == "raised"
    assert "_Unprintable: <unprintable: its __str__ raised RuntimeError>" in \
        r["tanh_backward"]["message"]
    assert r["leaky_relu"]["kind"] == "type" and "poisoned result" in r["leaky_relu"]["message"]
    for op, failure in r.items():
        assert "checker" not in failure["message"], (op, failure)


def test_a_runaway_allocation_meets_the_memory_limit():
    opts = RunOptions(max_examples=5, seed=0, timeout=10.0, budget=5.0, max_memory=3 * 2**30)
    results = _results("bad_memory", ["relu", "tanh"], opts)
    failure = results["relu"]["failure"]
    assert failure["kind"] == "raised" and "MemoryError" in failure["message"], failure
    assert "the worker's limit is 3.0 GiB, --max-memory" in failure["message"]
    assert results["tanh"]["status"] == "pass"
    assert 0 < default_max_memory()


@pytest.mark.parametrize("name, expected", [
    ("bad_import_hang", "importing the module did not finish within 3 s"),
    ("bad_import_segfault", "died while importing the module: killed by signal SIGSEGV"),
])
def test_a_hang_or_crash_at_import_is_one_import_error(name, expected):
    opts = RunOptions(max_examples=5, seed=0, timeout=2.0, budget=5.0, import_timeout=3.0)
    report = run_check(str(IMPLS / f"{name}.py"), ["relu", "tanh", "sigmoid"], opts)
    assert expected in report.get("import_error", ""), report
    assert exit_status(report) == 2


def test_error_modes_and_monkey_patching_stay_out_of_the_ground_truth():
    """The module's correct functions pass; its sigmoid, run under the module's own
    np.seterr(all='raise'), raises FloatingPointError on an underflow: the user's failure."""
    results = _results("state_meddling_ok", ["tanh", "tanh_backward", "relu", "sigmoid"])
    for op in ("tanh", "tanh_backward", "relu"):
        assert results[op]["status"] == "pass", (op, results[op].get("failure"))
    failure = results["sigmoid"]["failure"]
    assert failure["kind"] == "raised" and "FloatingPointError" in failure["message"], failure


def test_cli_max_memory_option(capsys):
    assert cli.main(["check", str(IMPLS / "bad_memory.py"), "--ops", "relu",
                     "--max-examples", "3", "--max-memory", "2G"]) == 1
    assert "the worker's limit is 2.0 GiB" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        cli.main(["check", str(IMPLS / "bad_memory.py"), "--max-memory", "lots"])


def test_death_descriptions():
    assert death(-11) == "killed by signal SIGSEGV (11)"
    assert death(-9).startswith("killed by signal SIGKILL (9)")
    assert death(3) == "exit status 3"


def test_a_bug_at_batch_3_and_stride_3_is_caught_by_the_corners():
    results = _results("bug_batch3_stride3", ["conv2d"])
    failure = results["conv2d"]["failure"]
    assert failure["kind"] in ("value", "tolerance"), failure
    assert results["conv2d"]["failure"]["family"] == "corners"
