"""conv1d and conv3d (the 2-D code path with one and three spatial axes) against PyTorch,
bit for bit on integers, against conv2d on a singleton axis, against the adjoint identity;
their naive loops and FFT (the N-D conv_naive_loops / conv_fft) against im2col under the
registry's bound and against torch; and their bad-input errors (FORMULAS B4-B7, C7-C11
beyond two dimensions)."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from cnnref import reference as ref
from cnnref.verification.core.cases import call_repr, make_arrays
from cnnref.verification.core.compare import assert_close
from cnnref.verification.core.tolerances import inner_product_bound
from cnnref.verification.harness import check_against_torch
from cnnref.verification.operators.nd import conv_nd_cases
from cnnref.verification.operators.registry import REGISTRY

DTYPES = [np.float64, np.float32]
IDS = ["float64", "float32"]
METHODS = st.sampled_from(("auto",) + ref.BACKWARD_METHODS)


@pytest.mark.formulas("B4", "B5", "B7")
@pytest.mark.parametrize("nd", [1, 3])
@pytest.mark.parametrize("dtype", DTYPES, ids=IDS)
@pytest.mark.parametrize("algorithm", ["naive", "fft"])
@given(data=st.data())
@settings(max_examples=40)
def test_conv_nd_naive_and_fft_match_torch(algorithm, nd, dtype, data):
    """The naive loops (a direct sum) and the FFT (conv2d's norm-wise error model over the
    nd axes, the registry's rule for algorithm='fft') against the float64 truth and
    torch, forward; the backward as usual."""
    case = data.draw(conv_nd_cases(nd))
    check_against_torch(f"conv{nd}d", make_arrays(case), case.kwargs, dtype=dtype,
                        seed=case.seed, ref_kwargs={"algorithm": algorithm},
                        algorithm="fft" if algorithm == "fft" else "direct")


@pytest.mark.formulas("B7")
@pytest.mark.parametrize("nd", [1, 3])
@pytest.mark.parametrize("dtype", DTYPES, ids=IDS)
@given(data=st.data())
@settings(max_examples=40)
def test_conv_nd_naive_and_fft_within_the_registry_bound_of_im2col(nd, dtype, data):
    """Against im2col in float64 (the truth): naive within the direct bound, FFT within
    the norm-wise bound of the registry's rule (tolerances.conv_nd_rule)."""
    case = data.draw(conv_nd_cases(nd))
    a = make_arrays(case)
    f = getattr(ref, f"conv{nd}d")
    truth = f(a["x"], a["weight"], a["bias"], **case.kwargs, algorithm="im2col")
    bound = REGISTRY[f"conv{nd}d"].rule(a["x"], a["weight"], a["bias"], **case.kwargs)["out"]
    cast = [None if v is None else v.astype(dtype) for v in (a["x"], a["weight"], a["bias"])]
    for algorithm, model in (("naive", "direct"), ("fft", "fft")):
        got = f(*cast, **case.kwargs, algorithm=algorithm)
        assert got.dtype == dtype, f"{algorithm}: dtype {got.dtype}"
        assert_close(got, truth, bound.allowed(dtype, model), f"{algorithm} out",
                     call_repr(f"conv{nd}d", a, {**case.kwargs, "algorithm": algorithm}))


@pytest.mark.formulas("B4", "B7")
@pytest.mark.parametrize("nd", [1, 3])
@given(data=st.data())
@settings(max_examples=40)
def test_conv_nd_naive_is_exact_and_fft_rounds_to_it_on_integers(nd, data):
    """Integers in [-4, 4]: naive == im2col == torch bit for bit; rint(fft) == naive; and
    naive on a leading singleton axis (conv{nd+1}d) gives the same sums."""
    case = data.draw(conv_nd_cases(nd, exact=True))
    check_against_torch(f"conv{nd}d", make_arrays(case), case.kwargs, dtype=np.float32,
                        seed=case.seed, exact=True, ref_kwargs={"algorithm": "naive"})
    a = make_arrays(case)
    f, call = getattr(ref, f"conv{nd}d"), call_repr(f"conv{nd}d", a, case.kwargs)
    naive = f(*a.values(), **case.kwargs, algorithm="naive")
    assert_close(f(*a.values(), **case.kwargs, algorithm="im2col"), naive, 0, "im2col", call)
    assert_close(np.rint(f(*a.values(), **case.kwargs, algorithm="fft")), naive, 0,
                 "rint(fft) out", call)
    if nd == 1:
        lifted = ref.conv2d(a["x"][:, :, None], a["weight"][:, :, None], a["bias"],
                            **_lifted(case, nd), algorithm="naive")[:, :, 0]
        assert_close(lifted, naive, 0, "conv2d naive on (N, C, 1, L)", call)


def test_conv_nd_naive_and_fft_worked_example():
    """The docstrings' example: [1, 2, 3, 4, 5] with [1, 0, -1] -> [-2, -2, -2]; in 3-D,
    ones (1, 1, 4, 4, 4) with ones (1, 1, 3, 3, 3) -> 27 everywhere."""
    x, w = np.arange(1.0, 6.0).reshape(1, 1, 5), np.array([[[1.0, 0.0, -1.0]]])
    x3, w3 = np.ones((1, 1, 4, 4, 4)), np.ones((1, 1, 3, 3, 3))
    for algorithm in ("naive", "fft"):
        np.testing.assert_array_equal(np.rint(ref.conv1d(x, w, algorithm=algorithm)),
                                      [[[-2.0, -2.0, -2.0]]], err_msg=algorithm)
        np.testing.assert_array_equal(np.rint(ref.conv3d(x3, w3, algorithm=algorithm)),
                                      np.full((1, 1, 2, 2, 2), 27.0), err_msg=algorithm)
    assert ref.conv1d(np.zeros((0, 1, 5)), w, algorithm="fft").shape == (0, 1, 3)
    x[0, 0, 1] = np.nan            # the FFT would smear it over every output: not here
    np.testing.assert_array_equal(np.isnan(ref.conv1d(x, w, algorithm="fft")),
                                  np.isnan(ref.conv1d(x, w, algorithm="im2col")))


@pytest.mark.formulas("B4", "B7", "C7", "C10", "C11")
@pytest.mark.parametrize("nd", [1, 3])
@pytest.mark.parametrize("dtype", DTYPES, ids=IDS)
@given(data=st.data())
def test_conv_nd_forward_and_backward_match_torch(nd, dtype, data):
    case, method = data.draw(conv_nd_cases(nd)), data.draw(METHODS)
    check_against_torch(f"conv{nd}d", make_arrays(case), case.kwargs, dtype=dtype,
                        seed=case.seed, ref_backward_kwargs={"method": method})


@pytest.mark.formulas("B4", "B7", "C7", "C10")
@pytest.mark.parametrize("nd", [1, 3])
@given(data=st.data())
def test_conv_nd_exact_mode_is_bit_equal_to_torch(nd, data):
    """Integers in [-4, 4]: every partial sum is exact in float32, so forward and every
    backward method agree with torch bit for bit."""
    case, method = data.draw(conv_nd_cases(nd, exact=True)), data.draw(METHODS)
    check_against_torch(f"conv{nd}d", make_arrays(case), case.kwargs, dtype=np.float32,
                        seed=case.seed, exact=True, ref_backward_kwargs={"method": method})


def _lifted(case, nd: int) -> dict:
    """conv{nd}d's keyword arguments for conv{nd+1}d on a leading singleton axis (kernel
    1, stride 1, no padding along it); padding strings resolved per axis first."""
    kw = dict(case.kwargs)
    kernel = case.shapes["weight"][2:]
    stride, dilation = (tuple(kw[k]) if isinstance(kw[k], tuple) else (kw[k],) * nd
                        for k in ("stride", "dilation"))
    pads = ref.normalize_padding(kw["padding"], kernel, dilation, stride, "test")
    return {"stride": (1,) + stride, "dilation": (1,) + dilation,
            "padding": ((0, 0),) + pads, "groups": kw["groups"]}


@pytest.mark.formulas("B4")
@pytest.mark.parametrize("nd", [1, 2])
@given(data=st.data())
def test_one_more_singleton_axis_changes_nothing(nd, data):
    """conv1d(x) == conv2d(x[:, :, None]) with (1, k) kernels, and conv2d(x) ==
    conv3d(x[:, :, None]): the same sums in the same order, bit for bit on integers."""
    case = data.draw(conv_nd_cases(nd, exact=True))
    a = make_arrays(case)
    low = getattr(ref, f"conv{nd}d")(a["x"], a["weight"], a["bias"], **case.kwargs)
    high = getattr(ref, f"conv{nd + 1}d")(a["x"][:, :, None], a["weight"][:, :, None],
                                          a["bias"], **_lifted(case, nd))[:, :, 0]
    assert_close(high, low, 0, "out", call_repr(f"conv{nd}d", a, case.kwargs))


@pytest.mark.formulas("C7", "C10")
@pytest.mark.parametrize("nd", [1, 3])
@given(data=st.data())
def test_conv_nd_adjoint_identity(nd, data):
    """<conv(x, w), g> == <x, grad_x(g)> == <w, grad_w(g)> in 1-D and 3-D."""
    case = data.draw(conv_nd_cases(nd))
    a = make_arrays(case)
    f, fb = getattr(ref, f"conv{nd}d"), getattr(ref, f"conv{nd}d_backward")
    out = f(a["x"], a["weight"], **case.kwargs)
    g = np.random.default_rng(case.seed + 3).standard_normal(out.shape)
    gx, gw, _ = fb(g, a["x"], a["weight"], **case.kwargs)
    total = float(np.vdot(f(np.abs(a["x"]), np.abs(a["weight"]), **case.kwargs), np.abs(g)))
    n = a["weight"][0].size + g.size + a["x"].size + a["weight"].size
    call = call_repr(f"conv{nd}d_backward", a, case.kwargs)
    lhs = float(np.vdot(out, g))
    assert_close(float(np.vdot(a["x"], gx)), lhs, inner_product_bound(n, total), "<x, gx>", call)
    assert_close(float(np.vdot(a["weight"], gw)), lhs, inner_product_bound(n, total),
                 "<w, gw>", call)


X1, W1 = np.zeros((2, 4, 9)), np.zeros((6, 4, 3))
X3, W3 = np.zeros((1, 2, 5, 5, 5)), np.zeros((4, 2, 3, 3, 3))
BAD = [
    ("conv1d", (np.zeros((4, 9)), W1), {}, ValueError, r"conv1d: x must have 3 dim.*\(N, C, L\)"),
    ("conv1d", (X1, W1), {"padding": (1, 1)}, TypeError,
     r"conv1d: padding must be an int or a 1-tuple"),
    ("conv1d", (X1, W1), {"stride": (1, 2)}, TypeError, r"conv1d: stride must be an int or a 1-tuple"),
    ("conv1d", (X1, np.zeros((6, 4, 12))), {}, ValueError, r"spans 12 along L"),
    ("conv1d", (X1, W1), {"algorithm": "winograd"}, ValueError,
     r"conv1d: algorithm must be one of \('auto', 'naive', 'im2col', 'fft'\), got 'winograd'"),
    ("conv3d", (X3, W3), {"algorithm": "winograd2"}, ValueError,
     r"conv3d: algorithm must be one of \('auto', 'naive', 'im2col', 'fft'\)"),
    ("conv3d", (X3, np.zeros((4, 2, 3, 3))), {}, ValueError, r"weight must have 5 dim"),
    ("conv3d", (X3, W3), {"dilation": (1, 1)}, TypeError, r"dilation must be an int or a 3-tuple"),
    ("conv3d", (X3, W3), {"padding": "same", "stride": 2}, ValueError, r"same' needs stride 1"),
    ("conv3d", (X3, np.zeros((4, 1, 3, 3, 3))), {}, ValueError, r"x has 2 channels"),
    ("conv3d", (X3.astype(np.float32), W3), {}, TypeError, r"share one dtype"),
]


@pytest.mark.parametrize("func, args, kwargs, exc, pattern", BAD,
                         ids=[f"{b[0]}-{b[4][:24]}" for b in BAD])
def test_conv_nd_rejects_bad_input(func, args, kwargs, exc, pattern):
    with pytest.raises(exc, match=pattern):
        getattr(ref, func)(*args, **kwargs)
    if "algorithm" not in kwargs:
        g = np.zeros((1,) * (args[0].ndim))
        with pytest.raises(exc, match=pattern.replace(func, func + "_backward")):
            getattr(ref, func + "_backward")(g, *args, **kwargs)


@pytest.mark.parametrize("func, x, w, grad_shape", [
    ("conv1d_backward", X1, W1, (2, 6, 8)), ("conv3d_backward", X3, W3, (1, 4, 3, 3, 2))])
def test_conv_nd_backward_rejects_a_wrong_grad_out(func, x, w, grad_shape):
    with pytest.raises(ValueError, match=rf"{func}: grad_out must have the forward output's"):
        getattr(ref, func)(np.zeros(grad_shape), x, w)
