"""max_pool1d/3d and avg_pool1d/3d (the 2-D code path with one and three spatial axes)
against PyTorch (values, indices, gradients), bit for bit on ties, against the 2-D
functions on a singleton axis, the mean's adjoint identity, and bad input
(FORMULAS C12, C13 beyond two dimensions)."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, strategies as st

from cnnref import reference as ref
from cnnref.verification.core.cases import call_repr, make_arrays
from cnnref.verification.core.compare import assert_close
from cnnref.verification.core.tolerances import inner_product_bound
from cnnref.verification.harness import check_against_torch
from cnnref.verification.operators.nd import pool_nd_cases

DTYPES = [np.float64, np.float32]
IDS = ["float64", "float32"]


def _touches_input(fn, x, kw) -> bool:
    """torch names a pixel outside a dilated window lying wholly in the padding (see
    reference.max_pool2d): such draws are left to the 2-D loop-definition test."""
    return bool((fn(x, **kw, return_indices=True)[1] >= 0).all())


@pytest.mark.formulas("C12", "C13")
@pytest.mark.parametrize("nd", [1, 3])
@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("dtype", DTYPES, ids=IDS)
@given(data=st.data())
def test_pool_nd_forward_and_backward_match_torch(nd, kind, dtype, data):
    case = data.draw(pool_nd_cases(nd, kind))
    x = make_arrays(case)["x"]
    if kind == "max":
        assume(_touches_input(getattr(ref, f"max_pool{nd}d"), x, case.kwargs))
    check_against_torch(f"{kind}_pool{nd}d", {"x": x}, case.kwargs, dtype=dtype,
                        seed=case.seed)


@pytest.mark.formulas("C12")
@pytest.mark.parametrize("nd", [1, 3])
@given(data=st.data())
def test_max_pool_nd_ties_and_indices_are_torch_bit_for_bit(nd, data):
    """Integers in [-4, 4] (ties everywhere): values, torch's flat indices (d*H*W + h*W + w
    in 3-D) and the routed gradient all equal torch's exactly."""
    import torch
    case = data.draw(pool_nd_cases(nd, "max", exact=True))
    x = make_arrays(case)["x"]
    fn = getattr(ref, f"max_pool{nd}d")
    assume(_touches_input(fn, x, case.kwargs))
    out, idx = fn(x, **case.kwargs, return_indices=True)
    xt = torch.tensor(x, requires_grad=True)
    ot, it = getattr(torch.nn.functional, f"max_pool{nd}d")(xt, **case.kwargs,
                                                            return_indices=True)
    g = np.random.default_rng(case.seed).integers(-3, 4, out.shape).astype(np.float64)
    ot.backward(torch.tensor(g))
    call = call_repr(f"max_pool{nd}d", {"x": x}, case.kwargs)
    assert_close(out, ot.detach().numpy(), 0, "out", call)
    assert_close(idx, it.numpy(), 0, "indices", call)
    assert_close(getattr(ref, f"max_pool{nd}d_backward")(g, x, **case.kwargs),
                 xt.grad.numpy(), 0, "grad_x", call)


def _lift(kw: dict, nd: int) -> dict:
    """Pooling arguments of {kind}_pool{nd}d for the (nd+1)-D function on a leading
    singleton axis (kernel 1, stride 1, no padding, dilation 1 along it)."""
    per = {k: (tuple(v) if isinstance(v, tuple) else (v,) * nd)
           for k, v in kw.items() if k in ("kernel_size", "stride", "padding", "dilation")
           and v is not None}
    out = dict(kw)
    out["kernel_size"] = (1,) + per["kernel_size"]
    out["stride"] = (1,) + per.get("stride", per["kernel_size"])
    out["padding"] = (0,) + per.get("padding", (0,) * nd)
    if "dilation" in per:
        out["dilation"] = (1,) + per["dilation"]
    return out


