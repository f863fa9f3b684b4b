"""Winograd F(2x2, 3x3) and F(4x4, 3x3) (FORMULAS B7): its transforms, against PyTorch,
against the direct algorithms, exactly on integers where it can be, and its error bound
(verification/core/tolerances.py) on adversarial inputs: it holds, it is not vacuous, and
the direct-sum bound would not do."""
from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given

from cnnref import reference as ref
from cnnref.reference.conv_winograd import TRANSFORMS
from cnnref.verification.core.cases import call_repr, make_arrays
from cnnref.verification.core.compare import assert_close
from cnnref.verification.harness import _record, check_against_torch
from cnnref.verification.operators.conv import winograd_cases
from cnnref.verification.operators.registry import bounds_for

TILES = ("winograd2", "winograd4")
DTYPES = [np.float64, np.float32]
DTYPE_IDS = ["float64", "float32"]


def _exact(mat) -> list[list[Fraction]]:
    """The rational number each float entry stands for (1/6 is stored rounded)."""
    return [[Fraction(float(v)).limit_denominator(64) for v in row] for row in mat]


@pytest.mark.formulas("B7")
@pytest.mark.parametrize("m", sorted(TRANSFORMS))
def test_transforms_compute_a_correlation_exactly(m):
    """In exact rational arithmetic A^T [(G g) . (B^T d)] is the valid cross-correlation
    y_i = sum_k d_(i+k) g_k, for every basis pair (d = e_p, g = e_q): the matrices are
    Lavin & Gray's F(m, 3), and each float entry is the nearest double to its rational."""
    b_t, g_mat, a_t = TRANSFORMS[m]
    bt, gm, at = _exact(b_t), _exact(g_mat), _exact(a_t)
    for mat, exact in ((b_t, bt), (g_mat, gm), (a_t, at)):
        assert all(float(q) == v for row_q, row in zip(exact, mat) for q, v in zip(row_q, row))
    alpha = m + 2
    for p in range(alpha):
        for q in range(3):
            gq = [sum(row[k] * (k == q) for k in range(3)) for row in gm]
            dp = [sum(row[k] * (k == p) for k in range(alpha)) for row in bt]
            y = [sum(at[i][j] * gq[j] * dp[j] for j in range(alpha)) for i in range(m)]
            assert y == [int(p == i + q) for i in range(m)], (m, p, q, y)


@pytest.mark.formulas("B7")
@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("algorithm", TILES)
@given(case=winograd_cases())
def test_winograd_matches_torch(algorithm, dtype, case):
    """Forward under the Winograd bound of its tile, every padding form, groups and
    depthwise, partial last tiles; torch under the direct bound."""
    check_against_torch("conv2d", make_arrays(case), case.kwargs, dtype=dtype,
                        seed=case.seed, ref_kwargs={"algorithm": algorithm},
                        algorithm=algorithm)


@pytest.mark.formulas("B7")
@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@given(case=winograd_cases())
def test_winograd_agrees_with_im2col_and_chunking_changes_nothing(dtype, case):
    """Both tiles against im2col (in float64, under the Winograd bound); one-sample chunks
    (workspace_bytes=1) give the same result as the default cap within that bound too."""
    a = {k: None if v is None else v.astype(dtype) for k, v in make_arrays(case).items()}
    a64 = {k: None if v is None else v.astype(np.float64) for k, v in a.items()}
    truth = ref.conv2d(*a64.values(), **case.kwargs, algorithm="im2col")
    bound = bounds_for("conv2d", *a64.values(), **case.kwargs)["out"]
    call = call_repr("conv2d", a, case.kwargs) + f" dtype={np.dtype(dtype).name}"
    for algorithm in TILES:
        allowed = bound.allowed(dtype, algorithm)
        for cap in (None, 1):
            got = ref.conv2d(*a.values(), **case.kwargs, algorithm=algorithm,
                             workspace_bytes=cap)
            assert got.dtype == dtype and got.shape == truth.shape
            assert_close(got, truth, allowed, f"{algorithm} (workspace {cap}) out", call)


@pytest.mark.formulas("B7")
@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@given(case=winograd_cases(exact=True))
def test_winograd2_is_exact_on_small_integers(dtype, case):
    """F(2x2, 3x3)'s matrices hold 0, +-1 and 1/2 only: on integers in [-4, 4] every
    intermediate is a multiple of 1/4 far below 2**24, so the result equals the direct
    sum bit for bit. (F(4x4)'s 1/6 and 1/24 are not binary fractions: no exact mode.)"""
    a = {k: None if v is None else v.astype(dtype) for k, v in make_arrays(case).items()}
    naive = ref.conv2d(*a.values(), **case.kwargs, algorithm="naive")
    got = ref.conv2d(*a.values(), **case.kwargs, algorithm="winograd2")
    assert_close(got, naive, 0, "winograd2 out", call_repr("conv2d", a, case.kwargs))


