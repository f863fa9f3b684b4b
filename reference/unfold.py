"""unfold and fold: im2col and col2im as torch.nn.functional exposes them (FORMULAS B4-B6
as a public operator, beyond the documents' own use inside conv2d).

    unfold: x (N, C, H, W) -> (N, C*kH*kW, L), row (c*kH + m)*kW + q, column the window
            position in row-major order, L = Ho*Wo (the convolution output size rule);
    fold:   its adjoint, (N, C*kH*kW, L) -> (N, C, H, W) with output_size = (H, W): every
            entry added back onto the pixel it was read from (overlaps accumulate), the
            padding cropped.

Both are im2col.im2col / im2col.col2im on a one-group geometry: one layout, written once.
Like torch, 4-D (batched) input only; padding is an int or (h, w), no strings.
"""
from __future__ import annotations

import math

import numpy as np

from ._validate import check_grad_out, float_array, ntuple
from .conv_args import ConvGeometry
from .conv_backward import crop_padding
from .im2col import col2im, im2col, pad_if_needed
from .memory import check_bytes, elements
from .shapes import conv_output_shape, normalize_padding


def _geometry(c, n, hw, kernel_size, dilation, padding, stride, func) -> ConvGeometry:
    kernel = ntuple(kernel_size, 2, "kernel_size", func, minimum=1)
    dilation = ntuple(dilation, 2, "dilation", func, minimum=1)
    stride = ntuple(stride, 2, "stride", func, minimum=1)
    if isinstance(padding, str) or (isinstance(padding, (tuple, list)) and padding
                                    and isinstance(padding[0], (tuple, list))):
        raise TypeError(f"{func}: padding must be an int or a pair of ints (h, w), "
                        f"got {padding!r}")
    pads = normalize_padding(padding, kernel, dilation, stride, func)
    out = conv_output_shape(hw, kernel, stride, pads, dilation, func)
    geo = ConvGeometry(n, c, tuple(hw), 1, kernel, stride, pads, dilation, 1, out)
    _check_memory(geo, func)
    return geo


def _check_memory(geo: ConvGeometry, func: str) -> None:
    """The columns (N, C*kH*kW, L) and two padded planes, estimated before allocating
    (float64: the larger itemsize)."""
    padded = tuple(h + a + b for h, (a, b) in zip(geo.hw, geo.pads))
    nbytes = 8 * elements((geo.n, geo.c * math.prod(geo.kernel), math.prod(geo.out)),
                          (geo.n, geo.c) + padded, (geo.n, geo.c) + padded)
    check_bytes(func, nbytes, "the columns and the padded input", x=(geo.n, geo.c) + geo.hw)


def unfold(x, kernel_size, dilation=1, padding=0, stride=1):
    """im2col: x (N, C, H, W) -> (N, C*kH*kW, L), like torch.nn.functional.unfold.

    Example: arange(9).reshape(1, 1, 3, 3), kernel 2 -> (1, 4, 4); column 0 is the top-left
    window [0, 1, 3, 4], column 3 the bottom-right [4, 5, 7, 8].
    """
    return _unfold(x, kernel_size, dilation, padding, stride, "unfold")


def _unfold(x, kernel_size, dilation, padding, stride, func):
    x = float_array(x, "x", func, 4, "(N, C, H, W)")
    if min(x.shape[1:]) == 0:          # N = 0 is an empty batch: an empty result, as torch
        raise ValueError(f"{func}: empty input, x.shape={x.shape} (only N may be 0)")
    geo = _geometry(x.shape[1], x.shape[0], x.shape[2:], kernel_size, dilation, padding,
                    stride, func)
    if geo.n == 0:
        return np.zeros((0, geo.c * math.prod(geo.kernel), math.prod(geo.out)), x.dtype)
    cols = im2col(pad_if_needed(x, geo), geo)
    return cols.reshape(geo.n, -1, math.prod(geo.out))


def fold(x, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """col2im: x (N, C*kH*kW, L) -> (N, C, H, W), (H, W) = output_size, like
    torch.nn.functional.fold; L must be the number of windows in (H, W).

    Example: ones (1, 4, 4) with output_size (3, 3), kernel 2 -> [[1, 2, 1], [2, 4, 2],
    [1, 2, 1]] (how many windows hold each pixel).
    """
    return _fold(x, output_size, kernel_size, dilation, padding, stride, "fold")


def _fold(x, output_size, kernel_size, dilation, padding, stride, func):
    x = float_array(x, "x", func, 3, "(N, C*kH*kW, L)")
    size = ntuple(output_size, 2, "output_size", func, minimum=1)
    taps = math.prod(ntuple(kernel_size, 2, "kernel_size", func, minimum=1))
    if x.shape[1] % taps or min(x.shape[1:]) == 0:     # N = 0 is an empty batch
        raise ValueError(f"{func}: x.shape[1] = {x.shape[1]} must be a positive multiple of "
                         f"kH*kW = {taps} and L = x.shape[2] positive, got x.shape={x.shape}")
    geo = _geometry(x.shape[1] // taps, x.shape[0], size, kernel_size, dilation, padding,
                    stride, func)
    if x.shape[2] != math.prod(geo.out):
        raise ValueError(f"{func}: x.shape[2] = {x.shape[2]} must be the number of windows "
                         f"{geo.out[0]}*{geo.out[1]} = {math.prod(geo.out)} of kernel "
                         f"{geo.kernel} in output_size {size} (stride {geo.stride}, padding "
                         f"{geo.pads}, dilation {geo.dilation})")
    if geo.n == 0:
        return np.zeros((0, geo.c) + size, dtype=x.dtype)
    cols = x.reshape(geo.n, 1, x.shape[1], x.shape[2])
    return crop_padding(col2im(cols, geo, geo.padded), geo)


def unfold_backward(grad_out, x, kernel_size, dilation=1, padding=0, stride=1):
    """unfold is linear: its gradient is fold of grad_out (N, C*kH*kW, L) onto x's shape."""
    func = "unfold_backward"
    x = float_array(x, "x", func, 4, "(N, C, H, W)")
    expected = _unfold(x, kernel_size, dilation, padding, stride, func).shape
    grad_out = check_grad_out(grad_out, expected, func, ndim=3, dtype=x.dtype,
                              context=f"x.shape={x.shape}")
    return _fold(grad_out, x.shape[2:], kernel_size, dilation, padding, stride, func)


def fold_backward(grad_out, x, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """fold is linear: its gradient is unfold of grad_out (N, C, H, W)."""
    func = "fold_backward"
    x = float_array(x, "x", func, 3, "(N, C*kH*kW, L)")
    expected = _fold(x, output_size, kernel_size, dilation, padding, stride, func).shape
    grad_out = check_grad_out(grad_out, expected, func, ndim=4, dtype=x.dtype,
                              context=f"x.shape={x.shape}")
    return _unfold(grad_out, kernel_size, dilation, padding, stride, func)
