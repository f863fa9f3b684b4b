"""The dense layer and back-propagation through it (FORMULAS C1, C4, C5) against PyTorch,
against central differences and against the documents' per-element formulas."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, strategies as st

from cnnref import reference as ref
from cnnref.verification.core.compare import assert_close
from cnnref.verification.harness import check_against_torch
from cnnref.verification.core.strategies import seeds
from cnnref.verification.core.tolerances import gamma

dims = st.tuples(st.integers(1, 5), st.integers(1, 6), st.integers(1, 6))


@pytest.mark.formulas("C1", "C4")
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@given(d=dims, seed=seeds, bias=st.booleans())
def test_c1_c4_dense_matches_torch(dtype, d, seed, bias):
    n, fin, fout = d
    rng = np.random.default_rng(seed)
    arrays = {"x": rng.standard_normal((n, fin)), "weight": rng.standard_normal((fout, fin)),
              "bias": rng.standard_normal(fout) if bias else None}
    check_against_torch("dense", arrays, {}, dtype=dtype, seed=seed)


@pytest.mark.formulas("C1")
def test_c1_worked_example():
    """z = W x + b with x = [1, 2], W = [[3, 4]], b = [5]: 1*3 + 2*4 + 5 = 16."""
    assert ref.dense(np.array([[1.0, 2.0]]), np.array([[3.0, 4.0]]), np.array([5.0])).tolist() == [[16.0]]


@pytest.mark.formulas("C4")
@given(d=dims, seed=seeds)
def test_c4_documents_per_element_formulas(d, seed):
    """dC/dw_ij = sum_n delta_i a_j, dC/db_i = sum_n delta_i, and delta_l = (W^T delta) * f'(z)
    with f = sigmoid, written element by element as in seed 003 eq. 1, 2, 5."""
    n, fin, fout = d
    rng = np.random.default_rng(seed)
    a, w, delta = rng.standard_normal((n, fin)), rng.standard_normal((fout, fin)), rng.standard_normal((n, fout))
    _, gw, gb = ref.dense_backward(delta, a, w, np.zeros(fout))
    for i in range(fout):
        assert_close(gb[i], sum(delta[k, i] for k in range(n)), gamma(n, np.float64) * np.abs(delta[:, i]).sum(),
                     f"dC/db_{i}", "dense_backward")
        for j in range(fin):
            terms = [delta[k, i] * a[k, j] for k in range(n)]
            assert_close(gw[i, j], sum(terms), 2 * gamma(n, np.float64) * np.abs(terms).sum(),
                         f"dC/dw_{i}{j}", "dense_backward")
    z = rng.standard_normal((n, fin))
    fprime = lambda zz: ref.sigmoid_backward(np.ones_like(zz), zz)  # noqa: E731
    got = ref.backprop_error(delta, w, z, fprime)
    for k in range(n):
        for j in range(fin):
            terms = [w[i, j] * delta[k, i] for i in range(fout)]
            assert_close(got[k, j], sum(terms) * fprime(z[k, j:j + 1])[0],
                         2 * gamma(fout + 6, np.float64) * np.abs(terms).sum(), f"delta[{k},{j}]",
                         "backprop_error")


@pytest.mark.formulas("C5")
def test_c5_sgd_step_returns_new_arrays():
    """W <- W - eta dC/dW: [1.0] - 0.1 * [0.5] = [0.95]; the inputs are not modified."""
    w, g = np.array([1.0]), np.array([0.5])
    (new,) = ref.sgd_step([w], [g], 0.1)
    assert new.tolist() == [1.0 - 0.1 * 0.5] and w.tolist() == [1.0] and new is not w


@pytest.mark.parametrize("call, exc, pattern", [
    (lambda: ref.dense(np.zeros((2, 3)), np.zeros((4, 5))), ValueError, r"x has 3 features.*\(4, 5\)"),
    (lambda: ref.dense(np.zeros(3), np.zeros((4, 3))), ValueError, r"2 dimensions"),
    (lambda: ref.dense(np.zeros((2, 3)), np.zeros((4, 3)), np.zeros(3)), ValueError, r"bias must have shape \(4,\)"),
    (lambda: ref.dense_backward(np.zeros((2, 5)), np.zeros((2, 3)), np.zeros((4, 3))), ValueError, r"grad_out"),
    (lambda: ref.sgd_step([np.zeros(2)], [np.zeros(3)], 0.1), ValueError, r"params\[0\].shape"),
    (lambda: ref.sgd_step([np.zeros(2)], [], 0.1), ValueError, r"1 parameters but 0"),
])
def test_dense_rejects_bad_input(call, exc, pattern):
    with pytest.raises(exc, match=pattern):
        call()