def _adversarial(kind: str, rng):
    """x (2, 32, 12, 12), w (8, 32, 3, 3): the inputs that make rounding errors largest."""
    x, w = rng.standard_normal((2, 32, 12, 12)), rng.standard_normal((8, 32, 3, 3))
    if kind == "large magnitudes":           # products near 1e35, below float32's 3e38
        return x * 1e30, w * 1e5
    if kind == "cancellation":               # a large offset under kernels summing to 0
        return 1e4 + x, w - w.mean(axis=(2, 3), keepdims=True)
    if kind == "spikes outside the window":  # tiles mix in inputs a direct sum never reads
        x = x * 1e-3
        x[..., ::6, ::6] = 1e4
        return x, w
    signs = (-1.0) ** np.add.outer(np.arange(12), np.arange(12))      # alternating signs
    return np.abs(x) * signs, np.abs(w) * signs[:3, :3]


ADVERSARIAL = ("large magnitudes", "cancellation", "spikes outside the window",
               "alternating signs")


@pytest.mark.formulas("B7")
@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("kind", ADVERSARIAL)
def test_winograd_bound_holds_and_is_not_vacuous_on_adversarial_inputs(kind, dtype):
    """Measured error / bound stays below 1 and above 1e-4 (the bound is worst-case:
    gamma_n grows like n, random errors like sqrt(n); the direct-sum bound's own ratios
    are 2e-3 to 4e-2 on these inputs); the measured ratios go to the correctness report.
    With spikes where a direct sum never reads, F(4x4) exceeds the direct bound by orders
    of magnitude: the Winograd bound is needed, not a convenience."""
    x, w = _adversarial(kind, np.random.default_rng(ADVERSARIAL.index(kind)))
    truth = ref.conv2d(x, w, padding=1, algorithm="naive")
    bound = bounds_for("conv2d", x, w, None, padding=1)["out"]
    for algorithm in TILES:
        got = ref.conv2d(x.astype(dtype), w.astype(dtype), padding=1, algorithm=algorithm)
        err = np.abs(got.astype(np.float64) - truth)
        ratio = float(np.max(err / bound.allowed(dtype, algorithm)))
        _record("conv2d", "out", f"reference {algorithm} ({kind})", dtype, ratio)
        assert 1e-4 < ratio <= 1, f"{algorithm} {kind}: error / bound = {ratio:.3g}"
        if kind.startswith("spikes") and algorithm == "winograd4":
            assert np.max(err / bound.allowed(dtype, "direct")) > 100


@pytest.mark.formulas("B7")
def test_winograd_bound_flags_a_float32_computation_of_float64_data():
    """Under the F(4x4) bound in float64, F(4x4) computed in float32 is still far out."""
    rng = np.random.default_rng(1)
    x, w = rng.standard_normal((2, 16, 10, 10)), rng.standard_normal((4, 16, 3, 3))
    truth = ref.conv2d(x, w, padding=1)
    allowed = bounds_for("conv2d", x, w, None, padding=1)["out"].allowed(np.float64, "any")
    f32 = ref.conv2d(x.astype(np.float32), w.astype(np.float32), padding=1,
                     algorithm="winograd4").astype(np.float64)
    assert (np.abs(f32 - truth) > allowed).mean() > 0.9


@pytest.mark.formulas("B7")
@pytest.mark.parametrize("shapes, kwargs, expected", [
    (((1, 64, 28, 28), (8, 64, 3, 3)), {"padding": 1}, "winograd4"),
    (((1, 64, 27, 28), (8, 64, 3, 3)), {"padding": 1}, "im2col"),       # < 28 x 28 pixels
    (((1, 32, 28, 28), (8, 32, 3, 3)), {"padding": 1}, "im2col"),       # < 64 channels
    (((1, 64, 30, 30), (8, 64, 3, 3)), {"stride": 2}, "im2col"),        # stride 2
    (((1, 128, 28, 28), (8, 64, 3, 3)), {"padding": 1, "groups": 2}, "winograd4"),
    (((1, 64, 28, 28), (64, 1, 3, 3)), {"padding": 1, "groups": 64}, "im2col"),
])
def test_auto_runs_the_algorithm_its_rule_names(shapes, kwargs, expected):
    """choose_algorithm follows the measured rule (reference/conv_auto.py), and 'auto'
    runs exactly that algorithm: bit-equal results."""
    rng = np.random.default_rng(0)
    x, w = (rng.standard_normal(s).astype(np.float32) for s in shapes)
    assert ref.choose_algorithm(x, w, **kwargs) == expected
    np.testing.assert_array_equal(ref.conv2d(x, w, **kwargs),
                                  ref.conv2d(x, w, **kwargs, algorithm=expected))


@pytest.mark.parametrize("algorithm, shape, padding", [
    ("winograd4", (4, 16, 30, 30), 1), ("winograd2", (3, 8, 27, 25), 0),
    ("winograd4", (1, 32, 90, 90), 1)])
def test_memory_estimate_bounds_the_traced_peak(algorithm, shape, padding):
    """memory.conv_peak_bytes (what conv2d checks against the limit before allocating)
    is at least what NumPy allocates at the peak of a Winograd call (tracemalloc)."""
    import tracemalloc
    from cnnref.reference.conv_args import conv_geometry
    from cnnref.reference.memory import conv_peak_bytes
    x, w = np.ones(shape), np.ones((8, shape[1], 3, 3))
    *_, geo = conv_geometry(x, w, None, 1, padding, 1, 1)
    tracemalloc.start()
    try:
        ref.conv2d(x, w, padding=padding, algorithm=algorithm, workspace_bytes=2**20)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak <= conv_peak_bytes(geo, x.itemsize, algorithm, 2**20)
