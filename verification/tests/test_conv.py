"""conv2d forward and backward against PyTorch, against each other, against finite
differences and against the adjoint identity (FORMULAS B4-B7, C7-C11)."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given

from cnnref import reference as ref
from cnnref.verification.core.compare import assert_close
from cnnref.verification.core.cases import call_repr
from cnnref.verification.harness import check_against_torch, torch_devices
from cnnref.verification.core.cases import make_arrays
from cnnref.verification.operators.conv import conv2d_cases
from cnnref.verification.operators.registry import bounds_for
from cnnref.verification.core.tolerances import gamma, inner_product_bound

DTYPES = [np.float64, np.float32]
DTYPE_IDS = ["float64", "float32"]


@pytest.mark.formulas("B7", "B4", "B5")
@pytest.mark.parametrize("device", torch_devices())
@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("algorithm", [a for a in ref.ALGORITHMS if a not in ref.WINOGRAD_TILES])
@given(case=conv2d_cases())
def test_b7_conv2d_forward_and_backward_match_torch(algorithm, dtype, device, case):
    check_against_torch("conv2d", make_arrays(case), case.kwargs, dtype=dtype, device=device,
                        seed=case.seed, ref_kwargs={"algorithm": algorithm},
                        algorithm="fft" if algorithm == "fft" else "direct")


@pytest.mark.formulas("C7", "C8", "C9", "C10", "C11")
@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("method", ("auto",) + ref.BACKWARD_METHODS)
@given(case=conv2d_cases())
def test_c7_c11_backward_methods_match_torch(method, dtype, case):
    check_against_torch("conv2d", make_arrays(case), case.kwargs, dtype=dtype, seed=case.seed,
                        ref_backward_kwargs={"method": method})


@pytest.mark.formulas("B4", "B5", "B7")
@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@given(case=conv2d_cases(exact=True))
def test_exact_mode_is_bit_equal_to_torch(dtype, case):
    """Integer inputs in [-4, 4]: every partial sum is an integer below 2**24, so every
    direct algorithm and torch must agree bit for bit, forward and backward."""
    for method in ("auto",) + ref.BACKWARD_METHODS:
        check_against_torch("conv2d", make_arrays(case), case.kwargs, dtype=dtype,
                            seed=case.seed, exact=True, ref_kwargs={"algorithm": "naive"},
                            ref_backward_kwargs={"method": method})


@pytest.mark.formulas("B7")
@given(case=conv2d_cases(exact=True))
def test_b7_algorithms_agree_exactly_on_integers(case):
    """naive == im2col bit for bit; FFT rounds to the same integers; chunking the im2col
    workspace (one sample per chunk) changes nothing."""
    a = make_arrays(case)
    call = call_repr("conv2d", a, case.kwargs)
    naive = ref.conv2d(*a.values(), **case.kwargs, algorithm="naive")
    assert_close(ref.conv2d(*a.values(), **case.kwargs, algorithm="im2col"), naive, 0,
                 "im2col out", call)
    assert_close(ref.conv2d(*a.values(), **case.kwargs, workspace_bytes=1), naive, 0,
                 "im2col (1-sample chunks) out", call)
    fft = ref.conv2d(*a.values(), **case.kwargs, algorithm="fft")
    assert_close(np.rint(fft), naive, 0, "rint(fft) out", call)


def _loss(x, w, b, g, kwargs):
    return float(np.vdot(ref.conv2d(x, w, b, **kwargs), g))


@pytest.mark.formulas("C7", "C8", "C9", "C10", "C11")
@given(case=conv2d_cases())
def test_c7_c11_gradients_match_central_differences(case):
    """L(x) = <conv2d(x, w, b), g> is linear in each argument, so the central difference
    (L(x + h e_i) - L(x - h e_i)) / 2h equals dL/dx_i up to rounding for any h (h = 1).
    Checked at 3 random coordinates of x, w and b."""
    a = make_arrays(case)
    x, w, b = a["x"], a["weight"], a["bias"]
    g = np.random.default_rng(case.seed + 7).standard_normal(
        ref.conv2d(x, w, b, **case.kwargs).shape)
    grads = dict(zip(("x", "weight", "bias"), ref.conv2d_backward(g, x, w, b, **case.kwargs)))
    bnd = bounds_for("conv2d_backward", g, x, w, b, **case.kwargs)
    rng = np.random.default_rng(case.seed + 11)
    for name, gname in (("x", "grad_x"), ("weight", "grad_weight"), ("bias", "grad_bias")):
        if a[name] is None:
            continue
        for flat in rng.integers(0, a[name].size, 3):
            idx = np.unravel_index(flat, a[name].shape)
            args = {k: None if v is None else v.copy() for k, v in a.items()}
            args[name][idx] += 1.0
            up = _loss(*args.values(), g, case.kwargs)
            args[name][idx] -= 2.0
            down = _loss(*args.values(), g, case.kwargs)
            # Each loss is an inner product of <= n + out.size terms whose magnitude is
            # at most <conv(|x| + 1, |w| + 1) + |b| + 1, |g|>.
            big = {k: None if v is None else np.abs(v) + 1 for k, v in a.items()}
            mag = _loss(*big.values(), np.abs(g), case.kwargs)
            n = w[0].size + 1 + g.size
            allowed = inner_product_bound(n, mag) / 2 + bnd[gname].allowed(np.float64)[idx]
            assert_close((up - down) / 2, grads[name][idx], allowed,
                         f"central difference d/d{name}{tuple(map(int, idx))}",
                         call_repr("conv2d_backward", a, case.kwargs))


@pytest.mark.formulas("C7", "C8", "C9", "C10")
@given(case=conv2d_cases())
def test_c7_c10_adjoint_identity(case):
    """<conv2d(x, w), g> == <x, grad_x(g)> == <w, grad_w(g)>: the backward pass is the
    transpose of the forward map. Both sides sum the same products x*w*g."""
    a = make_arrays(case)
    x, w = a["x"], a["weight"]
    out = ref.conv2d(x, w, **case.kwargs)
    g = np.random.default_rng(case.seed + 3).standard_normal(out.shape)
    gx, gw, _ = ref.conv2d_backward(g, x, w, **case.kwargs)
    lhs = float(np.vdot(out, g))
    total = float(np.vdot(ref.conv2d(np.abs(x), np.abs(w), **case.kwargs), np.abs(g)))
    n = w[0].size + g.size + x.size + w.size + g.shape[0] * g.shape[2] * g.shape[3]
    call = call_repr("conv2d_backward", a, case.kwargs)
    assert_close(float(np.vdot(x, gx)), lhs, inner_product_bound(n, total), "<x, grad_x>", call)
    assert_close(float(np.vdot(w, gw)), lhs, inner_product_bound(n, total), "<w, grad_w>", call)


def test_gamma_is_the_textbook_constant():
    """gamma_n = n u / (1 - n u); for float64 u = 2**-53 (arithmetic shown)."""
    u = 2.0 ** -53
    assert gamma(10, np.float64) == pytest.approx(10 * u / (1 - 10 * u), rel=1e-15)
    assert gamma(1, np.float32) == pytest.approx(2.0 ** -24 / (1 - 2.0 ** -24), rel=1e-15)
