"""unfold / fold, adaptive average and max pooling, Lp pooling and max unpooling in 1, 2
and 3 dimensions: against PyTorch (forward and random-upstream backward, float64 and
float32), bit for bit where the operator selects or copies (indices included), the
adjoint identities of the linear ones, the adaptive bins written out by hand, and bad
input."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, strategies as st

from cnnref import reference as ref
from cnnref.verification.core.cases import call_repr, make_arrays
from cnnref.verification.core.compare import assert_close
from cnnref.verification.core.tolerances import inner_product_bound
from cnnref.verification.harness import check_against_torch
from cnnref.verification.operators.pooling_extra import (adaptive_cases, lp_cases,
                                                         unfold_cases, unpool_cases)

DTYPES = [np.float64, np.float32]
IDS = ["float64", "float32"]


@pytest.mark.formulas("B4", "B5", "B6")
@pytest.mark.parametrize("dtype", DTYPES, ids=IDS)
@given(case=unfold_cases())
def test_unfold_and_fold_match_torch(dtype, case):
    x = make_arrays(case)["x"]
    check_against_torch("unfold", {"x": x}, case.kwargs, dtype=dtype, seed=case.seed)
    cols = ref.unfold(x, **case.kwargs)
    check_against_torch("fold", {"x": cols}, {"output_size": x.shape[2:], **case.kwargs},
                        dtype=dtype, seed=case.seed)


@pytest.mark.formulas("B4", "B6")
@given(case=unfold_cases(exact=True))
def test_fold_is_the_adjoint_of_unfold_and_unfold_is_conv2d_im2col(case):
    """<unfold(x), c> == <x, fold(c)> exactly on integers; and weight.reshape(K, -1) @
    unfold(x) is conv2d(x, weight) (the documents' B4-B6 lowering, bit for bit)."""
    a = make_arrays(case)
    x = a["x"]
    cols = ref.unfold(x, **case.kwargs)
    c = np.random.default_rng(case.seed + 1).integers(-4, 5, cols.shape).astype(float)
    back = ref.fold(c, x.shape[2:], **case.kwargs)
    call = call_repr("unfold", a, case.kwargs)
    assert_close(np.vdot(x, back), np.vdot(cols, c), 0, "<x, fold(c)>", call)
    k = case.kwargs
    w = np.random.default_rng(case.seed + 2).integers(-4, 5, (2, x.shape[1])
                                                      + tuple(np.broadcast_to(
                                                          k["kernel_size"], 2))).astype(float)
    conv = ref.conv2d(x, w, None, k["stride"], k["padding"], k["dilation"])
    assert_close((w.reshape(2, -1) @ cols).reshape(conv.shape), conv, 0, "W @ unfold(x)", call)


@pytest.mark.formulas("C13")
@pytest.mark.parametrize("nd", [1, 2, 3])
@pytest.mark.parametrize("kind", ["avg", "max"])
@pytest.mark.parametrize("dtype", DTYPES, ids=IDS)
@given(data=st.data())
def test_adaptive_pooling_matches_torch(nd, kind, dtype, data):
    case = data.draw(adaptive_cases(nd))
    check_against_torch(f"adaptive_{kind}_pool{nd}d", make_arrays(case), case.kwargs,
                        dtype=dtype, seed=case.seed)


@pytest.mark.formulas("C12")
@pytest.mark.parametrize("nd", [1, 2, 3])
@given(data=st.data())
def test_adaptive_max_ties_nan_and_indices_are_torch_bit_for_bit(nd, data):
    """Integers in [-4, 4] full of ties, some NaN: values, torch's flat indices and the
    routed gradient equal torch's exactly (first maximum in row-major order, last NaN)."""
    import torch
    case = data.draw(adaptive_cases(nd, exact=True))
    x = make_arrays(case)["x"]
    x.reshape(-1)[::7] = np.nan if data.draw(st.booleans()) else x.reshape(-1)[::7]
    fn = getattr(ref, f"adaptive_max_pool{nd}d")
    out, idx = fn(x, **case.kwargs, return_indices=True)
    xt = torch.tensor(x, requires_grad=True)
    ot, it = getattr(torch.nn.functional, f"adaptive_max_pool{nd}d")(
        xt, **case.kwargs, return_indices=True)
    g = np.random.default_rng(case.seed).integers(-3, 4, out.shape).astype(np.float64)
    ot.backward(torch.tensor(g))
    call = call_repr(fn.__name__, {"x": x}, case.kwargs)
    assert_close(out, ot.detach().numpy(), 0, "out", call)
    assert_close(idx, it.numpy(), 0, "indices", call)
    assert_close(getattr(ref, f"adaptive_max_pool{nd}d_backward")(g, x, **case.kwargs),
                 xt.grad.numpy(), 0, "grad_x", call)


def test_adaptive_bins_by_hand():
    """n = 5 to m = 3: floor(i*5/3) .. ceil((i+1)*5/3) -> [0, 2), [1, 4), [3, 5): the
    middle bin overlaps both neighbours; floor-only bins would be [0, 1), [1, 3), [3, 5)."""
    start, end = ref.adaptive_bins(5, 3)
    assert start.tolist() == [0, 1, 3] and end.tolist() == [2, 4, 5]
    x = np.arange(5.0).reshape(1, 1, 5)
    assert ref.adaptive_avg_pool1d(x, 3).tolist() == [[[0.5, 2.0, 3.5]]]   # (0+1)/2, (1+2+3)/3, (3+4)/2
    g = ref.adaptive_avg_pool1d_backward(np.ones((1, 1, 3)), x, 3)
    assert_close(g, [[[1 / 2, 1 / 2 + 1 / 3, 1 / 3, 1 / 3 + 1 / 2, 1 / 2]]], 1e-15,
                 "grad_x", "adaptive_avg_pool1d_backward(ones, 5 -> 3)")


@pytest.mark.formulas("C13")
@pytest.mark.parametrize("nd", [1, 3])
@given(data=st.data())
def test_adaptive_avg_backward_is_the_adjoint(nd, data):
    case = data.draw(adaptive_cases(nd))
    x = make_arrays(case)["x"]
    f = getattr(ref, f"adaptive_avg_pool{nd}d")
    out = f(x, **case.kwargs)
    g = np.random.default_rng(case.seed + 3).standard_normal(out.shape)
    gx = getattr(ref, f"adaptive_avg_pool{nd}d_backward")(g, x, **case.kwargs)
    total = float(np.vdot(f(np.abs(x), **case.kwargs), np.abs(g)))
    n = sum(x.shape[2:]) + 2 * nd + g.size + x.size
    assert_close(np.vdot(x, gx), np.vdot(out, g), inner_product_bound(n, total),
                 "<x, grad_x>", call_repr(f.__name__, {"x": x}, case.kwargs))


def _positive(case, dtype=np.float64):
    return (np.abs(make_arrays(case)["x"]) + 0.1).astype(dtype)


@pytest.mark.parametrize("nd", [1, 2, 3])
@pytest.mark.parametrize("dtype", DTYPES, ids=IDS)
@given(data=st.data())
def test_lp_pool_matches_torch(nd, dtype, data):
    case = data.draw(lp_cases(nd))
    check_against_torch(f"lp_pool{nd}d", {"x": _positive(case)}, case.kwargs, dtype=dtype,
                        seed=case.seed)


def test_lp_pool_by_hand():
    """p = 2 over (3, 4): sqrt(9 + 16) = 5; gradient x / out * g = (3/5, 4/5) * 10."""
    x = np.array([[[[3.0, 4.0]]]])
    assert ref.lp_pool2d(x, 2, (1, 2)).tolist() == [[[[5.0]]]]
    assert_close(ref.lp_pool2d_backward(np.array([[[[10.0]]]]), x, 2, (1, 2)),
                 [[[[6.0, 8.0]]]], 1e-14, "grad_x", "lp_pool2d_backward")


@pytest.mark.parametrize("nd", [1, 2, 3])
@given(data=st.data())
def test_max_unpool_matches_torch_exactly(nd, data):
    """Values and indices from max_pool{nd}d (stride == kernel: distinct indices), put back
    by max_unpool{nd}d; forward and gradient bit-equal to torch, and unpool o pool keeps
    exactly the maxima."""
    case = data.draw(unpool_cases(nd))
    x = make_arrays(case)["x"]
    kw = dict(case.kwargs)
    size = kw.pop("output_size")
    pooled, idx = getattr(ref, f"max_pool{nd}d")(x, kw["kernel_size"], padding=kw["padding"],
                                                 return_indices=True)
    args = {"x": pooled, "indices": idx}
    check_against_torch(f"max_unpool{nd}d", args, {**kw, "output_size": size},
                        seed=case.seed, exact=True)
    if size is not None:
        up = getattr(ref, f"max_unpool{nd}d")(pooled, idx, output_size=size, **kw)
        assert_close(np.where(up != 0, up, x), x, 0, "unpool(pool(x)) at the maxima",
                     call_repr(f"max_unpool{nd}d", args, kw))


BAD = [
    (ref.unfold, (np.zeros((2, 3, 4)), 2), {}, ValueError, r"unfold: x must have 4 dim"),
    (ref.unfold, (np.zeros((1, 1, 4, 4)), 2), {"padding": "same"}, TypeError,
     r"unfold: padding must be an int or a pair"),
    (ref.fold, (np.zeros((1, 4, 5)), (3, 3), 2), {}, ValueError,
     r"fold: x.shape\[2\] = 5 must be the number of windows 2\*2 = 4"),
    (ref.fold, (np.zeros((1, 5, 4)), (3, 3), 2), {}, ValueError, r"multiple of kH\*kW = 4"),
    (ref.adaptive_avg_pool2d, (np.zeros((1, 1, 4, 4)), 0), {}, ValueError,
     r"output_size must be >= 1"),
    (ref.adaptive_max_pool3d, (np.zeros((1, 1, 4, 4)), 2), {}, ValueError,
     r"adaptive_max_pool3d: x must have 5 dim"),
    (ref.lp_pool2d, (np.zeros((1, 1, 4, 4)), 0, 2), {}, ValueError,
     r"norm_type must be a non-zero number"),
    (ref.max_unpool2d, (np.zeros((1, 1, 2, 2)), np.zeros((1, 1, 2, 2)), 2), {}, TypeError,
     r"indices must be an integer array"),
    (ref.max_unpool2d, (np.zeros((1, 1, 2, 2)), np.full((1, 1, 2, 2), 16), 2), {},
     ValueError, r"indices must lie in \[0, 16\)"),
    (ref.max_unpool1d, (np.zeros((1, 1, 2)), np.zeros((1, 1, 2), int), 2),
     {"output_size": (7,)}, ValueError, r"within one stride"),
]


@pytest.mark.parametrize("fn, args, kw, exc, pattern", BAD, ids=[b[4][:30] for b in BAD])
def test_rejects_bad_input(fn, args, kw, exc, pattern):
    with pytest.raises(exc, match=pattern):
        fn(*args, **kw)
