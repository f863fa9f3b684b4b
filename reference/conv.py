"""conv2d forward (FORMULAS B4-B7): the dispatcher and the im2col + GEMM algorithm.

Like `torch.nn.functional.conv2d`, this is a cross-correlation (the kernel is not flipped):

    out[n, k, i, j] = bias[k] + sum_{c, m, q} x_p[n, g*Cg + c, i*s_h + m*d_h, j*s_w + q*d_w]
                                              * weight[k, c, m, q]

with g = k // (K / groups) the group of output channel k and x_p the zero-padded input.
Seed 000 eq. 4 is this formula for one sample, one group, stride 1 and no dilation.
"""
from __future__ import annotations

import numpy as np

from .conv_args import ConvGeometry, conv_geometry
from .conv_fft import conv2d_fft
from .conv_naive import conv2d_naive_loops
from .windows import pad2d, sliding_windows

# Cap on the unrolled (C*kH*kW, Ho*Wo) column buffer: the batch is processed in chunks of
# samples whose columns fit (at least one sample per chunk). Small chunks are faster, not
# slower (benchmarks/, ResNet 3x3 8x64x56x56 on 2 cores: float32 14 ms with one-sample
# chunks against 22 ms with the whole 58 MiB batch): the buffer is reused chunk after chunk
# and call after call, whereas a buffer above glibc's mmap threshold (32 MiB) is fresh
# memory on every call and page-faults in. It also bounds the memory im2col trades for
# speed (D2).
DEFAULT_WORKSPACE_BYTES = 8 * 2**20

ALGORITHMS = ("naive", "im2col", "fft")


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, *,
           algorithm: str = "auto", workspace_bytes: int | None = None) -> np.ndarray:
    """2-D cross-correlation of `x` (N, C, H, W) with `weight` (K, C // groups, kH, kW).

    Returns (N, K, Ho, Wo), Ho = floor((H + pad_top + pad_bottom - d_h*(kH-1) - 1)/s_h) + 1.
    `padding`: int, (h, w), ((top, bottom), (left, right)), 'valid', 'same' or 'full'.
    `algorithm`: 'naive' (loops, the documents' formula, accumulated in float64), 'im2col'
    (unroll + one matrix product per chunk), 'fft' (convolution theorem) or 'auto' (im2col,
    the fastest on every shape measured in benchmarks/).

    Example (seed 002): 6x6 input, 3x3 kernel -> 4x4; with padding=1 -> 6x6.
    """
    x, weight, bias, geo = conv_geometry(x, weight, bias, stride, padding, dilation, groups)
    algorithm = "im2col" if algorithm == "auto" else algorithm
    if algorithm == "im2col":
        out = _conv2d_im2col(x, weight, geo, workspace_bytes)
    elif algorithm == "naive":
        out = conv2d_naive_loops(x, weight, geo)
    elif algorithm == "fft":
        out = conv2d_fft(x, weight, geo)
    else:
        raise ValueError(f"conv2d: algorithm must be one of {('auto',) + ALGORITHMS}, "
                         f"got {algorithm!r}")
    if bias is not None:
        out += bias.reshape(1, -1, 1, 1)
    return out


def chunk_size(geo: ConvGeometry, itemsize: int, workspace_bytes: int | None) -> int:
    """How many samples' columns fit in the workspace cap (at least one)."""
    cap = DEFAULT_WORKSPACE_BYTES if workspace_bytes is None else workspace_bytes
    per_sample = geo.c * geo.kernel[0] * geo.kernel[1] * geo.out[0] * geo.out[1] * itemsize
    return max(1, min(geo.n, cap // max(per_sample, 1)))


def is_pointwise(geo: ConvGeometry) -> bool:
    """A 1x1, stride-1, unpadded conv needs no unrolling: x itself is the column matrix."""
    return geo.kernel == (1, 1) and geo.stride == (1, 1) and geo.pads == ((0, 0), (0, 0))


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


def pad_if_needed(x: np.ndarray, geo: ConvGeometry) -> np.ndarray:
    """Zero-padded copy of x, or x itself when there is no padding (saves a copy)."""
    return x if geo.pads == ((0, 0), (0, 0)) else pad2d(x, geo.pads)


def _conv2d_im2col(x, weight, geo: ConvGeometry, workspace_bytes) -> np.ndarray:
    g, kg = geo.groups, geo.k_per_group
    w_mat = weight.reshape(g, kg, -1)
    out = np.empty((geo.n, geo.k, geo.out[0] * geo.out[1]), dtype=x.dtype)
    out_g = out.reshape(geo.n, g, kg, -1)
    if is_pointwise(geo):
        np.matmul(w_mat, x.reshape(geo.n, g, geo.c_per_group, -1), out=out_g)
        return out.reshape(geo.n, geo.k, *geo.out)
    step = chunk_size(geo, x.itemsize, workspace_bytes)
    buf = None
    for n0 in range(0, geo.n, step):
        xp = pad_if_needed(x[n0:n0 + step], geo)
        if buf is None or buf.shape[0] != xp.shape[0]:
            buf = im2col(xp, geo)
        else:
            im2col(xp, geo, out=buf)
        np.matmul(w_mat, buf, out=out_g[n0:n0 + step])
    return out.reshape(geo.n, geo.k, *geo.out)
