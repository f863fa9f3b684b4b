"""Convolution as nested loops that read like the documents' formula (FORMULAS B4, B5, B7),
with any number of spatial axes (conv1d, conv2d, conv3d).

Seed 000 eq. 4:  a[i, j] = f( sum_d sum_m sum_n w[d, m, n] * x[d, i + m, j + n] + w_b )

extended with the batch, several filters, stride, dilation and groups. Every product is
accumulated in Python floats (IEEE double), whatever the input dtype, and rounded once at
the end: this is the ground truth the faster algorithms are compared with. It is slow
(the documents measured 38.06 s for 10 runs of a 64x3x28x28 batch): use it on small inputs.

Each padded input plane is one flat Python list. A kernel tap (m, n) at dilation (d_h, d_w)
reads the flat offset m*d_h*Wp + n*d_w from the window's corner, output (i, j) has its
corner at i*s_h*Wp + j*s_w: the same sum in the same order (channel, then taps in row-major
order) as the 2-D loops over rows and columns, for 1, 2 or 3 spatial axes alike.
"""
from __future__ import annotations

import math

import numpy as np

from .conv_args import ConvGeometry
from .windows import pad_spatial


def _flat_offsets(padded, steps, counts) -> list[int]:
    """Flat offsets, in a C-order array of shape `padded`, of the points index * step for
    every index in ndindex(*counts). Example: padded (5, 5), steps (1, 2), counts (2, 2)
    -> [0, 2, 5, 7]."""
    strides = [math.prod(padded[a + 1:]) for a in range(len(padded))]
    return [sum(i * s * st for i, s, st in zip(index, steps, strides))
            for index in np.ndindex(*counts)]


def conv_naive_loops(x: np.ndarray, weight: np.ndarray, geo: ConvGeometry) -> np.ndarray:
    """(N, C, *spatial) x (K, C // groups, *kernel) -> (N, K, *out), no bias, any number
    of spatial axes. Example: x (1, 1, 5) = [1, 2, 3, 4, 5], weight [[[1, 0, -1]]] ->
    [[[-2, -2, -2]]]."""
    padded = geo.padded
    xp = pad_spatial(x, geo.pads).reshape(geo.n, geo.c, -1).tolist()   # Python lists: loops
    w = weight.reshape(geo.k, geo.c_per_group, -1).tolist()          # over them are ~10x faster
    taps = _flat_offsets(padded, geo.dilation, geo.kernel)
    corners = _flat_offsets(padded, geo.stride, geo.out)
    cg, kg = geo.c_per_group, geo.k_per_group
    out = np.empty((geo.n, geo.k, len(corners)), dtype=np.float64)
    for n in range(geo.n):
        for k in range(geo.k):
            first = (k // kg) * cg            # first input channel of k's group
            row = out[n, k]
            for p, corner in enumerate(corners):
                acc = 0.0
                for d in range(cg):
                    plane, wk = xp[n][first + d], w[k][d]
                    for wt, off in zip(wk, taps):
                        acc += wt * plane[corner + off]
                row[p] = acc
    return out.reshape((geo.n, geo.k) + geo.out).astype(x.dtype)
