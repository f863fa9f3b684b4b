"""conv1d/2d/3d forward (FORMULAS B4-B7): the dispatcher and the im2col + GEMM algorithm.

Like `torch.nn.functional.conv2d`, this is a cross-correlation (the kernel is not flipped):

    out[n, k, i, j] = bias[k] + sum_{c, m, q} x_p[n, g*Cg + c, i*s_h + m*d_h, j*s_w + q*d_w]
                                              * weight[k, c, m, q]

with g = k // (K / groups) the group of output channel k and x_p the zero-padded input.
Seed 000 eq. 4 is this formula for one sample, one group, stride 1 and no dilation.
"""
from __future__ import annotations

import math

import numpy as np

from .conv_args import ConvGeometry, conv_geometry
from .conv_auto import pick
from .conv_fft import conv_fft
from .conv_naive import conv_naive_loops
from .conv_winograd import TILES, conv2d_winograd, winograd_unsupported
from .im2col import (im2col, is_pointwise, is_whole, reuse, tile_input, tile_region, tiles,
                     workspace_cap)
from .memory import check_conv_memory

ALGORITHMS = ("naive", "im2col", "fft", "winograd2", "winograd4", "winograd")
# Winograd F(m x m, 3 x 3) is 2-D; the loops, im2col and the FFT take any number of axes.
ALGORITHMS_ND = ("naive", "im2col", "fft")


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, *,
           algorithm: str = "auto", workspace_bytes: int | None = None) -> np.ndarray:
    """2-D cross-correlation of `x` (N, C, H, W) with `weight` (K, C // groups, kH, kW).

    Returns (N, K, Ho, Wo), Ho = floor((H + pad_top + pad_bottom - d_h*(kH-1) - 1)/s_h) + 1.
    `padding`: int, (h, w), ((top, bottom), (left, right)), 'valid', 'same' or 'full'.
    `algorithm`: 'naive' (loops, the documents' formula, accumulated in float64), 'im2col'
    (unroll + one matrix product per chunk), 'fft' (convolution theorem), 'winograd2' /
    'winograd4' (Winograd F(2x2, 3x3) / F(4x4, 3x3): 3x3 kernels, stride 1, dilation 1
    only, else ValueError; 'winograd' is 'winograd4'; chunks of whole samples under the
    cap) or 'auto' (the fastest by a measured rule, see choose_algorithm; it may pick
    Winograd, whose error bound is not a direct sum's: pass algorithm='im2col' for a ground
    truth, as verification does).
    `workspace_bytes` (a positive int) caps im2col's column buffer (default
    im2col.DEFAULT_WORKSPACE_BYTES): whole samples per chunk when they fit, else tiles of
    output rows or pixels within a sample. The peak memory is estimated first (memory.py):
    above memory.MAX_BYTES, MemoryLimitError. 'fft' and Winograd on inputs whose transform
    is not finite (NaN, +-inf, overflow) spread them over the whole plane or tile: those
    results are recomputed by im2col, so the NaNs and infinities are where torch puts them
    (only in the outputs whose windows hold them).

    Example (seed 002): 6x6 input, 3x3 kernel -> 4x4; with padding=1 -> 6x6.
    """
    return _conv(x, weight, bias, stride, padding, dilation, groups, algorithm,
                 workspace_bytes, "conv2d", 2)


def conv1d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, *,
           algorithm: str = "auto", workspace_bytes: int | None = None) -> np.ndarray:
    """1-D cross-correlation of `x` (N, C, L) with `weight` (K, C // groups, kL), like
    torch.nn.functional.conv1d: the same code path as conv2d with one spatial axis.

    Returns (N, K, Lo), Lo = floor((L + pad_before + pad_after - d*(kL-1) - 1)/s) + 1.
    `padding`: int, (p,), ((before, after),), 'valid', 'same' or 'full'. `algorithm`:
    'auto' / 'im2col', 'naive' or 'fft' (conv2d's, along one axis; Winograd is 2-D only).
    Example: x (1, 1, 5) = [1, 2, 3, 4, 5], weight [[[1, 0, -1]]] -> [[[-2, -2, -2]]].
    """
    return _conv(x, weight, bias, stride, padding, dilation, groups, algorithm,
                 workspace_bytes, "conv1d", 1)


