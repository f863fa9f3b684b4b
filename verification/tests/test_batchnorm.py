"""Batch normalisation against PyTorch (output, running statistics, gradients) and against
finite differences (FORMULAS C15)."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given

from cnnref import reference as ref
from cnnref.verification.core.compare import assert_close
from cnnref.verification.core.cases import call_repr
from cnnref.verification.harness import check_against_torch
from cnnref.verification.core.cases import make_arrays
from cnnref.verification.operators.batchnorm import batch_norm_cases
from cnnref.verification.core.tolerances import central_difference_allowed, gamma


def _arrays(case):
    a = make_arrays(case)
    a["running_var"] = np.abs(a["running_var"]) + 0.1          # a variance is positive
    return a


@pytest.mark.formulas("C15")
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@given(case=batch_norm_cases())
def test_c15_batch_norm_matches_torch(dtype, case):
    check_against_torch("batch_norm", _arrays(case), case.kwargs, dtype=dtype, seed=case.seed)


@pytest.mark.formulas("C15")
@given(case=batch_norm_cases())
def test_c15_running_statistics_match_torch_and_inputs_are_untouched(case):
    """torch updates running_mean/var in place with the unbiased variance; the reference
    returns the same numbers from batch_norm_running_stats and leaves its inputs alone."""
    import torch
    import torch.nn.functional as F
    a = _arrays(case)
    assume(a["x"].size > a["x"].shape[1])        # training needs > 1 value per channel
    before = {k: None if v is None else v.copy() for k, v in a.items()}
    rm, rv = torch.tensor(a["running_mean"]), torch.tensor(a["running_var"])
    F.batch_norm(torch.tensor(a["x"]), rm, rv, training=True, momentum=case.kwargs["momentum"])
    mean, var = ref.batch_norm_running_stats(a["x"], a["running_mean"], a["running_var"],
                                             case.kwargs["momentum"])
    ref.batch_norm(*a.values(), **case.kwargs)
    call = call_repr("batch_norm_running_stats", a, case.kwargs)
    m = a["x"].size // a["x"].shape[1]
    mag = np.abs(a["running_var"]) + np.abs(a["x"]).max() ** 2 * 4
    assert_close(mean, rm.numpy(), gamma(m + 4, np.float64) * (np.abs(a["running_mean"]) + np.abs(a["x"]).max()) * 2,
                 "running_mean", call)
    assert_close(var, rv.numpy(), gamma(m + 8, np.float64) * mag * 2, "running_var", call)
    for k, v in before.items():
        assert v is None or np.array_equal(v, a[k]), f"{k} was modified [{call}]"


@pytest.mark.formulas("C15")
def test_c15_worked_example_and_unbiased_update():
    """x = [[1], [3]]: mu = 2, biased var = 1 -> y = [[-1], [1]] / sqrt(1 + eps); running
    var' = 0.9 * 1 + 0.1 * (1 * 2 / (2 - 1)) = 1.1; running mean' = 0.9 * 0 + 0.1 * 2."""
    x = np.array([[1.0], [3.0]])
    y = ref.batch_norm(x, np.zeros(1), np.ones(1), training=True, eps=1e-5)
    assert_close(y, np.array([[-1.0], [1.0]]) / np.sqrt(1 + 1e-5), 4e-16, "y", "batch_norm")
    mean, var = ref.batch_norm_running_stats(x, np.zeros(1), np.ones(1), momentum=0.1)
    assert_close(mean, [0.2], 1e-16, "running_mean", "batch_norm_running_stats")
    assert_close(var, [1.1], 4e-16, "running_var", "batch_norm_running_stats")


@pytest.mark.formulas("C15")
@given(case=batch_norm_cases())
def test_c15_gradients_match_central_differences(case):
    """<batch_norm(x), g> differentiated numerically along a random direction v of x, with
    Richardson extrapolation (bound: tolerances.central_difference_allowed)."""
    a = _arrays(case)
    kw = case.kwargs
    rng = np.random.default_rng(case.seed + 5)
    g, v = rng.standard_normal(a["x"].shape), rng.standard_normal(a["x"].shape)
    f = lambda x: float(np.vdot(ref.batch_norm(x, *list(a.values())[1:], **kw), g))  # noqa: E731
    d = {t: (f(a["x"] + t * v) - f(a["x"] - t * v)) / (2 * t) for t in (1e-3, 5e-4)}
    rich = (4 * d[5e-4] - d[1e-3]) / 3
    gx = ref.batch_norm_backward(g, *a.values(), training=kw["training"], eps=kw["eps"])[0]
    y = ref.batch_norm(*a.values(), **kw)
    rounding = gamma(a["x"].size + 20, np.float64) * float(np.vdot(np.abs(y) + 1, np.abs(g)))
    assert_close(rich, float(np.vdot(gx, v)),
                 central_difference_allowed(d[1e-3], d[5e-4], rounding, 5e-4),
                 "<grad_x, v> by central differences", call_repr("batch_norm_backward", a, kw))


@pytest.mark.formulas("C15")
@pytest.mark.parametrize("call, exc, pattern", [
    (lambda: ref.batch_norm(np.zeros((1, 3)), None, None, training=True), ValueError,
     r"more than 1 value per channel"),
    (lambda: ref.batch_norm(np.zeros((2, 3)), np.zeros(2), np.ones(3)), ValueError,
     r"running_mean must have shape \(3,\)"),
    (lambda: ref.batch_norm(np.zeros((2, 3)), None, None), ValueError, r"evaluation mode"),
    (lambda: ref.batch_norm(np.zeros(3), np.zeros(3), np.ones(3)), ValueError, r"dimensions"),
    (lambda: ref.batch_norm(np.zeros((2, 3), int), np.zeros(3), np.ones(3)), TypeError, r"floating"),
    (lambda: ref.batch_norm(np.zeros((2, 3), np.float32), np.zeros(3), np.ones(3)), TypeError,
     r"share one dtype"),
])
def test_c15_batch_norm_rejects_bad_input(call, exc, pattern):
    with pytest.raises(exc, match=pattern):
        call()
