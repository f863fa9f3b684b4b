"""conv2d by the convolution theorem (FORMULAS B7): conv(a, b) = IFFT(FFT(a) * FFT(b)).

A cross-correlation with kernel w is a convolution with rot180(w) (B3, C16). With FFT
length L = padded input length, the circular convolution x_p (*) rot180(w) equals the
linear one at indices >= span - 1, exactly the valid positions, so no extra zero-padding
is needed:

    out[i, j] = IFFT( FFT(x_p) * FFT(rot180(w_dilated)) )[span_h - 1 + i*s_h, span_w - 1 + j*s_w]

The error is bounded norm-wise (about u * log2(L) * ||x||_2 * ||w||_1 per output plane),
not element-wise like the direct sum: verification/core/tolerances.py derives the bound.
Computation runs in the input's precision (numpy >= 2 keeps float32 FFTs in complex64).
"""
from __future__ import annotations

import numpy as np

from .conv_args import ConvGeometry
from .windows import dilate2d, pad2d


def conv2d_fft(x: np.ndarray, weight: np.ndarray, geo: ConvGeometry) -> np.ndarray:
    """(N, C, H, W) x (K, C // groups, kH, kW) -> (N, K, Ho, Wo), no bias."""
    xp = pad2d(x, geo.pads)
    hp, wp = xp.shape[-2:]
    kernel = dilate2d(weight, geo.dilation)[..., ::-1, ::-1]      # rot180 of dilated w
    fx = np.fft.rfft2(xp, s=(hp, wp))                              # (N, C, Hp, Wp//2+1)
    fw = np.fft.rfft2(kernel, s=(hp, wp))                          # (K, Cg, Hp, Wp//2+1)
    g, cg, kg = geo.groups, geo.c_per_group, geo.k_per_group
    fx = fx.reshape(geo.n, g, cg, hp, -1)
    fw = fw.reshape(g, kg, cg, hp, -1)
    prod = np.einsum("ngcij,gkcij->ngkij", fx, fw)                 # sum over channels
    full = np.fft.irfft2(prod, s=(hp, wp)).reshape(geo.n, geo.k, hp, wp)
    (sh, sw), (ho, wo) = geo.stride, geo.out
    top, left = kernel.shape[-2] - 1, kernel.shape[-1] - 1
    out = full[..., top:top + (ho - 1) * sh + 1:sh, left:left + (wo - 1) * sw + 1:sw]
    return np.ascontiguousarray(out, dtype=x.dtype)
