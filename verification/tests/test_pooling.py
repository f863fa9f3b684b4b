"""Max and mean pooling against PyTorch, against an independent loop definition (for the
ONNX extensions torch refuses), against the documents' own formulas and against finite
differences (FORMULAS C12-C14)."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import assume, given

from cnnref import reference as ref
from cnnref.verification.core.compare import assert_close
from cnnref.verification.core.cases import call_repr
from cnnref.verification.harness import check_against_torch
from cnnref.verification.core.cases import Case, make_arrays
from cnnref.verification.core.strategies import seeds
from cnnref.verification.operators.pooling import pool2d_cases, special_values
from cnnref.verification.operators.registry import bounds_for

DTYPES = [np.float64, np.float32]
IDS = ["float64", "float32"]


def _every_window_touches_the_input(x, kw) -> bool:
    """torch names a wrong pixel for a dilated window lying wholly in the padding (see
    reference.max_pool2d); such windows are compared with the loop definition instead."""
    return bool((ref.max_pool2d(x, **kw, return_indices=True)[1] >= 0).all())


@pytest.mark.formulas("C12")
@pytest.mark.parametrize("dtype", DTYPES, ids=IDS)
@given(case=pool2d_cases("max"))
def test_c12_max_pool2d_matches_torch(dtype, case):
    x = make_arrays(case)["x"]
    assume(_every_window_touches_the_input(x, case.kwargs))
    check_against_torch("max_pool2d", {"x": x}, case.kwargs, dtype=dtype, seed=case.seed)


@pytest.mark.formulas("C12")
@pytest.mark.parametrize("values", ["ties", "special"])
@given(case=pool2d_cases("max", values="ties"))
def test_c12_max_pool2d_ties_nan_inf_match_torch_exactly(values, case):
    """Integer inputs full of ties (torch keeps the first maximum), and NaN / inf / -inf
    (NaN wins, the last NaN is the argmax): values, indices and gradients all bit-equal."""
    import torch
    import torch.nn.functional as F
    x = special_values(case) if values == "special" else make_arrays(case)["x"]
    assume(_every_window_touches_the_input(x, case.kwargs))
    out, idx = ref.max_pool2d(x, **case.kwargs, return_indices=True)
    xt = torch.tensor(x, requires_grad=True)
    ot, it = F.max_pool2d(xt, **case.kwargs, return_indices=True)
    call = call_repr("max_pool2d", {"x": x}, case.kwargs)
    assert_close(out, ot.detach().numpy(), 0, "out", call)
    assert_close(idx, it.numpy(), 0, "indices", call)
    g = np.random.default_rng(case.seed).integers(-3, 4, out.shape).astype(np.float64)
    ot.backward(torch.tensor(g))
    assert_close(ref.max_pool2d_backward(g, x, **case.kwargs), xt.grad.numpy(), 0, "grad_x", call)


@pytest.mark.formulas("C13")
@pytest.mark.parametrize("dtype", DTYPES, ids=IDS)
@given(case=pool2d_cases("avg"))
def test_c13_avg_pool2d_matches_torch(dtype, case):
    check_against_torch("avg_pool2d", make_arrays(case), case.kwargs, dtype=dtype,
                        seed=case.seed)


def _loop_pool(x, kind, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    """ONNX's definition, one output element at a time, independent of reference.pooling:
    the taps of window (i, j) are rows i*s - top + m*d; a tap counts for the divisor if it
    lies in the padded input (count_include_pad) or in the input."""
    k, s, d = (np.broadcast_to(np.asarray(v), 2).tolist() for v in (kernel_size,
                                                                  stride or kernel_size, dilation))
    pads = [tuple(p) for p in padding] if np.ndim(padding) == 2 else \
        [(p, p) for p in np.broadcast_to(np.asarray(padding), 2).tolist()]
    h, w = x.shape[2:]
    out_hw = [ref.pool_output_size(n, kk, ss, a, b, dd, ceil_mode)
              for n, kk, ss, (a, b), dd in zip((h, w), k, s, pads, d)]
    out = np.empty(x.shape[:2] + tuple(out_hw))
    for i, j in itertools.product(*map(range, out_hw)):
        rows = [i * s[0] - pads[0][0] + m * d[0] for m in range(k[0])]
        cols = [j * s[1] - pads[1][0] + q * d[1] for q in range(k[1])]
        taps = [(r, c) for r in rows for c in cols]
        real = [(r, c) for r, c in taps if 0 <= r < h and 0 <= c < w]
        vals = np.stack([x[:, :, r, c] for r, c in real], -1) if real else None
        if kind == "max":
            out[:, :, i, j] = vals.max(-1) if real else -np.inf
            continue
        padded = [(r, c) for r, c in taps if -pads[0][0] <= r < h + pads[0][1]
                  and -pads[1][0] <= c < w + pads[1][1]]
        div = divisor_override or (len(padded) if count_include_pad else len(real))
        out[:, :, i, j] = (vals.sum(-1) if real else 0.0) / div if div else np.nan
    return out


@pytest.mark.formulas("C12", "C13")
@pytest.mark.parametrize("kind", ["max", "avg"])
@given(case=pool2d_cases("max", torch_only=False))
def test_c12_c13_onnx_extensions_match_the_loop_definition(kind, case):
    """Asymmetric padding, padding beyond half the kernel, mean-pool dilation: torch refuses
    them, ONNX defines them; the reference follows that definition."""
    kw = dict(case.kwargs)
    x = make_arrays(case)["x"]
    if kind == "avg":
        kw["count_include_pad"] = case.seed % 2 == 0
    fn = ref.max_pool2d if kind == "max" else ref.avg_pool2d
    got, want = fn(x, **kw), _loop_pool(x, kind, **kw)
    allowed = 0 if kind == "max" else np.nan_to_num(bounds_for("avg_pool2d", x, **kw)["out"]
                                                    .allowed(np.float64))
    assert_close(got, want, allowed, f"{kind}_pool2d out", call_repr(fn.__name__, {"x": x}, kw))


@pytest.mark.formulas("C13")
@given(case=pool2d_cases("avg", torch_only=False))
def test_c13_avg_pool2d_backward_is_the_adjoint(case):
    """Mean pooling is linear: <avg(x), g> == <x, avg_backward(g)>, also for the ONNX
    extensions where torch cannot be asked (both sides sum the same products x g / div)."""
    x = make_arrays(case)["x"]
    out = ref.avg_pool2d(x, **case.kwargs)
    assume(np.isfinite(out).all())
    g = np.random.default_rng(case.seed + 1).standard_normal(out.shape)
    gx = ref.avg_pool2d_backward(g, x, **case.kwargs)
    total = float(np.vdot(ref.avg_pool2d(np.abs(x), **case.kwargs), np.abs(g)))
    n = x.size + out.size + 16 + 2
    from cnnref.verification.core.tolerances import inner_product_bound
    assert_close(float(np.vdot(x, gx)), float(np.vdot(out, g)), inner_product_bound(n, total),
                 "<x, grad_x>", call_repr("avg_pool2d_backward", {"x": x}, case.kwargs))


@pytest.mark.formulas("C12", "C13")
@given(seed=seeds)
def test_c12_c13_documents_formulas_equal_the_general_backward(seed):
    """C12 (route to the block maximum) and C13 (delta kron ones(n, n) / n^2) are the
    general backward for stride == kernel, no padding; leftover rows/cols get 0."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 4))
    x = rng.integers(-3, 4, (2, 3, n * 2 + int(rng.integers(0, n)), n * 3)).astype(float)
    g = rng.standard_normal((2, 3, x.shape[2] // n, x.shape[3] // n))
    call = f"kernel_size={n}, x={x.shape}"
    assert_close(ref.max_pool2d_backward_documents(g, x, n), ref.max_pool2d_backward(g, x, n),
                 0, "documents' max-pool routing", call)
    assert_close(ref.avg_pool2d_backward_kronecker(g, x, n), ref.avg_pool2d_backward(g, x, n),
                 bounds_for("avg_pool2d_backward", g, x, n)["grad_x"].allowed(np.float64),
                 "Kronecker mean-pool backward", call)


@pytest.mark.formulas("C12", "C13")
def test_c12_c13_worked_example_4x4():
    """seed 000's setting: a 4x4 map, 2x2 pooling, stride 2 (numbers ours, by hand).
    max blocks: max(1,5,3,2)=5, max(2,0,7,1)=7, max(4,4,0,1)=4 (first 4 wins), max(8,6,2,3)=8;
    mean: 11/4, 10/4, 9/4, 19/4. Error [[1, 2], [3, 4]] routes to the maxima / spreads /4."""
    x = np.array([[1, 5, 2, 0], [3, 2, 7, 1], [4, 4, 8, 6], [0, 1, 2, 3]], float)[None, None]
    d = np.array([[1, 2], [3, 4]], float)[None, None]
    assert ref.max_pool2d(x, 2).tolist() == [[[[5, 7], [4, 8]]]]
    assert ref.avg_pool2d(x, 2).tolist() == [[[[11 / 4, 10 / 4], [9 / 4, 19 / 4]]]]
    routed = np.zeros((4, 4))
    routed[0, 1], routed[1, 2], routed[2, 0], routed[2, 2] = 1, 2, 3, 4
    assert (ref.max_pool2d_backward(d, x, 2)[0, 0] == routed).all()
    assert (ref.avg_pool2d_backward_kronecker(d, x, 2)[0, 0] == np.kron(d[0, 0], np.ones((2, 2))) / 4).all()


@pytest.mark.formulas("C14")
@pytest.mark.parametrize("dtype", DTYPES, ids=IDS)
@given(case=pool2d_cases("avg"))
def test_c14_lenet_subsample_matches_torch(dtype, case):
    """Trainable subsampling: beta * (block sum) + b per map, against a torch twin."""
    n, c = case.shapes["x"][:2]
    k = min(2, *case.shapes["x"][2:])
    shapes = {"x": case.shapes["x"], "coefficient": (c,), "bias": (c,)}
    check_against_torch("lenet_subsample", make_arrays(Case(shapes, {}, case.seed)),
                        {"kernel_size": k}, dtype=dtype, seed=case.seed)


@pytest.mark.formulas("C12", "C13")
def test_global_pooling_equals_full_window_pooling():
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 5))
    assert ref.global_max_pool2d(x).shape == (2, 3, 1, 1)
    assert (ref.global_max_pool2d(x)[..., 0, 0] == x.max(axis=(2, 3))).all()
    assert_close(ref.global_avg_pool2d(x)[..., 0, 0], x.mean(axis=(2, 3)), 1e-15 * 20,
                 "global_avg_pool2d", "x (2, 3, 4, 5)")
    g = np.ones((2, 3, 1, 1))
    assert_close(ref.global_avg_pool2d_backward(g, x), np.full(x.shape, 1 / 20), 0,
                 "global_avg_pool2d_backward", "x (2, 3, 4, 5)")
    assert ref.global_max_pool2d_backward(g, x).sum() == 6


