"""conv_transpose1d/2d/3d against PyTorch (forward, random-upstream backward, bit for bit
on integers), as the input gradient of the convolution, as the documents' C7-C8 method
built step by step from public functions, the adjoint identity, ONNX's asymmetric
padding, and bad input."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, strategies as st

from cnnref import reference as ref
from cnnref.verification.core.cases import call_repr, make_arrays
from cnnref.verification.core.compare import assert_close
from cnnref.verification.core.tolerances import inner_product_bound
from cnnref.verification.harness import check_against_torch
from cnnref.verification.operators.nd import conv_transpose_cases

DTYPES = [np.float64, np.float32]
IDS = ["float64", "float32"]


def _per_axis(v, nd):
    return tuple(v) if isinstance(v, (tuple, list)) else (v,) * nd


@pytest.mark.formulas("C7", "C8")
@pytest.mark.parametrize("nd", [1, 2, 3])
@pytest.mark.parametrize("dtype", DTYPES, ids=IDS)
@given(data=st.data())
def test_conv_transpose_matches_torch(nd, dtype, data):
    case = data.draw(conv_transpose_cases(nd))
    method = data.draw(st.sampled_from(["auto", "col2im", "documents"]))
    check_against_torch(f"conv_transpose{nd}d", make_arrays(case), case.kwargs, dtype=dtype,
                        seed=case.seed, ref_kwargs={"method": method})


@pytest.mark.formulas("C7", "C8")
@pytest.mark.parametrize("nd", [1, 2, 3])
@given(data=st.data())
def test_conv_transpose_exact_mode_and_onnx_padding(nd, data):
    """Integers: bit-equal to torch, forward and backward, both methods; asymmetric
    padding (ONNX ConvTranspose pads) against torch's unpadded result cropped."""
    case = data.draw(conv_transpose_cases(nd, exact=True, torch_only=data.draw(st.booleans())))
    method = data.draw(st.sampled_from(["col2im", "documents"]))
    check_against_torch(f"conv_transpose{nd}d", make_arrays(case), case.kwargs,
                        dtype=np.float32, seed=case.seed, exact=True,
                        ref_kwargs={"method": method})


@pytest.mark.formulas("C7")
@pytest.mark.parametrize("nd", [1, 2, 3])
@given(data=st.data())
def test_conv_transpose_is_the_convolution_input_gradient(nd, data):
    """conv_transpose(g, w) == conv_backward(g, x, w).grad_x for any x of the transposed
    output's shape, wherever the convolution maps that shape back to g's (output_padding
    < stride on every axis); bit for bit on integers."""
    case = data.draw(conv_transpose_cases(nd, exact=True))
    kw = dict(case.kwargs)
    assume(all(e < s for e, s in zip(_per_axis(kw["output_padding"], nd),
                                      _per_axis(kw["stride"], nd))))
    a = make_arrays(case)
    out = getattr(ref, f"conv_transpose{nd}d")(a["x"], a["weight"], None, **kw)
    x_conv = np.zeros(out.shape)
    gx, _, _ = getattr(ref, f"conv{nd}d_backward")(
        a["x"], x_conv, a["weight"], None, kw["stride"], kw["padding"], kw["dilation"],
        kw["groups"])
    assert_close(out, gx, 0, "conv_transpose vs conv grad_x",
                 call_repr(f"conv_transpose{nd}d", a, kw))


