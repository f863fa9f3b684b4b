"""The one windowing primitive: pad, then view every (dilated) window without copying.

Convolution and pooling are both "apply something to every window": convolution takes a
dot product with the kernel, max pooling the maximum, mean pooling the mean. Both build
on `sliding_windows`, so the indexing rule

    window (i, j) covers padded rows  i*s_h + m*d_h,  m = 0 .. kH-1
                          padded cols  j*s_w + n*d_w,  n = 0 .. kW-1

is written exactly once.
"""
from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from .shapes import Pads


def pad2d(x: np.ndarray, pads: Pads, value: float = 0.0) -> np.ndarray:
    """Pad the last two axes of `x` with `value`; `pads` is ((top, bottom), (left, right)).

    Always returns a new array (never `x` itself), so callers may write into the result.
    """
    (t, b), (l, r) = pads
    out = np.full(x.shape[:-2] + (x.shape[-2] + t + b, x.shape[-1] + l + r), value,
                  dtype=x.dtype)
    out[..., t:t + x.shape[-2], l:l + x.shape[-1]] = x
    return out


def sliding_windows(xp: np.ndarray, kernel_hw, stride_hw, dilation_hw,
                    out_hw) -> np.ndarray:
    """Read-only view `(..., Ho, Wo, kH, kW)` of the windows of `xp` `(..., Hp, Wp)`.

    Example: xp of shape (1, 1, 5, 5), kernel (3, 3), stride (2, 2), dilation (1, 1),
    out (2, 2) -> view (1, 1, 2, 2, 3, 3); view[0, 0, 1, 0] is xp[0, 0, 2:5, 0:3].
    The caller guarantees every window lies inside `xp` (see shapes.conv_output_shape).
    """
    (kh, kw), (sh, sw), (dh, dw), (ho, wo) = kernel_hw, stride_hw, dilation_hw, out_hw
    if (ho - 1) * sh + (kh - 1) * dh >= xp.shape[-2] or \
            (wo - 1) * sw + (kw - 1) * dw >= xp.shape[-1]:
        raise ValueError(f"sliding_windows: {out_hw} windows of {kernel_hw} (stride "
                         f"{stride_hw}, dilation {dilation_hw}) do not fit in {xp.shape}")
    *lead, rs, cs = xp.strides
    shape = xp.shape[:-2] + (ho, wo, kh, kw)
    strides = tuple(lead) + (rs * sh, cs * sw, rs * dh, cs * dw)
    return as_strided(xp, shape=shape, strides=strides, writeable=False)


def fold(values: np.ndarray, padded_hw, stride_hw, dilation_hw) -> np.ndarray:
    """Adjoint of `sliding_windows`: add every window entry back onto the pixel it was read
    from. values (..., Ho, Wo, kH, kW) -> (..., Hp, Wp). Overlapping windows accumulate.

    This is col2im for convolution and the backward of pooling. One vectorised add per
    kernel tap (kH*kW of them), never a Python loop over pixels.
    Example: values of ones (1, 1, 2, 2, 3, 3), stride 2, padded (5, 5) -> the centre pixel
    (2, 2) is in all four windows and receives 4.
    """
    *lead, ho, wo, kh, kw = values.shape
    (sh, sw), (dh, dw) = stride_hw, dilation_hw
    out = np.zeros(tuple(lead) + tuple(padded_hw), dtype=values.dtype)
    for m in range(kh):
        for q in range(kw):
            out[..., m * dh:m * dh + (ho - 1) * sh + 1:sh,
                q * dw:q * dw + (wo - 1) * sw + 1:sw] += values[..., m, q]
    return out


def dilate2d(x: np.ndarray, stride_hw) -> np.ndarray:
    """Insert `s - 1` zeros between neighbouring elements of the last two axes.

    This is the documents' "restore the stride-S error map to its stride-1 form" (C8).
    Example: [[1, 2], [3, 4]] with stride (2, 2) -> [[1, 0, 2], [0, 0, 0], [3, 0, 4]].
    """
    sh, sw = stride_hw
    h, w = x.shape[-2:]
    out = np.zeros(x.shape[:-2] + ((h - 1) * sh + 1, (w - 1) * sw + 1), dtype=x.dtype)
    out[..., ::sh, ::sw] = x
    return out
