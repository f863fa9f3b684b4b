"""Hypothesis profiles and the record of worst errors.

HYPOTHESIS_PROFILE=quick (default; derandomised, so CI is reproducible) or thorough
(>= 300 examples per property, random). The worst |error| / allowed per tensor seen by the
harness is written to $CNNREF_RECORD (JSON) at the end of the session when that is set.
"""
from __future__ import annotations

import json
import os

import pytest
from hypothesis import HealthCheck, settings

from cnnref.report import speedup

settings.register_profile("quick", max_examples=25, derandomize=True, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", max_examples=300, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "quick"))


def pytest_collection_modifyitems(items):
    """`@pytest.mark.formulas("C7", "C11")` becomes the JUnit testcase property `formulas`,
    which the correctness report reads (cnnref/report/correctness.py)."""
    for item in items:
        ids = [i for mark in item.iter_markers("formulas") for i in mark.args]
        if ids:
            item.user_properties.append(("formulas", " ".join(ids)))


def pytest_sessionfinish(session, exitstatus):
    path = os.environ.get("CNNREF_RECORD")
    if not path:
        return
    from cnnref.verification.harness import RECORD
    rows = [{"op": op, "tensor": t, "candidate": c, "dtype": d, "worst_ratio": r}
            for (op, t, c, d), r in sorted(RECORD.items())]
    with open(path, "w") as f:
        json.dump(rows, f, indent=1)


# --- a synthetic benchmark run, shared by the report tests -----------------------------

GFLOP = 1e9


def _row(op, case, dtype, algo, seconds, flops=GFLOP, runs=5, spread=0.0, **extra):
    times = [seconds * (1 + spread * (i - runs // 2)) for i in range(runs)]
    return dict(op=op, case=case, title=case, dtype=dtype, algorithm=algo, times=times,
                flops=flops, worst_error_ratio=0.1, **extra)


def make_synthetic_run(scale: float = 1.0) -> dict:
    """GEMM peak 100 GFLOP/s (f64) and 200 (f32): 1 GFLOP in 10 ms and 5 ms."""
    rows = [_row("gemm", "square", "float64", "numpy_matmul", 0.010),
            _row("gemm", "square", "float32", "numpy_matmul", 0.005)]
    doc = dict(workspace_bytes=900, x_bytes=100)
    rows += [_row("conv_forward", "documents_p0", "float64", "loops", 4.0, runs=2, **doc),
             _row("conv_forward", "documents_p0", "float64", "naive", 1.0, runs=2, **doc),
             _row("conv_forward", "documents_p0", "float64", "numba", 0.010, **doc),
             _row("conv_forward", "documents_p0", "float64", "im2col", 0.002 * scale, **doc),
             _row("conv_forward", "documents_p1", "float64", "im2col", 0.002, **doc),
             _row("conv_backward", "documents_p0", "float64", "numba", 0.030),
             _row("conv_backward", "documents_p0", "float64", "auto", 0.006)]
    # the reference's auto against torch on a second shape, for the geometric means
    for dtype, auto, tc in (("float64", 0.002, 0.008), ("float32", 0.001, 0.0005)):
        rows += [_row("conv_forward", "documents_p0", dtype, "auto", auto,
                      auto_algorithm="im2col", peak_workspace=2**20),
                 _row("conv_forward", "documents_p0", dtype, "torch", tc)]
    for dtype, im, auto, wino, tc, bw, tbw in (
            ("float64", 0.05, 0.04, 0.04, 0.10, 0.12, 0.09),
            ("float32", 0.02, 0.012, 0.004, 0.01, 0.03, 0.02)):
        rows += [_row("conv_forward", "resnet3x3", dtype, "im2col", im),
                 _row("conv_forward", "resnet3x3", dtype, "auto", auto,
                      auto_algorithm="winograd4", peak_workspace=8 * 2**20),
                 _row("conv_forward", "resnet3x3", dtype, "winograd4", wino,
                      peak_workspace=8 * 2**20),
                 _row("conv_forward", "resnet3x3", dtype, "torch", tc),
                 _row("conv_backward", "resnet3x3", dtype, "auto", bw),
                 _row("conv_backward", "resnet3x3", dtype, "torch", tbw)]
        for cap, t, default, unlimited in ((2**20, 0.95 * im, False, False),
                                           (8 * 2**20, 1.05 * im, True, False),
                                           (2**30, im, False, True)):
            rows.append(_row("im2col_workspace", "resnet3x3", dtype, "im2col", t,
                             workspace_cap=cap, workspace_bytes=cap, default_cap=default,
                             unlimited=unlimited))
    env = {"cpu": "test cpu", "cpu_count": 2, "affinity": 2, "env": {}, "numpy": "2",
           "threadpools": [{"internal_api": "openblas", "version": "0.3", "num_threads": 2,
                            "architecture": "SkylakeX", "threading_layer": "pthreads"}]}
    return {"schema": speedup.SCHEMA, "profile": "quick", "created": "now", "results": rows,
            "groups": {g: {"environment": env, "seconds": 1.0, "skipped": None}
                       for g in ("numpy", "numba", "torch")}}


@pytest.fixture
def synthetic_run():
    """make_synthetic_run(scale=1.0) -> a bench.json dict whose figures are plain arithmetic."""
    return make_synthetic_run


# --- a complete synthetic run: every dashboard provider has its data -----------------------

def _junit_every_id() -> str:
    """A junit.xml where each catalogue ID is backed by four passing tests with long node
    ids (the real suite's shape), so the dashboard's collapsed lists are exercised, and
    one failing test."""
    from cnnref.report.formulas import IDS
    cases = "".join(
        f'<testcase classname="verification.tests.test_{fid.lower()}_family" '
        f'name="test_{fid.lower()}_matches_torch_on_a_rather_long_parametrised_case[{k}-float64]"'
        f' time="0.1"><properties><property name="formulas" value="{fid}" /></properties>'
        f"</testcase>" for fid in IDS for k in range(4))
    # a failing test with a long id and no formula: a line that must wrap, not widen
    cases += ('<testcase classname="verification.tests.test_errata" name="test_errata_'
              'context_in_the_seeds_with_a_name_long_enough_to_overflow_a_phone" time="0.1">'
              '<failure message="x">x</failure></testcase>')
    return ('<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest" '
            f'tests="{4 * len(IDS) + 1}" failures="1" time="12.5">{cases}</testsuite>'
            '</testsuites>')


def write_dashboard_run(root, runs: int = 2):
    """root/runs/<name> x `runs` (bench.json, junit.xml, record.json, run.json) and
    root/training/tiny.json; returns the newest run directory."""
    import pathlib
    root = pathlib.Path(root)
    record = [{"op": "conv2d", "tensor": "out", "candidate": "reference", "dtype": d,
               "worst_ratio": 0.25} for d in ("float64", "float32")]
    for i in range(runs):
        run = root / "runs" / f"2026010{i + 1}-000000"
        run.mkdir(parents=True)
        bench = make_synthetic_run(1.0 + 0.1 * i)
        for g in bench["groups"].values():
            g["environment"].update(torch="2.13.0+cpu", python="3.11.7", numpy="2.4.6")
        (run / "bench.json").write_text(json.dumps(bench))
        (run / "junit.xml").write_text(_junit_every_id())
        (run / "record.json").write_text(json.dumps(record))
        (run / "run.json").write_text(json.dumps({"profile": "quick", "note": "test machine",
                                                  "steps": {"verification": 60.0}}))
    (root / "matrix.json").write_text(json.dumps(_matrix()))
    epochs = [{"epoch": e, "loss": 1.0 / e, "train_acc": 0.5, "test_acc": 0.4 + e / 10}
              for e in (1, 2)]
    (root / "training").mkdir()
    (root / "training" / "tiny.json").write_text(json.dumps(
        {"net": "tiny", "data": "synthetic", "n_train": 8, "n_test": 4, "epochs": 2,
         "batch": 2, "models": {"tiny": {"spec": "INPUT 1x4x4 -> FC 2", "lr": 0.1,
                                         "epochs": epochs, "params": 34}}}))
    return run


def _matrix() -> dict:
    """matrix.json as `cnnref matrix` writes it: two frameworks, max_pool2d's features,
    one differing cell with a long reproduction and one refused."""
    def cell(fw, feature, verdict, **extra):
        return {"framework": fw, "op": "max_pool2d", "feature": feature, "verdict": verdict,
                "convention": None, "max_error": None, "failing": 0, "cases": 5,
                "case": None, "reproduction": None, "note": None, **extra}
    repro = "\n".join(["import numpy as np"] + [f"x{i} = np.array([[{', '.join(['1.0'] * 30)}]])"
                                                for i in range(12)])
    cells = [cell(fw, f, "agrees") for fw in ("torch", "mine") for f in ("padding>0", "stride>1")]
    cells += [cell("mine", "NaN", "differs", convention="NaN ignored (torch: NaN wins)",
                   max_error=float("inf"), failing=2, reproduction=repro,
                   case={"label": "examples 1", "message": "out[0, 0, 0, 0] is 1, not nan"}),
              cell("torch", "dilation=asymmetric_and_a_rather_long_feature_name", "refuses",
                   case={"label": "corner 3", "message": "RuntimeError: " + "pad " * 40})]
    return {"settings": {"seed": 0, "draws": 3},
            "frameworks": {"torch": {"installed": True, "version": "2.13.0", "seconds": 1.0},
                           "mine": {"installed": True, "version": "-", "seconds": 0.5},
                           "jax": {"installed": False}},
            "cells": cells}


@pytest.fixture
def dashboard_run(tmp_path):
    """A complete synthetic run (every provider has data, two runs for the history);
    the newest run directory."""
    return write_dashboard_run(tmp_path / "out")
