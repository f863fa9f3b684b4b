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

Winograd F(m x m, 3 x 3) (Lavin & Gray 2016; error analysis after Barabasz, Anderson,
Soodhalter & Gregg, "Error analysis and improving the accuracy of Winograd convolution for
deep neural networks", ACM TOMS 2020). Y = A^T [sum_c (G g_c G^T) . (B^T d_c B)] A is a
chain of matrix products, and a product P Q with inner length l errs by at most
gamma_l |P| |Q| (Higham sec. 3.5); errors of a chain add up to first order. A two-sided
transform P D P^T is two products of inner length alpha = m + 2, or one of inner length
alpha^2 with P kron P (the reference's choice); alpha^2 >= 2 alpha covers both. So: the
kernel transform 9 + 2 (the two copies of G hold 1/6 and 1/24, not binary fractions), the
input transform alpha^2, the product and the channel sum Cg, the output transform alpha^2,
the bias 1, and a component-wise bound is

    |Y_hat - Y| <= gamma_(Cg + 2 alpha^2 + 12) * |A^T| [sum_c (|G||g_c||G^T|) . (|B^T||d_c||B|)] |A|

(the bias add included): the transforms' norms enter through the magnitude on the right, the
tile's reduction length through gamma. That magnitude (the same algorithm on absolute
values, reference.conv_winograd.winograd_magnitude) is not bounded by sum |x w|: the
transforms mix every input of a tile with every kernel entry, so where a direct sum
cancels nothing Winograd may still lose digits. Measured errors against this bound on
adversarial inputs: verification/tests/test_winograd.py. Tiles start at output (0, 0), as
the reference and every library we know tile them.

Exact mode: small-integer inputs with float64 partial sums below 2^53 make every direct
algorithm exact, so the bound is 0.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cnnref import reference as ref
from cnnref.reference._validate import pair
from cnnref.reference.conv_args import conv_geometry
from cnnref.reference.conv_backward import rotated_transposed_weight, _transposed_conv_pads
from cnnref.reference.conv_winograd import (TILES as WINOGRAD_TILES, winograd_magnitude,
                                            winograd_unsupported)
from cnnref.reference.windows import pad2d, pad_spatial

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
    (per element), and optionally a norm-wise term T (per element, constants included)
    for the algorithms whose error is bounded norm-wise, not element-wise: FFT
    convolution (T = FFT_CONSTANT * sum_c ||x_c||_2 ||w_c||_1 * (log2 L + 1), per plane),
    summed-area tables for mean pooling. Such an algorithm errs by (u + u64) T + u M."""
    n: np.ndarray | int
    magnitude: np.ndarray
    normwise: np.ndarray | None = None
    winograd: dict | None = None      # tile m -> (reduction length, Winograd magnitude)

    def allowed(self, dtype, algorithm: str = "direct") -> np.ndarray:
        """Per-element allowed |candidate - truth| for a candidate computed in `dtype`.

        algorithm: 'direct' (any summation order), 'fft' (the norm-wise model: FFT, or a
        summed-area table), 'winograd2' / 'winograd4' (F(2x2, 3x3) / F(4x4, 3x3); 'winograd'
        is 'winograd4'), 'any' (the largest: a checker of unknown code must accept them
        all), 'exact' (integer inputs: 0). A model the op has no bound for is 'direct'.
        """
        if algorithm == "exact":
            return np.zeros_like(self.magnitude)
        # Underflow: with gradual underflow or flush-to-zero each operation may also err
        # by up to the smallest normal number (Higham sec. 2.1), so n such terms are added.
        underflow = (np.asarray(self.n) + 1) * np.finfo(np.dtype(dtype)).tiny
        truth = gamma(self.n, np.float64) * self.magnitude + underflow
        direct = gamma(self.n, dtype) * self.magnitude + truth
        if algorithm in WINOGRAD_TILES:
            return self._winograd(dtype, WINOGRAD_TILES[algorithm], direct, truth)
        if algorithm == "direct" or (self.normwise is None and algorithm == "fft"):
            return direct
        fft = direct
        if self.normwise is not None:
            fft = (unit_roundoff(dtype) + unit_roundoff(np.float64)) * self.normwise
            # A float32 result computed in float64 and then cast adds u32 * |y| <= u32 * M.
            fft = fft + unit_roundoff(dtype) * self.magnitude
        if algorithm == "fft":
            return fft
        wino = [self._winograd(dtype, m, direct, truth) for m in sorted(self.winograd or {})]
        return np.maximum.reduce([direct, fft] + wino)

    def _winograd(self, dtype, m: int, direct, truth) -> np.ndarray:
        """gamma_n(dtype) * Winograd magnitude + the float64 truth's own direct error; the
        direct bound where Winograd does not apply (no such tile in `winograd`)."""
        if not self.winograd or m not in self.winograd:
            return direct
        n, mag = self.winograd[m]
        return gamma(n, dtype) * mag + truth


# --- rules: op name -> function(inputs..., **kwargs) -> {output name: Bound} -------------

def _fft_term(x, weight, padding, dilation, groups, stride, nd: int = 2) -> np.ndarray:
    """Per (n, k) plane (or line, or volume: nd spatial axes, L their padded size):
    (log2 L + 1) * sum_c ||x_p[n, c]||_2 * ||w[k, c]||_1."""
    *_, geo = conv_geometry(x, weight, None, stride, padding, dilation, groups,
                            f"conv{nd}d", nd)
    xp = pad_spatial(np.abs(x).astype(np.float64), geo.pads)
    spatial = tuple(range(2, 2 + nd))
    length = int(np.prod(xp.shape[2:]))
    xn = np.sqrt((xp ** 2).sum(axis=spatial)).reshape(geo.n, geo.groups, geo.c_per_group)
    wn = np.abs(weight).astype(np.float64).sum(axis=spatial)
    wn = wn.reshape(geo.groups, geo.k_per_group, geo.c_per_group)
    planes = np.einsum("ngc,gkc->ngk", xn, wn).reshape((geo.n, geo.k) + (1,) * nd)
    return planes * (np.log2(length) + 1)


def winograd_terms(x, weight, bias, stride, padding, dilation, groups) -> dict | None:
    """tile m -> (Cg + 2 (m + 2)^2 + 12, Winograd magnitude + |bias|) for every Winograd tile,
    or None where Winograd does not apply (not 3x3, stride or dilation > 1)."""
    *_, geo = conv_geometry(x, weight, None, stride, padding, dilation, groups)
    if winograd_unsupported(geo):
        return None
    ab = 0.0 if bias is None else np.abs(np.asarray(bias, np.float64)).reshape(1, -1, 1, 1)
    return {m: (geo.c_per_group + 2 * (m + 2) ** 2 + 12,
                winograd_magnitude(x, weight, geo, m) + ab)
            for m in sorted(set(WINOGRAD_TILES.values()))}


def conv2d_rule(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """out = sum over Cg*kH*kW products, plus the bias: n = Cg*kH*kW + 1. The magnitude is
    a direct sum (im2col) of absolute values: no algorithm with cancellation."""
    ax, aw = np.abs(x).astype(np.float64), np.abs(weight).astype(np.float64)
    mag = ref.conv2d(ax, aw, None if bias is None else np.abs(bias).astype(np.float64),
                     stride, padding, dilation, groups, algorithm="im2col")
    n = weight.shape[1] * weight.shape[2] * weight.shape[3] + 1
    fft = _fft_term(x, weight, padding, dilation, groups, stride)
    wino = winograd_terms(x, weight, bias, stride, padding, dilation, groups)
    return {"out": Bound(n, mag, FFT_CONSTANT * np.broadcast_to(fft, mag.shape), wino)}


def conv2d_backward_rule(grad_out, x, weight, bias=None, stride=1, padding=0, dilation=1,
                         groups=1):
    """grad_x: at most Kg*kH*kW terms per pixel; grad_w and grad_b: N*Ho*Wo terms.
    Magnitudes are the same backward applied to absolute values."""
    ag, ax, aw = (np.abs(a).astype(np.float64) for a in (grad_out, x, weight))
    ab = None if bias is None else np.abs(bias).astype(np.float64)
    mx, mw, mb = ref.conv2d_backward(ag, ax, aw, ab, stride, padding, dilation, groups,
                                     method="col2im")
    n_out = grad_out.shape[0] * grad_out.shape[2] * grad_out.shape[3]
    fx, fw = _fft_backward_terms(grad_out, x, weight, stride, padding, dilation, groups)
    wino = _winograd_grad_x(grad_out, x, weight, stride, padding, dilation, groups)
    bounds = {"grad_x": Bound((weight.shape[0] // groups) * weight.shape[2] * weight.shape[3],
                              mx, FFT_CONSTANT * np.broadcast_to(fx, mx.shape), wino),
              "grad_weight": Bound(n_out, mw, FFT_CONSTANT * np.broadcast_to(fw, mw.shape))}
    if bias is not None:
        bounds["grad_bias"] = Bound(n_out, mb)
    return bounds


def _winograd_grad_x(grad_out, x, weight, stride, padding, dilation, groups):
    """At stride 1, grad_x is the conv2d of grad_out with the rotated, transposed kernel
    (conv_backward._transposed_conv_pads): its Winograd terms, or None."""
    *_, geo = conv_geometry(x, weight, None, stride, padding, dilation, groups)
    pads = _transposed_conv_pads(geo)
    if pads is None:
        return None
    return winograd_terms(grad_out, rotated_transposed_weight(weight, geo), None, 1, pads,
                          dilation, groups)


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

# --- 1-D and 3-D convolution and pooling: the 2-D rules with prod(kernel) taps ----------
# The forward's FFT (algorithm='fft') has conv2d's norm-wise term over the nd axes; the
# backward is direct only (no norm-wise term), Winograd is 2-D only.

def conv_nd_rule(nd: int):
    """conv1d / conv3d: n = Cg*prod(kernel) + 1 products and the bias per output; the FFT's
    norm-wise term per (n, k) line or volume (_fft_term, L its padded size)."""
    forward = getattr(ref, f"conv{nd}d")

    def rule(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
        a = [None if v is None else np.abs(v).astype(np.float64) for v in (x, weight, bias)]
        mag = forward(*a, stride, padding, dilation, groups, algorithm="im2col")
        fft = _fft_term(x, weight, padding, dilation, groups, stride, nd)
        return {"out": Bound(int(np.prod(np.shape(weight)[1:])) + 1, mag,
                             FFT_CONSTANT * np.broadcast_to(fft, mag.shape))}
    return rule


def conv_nd_backward_rule(nd: int):
    """grad_x: Kg*prod(kernel) terms per pixel; grad_w, grad_b: N*prod(out) terms;
    magnitudes: the same backward on absolute values."""
    backward = getattr(ref, f"conv{nd}d_backward")

    def rule(grad_out, x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
        a = [None if v is None else np.abs(v).astype(np.float64)
             for v in (grad_out, x, weight, bias)]
        mx, mw, mb = backward(*a, stride, padding, dilation, groups)
        n_out = int(np.prod(np.shape(grad_out))) // np.shape(grad_out)[1]
        taps = int(np.prod(np.shape(weight)[2:]))
        out = {"grad_x": Bound((np.shape(weight)[0] // groups) * taps, mx),
               "grad_weight": Bound(n_out, mw)}
        if bias is not None:
            out["grad_bias"] = Bound(n_out, mb)
        return out
    return rule


def _taps(kernel_size, nd: int) -> int:
    return int(np.prod(np.broadcast_to(np.asarray(kernel_size), (nd,))))


def max_pool_nd_rule(nd: int):
    """Forward: a selection, exact. Backward: a pixel is the argmax of at most
    prod(kernel) windows (one per tap), so at most that many gradients are added."""
    forward, backward = getattr(ref, f"max_pool{nd}d"), getattr(ref, f"max_pool{nd}d_backward")

    def rule(x, kernel_size, **kw):
        out = forward(np.asarray(x, np.float64), kernel_size, **kw)
        return {"out": Bound(0, np.abs(np.nan_to_num(out, posinf=0, neginf=0)))}

    def backward_rule(grad_out, x, kernel_size, **kw):
        mag = backward(np.abs(grad_out).astype(np.float64), np.asarray(x, np.float64),
                       kernel_size, **kw)
        return {"grad_x": Bound(_taps(kernel_size, nd), mag)}
    return rule, backward_rule


def avg_pool_nd_rule(nd: int):
    """prod(kernel) taps summed and one division: prod(kernel) + 2 roundings on the mean
    of |x|; the backward adds at most prod(kernel) quotients g / divisor per pixel."""
    forward, backward = getattr(ref, f"avg_pool{nd}d"), getattr(ref, f"avg_pool{nd}d_backward")

    def rule(x, kernel_size, **kw):
        mag = np.nan_to_num(forward(np.abs(x).astype(np.float64), kernel_size, **kw))
        return {"out": Bound(_taps(kernel_size, nd) + 2, mag)}

    def backward_rule(grad_out, x, kernel_size, **kw):
        mag = backward(np.abs(grad_out).astype(np.float64), np.asarray(x, np.float64),
                       kernel_size, **kw)
        return {"grad_x": Bound(_taps(kernel_size, nd) + 2, mag)}
    return rule, backward_rule


def conv_transpose_rule(nd: int):
    """Each output sums at most (C_in / groups)*prod(kernel) products, plus the bias;
    magnitude: the same transposed convolution of |x|, |w|, plus |b|."""
    forward = getattr(ref, f"conv_transpose{nd}d")

    def rule(x, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
             dilation=1):
        a = [None if v is None else np.abs(v).astype(np.float64) for v in (x, weight, bias)]
        mag = forward(*a, stride, padding, output_padding, groups, dilation)
        n = (np.shape(x)[1] // groups) * int(np.prod(np.shape(weight)[2:])) + 1
        return {"out": Bound(n, mag)}
    return rule


def conv_transpose_backward_rule(nd: int):
    """grad_x: a convolution of grad_out, (C_out / groups)*prod(kernel) terms; grad_w and
    grad_b: N*prod(input spatial) terms; magnitudes from the backward on |.|."""
    backward = getattr(ref, f"conv_transpose{nd}d_backward")

    def rule(grad_out, x, weight, bias=None, stride=1, padding=0, output_padding=0,
             groups=1, dilation=1):
        a = [None if v is None else np.abs(v).astype(np.float64)
             for v in (grad_out, x, weight, bias)]
        mx, mw, mb = backward(*a, stride, padding, output_padding, groups, dilation)
        taps = int(np.prod(np.shape(weight)[2:]))
        n_in = int(np.prod(np.shape(x))) // np.shape(x)[1]
        n_go = int(np.prod(np.shape(grad_out))) // np.shape(grad_out)[1]
        out = {"grad_x": Bound(np.shape(weight)[1] * taps, mx), "grad_weight": Bound(n_in, mw)}
        if bias is not None:
            out["grad_bias"] = Bound(n_go, mb)
        return out
    return rule


# --- unfold / fold, adaptive, Lp pooling, max unpooling -----------------------------------

def _abs64(*arrays):
    return [None if v is None else np.abs(np.asarray(v, np.float64)) for v in arrays]


def unfold_rule(x, kernel_size, **kw):
    """A copy: exact."""
    return {"out": Bound(0, ref.unfold(*_abs64(x), kernel_size, **kw))}


def fold_rule(x, output_size, kernel_size, **kw):
    """Each pixel adds the entries of the windows holding it: at most prod(kernel)."""
    taps = int(np.prod(np.broadcast_to(np.asarray(kernel_size), (2,))))
    return {"out": Bound(taps, ref.fold(*_abs64(x), output_size, kernel_size, **kw))}


def unfold_backward_rule(grad_out, x, kernel_size, **kw):
    taps = int(np.prod(np.broadcast_to(np.asarray(kernel_size), (2,))))
    return {"grad_x": Bound(taps, ref.unfold_backward(*_abs64(grad_out, x), kernel_size, **kw))}


def fold_backward_rule(grad_out, x, output_size, kernel_size, **kw):
    return {"grad_x": Bound(0, ref.fold_backward(*_abs64(grad_out, x), output_size,
                                                 kernel_size, **kw))}


def adaptive_avg_rule(nd: int):
    """One axis at a time, each an n-term dot product with the bin weights 1/len (or a bin
    sum and a division): sum over axes of (n_a + 1) roundings on the mean of |x|."""
    forward = getattr(ref, f"adaptive_avg_pool{nd}d")
    backward = getattr(ref, f"adaptive_avg_pool{nd}d_backward")

    def rule(x, output_size):
        return {"out": Bound(sum(np.shape(x)[2:]) + 2 * nd, forward(*_abs64(x), output_size))}

    def backward_rule(grad_out, x, output_size):
        mag = backward(*_abs64(grad_out, x), output_size)
        return {"grad_x": Bound(sum(np.shape(grad_out)[2:]) + 2 * nd, mag)}
    return rule, backward_rule


def adaptive_max_rule(nd: int):
    """Selection: exact forward; a pixel lies in at most ceil(m/n) + 1 bins per axis, so
    at most the product of those gradients are added."""
    forward = getattr(ref, f"adaptive_max_pool{nd}d")
    backward = getattr(ref, f"adaptive_max_pool{nd}d_backward")

    def rule(x, output_size):
        return {"out": Bound(0, np.abs(forward(np.asarray(x, np.float64), output_size)))}

    def backward_rule(grad_out, x, output_size):
        mag = backward(np.abs(np.asarray(grad_out, np.float64)), np.asarray(x, np.float64),
                       output_size)
        n = int(np.prod([-(-m // i) + 1 for m, i in zip(np.shape(grad_out)[2:],
                                                        np.shape(x)[2:])]))
        return {"grad_x": Bound(n, mag)}
    return rule, backward_rule


def lp_pool_rule(nd: int):
    """out = (k * avg(x^p))^(1/p). x^p, the k-term sum, the divide, the multiply: the window
    value S errs by gamma_(k+6) sum |x|^p; the root divides the relative error by p and
    adds 2u. So |d out| <= gamma_(k+8) |out| (1 + r/|p|), r = sum |x|^p / |sum x^p| (1 for
    x >= 0). p = inf is a selection (exact). The backward, g (k a)^(1/p - 1) x^(p - 1)
    summed over <= k windows, carries (1 + |1 - 1/p| r) of S's relative error."""
    forward = getattr(ref, f"lp_pool{nd}d")
    backward = getattr(ref, f"lp_pool{nd}d_backward")

    def ratio(x, p, kernel_size, kw):
        if np.isinf(p):
            return 0.0
        x = np.asarray(x, np.float64)
        s_abs = forward(np.abs(x), p, kernel_size, **kw) ** p
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.nan_to_num(s_abs / np.abs(forward(x, p, kernel_size, **kw) ** p),
                                 nan=1.0, posinf=1.0)

    def rule(x, norm_type, kernel_size, **kw):
        taps = _taps(kernel_size, nd)
        out = np.abs(forward(np.asarray(x, np.float64), norm_type, kernel_size, **kw))
        return {"out": Bound(taps + 8, out * (1 + ratio(x, norm_type, kernel_size, kw)
                                              / abs(norm_type)))}

    def backward_rule(grad_out, x, norm_type, kernel_size, **kw):
        taps = _taps(kernel_size, nd)
        mag = backward(*_abs64(grad_out, x), norm_type, kernel_size, **kw)
        r = np.max(ratio(x, norm_type, kernel_size, kw), initial=1.0)
        extra = 0.0 if np.isinf(norm_type) else abs(1 - 1 / norm_type) * r
        return {"grad_x": Bound(taps + 12, mag * (2 + extra))}
    return rule, backward_rule


def max_unpool_rule(nd: int):
    """Placement and gathering: exact both ways."""
    forward = getattr(ref, f"max_unpool{nd}d")
    backward = getattr(ref, f"max_unpool{nd}d_backward")

    def rule(x, indices, kernel_size, **kw):
        return {"out": Bound(0, forward(*_abs64(x), indices, kernel_size, **kw))}

    def backward_rule(grad_out, x, indices, kernel_size, **kw):
        return {"grad_x": Bound(0, backward(*_abs64(grad_out, x), indices, kernel_size, **kw))}
    return rule, backward_rule


# --- pooling (C12-C14) -------------------------------------------------------------------
# Max pooling selects: its forward is exact. Its backward sums, per pixel, the gradients of
# the windows whose argmax it is: at most kH*kW windows hold a given pixel (one per tap).
# Mean pooling sums kH*kW taps and divides (or multiplies by a rounded reciprocal): at most
# kH*kW + 2 roundings per output; its backward adds at most kH*kW quotients g / divisor.

def _kernel_taps(kernel_size) -> int:
    k = (kernel_size, kernel_size) if np.ndim(kernel_size) == 0 else tuple(kernel_size)
    return int(k[0] * k[1])


def max_pool2d_rule(x, kernel_size, **kw):
    out = ref.max_pool2d(np.asarray(x, np.float64), kernel_size, **kw)
    return {"out": Bound(0, np.abs(np.nan_to_num(out, posinf=0, neginf=0)))}


def max_pool2d_backward_rule(grad_out, x, kernel_size, **kw):
    mag = ref.max_pool2d_backward(np.abs(grad_out).astype(np.float64),
                                  np.asarray(x, np.float64), kernel_size, **kw)
    return {"grad_x": Bound(_kernel_taps(kernel_size), mag)}


def avg_pool2d_rule(x, kernel_size, **kw):
    """Direct: k*k + 2 roundings on the mean of |x|. Norm-wise (a summed-area table,
    S(i, j) = sum of the padded plane above and left of (i, j), each window sum
    S(a, b) - S(a, d) - S(c, b) + S(c, d)): each prefix sum errs by gamma_(Hp + Wp) times
    the plane's sum of |x|, four of them per window, then the division by the divisor."""
    ax = np.abs(x).astype(np.float64)
    mag = np.nan_to_num(ref.avg_pool2d(ax, kernel_size, **kw))
    div = ref.avg_pool2d(np.ones_like(ax[:1, :1]), kernel_size, **kw)   # 1/divisor * taps
    taps = ref.avg_pool2d(np.ones_like(ax[:1, :1]), kernel_size,
                          **{**kw, "divisor_override": 1})
    with np.errstate(invalid="ignore", divide="ignore"):
        inv_divisor = np.nan_to_num(div / taps)
    plane = np.nansum(ax, axis=(2, 3), keepdims=True)
    k = pair(kernel_size, "kernel_size", "avg_pool2d_rule", 1)
    pads = ref.normalize_padding(kw.get("padding", 0), k, (1, 1), (1, 1), "avg_pool2d_rule")
    length = sum(x.shape[2:]) + sum(map(sum, pads)) + sum(k)     # Hp + Wp + overhang
    normwise = 4 * length * plane * inv_divisor
    return {"out": Bound(_kernel_taps(kernel_size) + 2, mag, normwise)}


def avg_pool2d_backward_rule(grad_out, x, kernel_size, **kw):
    mag = ref.avg_pool2d_backward(np.abs(grad_out).astype(np.float64),
                                  np.asarray(x, np.float64), kernel_size, **kw)
    return {"grad_x": Bound(_kernel_taps(kernel_size) + 2, mag)}


def lenet_subsample_rule(x, coefficient, bias, kernel_size=2):
    """k*k sums, one product, one bias add: k*k + 2 roundings."""
    a = [np.abs(v).astype(np.float64) for v in (x, coefficient, bias)]
    return {"out": Bound(_kernel_taps(kernel_size) + 2, ref.lenet_subsample(*a, kernel_size))}


def lenet_subsample_backward_rule(grad_out, x, coefficient, bias, kernel_size=2):
    """grad_x: one product; grad_coefficient and grad_bias: sums over N*Ho*Wo products of
    grad_out with block sums of k*k terms."""
    a = [np.abs(v).astype(np.float64) for v in (grad_out, x, coefficient, bias)]
    gx, gc, gb = ref.lenet_subsample_backward(*a, kernel_size)
    m = grad_out.shape[0] * grad_out.shape[2] * grad_out.shape[3]
    return {"grad_x": Bound(1, gx), "grad_coefficient": Bound(m + _kernel_taps(kernel_size) + 1, gc),
            "grad_bias": Bound(m, gb)}


# --- batch norm (C15) --------------------------------------------------------------------
# First-order error propagation, M = N*H*W values per channel, s = sqrt(var + eps):
#   mean: |d mu| <= gamma_M mean|x|;  var (any two-pass or Welford-type evaluation):
#   |d var| <= gamma_(M+3) var, so |d s|/s <= gamma_(M+3);  xh = (x - mu)/s:
#   |d xh| <= (|d mu| + u|x - mu|)/s + gamma_(M+5)|xh| <= gamma_(M+6) (mean|x|/s + |xh|).
# Every output below is a short expression in mu, s and xh: its bound is gamma_(M+10)
# times the magnitudes of its terms, with d xh carried through (the "+ mean|x|/s" terms).

def _bn_parts(x, running_mean, running_var, weight, training, eps):
    x = np.asarray(x, np.float64)
    axes = (0,) + tuple(range(2, x.ndim))
    shape = (1, -1) + (1,) * (x.ndim - 2)
    if training:
        mu = x.mean(axis=axes).reshape(shape)
        var = ((x - mu) ** 2).mean(axis=axes).reshape(shape)
    else:
        mu = np.asarray(running_mean, np.float64).reshape(shape)
        var = np.asarray(running_var, np.float64).reshape(shape)
    s = np.sqrt(var + eps)
    xh = np.abs(x - mu) / s
    spread = np.abs(x).mean(axis=axes).reshape(shape) / s + (0 if training else np.abs(mu) / s)
    gamma_ = 1.0 if weight is None else np.abs(np.asarray(weight, np.float64)).reshape(shape)
    m = x.size // x.shape[1] if training else 1
    return axes, shape, s, xh, spread, gamma_, m


def batch_norm_rule(x, running_mean, running_var, weight=None, bias=None, training=False,
                    momentum=0.1, eps=1e-5):
    axes, shape, s, xh, spread, g_, m = _bn_parts(x, running_mean, running_var, weight,
                                                   training, eps)
    beta = 0.0 if bias is None else np.abs(np.asarray(bias, np.float64)).reshape(shape)
    return {"out": Bound(m + 10, g_ * (xh + spread) + beta)}


def batch_norm_backward_rule(grad_out, x, running_mean, running_var, weight=None, bias=None,
                             training=False, momentum=0.1, eps=1e-5):
    """grad_x = gamma/(M s) (M g - sum g - xh sum(g xh)) in training mode, g gamma / s in
    evaluation mode; grad_weight = sum g xh; grad_bias = sum g."""
    axes, shape, s, xh, spread, g_, m = _bn_parts(x, running_mean, running_var, weight,
                                                   training, eps)
    g = np.abs(np.asarray(grad_out, np.float64))
    xh_err = xh + spread                           # |xh| plus what its error is scaled by
    if training:
        mean_g = g.mean(axis=axes, keepdims=True)
        # first order in the errors: err(xh * S) <= |xh| err(S) + err(xh) |S|, where xh
        # errs in proportion to xh + spread; (xh + spread) * mean(g (xh + spread)) would
        # count spread^2, which on x = 1e8 + [0, 1, 2, 3] allows an error of ~50
        gx = g_ / s * (g + mean_g + xh * (g * xh_err).mean(axis=axes, keepdims=True)
                       + xh_err * (g * xh).mean(axis=axes, keepdims=True))
    else:
        gx = g_ / s * g
    out = {"grad_x": Bound(m + 10, gx)}
    if weight is not None:
        out["grad_weight"] = Bound(x.size // x.shape[1] + 10, (g * xh_err).sum(axis=axes))
    if bias is not None:
        out["grad_bias"] = Bound(x.size // x.shape[1], g.sum(axis=axes))
    return out


def batch_norm_running_stats_rule(x, running_mean, running_var, momentum=0.1):
    """(1 - m) r + m mu and (1 - m) r + m var M/(M - 1), for `cnnref check` of a
    batch_norm that returns or updates its running statistics. mu errs by gamma_M mean|x|
    and var (two-pass or Welford, as above) by gamma_(M+3) var; the scaling by M/(M - 1),
    the two products and the sum add 4 roundings on the magnitude of the terms."""
    x = np.asarray(x, np.float64)
    axes = (0,) + tuple(range(2, x.ndim))
    m = x.size // x.shape[1]
    var = x.var(axis=axes) * m / (m - 1)
    rm, rv = (np.abs(np.asarray(v, np.float64)) for v in (running_mean, running_var))
    mean_abs = np.abs(x).mean(axis=axes)
    return {"running_mean": Bound(m + 4, (1 - momentum) * rm + momentum * mean_abs),
            "running_var": Bound(m + 7, (1 - momentum) * rv + momentum * var)}


# --- layer, group and instance norm: batch norm's error model per normalised row ---------
# Each normalises rows of M values (x reshaped to (R, M)); the first-order analysis above
# holds per row with mean|x|/s of that row, and gamma/beta broadcast back to x's shape.

def _row_parts(x, rows_of, stats=None):
    """(xh + spread, s) per element, in x's shape, for rows (R, M) = rows_of(x); `stats`
    (mean, var) per row replaces the row statistics (instance norm's running stats)."""
    x = np.asarray(x, np.float64)
    rows = rows_of(x)
    mu = rows.mean(axis=1, keepdims=True) if stats is None else stats[0]
    var = ((rows - mu) ** 2).mean(axis=1, keepdims=True) if stats is None else stats[1]
    return rows, mu, var


def _norm_bounds(x, rows_of, eps, gamma, beta, grad_out=None, param_axes=(), stats=None):
    rows, mu, var = _row_parts(x, rows_of, stats)
    s = np.sqrt(var + eps)
    xh = np.abs(rows - mu) / s
    spread = np.abs(rows).mean(axis=1, keepdims=True) / s + (0 if stats is None else
                                                              np.abs(mu) / s)
    xh_err = (xh + spread).reshape(np.shape(x))
    m = rows.shape[1] if stats is None else 1
    if grad_out is None:
        return {"out": Bound(m + 10, gamma * xh_err + beta)}
    g = np.abs(np.asarray(grad_out, np.float64))
    gh = rows_of(g * gamma)
    if stats is None:
        e = rows_of(xh_err)
        gx = (gh + gh.mean(axis=1, keepdims=True) + e * (gh * e).mean(axis=1, keepdims=True)) / s
    else:
        gx = gh / s
    out = {"grad_x": Bound(m + 10, gx.reshape(np.shape(x)))}
    n_param = int(np.prod([np.shape(x)[a] for a in param_axes])) + 10
    out["grad_weight"] = Bound(n_param, (g * xh_err).sum(axis=param_axes))
    out["grad_bias"] = Bound(n_param, g.sum(axis=param_axes))
    return out


def _abs_or_one(v, shape):
    return 1.0 if v is None else np.abs(np.asarray(v, np.float64)).reshape(shape)


def layer_norm_rule(x, normalized_shape, weight=None, bias=None, eps=1e-5, grad_out=None):
    shape = (normalized_shape,) if np.ndim(normalized_shape) == 0 else tuple(normalized_shape)
    lead = tuple(range(np.ndim(x) - len(shape)))
    out = _norm_bounds(x, lambda a: a.reshape(-1, int(np.prod(shape))), eps,
                       _abs_or_one(weight, shape), 0.0 if bias is None else
                       _abs_or_one(bias, shape), grad_out, lead)
    return out


def layer_norm_backward_rule(grad_out, x, normalized_shape, weight=None, bias=None, eps=1e-5):
    return layer_norm_rule(x, normalized_shape, weight, bias, eps, grad_out)


def group_norm_rule(x, num_groups, weight=None, bias=None, eps=1e-5, grad_out=None):
    cshape = (1, -1) + (1,) * (np.ndim(x) - 2)
    axes = (0,) + tuple(range(2, np.ndim(x)))
    return _norm_bounds(x, lambda a: a.reshape(np.shape(x)[0] * num_groups, -1), eps,
                        _abs_or_one(weight, cshape),
                        0.0 if bias is None else _abs_or_one(bias, cshape), grad_out, axes)


def group_norm_backward_rule(grad_out, x, num_groups, weight=None, bias=None, eps=1e-5):
    return group_norm_rule(x, num_groups, weight, bias, eps, grad_out)


def instance_norm_rule(x, running_mean=None, running_var=None, weight=None, bias=None,
                       use_input_stats=True, momentum=0.1, eps=1e-5, grad_out=None):
    n, c = np.shape(x)[:2]
    cshape = (1, -1) + (1,) * (np.ndim(x) - 2)
    stats = None if use_input_stats else (
        np.tile(np.asarray(running_mean, np.float64), n)[:, None],
        np.tile(np.asarray(running_var, np.float64), n)[:, None])
    axes = (0,) + tuple(range(2, np.ndim(x)))
    return _norm_bounds(x, lambda a: a.reshape(n * c, -1), eps, _abs_or_one(weight, cshape),
                        0.0 if bias is None else _abs_or_one(bias, cshape), grad_out, axes,
                        stats)


def instance_norm_backward_rule(grad_out, x, running_mean=None, running_var=None,
                                weight=None, bias=None, use_input_stats=True, momentum=0.1,
                                eps=1e-5):
    return instance_norm_rule(x, running_mean, running_var, weight, bias, use_input_stats,
                              momentum, eps, grad_out)


# --- activations and losses (C2, C3, C6) -------------------------------------------------
# Transcendental functions (exp, log, tanh) in libm, SLEEF and MKL are accurate to within
# 1 ulp <= 2u: each counts as 2 roundings. sigmoid = 1/(1 + e^-x): exp, add, divide: 4u
# relative. But equally correct forms pass through a quantity of size 1: (1 + tanh(x/2))/2
# for sigmoid, 2 sigmoid(2x) - 1 for tanh; their last add rounds at the scale of 1, an
# absolute error of a few u however small f is. So the magnitude is |f| + 1 (|f| <= 1).
# Derivatives written from the output, f(1 - f) and 1 - f^2, cancel when f is near 1: the
# absolute error of 1 - f is |d f| <= 4u (|f| + 1), so their magnitude includes f and 1.

def elementwise_rule(name, x, **kw):
    x = np.asarray(x, np.float64)
    if name == "relu" or name == "leaky_relu":
        return {"out": Bound(1, np.abs(x))}
    return {"out": Bound(6, np.abs(getattr(ref, name)(x)) + 1)}


def elementwise_backward_rule(name, grad_out, x, **kw):
    g, x = np.abs(np.asarray(grad_out, np.float64)), np.asarray(x, np.float64)
    if name in ("relu", "leaky_relu"):
        return {"grad_x": Bound(1, g)}
    f = np.abs(getattr(ref, name)(x))
    slope = f * (1 - f) if name == "sigmoid" else 1 - f * f
    return {"grad_x": Bound(8, g * (np.abs(slope) + f + f * f + 1))}


def _lse_scale(x, dim):
    """What the rounding of x - logsumexp(x) is relative to, along `dim`: |x| + |lse| <=
    |x| + max_j |x_j| + log K. Implementations that subtract the maximum first round
    only u |x - max| there, but log_softmax = x - logsumexp(x) (torch.logsumexp, scipy)
    is as correct and rounds at the scale of x itself: [1000, 1000] -> 1000 - 1000.693..."""
    k = x.shape[dim]
    ax = _finite_abs(x)
    return ax + ax.max(axis=dim, keepdims=True) + np.log(k)


def _finite_abs(x):
    """|x| with the infinities left out: a -inf logit has probability exactly 0 in every
    implementation and adds nothing to the sums (a row holding +inf or NaN is NaN, and
    NaN positions are compared as such, not within a bound)."""
    return np.where(np.isfinite(x), np.abs(x), 0.0)


def _shift(x, dim):
    """|x - max| along `dim` over the finite entries (0 at the infinite ones)."""
    finite = np.isfinite(x)
    top = np.where(finite, x, -np.inf).max(axis=dim, keepdims=True)
    with np.errstate(invalid="ignore"):
        return np.where(finite & np.isfinite(top), np.abs(x - top), 0.0)


def softmax_rule(name, x, dim):
    """x - max (or x - lse) rounds by u (|x - max| + _lse_scale), which exp turns into a
    relative error of that size (the condition number of exp is its argument); the K-term
    sum and the division add (K + 4)u. softmax: relative to s, so M = s (1 + |x - max| +
    scale). log_softmax = (x - max) - log S: the absolute error is that rounding plus the
    relative error of S, at most (K + 4)u + u max_j |x_j - max|: M = |x - max| + scale +
    |y| + 1 + max_j |x_j - max|."""
    x = np.asarray(x, np.float64)
    k = x.shape[dim]
    y = getattr(ref, name)(x, dim)
    shift = _shift(x, dim)
    scale = _lse_scale(x, dim)
    if name == "softmax":
        mag = np.abs(y) * (1 + shift + scale)
    else:
        mag = shift + scale + np.abs(y) + 1 + shift.max(axis=dim, keepdims=True)
    return {"out": Bound(k + 4, mag)}


def _softmax_error(x, dim):
    """Softmax's own error magnitude (see softmax_rule), which its derivatives carry."""
    with np.errstate(invalid="ignore"):
        s = np.nan_to_num(ref.softmax(x, dim))
    return s, s * (1 + _shift(x, dim) + _lse_scale(x, dim))


def softmax_backward_rule(name, grad_out, x, dim):
    """s (g - sum g s) and g - s sum g, with s carrying softmax's error (see above)."""
    g, x = np.abs(np.asarray(grad_out, np.float64)), np.asarray(x, np.float64)
    s, s_err = _softmax_error(x, dim)
    if name == "softmax":
        mag = s_err * (g + (g * s).sum(axis=dim, keepdims=True)) + \
            s * (g * s_err).sum(axis=dim, keepdims=True)
    else:
        mag = g + s_err * g.sum(axis=dim, keepdims=True)
    return {"grad_x": Bound(x.shape[dim] + 8, mag)}


def _loss_terms(logits, target, weight, ignore_index, label_smoothing):
    """|q| (the loss coefficients, reference.losses) and the mean's denominator."""
    from cnnref.reference.losses import _coefficients
    x = np.asarray(logits, np.float64)
    w = None if weight is None else np.asarray(weight, np.float64)
    t = np.asarray(target)
    q, denom = _coefficients(x, t.astype(np.float64) if t.dtype.kind == "f" else t, w,
                             ignore_index, label_smoothing, "rule")
    return x, np.abs(q), float(denom)


def cross_entropy_rule(logits, target, weight=None, ignore_index=-100, reduction="mean",
                       label_smoothing=0.0):
    """loss_i = -sum_c q_ic log_softmax_ic: each log_softmax value errs by its own bound
    (softmax_rule: C + 4 roundings on |x - max| + |y| + 1 + the logsumexp scale), the
    C-term sum and the products add C + 2; the reduction adds one rounding per position
    and the mean's denominator (a sum of weights) one more relative gamma_P."""
    x, q, denom = _loss_terms(logits, target, weight, ignore_index, label_smoothing)
    ls = ref.log_softmax(x, 1)
    per = (q * (np.abs(x - x.max(axis=1, keepdims=True)) + np.abs(ls) + 1
                + _lse_scale(x, 1))).sum(axis=1)
    positions = per.size
    n = 2 * x.shape[1] + 8 + (positions + 2 if reduction != "none" else 0)
    if reduction == "none":
        return {"out": Bound(n, per)}
    total = per.sum() / (denom if reduction == "mean" and denom else 1)
    return {"out": Bound(n, np.asarray(total))}


def cross_entropy_backward_rule(grad_out, logits, target, weight=None, ignore_index=-100,
                                reduction="mean", label_smoothing=0.0):
    """g_i (s_ij Q_i - q_ij) / D: softmax's error on s, Q_i = sum_c q_ic rounded over C
    terms, the subtraction, the scaling by g and by the denominator."""
    x, q, denom = _loss_terms(logits, target, weight, ignore_index, label_smoothing)
    s, s_err = _softmax_error(x, 1)
    g = np.abs(np.asarray(grad_out, np.float64))
    g = g[:, None] if reduction == "none" else g / (denom if reduction == "mean" and denom
                                                    else 1)
    big_q = q.sum(axis=1, keepdims=True)
    mag = g * (q + (s_err + s) * big_q + s)
    return {"grad_x": Bound(x.shape[1] + 10, mag)}


def nll_loss_rule(input, target, weight=None, ignore_index=-100, reduction="mean"):
    """-w[t] input[t], then the sum of P positions and the division by a P-term sum."""
    x, q, denom = _loss_terms(input, target, weight, ignore_index, 0.0)
    per = (q * np.abs(x)).sum(axis=1)
    if reduction == "none":
        return {"out": Bound(1, per)}
    total = per.sum() / (denom if reduction == "mean" and denom else 1)
    return {"out": Bound(2 * per.size + 3, np.asarray(total))}


def nll_loss_backward_rule(grad_out, input, target, weight=None, ignore_index=-100,
                           reduction="mean"):
    x, q, denom = _loss_terms(input, target, weight, ignore_index, 0.0)
    g = np.abs(np.asarray(grad_out, np.float64))
    g = g[:, None] if reduction == "none" else g / (denom if reduction == "mean" and denom
                                                    else 1)
    return {"grad_x": Bound(np.asarray(q).size // q.shape[1] + 3, g * q)}


def dense_rule(x, weight, bias=None):
    """z = x W^T + b: in_features products and the bias, per output."""
    a = [None if v is None else np.abs(v).astype(np.float64) for v in (x, weight, bias)]
    return {"out": Bound(np.shape(weight)[1] + 1, ref.dense(*a))}


def dense_backward_rule(grad_out, x, weight, bias=None):
    a = [None if v is None else np.abs(v).astype(np.float64) for v in (grad_out, x, weight, bias)]
    gx, gw, gb = ref.dense_backward(*a)
    out = {"grad_x": Bound(np.shape(weight)[0], gx), "grad_weight": Bound(np.shape(x)[0], gw)}
    if bias is not None:
        out["grad_bias"] = Bound(np.shape(x)[0], gb)
    return out



def central_difference_allowed(d_h: float, d_h2: float, rounding: float, h: float) -> float:
    """Allowed |R - <grad, v>| for the Richardson extrapolation R = (4 D(h/2) - D(h)) / 3 of
    central differences D(t) = (f(x + t v) - f(x - t v)) / 2t of a smooth f.
    Truncation: D(t) = f' + c t^2 + O(t^4); R removes the t^2 term, and |D(h) - D(h/2)|
    (= 3/4 c h^2 + ...) bounds what is left with a factor 4 to spare. Rounding: if each
    evaluation of f errs by at most `rounding`, D(h/2) errs by 2 rounding / h and D(h) by
    rounding / h, so R errs by (4 * 2 + 1) / 3 * rounding / h = 3 rounding / h."""
    return 4 * abs(d_h - d_h2) + 3 * rounding / h


def training_parity_allowed(steps: int, reduction: int, amplification: float,
                            dtype=np.float64) -> float:
    """Allowed relative difference (max norm, per layer: verification/training/parity.py) between
    two implementations training the same network with plain SGD from the same weights on
    the same batches. Each step evaluates the same sums in different orders: every
    sum of at most n = `reduction` terms (the widest: a conv weight gradient over batch x
    output pixels) errs by gamma_n relative to its magnitude, so each side's new state is
    within gamma_n of the exact step from its old state, 2 gamma_n between the two sides.
    A difference present before a step is carried on, grown by at most `amplification`
    (measured: the largest growth, over the run, of a nudge of the initial weights,
    parity.run_nudge). k steps: at most k * amplification * 2 gamma_n. Linear, not
    geometric, in k because the amplification is measured from step 0 to every step, not
    per step. The loss is a mean of log-softmax values of the state: the same order."""
    return steps * max(amplification, 1.0) * 2 * float(gamma(reduction, dtype))
