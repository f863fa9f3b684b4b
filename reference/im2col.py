"""The im2col lowering and its adjoint col2im, with the workspace cap they share (D2).

im2col unrolls every (dilated) window of the padded input into one column, so that a
convolution becomes one matrix product per group: `weight.reshape(G, Kg, -1) @ cols`.
col2im is its transpose: every column entry is added back onto the input pixel it was
copied from (overlapping windows accumulate), which is how the backward pass turns column
gradients W^T @ grad_out into grad_x. conv.py (forward) and conv_backward.py (backward)
both build on this module, so the column layout is written once.
"""
from __future__ import annotations

import numpy as np

from .conv_args import ConvGeometry
from .windows import fold, pad2d, sliding_windows

# Cap on the unrolled (C*kH*kW, Ho*Wo) column buffer: the batch is processed in chunks of
# samples whose columns fit (at least one sample per chunk). Small chunks are faster, not
# slower (benchmarks/, ResNet 3x3 8x64x56x56 on 2 cores: float32 14 ms with one-sample
# chunks against 22 ms with the whole 58 MiB batch): the buffer is reused chunk after chunk
# and call after call, whereas a buffer above glibc's mmap threshold (32 MiB) is fresh
# memory on every call and page-faults in. It also bounds the memory im2col trades for
# speed (D2).
DEFAULT_WORKSPACE_BYTES = 8 * 2**20


def chunk_size(geo: ConvGeometry, itemsize: int, workspace_bytes: int | None) -> int:
    """How many samples' columns fit in the workspace cap (at least one)."""
    cap = DEFAULT_WORKSPACE_BYTES if workspace_bytes is None else workspace_bytes
    per_sample = geo.c * geo.kernel[0] * geo.kernel[1] * geo.out[0] * geo.out[1] * itemsize
    return max(1, min(geo.n, cap // max(per_sample, 1)))


def is_pointwise(geo: ConvGeometry) -> bool:
    """A 1x1, stride-1, unpadded conv needs no unrolling: x itself is the column matrix."""
    return geo.kernel == (1, 1) and geo.stride == (1, 1) and geo.pads == ((0, 0), (0, 0))


def pad_if_needed(x: np.ndarray, geo: ConvGeometry) -> np.ndarray:
    """Zero-padded copy of x, or x itself when there is no padding (saves a copy)."""
    return x if geo.pads == ((0, 0), (0, 0)) else pad2d(x, geo.pads)


def im2col(xp: np.ndarray, geo: ConvGeometry, out: np.ndarray | None = None) -> np.ndarray:
    """Unroll padded input `xp` (n, C, Hp, Wp) to columns (n, G, Cg*kH*kW, Ho*Wo).

    Row r = (c*kH + m)*kW + q of group g holds x_p[g*Cg + c, i*s + m*d, j*s + q*d] for
    every output pixel (i, j) in row-major order, so `weight.reshape(G, Kg, -1) @ cols`
    is the convolution. The buffer is kH*kW times the output plane per channel (D2).
    """
    n = xp.shape[0]
    kh, kw = geo.kernel
    ho, wo = geo.out
    win = sliding_windows(xp, geo.kernel, geo.stride, geo.dilation, geo.out)
    if out is None:
        out = np.empty((n, geo.groups, geo.c_per_group * kh * kw, ho * wo), dtype=xp.dtype)
    # (n, C, Ho, Wo, kH, kW) -> (n, C, kH, kW, Ho, Wo): one strided copy, no Python loop.
    np.copyto(out.reshape(n, geo.c, kh, kw, ho, wo), win.transpose(0, 1, 4, 5, 2, 3))
    return out


def col2im(cols: np.ndarray, geo: ConvGeometry, padded_hw) -> np.ndarray:
    """Transpose of im2col: (n, G, Cg*kH*kW, Ho*Wo) -> padded (n, C, Hp, Wp), summing
    every entry into the pixel it was read from (windows.fold)."""
    (kh, kw), (ho, wo) = geo.kernel, geo.out
    taps = cols.reshape(cols.shape[0], geo.c, kh, kw, ho, wo).transpose(0, 1, 4, 5, 2, 3)
    return fold(taps, padded_hw, geo.stride, geo.dilation)
