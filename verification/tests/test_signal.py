"""The mathematical operations of FORMULAS B1-B3 and C16: 1-D and 2-D convolution,
cross-correlation, and the 180-degree rotation between them."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, strategies as st

from cnnref import reference as ref
from cnnref.verification.core.compare import assert_close
from cnnref.verification.core.tolerances import gamma, inner_product_bound

vectors = st.tuples(st.integers(1, 12), st.integers(1, 12), st.integers(0, 2**32 - 1))


@pytest.mark.formulas("B1")
@pytest.mark.parametrize("mode", ["full", "same", "valid"])
@given(sizes=vectors)
def test_b1_convolve1d_matches_numpy_convolve(mode, sizes):
    """s[t] = sum_a x[a] w[t - a]; numpy.convolve is an independent implementation.
    (numpy's 'same' and 'valid' swap the arguments when w is longer; ours keep len(x) like
    scipy, so the comparison takes len(x) >= len(w) there.)"""
    la, lv, seed = sizes
    if mode != "full" and lv > la:
        la, lv = lv, la
    rng = np.random.default_rng(seed)
    x, w = rng.standard_normal(la), rng.standard_normal(lv)
    expected = np.convolve(x, w, mode)
    mag = np.convolve(np.abs(x), np.abs(w), mode)
    assert_close(ref.convolve1d(x, w, mode), expected, 2 * gamma(lv, np.float64) * mag,
                 f"convolve1d {mode}", f"convolve1d(x={la}, w={lv}, mode={mode!r})")


@pytest.mark.formulas("B1")
def test_b1_discrete_sum_approximates_the_continuous_convolution():
    """(f * g)(t) = int f(a) g(t - a) da; for two standard normal densities it is the
    N(0, 2) density. The Riemann sum h * sum_a f(a h) g(t - a h) of a Gaussian converges
    exponentially (Poisson summation: relative error ~ 2 exp(-pi^2 sigma^2 / h^2) with
    sigma^2 = 1/2 for the product f(a) g(t - a)); at h = 0.25 that is e^-79, far below the
    float64 rounding of the sum, which is all the tolerance allows."""
    h = 0.25
    grid = np.arange(-80, 81) * h                                   # [-20, 20]
    f = np.exp(-grid ** 2 / 2) / np.sqrt(2 * np.pi)
    conv = h * ref.convolve1d(f, f, "same")                        # centred on the grid
    exact = np.exp(-grid ** 2 / 4) / np.sqrt(4 * np.pi)
    allowed = inner_product_bound(grid.size, float(conv.max())) + 2 * np.exp(-np.pi ** 2 / 2 / h ** 2)
    assert_close(conv[60:101], exact[60:101], allowed, "Riemann sum", "B1 continuous form")


@pytest.mark.formulas("B2")
@given(st.integers(1, 6), st.integers(1, 6), st.integers(1, 6), st.integers(1, 6),
       st.integers(0, 2**32 - 1))
def test_b2_full_size_and_commutativity(ma, na, mb, nb, seed):
    """C = A * B has (ma + mb - 1) x (na + nb - 1) entries and A * B == B * A."""
    rng = np.random.default_rng(seed)
    a, b = rng.integers(-4, 5, (ma, na)).astype(float), rng.integers(-4, 5, (mb, nb)).astype(float)
    ab, ba = ref.convolve2d(a, b), ref.convolve2d(b, a)
    assert ab.shape == (ma + mb - 1, na + nb - 1)
    assert_close(ab, ba, 0, "convolve2d(b, a)", f"convolve2d(a={a.shape}, b={b.shape})")


@pytest.mark.formulas("B3", "C16")
@given(st.integers(1, 4), st.integers(1, 4), st.integers(0, 5), st.integers(0, 5),
       st.integers(0, 2**32 - 1))
def test_b3_c16_correlation_is_convolution_with_rotated_kernel(kh, kw, dh, dw, seed):
    """xcorr(x, w) == conv(x, rot180(w)) and conv(x, w) == xcorr(x, rot180(w)), and the
    CNN layer (torch conv2d) computes the cross-correlation."""
    import torch
    rng = np.random.default_rng(seed)
    x = rng.integers(-4, 5, (kh + dh, kw + dw)).astype(float)
    w = rng.integers(-4, 5, (kh, kw)).astype(float)
    call = f"correlate2d(x={x.shape}, w={w.shape})"
    xcorr = ref.correlate2d(x, w)
    assert_close(xcorr, ref.convolve2d(x, ref.rot180(w), "valid"), 0, "conv(x, rot180 w)", call)
    assert_close(ref.convolve2d(x, w, "valid"), ref.correlate2d(x, ref.rot180(w)), 0,
                 "xcorr(x, rot180 w)", call)
    layer = torch.nn.functional.conv2d(torch.tensor(x)[None, None], torch.tensor(w)[None, None])
    assert_close(xcorr, layer.numpy()[0, 0], 0, "torch conv2d", call)


def test_rot180_is_an_involution_and_rejects_vectors():
    k = np.arange(6.0).reshape(2, 3)
    assert ref.rot180(k).tolist() == [[5, 4, 3], [2, 1, 0]]
    assert (ref.rot180(ref.rot180(k)) == k).all()
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        ref.rot180(np.ones(3))


def test_signal_rejects_bad_input():
    with pytest.raises(ValueError, match="mode must be one of"):
        ref.convolve2d(np.ones((3, 3)), np.ones((2, 2)), "circular")
    with pytest.raises(ValueError, match=r"'valid' needs the kernel no larger"):
        ref.correlate2d(np.ones((2, 2)), np.ones((3, 3)))
    with pytest.raises(TypeError, match="floating"):
        ref.convolve1d(np.arange(3), np.ones(2))
    with pytest.raises(ValueError, match="1 dimensions"):
        ref.convolve1d(np.ones((2, 2)), np.ones(2))
