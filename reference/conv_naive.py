"""conv2d as nested loops that read like the documents' formula (FORMULAS B4, B5, B7).

Seed 000 eq. 4:  a[i, j] = f( sum_d sum_m sum_n w[d, m, n] * x[d, i + m, j + n] + w_b )

extended with the batch, several filters, stride, dilation and groups. Every product is
accumulated in Python floats (IEEE double), whatever the input dtype, and rounded once at
the end: this is the ground truth the faster algorithms are compared with. It is slow
(the documents measured 38.06 s for 10 runs of a 64x3x28x28 batch): use it on small inputs.
"""
from __future__ import annotations

import numpy as np

from .conv_args import ConvGeometry
from .windows import pad2d


def conv2d_naive_loops(x: np.ndarray, weight: np.ndarray, geo: ConvGeometry) -> np.ndarray:
    """(N, C, H, W) x (K, C // groups, kH, kW) -> (N, K, Ho, Wo), no bias."""
    xp = pad2d(x, geo.pads).tolist()          # Python lists: loops over them are ~10x
    w = weight.tolist()                       # faster than over NumPy scalars
    (kh, kw), (sh, sw), (dh, dw), (ho, wo) = geo.kernel, geo.stride, geo.dilation, geo.out
    cg, kg = geo.c_per_group, geo.k_per_group
    out = np.empty((geo.n, geo.k, ho, wo), dtype=np.float64)
    for n in range(geo.n):
        for k in range(geo.k):
            first = (k // kg) * cg            # first input channel of k's group
            for i in range(ho):
                for j in range(wo):
                    acc = 0.0
                    for d in range(cg):
                        plane, wk = xp[n][first + d], w[k][d]
                        for m in range(kh):
                            row = plane[i * sh + m * dh]
                            for q in range(kw):
                                acc += wk[m][q] * row[j * sw + q * dw]
                    out[n, k, i, j] = acc
    return out.astype(x.dtype)
