"""Convolution by the convolution theorem (FORMULAS B7): conv(a, b) = IFFT(FFT(a) * FFT(b)),
with any number of spatial axes (conv1d, conv2d, conv3d).

A cross-correlation with kernel w is a convolution with rot180(w) (B3, C16; in N-D: w
reversed along every spatial axis). With FFT length L = padded input length per axis, the
circular convolution x_p (*) rot180(w) equals the linear one at indices >= span - 1,
exactly the valid positions, so no extra zero-padding is needed:

    out[i, j] = IFFT( FFT(x_p) * FFT(rot180(w_dilated)) )[span_h - 1 + i*s_h, span_w - 1 + j*s_w]

The error is bounded norm-wise (about u * log2(L) * ||x||_2 * ||w||_1 per output plane,
L the plane's size), not element-wise like the direct sum: verification/core/tolerances.py
derives the bound. Computation runs in the input's precision (numpy >= 2 keeps float32
FFTs in complex64).
"""
from __future__ import annotations

import numpy as np

from .conv_args import ConvGeometry
from .windows import dilate_spatial, pad_spatial

SPATIAL = "hij"                 # einsum letters of the last (up to three) spatial axes


def conv_fft(x: np.ndarray, weight: np.ndarray, geo: ConvGeometry) -> np.ndarray:
    """(N, C, *spatial) x (K, C // groups, *kernel) -> (N, K, *out), no bias, any number
    of spatial axes. Example: x (1, 1, 5) = [1, 2, 3, 4, 5], weight [[[1, 0, -1]]] ->
    [[[-2, -2, -2]]] (up to the FFT's rounding)."""
    nd = geo.nd
    axes, sp = tuple(range(-nd, 0)), SPATIAL[-nd:]
    xp = pad_spatial(x, geo.pads)
    padded = xp.shape[2:]
    flip = (Ellipsis,) + (slice(None, None, -1),) * nd
    kernel = dilate_spatial(weight, geo.dilation)[flip]              # rot180 of dilated w
    fx = np.fft.rfftn(xp, s=padded, axes=axes)                       # (N, C, ..., Wp//2+1)
    fw = np.fft.rfftn(kernel, s=padded, axes=axes)                   # (K, Cg, ..., Wp//2+1)
    g, cg, kg = geo.groups, geo.c_per_group, geo.k_per_group
    fx = fx.reshape((geo.n, g, cg) + fx.shape[2:])
    fw = fw.reshape((g, kg, cg) + fw.shape[2:])
    prod = np.einsum(f"ngc{sp},gkc{sp}->ngk{sp}", fx, fw)             # sum over channels
    full = np.fft.irfftn(prod, s=padded, axes=axes).reshape((geo.n, geo.k) + padded)
    out = full[(Ellipsis,) + tuple(slice(span - 1, span - 1 + (o - 1) * s + 1, s)
                                   for span, o, s in zip(kernel.shape[2:], geo.out,
                                                         geo.stride))]
    return np.ascontiguousarray(out, dtype=x.dtype)
