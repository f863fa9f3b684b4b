"""The conformance matrix's machinery on implementations with known conventions
(verification/tests/fixtures/impls/matrix_*.py and the checker's fixtures): each known
convention must land in its own cell with its name, every other feature of the function
must agree, a float32-only kernel must agree under float32 bounds with its float64 cell
refused, a hang must be one case's record, and the cell logic holds on hand-made records.
Few draws, to stay fast."""
from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

import pytest

from cnnref import cli
from cnnref.report import matrix as matrix_report
from cnnref.verification.frameworks import FRAMEWORKS, resolve
from cnnref.verification.matrix.cases import matrix_cases
from cnnref.verification.matrix.cells import FLOAT32_ONLY, blame, function_cells
from cnnref.verification.matrix.run import Settings, run_matrix, targets_of
from cnnref.verification.mutants.conv import FLOAT32
from cnnref.verification.operators.registry import REGISTRY

IMPLS = pathlib.Path(__file__).parent / "fixtures" / "impls"


def _matrix(fixture: str, ops: tuple, draws: int = 4, timeout: float = 20.0) -> dict:
    impl = str(IMPLS / f"{fixture}.py")
    settings = Settings(ops, seed=0, draws=draws, timeout=timeout, deadline=30.0)
    return run_matrix(targets_of([impl]), settings)


def _cells(data: dict, op: str) -> dict:
    return {c["feature"]: c for c in data["cells"] if c["op"] == op}


def _only_differs(cells: dict, feature: str) -> None:
    differing = sorted(f for f, c in cells.items() if c["verdict"] == "differs")
    assert differing == [feature], f"expected only {feature!r} to differ, got {differing}"


def test_nan_ignored_lands_in_the_nan_cell():
    cells = _cells(_matrix("matrix_nan_ignored_pool", ("max_pool2d", "relu")), "max_pool2d")
    _only_differs(cells, "NaN")
    assert cells["NaN"]["convention"].startswith("NaN ignored")
    assert cells["padding>0"]["verdict"] == "agrees"


def test_one_pass_variance_lands_in_the_large_offset_cell():
    cells = _cells(_matrix("matrix_one_pass_bn", ("batch_norm",)), "batch_norm")
    _only_differs(cells, "large offset")
    assert "mean(x^2) - mean^2" in cells["large offset"]["convention"]
    # 1e8 + [0, 1, 2, 3]: mean(x^2) - mean^2 is off by ~0.3 of a unit-variance output
    assert cells["large offset"]["max_error"] > 0.1


def test_ties_to_the_last_maximum_land_in_the_ties_cell():
    cells = _cells(_matrix("bug_pool_ties_last", ("max_pool2d_backward",)),
                   "max_pool2d_backward")
    assert cells["ties"]["verdict"] == "differs"
    assert cells["ties"]["convention"].startswith("max-pool ties go to the last")
    assert cells["float64"]["verdict"] == "agrees"      # random floats have no ties


def test_float32_kernels_declared_and_undeclared():
    data = _matrix("matrix_float32", ("softmax", "sigmoid"))
    softmax = _cells(data, "softmax")
    assert softmax["float64"]["convention"] == FLOAT32_ONLY
    assert all(c["verdict"] == "agrees" for f, c in softmax.items() if f != "float64")
    sigmoid = _cells(data, "sigmoid")
    assert sigmoid["float64"]["verdict"] == "differs"
    assert sigmoid["float64"]["convention"] == FLOAT32
    assert sigmoid["float32"]["verdict"] == "agrees"


def test_a_hang_is_one_cell_not_the_end_of_the_run(monkeypatch):
    cases = matrix_cases(REGISTRY["relu"], 0, 3)
    sizes = [c.args["x"].size for c in cases]
    # not the first case: that one is the warm-up, which gets the import timeout
    size = next(s for s in sizes[1:] if sizes.count(s) == 1 and s > 1)
    monkeypatch.setenv("CNNREF_TEST_HANG_SIZE", str(size))
    data = _matrix("matrix_hang", ("relu",), draws=3, timeout=3.0)
    hung = [c for c in data["cells"] if c["convention"] == "hung or crashed"]
    assert hung and all(c["failing"] == 1 for c in hung)
    assert any(c["verdict"] == "agrees" for c in data["cells"])


def _rec(status, *features, **extra):
    return {"status": status, "features": list(features), "size": 1, "label": "", **extra}


def test_blame_goes_to_the_feature_no_agreeing_case_shares():
    records = [_rec("agrees", "padding>0"), _rec("differs", "padding>0", "NaN"),
               _rec("agrees", "stride>1")]
    assert blame(records[1], records) == ["NaN"]


def test_a_refused_combination_is_noted_not_refused():
    records = [_rec("agrees", "same"), _rec("agrees", "dilation>1"),
               _rec("refuses", "same", "dilation>1", message="no SAME with dilation")]
    cells = function_cells(records)
    assert cells["same"]["verdict"] == cells["dilation>1"]["verdict"] == "agrees"
    assert "combination" in cells["same"]["note"]


