"""The one windowing primitive: pad, then view every (dilated) window without copying.

Convolution and pooling are both "apply something to every window": convolution takes a
dot product with the kernel, max pooling the maximum, mean pooling the mean. Both build
on `sliding_windows`, in 1, 2 or 3 spatial dimensions alike (the trailing axes of the
array; the number of axes is the length of the kernel), so the indexing rule

    window (i, j, ...) covers padded positions  i*s_a + m*d_a,  m = 0 .. k_a - 1
                                                 along every spatial axis a

is written exactly once.
"""
from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided


def pad_spatial(x: np.ndarray, pads, value: float = 0.0) -> np.ndarray:
    """Pad the last len(pads) axes of `x` with `value`; `pads` holds one (before, after)
    pair per axis, e.g. ((top, bottom), (left, right)) in 2-D.

    Always returns a new array (never `x` itself), so callers may write into the result.
    Example: ones (1, 1, 2) with pads ((1, 0),) -> [[[0, 1, 1]]].
    """
    nd = len(pads)
    lead, spatial = x.shape[:x.ndim - nd], x.shape[x.ndim - nd:]
    out = np.full(lead + tuple(n + a + b for n, (a, b) in zip(spatial, pads)), value,
                  dtype=x.dtype)
    out[(...,) + tuple(slice(a, a + n) for n, (a, _) in zip(spatial, pads))] = x
    return out


def pad2d(x: np.ndarray, pads, value: float = 0.0) -> np.ndarray:
    """Pad the last two axes; `pads` is ((top, bottom), (left, right)) (pad_spatial)."""
    return pad_spatial(x, pads, value)


def sliding_windows(xp: np.ndarray, kernel, stride, dilation, out) -> np.ndarray:
    """Read-only view `(..., *out, *kernel)` of the windows of `xp` `(..., *padded)`.

    One entry per spatial axis in kernel, stride, dilation and out (1, 2 or 3 axes).
    Example: xp of shape (1, 1, 5, 5), kernel (3, 3), stride (2, 2), dilation (1, 1),
    out (2, 2) -> view (1, 1, 2, 2, 3, 3); view[0, 0, 1, 0] is xp[0, 0, 2:5, 0:3].
    The caller guarantees every window lies inside `xp` (see shapes.conv_output_shape).
    """
    nd = len(kernel)
    spatial = xp.shape[xp.ndim - nd:]
    if any((o - 1) * s + (k - 1) * d >= n
           for o, s, k, d, n in zip(out, stride, kernel, dilation, spatial)):
        raise ValueError(f"sliding_windows: {tuple(out)} windows of {tuple(kernel)} (stride "
                         f"{tuple(stride)}, dilation {tuple(dilation)}) do not fit in "
                         f"{xp.shape}")
    lead, axis_strides = xp.strides[:xp.ndim - nd], xp.strides[xp.ndim - nd:]
    shape = xp.shape[:xp.ndim - nd] + tuple(out) + tuple(kernel)
    strides = (tuple(lead) + tuple(a * s for a, s in zip(axis_strides, stride))
               + tuple(a * d for a, d in zip(axis_strides, dilation)))
    return as_strided(xp, shape=shape, strides=strides, writeable=False)


def fold(values: np.ndarray, padded, stride, dilation) -> np.ndarray:
    """Adjoint of `sliding_windows`: add every window entry back onto the position it was
    read from. values (..., *out, *kernel) -> (..., *padded). Overlapping windows accumulate.

    This is col2im for convolution and the backward of pooling. One vectorised add per
    kernel tap (prod(kernel) of them), never a Python loop over pixels.
    Example: values of ones (1, 1, 2, 2, 3, 3), stride 2, padded (5, 5) -> the centre pixel
    (2, 2) is in all four windows and receives 4.
    """
    nd = len(padded)
    lead = values.shape[:values.ndim - 2 * nd]
    out_sz = values.shape[values.ndim - 2 * nd:values.ndim - nd]
    kernel = values.shape[values.ndim - nd:]
    out = np.zeros(tuple(lead) + tuple(padded), dtype=values.dtype)
    for tap in np.ndindex(*kernel):
        region = tuple(slice(m * d, m * d + (o - 1) * s + 1, s)
                       for m, d, o, s in zip(tap, dilation, out_sz, stride))
        out[(...,) + region] += values[(...,) + tap]
    return out


def dilate_spatial(x: np.ndarray, stride) -> np.ndarray:
    """Insert `s - 1` zeros between neighbouring elements of the last len(stride) axes.

    This is the documents' "restore the stride-S error map to its stride-1 form" (C8).
    Example: [[1, 2], [3, 4]] with stride (2, 2) -> [[1, 0, 2], [0, 0, 0], [3, 0, 4]].
    """
    nd = len(stride)
    spatial = x.shape[x.ndim - nd:]
    out = np.zeros(x.shape[:x.ndim - nd] + tuple((n - 1) * s + 1
                                                 for n, s in zip(spatial, stride)),
                   dtype=x.dtype)
    out[(...,) + tuple(slice(None, None, s) for s in stride)] = x
    return out


def dilate2d(x: np.ndarray, stride_hw) -> np.ndarray:
    """dilate_spatial over the last two axes (C8's zero insertion in 2-D)."""
    return dilate_spatial(x, tuple(stride_hw))