def _documents_method(x, weight, stride, padding, output_padding, groups, dilation, nd):
    """C8 then C7 from public pieces only: s - 1 zeros between the inputs, a 'full'
    convolution with each kernel rotated 180 degrees (in/out channels swapped per group),
    the rows no window reaches (output_padding) as zeros, then the padding cropped."""
    s, d, e, p = (_per_axis(v, nd) for v in (stride, dilation, output_padding, padding))
    zero_inserted = np.zeros(x.shape[:2] + tuple((n - 1) * si + 1
                                                 for n, si in zip(x.shape[2:], s)))
    zero_inserted[(...,) + tuple(slice(None, None, si) for si in s)] = x
    cin, cout_g = weight.shape[:2]
    k = weight.shape[2:]
    w = weight.reshape((groups, cin // groups, cout_g) + k).swapaxes(1, 2)
    w = w.reshape((groups * cout_g, cin // groups) + k)[(...,) + (slice(None, None, -1),) * nd]
    full = getattr(ref, f"conv{nd}d")(zero_inserted, np.ascontiguousarray(w), None, 1, "full",
                                      d, groups)
    canvas = np.zeros(full.shape[:2] + tuple(n + ei for n, ei in zip(full.shape[2:], e)))
    canvas[(...,) + tuple(slice(0, n) for n in full.shape[2:])] = full
    return canvas[(...,) + tuple(slice(pi, n - pi) for pi, n in zip(p, canvas.shape[2:]))]


@pytest.mark.formulas("C7", "C8")
@pytest.mark.parametrize("nd", [1, 2, 3])
@given(data=st.data())
def test_documents_c7_c8_method_is_exactly_conv_transpose(nd, data):
    case = data.draw(conv_transpose_cases(nd, exact=True))
    a = make_arrays(case)
    want = _documents_method(a["x"], a["weight"], nd=nd, **case.kwargs)
    got = getattr(ref, f"conv_transpose{nd}d")(a["x"], a["weight"], None, **case.kwargs)
    assert_close(got, want, 0, "conv_transpose vs zero insertion + full conv",
                 call_repr(f"conv_transpose{nd}d", a, case.kwargs))


@pytest.mark.formulas("C7", "C10")
@pytest.mark.parametrize("nd", [1, 2, 3])
@given(data=st.data())
def test_conv_transpose_adjoint_identity(nd, data):
    """<ct(x, w), g> == <x, grad_x(g)> == <w, grad_w(g)>, also with asymmetric padding."""
    case = data.draw(conv_transpose_cases(nd, torch_only=False))
    a = make_arrays(case)
    f, fb = (getattr(ref, f"conv_transpose{nd}d{t}") for t in ("", "_backward"))
    out = f(a["x"], a["weight"], None, **case.kwargs)
    g = np.random.default_rng(case.seed + 3).standard_normal(out.shape)
    gx, gw, _ = fb(g, a["x"], a["weight"], None, **case.kwargs)
    total = float(np.vdot(f(np.abs(a["x"]), np.abs(a["weight"]), None, **case.kwargs),
                          np.abs(g)))
    n = a["weight"].size + g.size + a["x"].size
    call = call_repr(f"conv_transpose{nd}d_backward", a, case.kwargs)
    lhs = float(np.vdot(out, g))
    assert_close(float(np.vdot(a["x"], gx)), lhs, inner_product_bound(n, total), "<x, gx>", call)
    assert_close(float(np.vdot(a["weight"], gw)), lhs, inner_product_bound(n, total),
                 "<w, gw>", call)


X, W = np.zeros((1, 4, 5, 5)), np.zeros((4, 3, 3, 3))
BAD = [
    ({"stride": 2, "output_padding": 2}, X, W, ValueError,
     r"output_padding=\(2, 2\) must be smaller than either the stride \(2, 2\) or the dilation"),
    ({"stride": 1, "output_padding": 1}, X, W, ValueError, r"output_padding=\(1, 1\)"),
    ({"output_padding": -1}, X, W, ValueError, r"output_padding must be >= 0"),
    ({"padding": "same"}, X, W, ValueError, r"padding must be an int"),
    ({"padding": 4}, X, W, ValueError, r"the output would be empty"),
    ({}, X, np.zeros((3, 3, 3, 3)), ValueError, r"weight.shape\[0\] must equal the input "
     r"channels"),
    ({"groups": 3}, X, W, ValueError, r"divisible by groups=3"),
    ({}, X, np.zeros((4, 3, 3)), ValueError, r"weight must have 4 dimensions"),
    ({}, X.astype(np.float32), W, TypeError, r"share one dtype"),
    ({"method": "fft"}, X, W, ValueError, r"method must be one of"),
]


@pytest.mark.parametrize("kw, x, w, exc, pattern", BAD, ids=[b[4][:28] for b in BAD])
def test_conv_transpose2d_rejects_bad_input(kw, x, w, exc, pattern):
    with pytest.raises(exc, match=r"conv_transpose2d: .*" + pattern):
        ref.conv_transpose2d(x, w, **kw)


def test_conv_transpose_bias_and_grad_out_are_checked():
    with pytest.raises(ValueError, match=r"conv_transpose1d: bias must have shape \(6,\)"):
        ref.conv_transpose1d(np.zeros((1, 4, 5)), np.zeros((4, 3, 2)), np.zeros(3), groups=2)
    with pytest.raises(ValueError, match=r"conv_transpose3d_backward: grad_out must have the "
                       r"forward output's shape \(1, 3, 3, 3, 3\)"):
        ref.conv_transpose3d_backward(np.zeros((1, 3, 3, 3, 2)), np.zeros((1, 4, 2, 2, 2)),
                                      np.zeros((4, 3, 2, 2, 2)))