@pytest.mark.formulas("C12", "C13")
@pytest.mark.parametrize("nd", [1, 2])
@pytest.mark.parametrize("kind", ["max", "avg"])
@given(data=st.data())
def test_one_more_singleton_axis_changes_nothing(nd, kind, data):
    """pool1d(x) == pool2d(x[:, :, None]) and pool2d(x) == pool3d(x[:, :, None]), forward
    and backward, bit for bit (the same taps, divisors and scatter)."""
    case = data.draw(pool_nd_cases(nd, kind))
    x = make_arrays(case)["x"]
    kw = dict(case.kwargs)
    low, high = (getattr(ref, f"{kind}_pool{d}d") for d in (nd, nd + 1))
    lo = low(x, **kw)
    hi = high(x[:, :, None], **_lift(kw, nd))[:, :, 0]
    call = call_repr(f"{kind}_pool{nd}d", {"x": x}, kw)
    assert_close(hi, lo, 0, "out", call)
    g = np.random.default_rng(case.seed + 1).standard_normal(lo.shape)
    glo = getattr(ref, f"{kind}_pool{nd}d_backward")(g, x, **kw)
    ghi = getattr(ref, f"{kind}_pool{nd + 1}d_backward")(g[:, :, None], x[:, :, None],
                                                        **_lift(kw, nd))[:, :, 0]
    assert_close(ghi, glo, 0, "grad_x", call)


@pytest.mark.formulas("C13")
@pytest.mark.parametrize("nd", [1, 3])
@given(data=st.data())
def test_avg_pool_nd_backward_is_the_adjoint(nd, data):
    """Mean pooling is linear: <avg(x), g> == <x, avg_backward(g)>."""
    case = data.draw(pool_nd_cases(nd, "avg"))
    x = make_arrays(case)["x"]
    f = getattr(ref, f"avg_pool{nd}d")
    out = f(x, **case.kwargs)
    g = np.random.default_rng(case.seed + 3).standard_normal(out.shape)
    gx = getattr(ref, f"avg_pool{nd}d_backward")(g, x, **case.kwargs)
    total = float(np.vdot(f(np.abs(x), **case.kwargs), np.abs(g)))
    taps = int(np.prod(np.broadcast_to(case.kwargs["kernel_size"], (nd,))))
    n = taps + 2 + g.size + x.size
    assert_close(float(np.vdot(x, gx)), float(np.vdot(out, g)), inner_product_bound(n, total),
                 "<x, grad_x>", call_repr(f"avg_pool{nd}d", {"x": x}, case.kwargs))


BAD = [
    ("max_pool1d", np.zeros((1, 2, 5, 5)), {"kernel_size": 2}, ValueError,
     r"max_pool1d: x must have 3 dim.*\(N, C, L\)"),
    ("avg_pool1d", np.zeros((1, 2, 5)), {"kernel_size": (2, 2)}, TypeError,
     r"avg_pool1d: kernel_size must be an int or a 1-tuple"),
    ("max_pool3d", np.zeros((1, 2, 4, 4, 4)), {"kernel_size": 2, "padding": "same"},
     ValueError, r"max_pool3d: padding must be an int"),
    ("avg_pool3d", np.zeros((1, 2, 4, 4, 4)), {"kernel_size": 6}, ValueError,
     r"avg_pool3d: kernel span 6.*along D"),
    ("max_pool3d", np.zeros((1, 2, 4, 4, 4), dtype=int), {"kernel_size": 2}, TypeError,
     r"max_pool3d: x must be a floating array"),
    ("avg_pool3d", np.zeros((1, 2, 4, 4, 4)), {"kernel_size": 2, "divisor_override": 0},
     ValueError, r"divisor_override must be >= 1"),
]


@pytest.mark.parametrize("func, x, kw, exc, pattern", BAD, ids=[b[4][:30] for b in BAD])
def test_pool_nd_rejects_bad_input(func, x, kw, exc, pattern):
    with pytest.raises(exc, match=pattern):
        getattr(ref, func)(x, **kw)


def test_pool_nd_backward_rejects_a_wrong_grad_out():
    with pytest.raises(ValueError, match=r"max_pool3d_backward: grad_out must have the "
                       r"forward output's shape \(1, 2, 2, 2, 2\)"):
        ref.max_pool3d_backward(np.zeros((1, 2, 2, 2, 3)), np.zeros((1, 2, 4, 4, 4)), 2)
