"""The documents' method 1 (pure-Python loops) and method 2 (the same loops compiled by
numba), forward and backward (FORMULAS D1; seed 004, "卷积前向运算的实现").

Method 1 is seven nested loops over NumPy arrays, indexing one scalar at a time:

    for bs, oc, ic, i, j, fh, fw:
        rs[bs, oc, i, j] += x[bs, ic, i*s + fh, j*s + fw] * w[oc, ic, fh, fw]

The documents measured 38.06 s for 10 runs on 64x3x28x28 with 4 filters 3x3 (method 1)
and 0.07 s with numba (method 2). The reference's own `conv2d(..., algorithm='naive')` is
a different pure-Python version (loops over Python lists, accumulated in float64): both
are timed. Accumulation here is in the input dtype, as a compiled loop would do it.
Groups are supported (the channel offset of output channel oc's group); dilation is not
(no benchmark shape uses it). numba is optional: `pip install -e .[numba]`.
"""
from __future__ import annotations

import importlib.util

import numpy as np

from cnnref.reference.windows import pad2d

HAVE_NUMBA = importlib.util.find_spec("numba") is not None


def _forward_loops(xp, w, stride, groups, rs):
    """Method 1: rs (N, K, Ho, Wo) += windows of xp (N, C, Hp, Wp) times w."""
    batch, out_c, out_h, out_w = rs.shape
    kg, cg = out_c // groups, w.shape[1]
    for bs in range(batch):
        for oc in range(out_c):
            first = (oc // kg) * cg
            for ic in range(cg):
                for i in range(out_h):
                    for j in range(out_w):
                        ii, jj = i * stride, j * stride
                        for fh in range(w.shape[2]):
                            for fw in range(w.shape[3]):
                                rs[bs, oc, i, j] += xp[bs, first + ic, ii + fh, jj + fw] \
                                    * w[oc, ic, fh, fw]
    return rs


def _backward_loops(g, xp, w, stride, groups, gxp, gw):
    """The transpose of the same loops: every product's two partial derivatives."""
    batch, out_c, out_h, out_w = g.shape
    kg, cg = out_c // groups, w.shape[1]
    for bs in range(batch):
        for oc in range(out_c):
            first = (oc // kg) * cg
            for ic in range(cg):
                for i in range(out_h):
                    for j in range(out_w):
                        ii, jj, d = i * stride, j * stride, g[bs, oc, i, j]
                        for fh in range(w.shape[2]):
                            for fw in range(w.shape[3]):
                                gw[oc, ic, fh, fw] += d * xp[bs, first + ic, ii + fh, jj + fw]
                                gxp[bs, first + ic, ii + fh, jj + fw] += d * w[oc, ic, fh, fw]
    return gxp, gw


if HAVE_NUMBA:
    import numba
    _forward_jit = numba.njit(cache=False)(_forward_loops)
    _backward_jit = numba.njit(cache=False)(_backward_loops)


def _kernels(jit: bool):
    if jit and not HAVE_NUMBA:
        raise RuntimeError("numba is not installed: pip install -e .[numba]")
    return (_forward_jit, _backward_jit) if jit else (_forward_loops, _backward_loops)


def _out_hw(xp_hw, kernel, stride):
    return tuple((p - k) // stride + 1 for p, k in zip(xp_hw, kernel))


def conv2d_loops(x, w, stride=1, padding=0, groups=1, *, jit=False) -> np.ndarray:
    """(N, C, H, W) x (K, C // groups, kH, kW) -> (N, K, Ho, Wo) by method 1 (or 2)."""
    forward, _ = _kernels(jit)
    xp = pad2d(x, ((padding, padding), (padding, padding)))
    ho, wo = _out_hw(xp.shape[2:], w.shape[2:], stride)
    rs = np.zeros((x.shape[0], w.shape[0], ho, wo), dtype=x.dtype)
    return forward(xp, w, stride, groups, rs)


def conv2d_backward_loops(g, x, w, stride=1, padding=0, groups=1, *, jit=False):
    """(grad_x (N, C, H, W), grad_weight (K, C // groups, kH, kW)) by the loops."""
    _, backward = _kernels(jit)
    xp = pad2d(x, ((padding, padding), (padding, padding)))
    gxp, gw = backward(g, xp, w, stride, groups, np.zeros_like(xp), np.zeros_like(w))
    h, wd = x.shape[2:]
    return np.ascontiguousarray(gxp[:, :, padding:padding + h, padding:padding + wd]), gw


def warm_up_numba() -> None:
    """Compile both dtypes' kernels once, so no timing includes numba's compilation."""
    for dtype in ("float64", "float32"):
        x = np.ones((1, 2, 4, 4), dtype=dtype)
        w = np.ones((2, 1, 3, 3), dtype=dtype)
        for groups, ww in ((1, np.ones((2, 2, 3, 3), dtype=dtype)), (2, w)):
            out = conv2d_loops(x, ww, 1, 1, groups, jit=True)
            conv2d_backward_loops(np.ones_like(out), x, ww, 1, 1, groups, jit=True)
