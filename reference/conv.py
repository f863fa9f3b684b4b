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
from .im2col import chunk_size, im2col, is_pointwise, pad_if_needed

ALGORITHMS = ("naive", "im2col", "fft")


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, *,
           algorithm: str = "auto", workspace_bytes: int | None = None) -> np.ndarray:
    """2-D cross-correlation of `x` (N, C, H, W) with `weight` (K, C // groups, kH, kW).

    Returns (N, K, Ho, Wo), Ho = floor((H + pad_top + pad_bottom - d_h*(kH-1) - 1)/s_h) + 1.
    `padding`: int, (h, w), ((top, bottom), (left, right)), 'valid', 'same' or 'full'.
    `algorithm`: 'naive' (loops, the documents' formula, accumulated in float64), 'im2col'
    (unroll + one matrix product per chunk), 'fft' (convolution theorem) or 'auto' (im2col,
    the fastest on every shape measured in benchmarks/). `workspace_bytes` caps im2col's
    column buffer (default im2col.DEFAULT_WORKSPACE_BYTES; at least one sample per chunk).

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