@pytest.mark.parametrize("call, exc, pattern", [
    (lambda: ref.max_pool2d(np.zeros((1, 1, 4)), 2), ValueError, r"4 dimensions"),
    (lambda: ref.max_pool2d(np.zeros((1, 1, 4, 4), int), 2), TypeError, r"floating"),
    (lambda: ref.max_pool2d(np.zeros((1, 1, 4, 4)), 0), ValueError, r"kernel_size must be >= 1"),
    (lambda: ref.max_pool2d(np.zeros((1, 1, 4, 4)), 2, stride=0), ValueError, r"stride must be >= 1"),
    (lambda: ref.max_pool2d(np.zeros((1, 1, 4, 4)), 2, padding=-1), ValueError, r"padding must be >= 0"),
    (lambda: ref.max_pool2d(np.zeros((1, 1, 2, 2)), 3), ValueError, r"spans 3 along H.*\(1, 1, 2, 2\)"),
    (lambda: ref.avg_pool2d(np.zeros((1, 1, 4, 4)), 2, padding="same"), ValueError, r"padding must be"),
    (lambda: ref.avg_pool2d(np.zeros((1, 1, 4, 4)), 2, divisor_override=0), ValueError, r"divisor_override"),
    (lambda: ref.max_pool2d_backward(np.zeros((1, 1, 3, 3)), np.zeros((1, 1, 4, 4)), 2),
     ValueError, r"grad_out must have the forward output's shape \(1, 1, 2, 2\)"),
    (lambda: ref.avg_pool2d_backward_kronecker(np.zeros((1, 1, 2, 2)), np.zeros((1, 1, 2, 2)), 3),
     ValueError, r"larger than the input"),
    (lambda: ref.lenet_subsample(np.zeros((1, 2, 4, 4)), np.ones(3), np.ones(2)), ValueError,
     r"coefficient must have shape \(2,\)"),
])
def test_pooling_rejects_bad_input(call, exc, pattern):
    with pytest.raises(exc, match=pattern):
        call()