def test_a_feature_refused_everywhere_is_refused():
    records = [_rec("agrees", "stride>1"), _rec("refuses", "stride>1", "ceil_mode",
                                                message="NotImplementedError")]
    assert function_cells(records)["ceil_mode"]["verdict"] == "refuses"
    assert function_cells([_rec("not defined")]) == {"(function)": {
        "verdict": "not defined", "convention": None, "max_error": None, "case": None,
        "cases": 0, "failing": 0}}


def test_a_failure_whose_features_all_agree_elsewhere_goes_to_the_rarest():
    records = [_rec("agrees", "a"), _rec("agrees", "a"), _rec("agrees", "b"),
               _rec("differs", "a", "b", max_error=1.0, conventions=[])]
    cells = function_cells(records)
    assert cells["b"]["verdict"] == "differs" and cells["a"]["verdict"] == "agrees"


def test_short_names_resolve_to_the_built_in_adapters():
    assert resolve("jax") == FRAMEWORKS["jax"].module
    assert resolve("my_impl.py") == "my_impl.py"


def test_torch_reproduction_runs_without_the_adapter(tmp_path):
    """The reproduction of a refused cell is a standalone script calling torch."""
    data = run_matrix(targets_of(["torch"]), Settings(("avg_pool2d",), draws=3))
    cell = next(c for c in data["cells"] if c["verdict"] == "refuses")
    assert "frameworks" not in cell["reproduction"]
    script = tmp_path / "repro.py"
    script.write_text(cell["reproduction"])
    run = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                         timeout=120)
    assert run.returncode != 0 and "Error" in run.stderr     # torch's own refusal


def test_onnx_adapter_source_carries_its_sibling_module():
    """The ONNX adapters import _onnx inside try/except (importable as a package module or
    loaded from a file path): the reproduction must carry _onnx.py itself, not that
    import, which fails in a standalone script."""
    from cnnref.verification.matrix.reproduce import adapter_source
    text = adapter_source(FRAMEWORKS["onnx-reference"].module, "conv1d")
    assert "from . import _onnx" not in text and "import _onnx\n" not in text
    assert "types.ModuleType('_onnx')" in text and "def conv1d(" in text
    compile(text, "repro", "exec")


def test_cli_writes_json_and_markdown(tmp_path):
    out = tmp_path / "reports"
    status = cli.main(["matrix", "--frameworks", str(IMPLS / "matrix_nan_ignored_pool.py"),
                       "--ops", "max_pool2d", "--draws", "3", "--out", str(out),
                       "--json", str(tmp_path / "m.json")])
    assert status == 0
    data = json.loads((tmp_path / "m.json").read_text())
    assert set(data) >= {"frameworks", "cells"}
    for cell in data["cells"]:
        assert cell["verdict"] in ("agrees", "refuses", "differs", "not defined", "not run")
        assert set(cell) >= {"framework", "op", "feature", "convention", "max_error",
                             "reproduction"}
    text = (out / "matrix.md").read_text()
    assert "## max_pool2d" in text and "DIFFERS: NaN ignored" in text
    html = matrix_report.render_html(data)
    assert 'href="#m-' in html


def test_cli_refuses_unknown_functions(capsys):
    assert cli.main(["matrix", "--ops", "conv9d"]) == 2
    assert "unknown function" in capsys.readouterr().err


@pytest.mark.skipif(os.environ.get("CNNREF_MATRIX_SLOW") is None,
                    reason="the full torch column: set CNNREF_MATRIX_SLOW=1")
def test_torch_agrees_except_its_refusals():
    data = run_matrix(targets_of(["torch"]), Settings())
    assert not [c for c in data["cells"] if c["verdict"] == "differs"]


def test_a_framework_not_installed_is_reported_not_an_error(monkeypatch):
    import cnnref.verification.frameworks as fws
    from cnnref.verification.matrix import run as run_module
    ghost = fws.Framework("ghost", "cnnref_no_such_adapter", "cnnref_no_such_package",
                          "cnnref-no-such-dist", "ghost")
    monkeypatch.setitem(fws.FRAMEWORKS, "ghost", ghost)
    monkeypatch.setitem(run_module.FRAMEWORKS, "ghost", ghost)
    data = run_matrix(targets_of(["ghost"]), Settings(("relu",), draws=1))
    assert data["frameworks"]["ghost"] == {"version": None, "installed": False,
                                           "forward_only": False}
    assert data["cells"] == []
    # and the checker's loader (`cnnref check ghost`) says how to install it
    from cnnref.verification.check.protocol import ImplError, load_impl
    with pytest.raises(ImplError, match=r"pip install 'cnnref\[ghost\]'"):
        load_impl("ghost")


@pytest.mark.skipif(not FRAMEWORKS["onnxruntime"].installed,
                    reason="onnxruntime is not installed (pip install 'cnnref[onnx]')")
def test_a_built_in_adapter_is_a_check_target(capsys):
    """`cnnref check onnxruntime`: the adapter by its short name, through the checker."""
    assert cli.main(["check", "onnxruntime", "--ops", "relu", "sigmoid",
                     "--max-examples", "3"]) == 0
    out = capsys.readouterr().out
    assert "relu" in out and "PASS" in out and "2 passed" in out
