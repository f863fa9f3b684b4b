"""Max and mean pooling in 1, 2 and 3 dimensions, forward and backward (FORMULAS C12, C13),
PyTorch semantics.

Both are "reduce every window" on the same windowing primitive as convolution
(windows.sliding_windows forward, windows.fold backward). PyTorch's rules, kept exactly:
  * output size: floor, or ceil_mode's ceil minus a last window that would start in the
    right padding (shapes.pool_output_size); ceil_mode windows may overhang the padding;
  * max: padding never wins (it is -inf and never an argmax candidate); ties go to the first
    maximum in row-major window order; a NaN wins and the *last* NaN of the window is the
    argmax (torch's `val > max || isnan(val)` scan); an all -inf window routes its gradient
    to its first in-bounds pixel;
  * mean: divisor_override, else the number of taps inside the padded input
    (count_include_pad=True, the overhang excluded) or inside the input (False);
  * backward: overlapping windows accumulate.
Beyond PyTorch, as ONNX defines them: asymmetric padding ((top, bottom), (left, right)),
padding larger than half the kernel, and dilation for mean pooling. A mean window that
covers no input pixel (possible only with such padding and count_include_pad=False) is
NaN, as in ONNX's reference implementation.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ._validate import (boolean, check_grad_out, check_window_fits, float_array, ntuple,
                        positive_int)
from .memory import check_bytes, pool_peak_bytes
from .shapes import Pads, normalize_padding, pool_output_size
from .windows import fold, pad_spatial, sliding_windows


@dataclass(frozen=True)
class PoolGeometry:
    """One entry per spatial axis in every field ((H, W) in 2-D, (L,) in 1-D)."""
    hw: tuple[int, ...]
    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    pads: Pads                   # one (before, after) per axis
    dilation: tuple[int, ...]
    out: tuple[int, ...]
    overhang: tuple[int, ...]    # extra positions past the after-padding (ceil_mode)

    @property
    def padded_hw(self) -> tuple[int, ...]:
        return tuple(h + a + b + o for h, (a, b), o in zip(self.hw, self.pads, self.overhang))

    @property
    def nd(self) -> int:
        return len(self.kernel)


LAYOUTS = {1: ("(N, C, L)", "(N, C, L_out)"), 2: ("(N, C, H, W)", "(N, C, H_out, W_out)"),
           3: ("(N, C, D, H, W)", "(N, C, D_out, H_out, W_out)")}


def pool_geometry(x, kernel_size, stride, padding, dilation, ceil_mode, func: str,
                  nd: int = 2):
    """Check pooling arguments; return x (N, C, *spatial) as an array and its geometry."""
    x = float_array(x, "x", func, nd + 2, LAYOUTS[nd][0])
    if min(x.shape[1:]) == 0:
        raise ValueError(f"{func}: only the batch may be empty (N = 0, as PyTorch), got "
                         f"x.shape={x.shape}")
    kernel = ntuple(kernel_size, nd, "kernel_size", func, minimum=1)
    ceil_mode = boolean(ceil_mode, "ceil_mode", func)
    stride = kernel if stride is None or stride == [] else ntuple(stride, nd, "stride",
                                                                  func, 1)
    dilation = ntuple(dilation, nd, "dilation", func, minimum=1)
    if isinstance(padding, str):
        raise ValueError(f"{func}: padding must be an int, one int per axis or one "
                         f"(before, after) pair per axis, got {padding!r}")
    pads = normalize_padding(padding, kernel, dilation, stride, func)
    spans = check_window_fits(func, x.shape[2:], kernel, pads, dilation,
                              context=f"x.shape={x.shape}")
    out, overhang = [], []
    for i, k, s, (pb, pa), d, span in zip(x.shape[2:], kernel, stride, pads, dilation, spans):
        o = pool_output_size(i, k, s, pb, pa, d, ceil_mode)
        out.append(o)
        overhang.append(max(0, (o - 1) * s + span - (i + pb + pa)))
    geo = PoolGeometry(tuple(x.shape[2:]), kernel, stride, pads, dilation, tuple(out),
                       tuple(overhang))
    check_bytes(func, pool_peak_bytes(x.shape[0] * x.shape[1], geo.padded_hw, geo.out,
                                      math.prod(kernel), x.itemsize),
                f"padded copies and {'x'.join(map(str, kernel))} window temporaries",
                x=x.shape)
    return x, geo


def _windows(x, geo: PoolGeometry, fill: float) -> np.ndarray:
    """(N, C, *out, prod(kernel)) view of the windows, padding and overhang filled."""
    pads = tuple((a, b + o) for (a, b), o in zip(geo.pads, geo.overhang))
    win = sliding_windows(pad_spatial(x, pads, fill), geo.kernel, geo.stride, geo.dilation,
                          geo.out)
    return win.reshape(win.shape[:2 + geo.nd] + (math.prod(geo.kernel),))


def _tap_counts(geo: PoolGeometry, include_pad: bool) -> np.ndarray:
    """(*out, prod(kernel)) 0/1 mask of the taps inside the padded input (include_pad) or
    inside the input itself; the ceil_mode overhang is outside both."""
    canvas = np.zeros(geo.padded_hw)
    if include_pad:
        inside = tuple(slice(0, p - o) for p, o in zip(geo.padded_hw, geo.overhang))
    else:
        inside = tuple(slice(a, a + n) for n, (a, _) in zip(geo.hw, geo.pads))
    canvas[inside] = 1
    win = sliding_windows(canvas, geo.kernel, geo.stride, geo.dilation, geo.out)
    return win.reshape(geo.out + (-1,))


def _crop(gp: np.ndarray, geo: PoolGeometry) -> np.ndarray:
    region = tuple(slice(a, a + n) for n, (a, _) in zip(geo.hw, geo.pads))
    return np.ascontiguousarray(gp[(...,) + region])


# --- max pooling (C12) ------------------------------------------------------------------

def _argmax(x, geo: PoolGeometry) -> np.ndarray:
    """Window-local index of torch's argmax, (N, C, *out): last NaN, else first maximum,
    else (all -inf) the first in-bounds tap."""
    win = _windows(x, geo, -np.inf)
    nan = np.isnan(win)
    k = win.shape[-1]
    last_nan = k - 1 - np.argmax(nan[..., ::-1], axis=-1)
    first_max = np.argmax(np.where(nan, -np.inf, win), axis=-1)
    first_valid = np.argmax(_tap_counts(geo, include_pad=False), axis=-1)
    best = np.take_along_axis(win, first_max[..., None], -1)[..., 0]
    idx = np.where(best == -np.inf, first_valid, first_max)
    return np.where(nan.any(axis=-1), last_nan, idx)


def _flat_indices(idx, geo: PoolGeometry) -> np.ndarray:
    """torch's indices: the flat position of each window's argmax in its input plane
    (h*W + w in 2-D), -1 for a window with no input pixel."""
    taps = np.unravel_index(idx, geo.kernel)
    flat = np.zeros(idx.shape, dtype=np.int64)
    for axis in range(geo.nd):
        shape = [1] * geo.nd
        shape[axis] = geo.out[axis]
        start = np.arange(geo.out[axis]).reshape(shape) * geo.stride[axis] - geo.pads[axis][0]
        flat = flat * geo.hw[axis] + start + taps[axis] * geo.dilation[axis]
    inside = _tap_counts(geo, include_pad=False).any(axis=-1)
    return np.where(inside, flat, -1).astype(np.int64)


def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """Max over every window of x (N, C, H, W) -> (N, C, Ho, Wo).

    Ho = floor((H + pad_top + pad_bottom - d*(kH-1) - 1)/s) + 1 (ceil with ceil_mode).
    return_indices: also return torch's indices, the flat position h*W + w of each maximum
    in its input plane. Example (seed 000): a 4x4 map, 2x2 windows, stride 2 -> 2x2.
    A dilated window whose taps all fall in the padding has no input pixel: its output is
    -inf, its index -1 and its gradient is dropped (torch reports hstart*W + wstart there,
    which names a different pixel, and sends the gradient to it).
    """
    return _max_pool(x, kernel_size, stride, padding, dilation, ceil_mode, return_indices,
                     "max_pool2d", 2)


def max_pool1d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """max_pool2d's rules along one axis: x (N, C, L) -> (N, C, L_out); indices are
    positions in L. Example: [[[1, 3, 2, 5, 4]]], kernel 2 -> [[[3, 5]]], indices [1, 3]."""
    return _max_pool(x, kernel_size, stride, padding, dilation, ceil_mode, return_indices,
                     "max_pool1d", 1)


def max_pool3d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """max_pool2d's rules along three axes: x (N, C, D, H, W) -> (N, C, Do, Ho, Wo);
    indices are d*H*W + h*W + w. Example: arange(8).reshape(1, 1, 2, 2, 2), kernel 2 -> 7."""
    return _max_pool(x, kernel_size, stride, padding, dilation, ceil_mode, return_indices,
                     "max_pool3d", 3)


def _max_pool(x, kernel_size, stride, padding, dilation, ceil_mode, return_indices, func,
              nd):
    x, geo = pool_geometry(x, kernel_size, stride, padding, dilation, ceil_mode, func, nd)
    return_indices = boolean(return_indices, "return_indices", func)
    idx = _argmax(x, geo)
    win = _windows(x, geo, -np.inf)
    out = np.take_along_axis(win, idx[..., None], -1)[..., 0].copy()
    return (out, _flat_indices(idx, geo)) if return_indices else out


def max_pool2d_backward(grad_out, x, kernel_size, stride=None, padding=0, dilation=1,
                        ceil_mode=False):
    """Route each grad_out entry to its window's argmax (C12); overlaps accumulate.
    grad_out (N, C, Ho, Wo), x (N, C, H, W) -> grad_x (N, C, H, W)."""
    return _max_pool_backward(grad_out, x, kernel_size, stride, padding, dilation,
                              ceil_mode, "max_pool2d_backward", 2)


def max_pool1d_backward(grad_out, x, kernel_size, stride=None, padding=0, dilation=1,
                        ceil_mode=False):
    """max_pool2d_backward along one axis: grad_out (N, C, L_out), x (N, C, L).
    Example: x [[[1, 3, 2, 5]]], kernel 2, grad_out [[[7, 9]]] -> [[[0, 7, 0, 9]]]."""
    return _max_pool_backward(grad_out, x, kernel_size, stride, padding, dilation,
                              ceil_mode, "max_pool1d_backward", 1)


def max_pool3d_backward(grad_out, x, kernel_size, stride=None, padding=0, dilation=1,
                        ceil_mode=False):
    """max_pool2d_backward along three axes: grad_out (N, C, Do, Ho, Wo), x (N, C, D, H, W).
    Example: arange(8).reshape(1, 1, 2, 2, 2), kernel 2, grad_out 5 -> 5 at the last pixel."""
    return _max_pool_backward(grad_out, x, kernel_size, stride, padding, dilation,
                              ceil_mode, "max_pool3d_backward", 3)


def _max_pool_backward(grad_out, x, kernel_size, stride, padding, dilation, ceil_mode,
                       func, nd):
    x, geo = pool_geometry(x, kernel_size, stride, padding, dilation, ceil_mode, func, nd)
    grad_out = _check_grad(grad_out, x, geo, func)
    idx = _argmax(x, geo)
    onehot = np.zeros(idx.shape + (math.prod(geo.kernel),), dtype=x.dtype)
    np.put_along_axis(onehot, idx[..., None], grad_out[..., None], -1)
    taps = onehot.reshape(idx.shape + geo.kernel)
    return _crop(fold(taps, geo.padded_hw, geo.stride, geo.dilation), geo)


def _check_grad(grad_out, x, geo: PoolGeometry, func: str) -> np.ndarray:
    return check_grad_out(grad_out, x.shape[:2] + geo.out, func, ndim=geo.nd + 2,
                          layout=LAYOUTS[geo.nd][1], dtype=x.dtype,
                          context=f"x.shape={x.shape}")


# --- mean pooling (C13) -----------------------------------------------------------------

def _divisor(geo: PoolGeometry, count_include_pad, divisor_override, func) -> np.ndarray:
    """(*out) divisor of every window (see the module docstring)."""
    if divisor_override is not None:
        boolean(count_include_pad, "count_include_pad", func)
        return np.full(geo.out, float(positive_int(divisor_override, "divisor_override", func)))
    include_pad = boolean(count_include_pad, "count_include_pad", func)
    return _tap_counts(geo, include_pad=include_pad).sum(axis=-1)


def avg_pool2d(x, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None, dilation=1):
    """Mean over every window of x (N, C, H, W) -> (N, C, Ho, Wo): window sum / divisor.

    Example: ones (1, 1, 5, 5), kernel 2, stride 2, padding 1 -> corner window holds one
    input pixel; with count_include_pad=True it divides by 4 (0.25), with False by 1 (1.0).
    """
    return _avg_pool(x, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     divisor_override, dilation, "avg_pool2d", 2)


def avg_pool1d(x, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, dilation=1):
    """avg_pool2d's rules along one axis, x (N, C, L) -> (N, C, L_out); torch's avg_pool1d
    has no divisor_override. Example: [[[1, 2, 3, 4]]], kernel 2 -> [[[1.5, 3.5]]]."""
    return _avg_pool(x, kernel_size, stride, padding, ceil_mode, count_include_pad, None,
                     dilation, "avg_pool1d", 1)


def avg_pool3d(x, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None, dilation=1):
    """avg_pool2d's rules along three axes, x (N, C, D, H, W) -> (N, C, Do, Ho, Wo).
    Example: arange(8).reshape(1, 1, 2, 2, 2), kernel 2 -> 3.5."""
    return _avg_pool(x, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     divisor_override, dilation, "avg_pool3d", 3)


def _avg_pool(x, kernel_size, stride, padding, ceil_mode, count_include_pad,
              divisor_override, dilation, func, nd):
    x, geo = pool_geometry(x, kernel_size, stride, padding, dilation, ceil_mode, func, nd)
    div = _divisor(geo, count_include_pad, divisor_override, func)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (_windows(x, geo, 0.0).sum(axis=-1) / div).astype(x.dtype)


def avg_pool2d_backward(grad_out, x, kernel_size, stride=None, padding=0, ceil_mode=False,
                        count_include_pad=True, divisor_override=None, dilation=1):
    """Spread each grad_out entry evenly (divided by its divisor) over the input pixels of
    its window (C13); overlaps accumulate; padding taps absorb their share."""
    return _avg_pool_backward(grad_out, x, kernel_size, stride, padding, ceil_mode,
                              count_include_pad, divisor_override, dilation,
                              "avg_pool2d_backward", 2)


def avg_pool1d_backward(grad_out, x, kernel_size, stride=None, padding=0, ceil_mode=False,
                        count_include_pad=True, dilation=1):
    """avg_pool2d_backward along one axis: grad_out (N, C, L_out), x (N, C, L).
    Example: x of length 4, kernel 2, grad_out [[[2, 4]]] -> [[[1, 1, 2, 2]]]."""
    return _avg_pool_backward(grad_out, x, kernel_size, stride, padding, ceil_mode,
                              count_include_pad, None, dilation, "avg_pool1d_backward", 1)


def avg_pool3d_backward(grad_out, x, kernel_size, stride=None, padding=0, ceil_mode=False,
                        count_include_pad=True, divisor_override=None, dilation=1):
    """avg_pool2d_backward along three axes: grad_out (N, C, Do, Ho, Wo), x (N, C, D, H, W).
    Example: x (1, 1, 2, 2, 2), kernel 2, grad_out [[[[[8]]]]] -> 1 everywhere."""
    return _avg_pool_backward(grad_out, x, kernel_size, stride, padding, ceil_mode,
                              count_include_pad, divisor_override, dilation,
                              "avg_pool3d_backward", 3)


def _avg_pool_backward(grad_out, x, kernel_size, stride, padding, ceil_mode,
                       count_include_pad, divisor_override, dilation, func, nd):
    x, geo = pool_geometry(x, kernel_size, stride, padding, dilation, ceil_mode, func, nd)
    grad_out = _check_grad(grad_out, x, geo, func)
    div = _divisor(geo, count_include_pad, divisor_override, func)
    share = np.where(div > 0, grad_out / np.maximum(div, 1), 0).astype(x.dtype)
    taps = np.broadcast_to(share[(...,) + (None,) * nd], share.shape + geo.kernel)
    return _crop(fold(taps, geo.padded_hw, geo.stride, geo.dilation), geo)


# --- global pooling ---------------------------------------------------------------------

def global_avg_pool2d(x):
    """Mean of each plane: (N, C, H, W) -> (N, C, 1, 1), like adaptive_avg_pool2d(x, 1)."""
    x = float_array(x, "x", "global_avg_pool2d", 4, "(N, C, H, W)")
    return avg_pool2d(x, x.shape[2:])


def _global_grad(grad_out, x, func):
    x = float_array(x, "x", func, 4, "(N, C, H, W)")
    grad_out = check_grad_out(grad_out, x.shape[:2] + (1, 1), func, ndim=4,
                              layout="(N, C, 1, 1)", dtype=x.dtype, context=f"x.shape={x.shape}")
    return grad_out, x


def global_avg_pool2d_backward(grad_out, x):
    grad_out, x = _global_grad(grad_out, x, "global_avg_pool2d_backward")
    return avg_pool2d_backward(grad_out, x, x.shape[2:])


def global_max_pool2d(x):
    """Max of each plane: (N, C, H, W) -> (N, C, 1, 1), like adaptive_max_pool2d(x, 1)."""
    x = float_array(x, "x", "global_max_pool2d", 4, "(N, C, H, W)")
    return max_pool2d(x, x.shape[2:])


def global_max_pool2d_backward(grad_out, x):
    grad_out, x = _global_grad(grad_out, x, "global_max_pool2d_backward")
    return max_pool2d_backward(grad_out, x, x.shape[2:])