def conv3d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, *,
           algorithm: str = "auto", workspace_bytes: int | None = None) -> np.ndarray:
    """3-D cross-correlation of `x` (N, C, D, H, W) with `weight` (K, C // groups, kD, kH,
    kW), like torch.nn.functional.conv3d: the same code path as conv2d with three axes.

    Returns (N, K, Do, Ho, Wo), each axis by the conv2d rule. `padding`: int, (d, h, w),
    three (before, after) pairs, 'valid', 'same' or 'full'. `algorithm`: 'auto' / 'im2col',
    'naive' or 'fft' (conv2d's, along three axes; Winograd is 2-D only).
    Example: ones (1, 1, 4, 4, 4) with ones (1, 1, 3, 3, 3) -> 27 everywhere, (1, 1, 2, 2, 2).
    """
    return _conv(x, weight, bias, stride, padding, dilation, groups, algorithm,
                 workspace_bytes, "conv3d", 3)


def _conv(x, weight, bias, stride, padding, dilation, groups, algorithm, workspace_bytes,
          func: str, nd: int) -> np.ndarray:
    """The one convolution path behind conv1d, conv2d and conv3d."""
    x, weight, bias, geo = conv_geometry(x, weight, bias, stride, padding, dilation, groups,
                                         func, nd)
    cap = workspace_cap(workspace_bytes, func)
    allowed = ("auto",) + (ALGORITHMS if nd == 2 else ALGORITHMS_ND)
    if algorithm not in allowed:
        raise ValueError(f"{func}: algorithm must be one of {allowed}, got {algorithm!r}")
    if algorithm == "auto":          # the measured rule (conv_auto.py) is 2-D
        algorithm = pick(geo) if nd == 2 else "im2col"
    _check_winograd(algorithm, geo, x.shape, weight.shape)
    check_conv_memory(func, geo, x.itemsize, algorithm, cap, x=x.shape, weight=weight.shape)
    out = _dispatch(x, weight, geo, algorithm, cap)
    if bias is not None:
        out += bias.reshape((1, -1) + (1,) * nd)
    return out


def _dispatch(x, weight, geo: ConvGeometry, algorithm: str, cap: int) -> np.ndarray:
    if geo.n == 0:
        return np.zeros((0, geo.k) + geo.out, dtype=x.dtype)
    if algorithm == "im2col":
        return conv_im2col(x, weight, geo, cap)
    if algorithm == "naive":
        return conv_naive_loops(x, weight, geo)
    with np.errstate(over="ignore", invalid="ignore"):   # checked on the next line
        out = conv2d_winograd(x, weight, geo, TILES[algorithm], cap) \
            if algorithm in TILES else conv_fft(x, weight, geo)
    if not np.isfinite(out).all():   # a NaN or inf in x or w smears over every output
        out = conv_im2col(x, weight, geo, cap)
    return out


def _check_winograd(algorithm: str, geo: ConvGeometry, x_shape, w_shape) -> None:
    why = winograd_unsupported(geo) if algorithm in TILES else None
    if why:
        raise ValueError(f"conv2d: algorithm={algorithm!r} (Winograd F(m x m, 3 x 3)) needs "
                         f"{why}; x.shape={x_shape}, weight.shape={w_shape}")


def conv_im2col(x, weight, geo: ConvGeometry, cap: int) -> np.ndarray:
    """im2col + one batched matrix product per tile, any number of axes; `geo` may
    describe fewer windows than fit (the transposed convolution's backward)."""
    g, kg = geo.groups, geo.k_per_group
    w_mat = weight.reshape(g, kg, -1)
    out = np.empty((geo.n, geo.k) + geo.out, dtype=x.dtype)
    if is_pointwise(geo):
        np.matmul(w_mat, x.reshape(geo.n, g, geo.c_per_group, -1),
                  out=out.reshape(geo.n, g, kg, -1))
        return out
    store = None                        # the first (largest) tile's column buffer
    for tile in tiles(geo, x.itemsize, cap):
        block, sub = tile_input(x, geo, tile)
        shape = (sub.n, g, geo.c_per_group * math.prod(geo.kernel), math.prod(sub.out))
        buf = im2col(block, sub, out=reuse(store, shape, x.dtype))
        store = buf if store is None else store
        if is_whole(geo, tile):         # whole samples: straight into the result
            (n0, n1) = tile[0]
            np.matmul(w_mat, buf, out=out[n0:n1].reshape(sub.n, g, kg, -1))
        else:
            out[tile_region(tile)] = np.matmul(w_mat, buf).reshape((sub.n, geo.k) + sub.out)
    return out
