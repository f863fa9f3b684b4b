"""The one tolerance table: how far a correct implementation may be from the exact result.

Every bound here is derived, not guessed. Comparisons are always against a ground truth
computed in float64 from the *same* (already rounded) inputs, so the only errors are the
rounding errors of the two computations.

Direct sums (Higham, Accuracy and Stability of Numerical Algorithms, sec. 3.1). A dot
product of n terms evaluated in any order, with or without FMA, satisfies

    |fl(sum a_i b_i) - sum a_i b_i| <= gamma_n * sum |a_i b_i|,   gamma_n = n u / (1 - n u)

where u is the unit roundoff (2^-53 for float64, 2^-24 for float32). So each op's rule
gives, per output element, the reduction length n and the magnitude M = sum |a_i b_i|,
computed by the reference itself on absolute values (e.g. M = conv2d(|x|, |w|) + |b|).
The allowed error is (gamma_n(u_candidate) + gamma_n(u_float64)) * M: the candidate's
bound plus the ground truth's own.

FFT (Higham sec. 24.1): the error of a convolution through FFTs of length L is bounded
norm-wise, not element-wise. With |FFT(w)|_inf <= ||w||_1 and Parseval, every output plane
satisfies ||y_hat - y||_2 <= c u (log2 L + 1) * sum_c ||x_c||_2 ||w_c||_1, hence
element-wise too. c = 5 covers the forward transform, the product, the inverse transform
and the channel sum (each contributes at most ~u log2 L per unit of norm; see
test_tolerances.py, which measures the ratio of observed to bounded error).

Exact mode: small-integer inputs with float64 partial sums below 2^53 make every direct
algorithm exact, so the bound is 0.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

import reference as ref
from reference.conv_args import conv_geometry
from reference.windows import pad2d

FFT_CONSTANT = 5.0


def unit_roundoff(dtype) -> float:
    """u = eps / 2: 2**-53 for float64, 2**-24 for float32, 2**-11 for float16."""
    return float(np.finfo(np.dtype(dtype)).eps) / 2


def gamma(n, dtype) -> np.ndarray | float:
    """gamma_n = n u / (1 - n u), the relative error bound of an n-term dot product."""
    nu = np.asarray(n, dtype=np.float64) * unit_roundoff(dtype)
    if np.any(nu >= 0.5):
        raise ValueError(f"gamma: n * u = {np.max(nu)} is too large for a meaningful bound")
    return nu / (1 - nu)


@dataclass(frozen=True)
class Bound:
    """Error model of one output: reduction length n (scalar or per element), magnitude M
    (per element), and optionally a norm-wise FFT term (per element, already scaled)."""
    n: np.ndarray | int
    magnitude: np.ndarray
    fft_term: np.ndarray | None = None   # sum_c ||x_c||_2 ||w_c||_1 * (log2 L + 1), per plane

    def allowed(self, dtype, algorithm: str = "direct") -> np.ndarray:
        """Per-element allowed |candidate - truth| for a candidate computed in `dtype`.

        algorithm: 'direct' (any summation order), 'fft', 'any' (either: a checker of
        unknown code must accept both), 'exact' (integer inputs: 0).
        """
        if algorithm == "exact":
            return np.zeros_like(self.magnitude)
        direct = (gamma(self.n, dtype) + gamma(self.n, np.float64)) * self.magnitude
        if algorithm == "direct" or self.fft_term is None:
            return direct
        fft = FFT_CONSTANT * (unit_roundoff(dtype) + unit_roundoff(np.float64)) * self.fft_term
        # A float32 result computed in float64 by FFT and then cast adds u32 * |y| <= u32 * M.
        fft = fft + unit_roundoff(dtype) * self.magnitude
        return fft if algorithm == "fft" else np.maximum(direct, fft)


# --- rules: op name -> function(inputs..., **kwargs) -> {output name: Bound} -------------

def _fft_term(x, weight, padding, dilation, groups, stride) -> np.ndarray:
    """Per (n, k) plane: (log2 L + 1) * sum_c ||x_p[n, c]||_2 * ||w[k, c]||_1."""
    *_, geo = conv_geometry(x, weight, None, stride, padding, dilation, groups)
    xp = pad2d(np.abs(x).astype(np.float64), geo.pads)
    length = xp.shape[-2] * xp.shape[-1]
    xn = np.sqrt((xp ** 2).sum(axis=(2, 3))).reshape(geo.n, geo.groups, geo.c_per_group)
    wn = np.abs(weight).astype(np.float64).sum(axis=(2, 3))
    wn = wn.reshape(geo.groups, geo.k_per_group, geo.c_per_group)
    planes = np.einsum("ngc,gkc->ngk", xn, wn).reshape(geo.n, geo.k, 1, 1)
    return planes * (np.log2(length) + 1)


def conv2d_rule(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """out = sum over Cg*kH*kW products, plus the bias: n = Cg*kH*kW + 1."""
    ax, aw = np.abs(x).astype(np.float64), np.abs(weight).astype(np.float64)
    mag = ref.conv2d(ax, aw, None if bias is None else np.abs(bias).astype(np.float64),
                     stride, padding, dilation, groups)
    n = weight.shape[1] * weight.shape[2] * weight.shape[3] + 1
    fft = _fft_term(x, weight, padding, dilation, groups, stride)
    return {"out": Bound(n, mag, np.broadcast_to(fft, mag.shape))}


def conv2d_backward_rule(grad_out, x, weight, bias=None, stride=1, padding=0, dilation=1,
                         groups=1):
    """grad_x: at most Kg*kH*kW terms per pixel; grad_w and grad_b: N*Ho*Wo terms.
    Magnitudes are the same backward applied to absolute values."""
    ag, ax, aw = (np.abs(a).astype(np.float64) for a in (grad_out, x, weight))
    ab = None if bias is None else np.abs(bias).astype(np.float64)
    mx, mw, mb = ref.conv2d_backward(ag, ax, aw, ab, stride, padding, dilation, groups)
    n_out = grad_out.shape[0] * grad_out.shape[2] * grad_out.shape[3]
    fx, fw = _fft_backward_terms(grad_out, x, weight, stride, padding, dilation, groups)
    bounds = {"grad_x": Bound((weight.shape[0] // groups) * weight.shape[2] * weight.shape[3],
                              mx, np.broadcast_to(fx, mx.shape)),
              "grad_weight": Bound(n_out, mw, np.broadcast_to(fw, mw.shape))}
    if bias is not None:
        bounds["grad_bias"] = Bound(n_out, mb)
    return bounds


def _norms(a: np.ndarray, lead: int):
    """(||a||_1, ||a||_2) over everything after the first `lead` axes, in float64."""
    flat = np.abs(a).astype(np.float64).reshape(a.shape[:lead] + (-1,))
    return flat.sum(axis=-1), np.sqrt((flat ** 2).sum(axis=-1))


def _fft_backward_terms(grad_out, x, weight, stride, padding, dilation, groups):
    """Norm-wise FFT terms of the backward pass (for `cnnref check`, which must accept an
    FFT-based backward: Bound.allowed(..., 'any')).

    grad_x[n, c] (padded plane) = sum_k g_s[n, k] (*) w[k, c], a full convolution of the
    zero-inserted map g_s (zero insertion keeps every norm) with the kernel; grad_w[k, c] =
    sum_n x_p[n, c] (x) g_s[n, k], a correlation of two planes. The forward derivation
    (|FFT(b)|_inf <= ||b||_1, Parseval on a) bounds the error of the product term where
    FFT(a) was rounded by u log2 L ||a||_2 ||b||_1; the rounding of FFT(b) contributes the
    same with the roles swapped, so both are kept: per plane
        (log2 L + 1) * sum (||a||_2 ||b||_1 + ||a||_1 ||b||_2).
    L = (2 Hp)(2 Wp) covers any FFT length up to the linear (unwrapped) size, which is at
    most twice the padded plane along each axis (Hp + Ho - 1 <= 2 Hp)."""
    *_, geo = conv_geometry(x, weight, None, stride, padding, dilation, groups)
    (pt, pb), (pl, pr) = geo.pads
    log = np.log2(4 * (geo.hw[0] + pt + pb) * (geo.hw[1] + pl + pr)) + 1
    n, g, kg, cg = geo.n, geo.groups, geo.k_per_group, geo.c_per_group
    g1, g2 = (a.reshape(n, g, kg) for a in _norms(grad_out, 2))
    w1, w2 = (a.reshape(g, kg, cg) for a in _norms(weight, 2))
    x1, x2 = (a.reshape(n, g, cg) for a in _norms(pad2d(np.asarray(x), geo.pads), 2))
    gx = np.einsum("ngk,gkc->ngc", g2, w1) + np.einsum("ngk,gkc->ngc", g1, w2)
    gw = np.einsum("ngc,ngk->gkc", x2, g1) + np.einsum("ngc,ngk->gkc", x1, g2)
    return (gx.reshape(n, geo.c, 1, 1) * log,
            gw.reshape(geo.k, cg, 1, 1) * log)


def inner_product_bound(n_terms: int, magnitude: float, dtype=np.float64) -> float:
    """Allowed difference between two evaluations of the same inner product <a, b>, each
    computed in `dtype` through at most `n_terms` roundings per term: 2 gamma_n sum|a b|.
    Used by the adjoint identity <conv(x), g> == <x, conv_backward(g)> and by central
    finite differences of a linear function (exact up to these roundings, any step h)."""
    return 2 * float(gamma(n_terms, dtype)) * magnitude


RULES: dict[str, Callable[..., dict[str, Bound]]] = {
    "conv2d": conv2d_rule,
    "conv2d_backward": conv2d_backward_rule,
}


def bounds_for(op: str, *args, **kwargs) -> dict[str, Bound]:
    """The error model of every output of `op` on these inputs."""
    try:
        rule = RULES[op]
    except KeyError:
        raise KeyError(f"no tolerance rule for {op!r}; known: {sorted(RULES)}") from None
    return rule(*args, **kwargs)
