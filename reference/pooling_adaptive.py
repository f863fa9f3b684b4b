"""Adaptive pooling, power-average (Lp) pooling and max unpooling in 1, 2 and 3 spatial
dimensions, beyond the documents, torch.nn.functional's semantics.

Adaptive pooling (adaptive_avg_pool{1,2,3}d, adaptive_max_pool{1,2,3}d): output position
i of an axis of length n pooled to m covers the input range

    [floor(i*n/m), ceil((i + 1)*n/m))

so neighbouring bins may overlap by one pixel and bins differ in length when m does not
divide n (e.g. n = 5, m = 3: [0, 2), [1, 4), [3, 5)). A box's mean is the product of
per-axis means and its maximum the maximum of per-axis maxima, so both are computed one
axis at a time. Composing torch's per-axis rule (the last NaN, else the first maximum)
axis by axis keeps torch's row-major tie-breaking: the first row holding the maximum,
then the first column in it.

Lp pooling: torch's definition, (k * avg_pool(x^p))^(1/p) with no padding, i.e. the p-th
root of the window's sum of x^p (x^p, not |x|^p: a negative x with fractional p is NaN, as
in torch); p = inf is the max of |x|. Max unpooling scatters each value to its index in a
zero output plane, (L - 1)*s - 2p + k per axis unless output_size is given.
"""
from __future__ import annotations

import math

import numpy as np

from ._validate import _is_int, boolean, check_grad_out, float_array, ntuple
from .memory import check_bytes, check_elementwise, elements
from .pooling import LAYOUTS, _avg_pool, _avg_pool_backward, _max_pool, _max_pool_backward


def adaptive_bins(n: int, m: int) -> tuple[np.ndarray, np.ndarray]:
    """(start, end) of the m adaptive bins of an axis of length n.
    Example: adaptive_bins(5, 3) -> ([0, 1, 3], [2, 4, 5])."""
    for name, v in (("n", n), ("m", m)):
        if not _is_int(v) or v < 1:
            raise (ValueError if _is_int(v) else TypeError)(
                f"adaptive_bins: {name} must be a positive int, got {v!r}")
    i = np.arange(m)
    return (i * n) // m, -((-(i + 1) * n) // m)


def _axis_matrix(n: int, m: int) -> np.ndarray:
    """(m, n) averaging matrix of the adaptive bins: 1/len on each bin."""
    start, end = adaptive_bins(n, m)
    j = np.arange(n)
    inside = (j >= start[:, None]) & (j < end[:, None])
    return inside / (end - start)[:, None]


def _adaptive_args(x, output_size, func, nd):
    x = float_array(x, "x", func, nd + 2, LAYOUTS[nd][0])
    if min(x.shape[1:]) == 0:          # N = 0 is an empty batch: an empty result, as torch
        raise ValueError(f"{func}: empty input, x.shape={x.shape} (only N may be 0)")
    if isinstance(output_size, (tuple, list)) and any(v is None for v in output_size):
        output_size = tuple(n if v is None else v for v, n in zip(output_size, x.shape[2:]))
    size = ntuple(output_size, nd, "output_size", func, minimum=1)
    _check_memory(x, size, func)
    return x, size


def _check_memory(x, size, func) -> None:
    """The bins' (m, n) matrices, and the largest intermediate at the larger of input and
    output size per axis: the mean's contractions (three of them), or the maximum's
    gathered bins (values, flat indices and their copies, the longest bin each)."""
    n_c, widest = x.shape[:2], tuple(max(n, m) for n, m in zip(x.shape[2:], size))
    largest = 3 * x.itemsize * elements(n_c + widest)
    if "max" in func:                  # last axis first, as _adaptive_max_parts
        dims = list(x.shape[2:])
        for axis in reversed(range(len(size))):
            n, m = dims[axis], size[axis]
            dims[axis] = m * (-(-n // m) + 1)
            largest = max(largest, (2 * x.itemsize + 17) * elements(n_c + tuple(dims)))
            dims[axis] = m
    nbytes = largest + 17 * sum(n * m for n, m in zip(x.shape[2:], size))
    check_bytes(func, nbytes, f"the bins of output_size {size}", x=x.shape)


def _apply_axes(x, matrices, transpose=False) -> np.ndarray:
    """Contract spatial axis a of x with matrices[a] ((m, n), or its transpose)."""
    out = x
    for axis, a in enumerate(matrices):
        a = a.T if transpose else a
        out = np.moveaxis(np.tensordot(out, a, axes=([2 + axis], [1])), -1, 2 + axis)
    return out


# --- adaptive average pooling -------------------------------------------------------------

def _adaptive_avg(x, output_size, func, nd):
    x, size = _adaptive_args(x, output_size, func, nd)
    mats = [_axis_matrix(n, m).astype(x.dtype) for n, m in zip(x.shape[2:], size)]
    return _apply_axes(x, mats).astype(x.dtype, copy=False)


def _adaptive_avg_backward(grad_out, x, output_size, func, nd):
    x, size = _adaptive_args(x, output_size, func, nd)
    grad_out = check_grad_out(grad_out, x.shape[:2] + size, func, ndim=nd + 2,
                              layout=LAYOUTS[nd][1], dtype=x.dtype, context=f"x.shape={x.shape}")
    mats = [_axis_matrix(n, m).astype(x.dtype) for n, m in zip(x.shape[2:], size)]
    return np.ascontiguousarray(_apply_axes(grad_out, mats, transpose=True), dtype=x.dtype)


def adaptive_avg_pool2d(x, output_size):
    """Mean over adaptive bins: x (N, C, H, W) -> (N, C, *output_size); an entry of
    output_size may be None (keep that axis). Example: arange(5.) as (1, 1, 1, 5) to (1, 3)
    -> bins [0, 2), [1, 4), [3, 5) -> [[[[0.5, 2, 3.5]]]]."""
    return _adaptive_avg(x, output_size, "adaptive_avg_pool2d", 2)


def adaptive_avg_pool1d(x, output_size):
    """adaptive_avg_pool2d along one axis: (N, C, L) -> (N, C, output_size).
    Example: [[[1, 2, 3, 4]]] to 2 -> [[[1.5, 3.5]]]."""
    return _adaptive_avg(x, output_size, "adaptive_avg_pool1d", 1)


def adaptive_avg_pool3d(x, output_size):
    """adaptive_avg_pool2d along three axes: (N, C, D, H, W) -> (N, C, *output_size).
    Example: any x to (1, 1, 1) -> the mean of each volume."""
    return _adaptive_avg(x, output_size, "adaptive_avg_pool3d", 3)


def adaptive_avg_pool1d_backward(grad_out, x, output_size):
    """Each grad_out entry spread evenly over its bin (the transpose of the bin means)."""
    return _adaptive_avg_backward(grad_out, x, output_size, "adaptive_avg_pool1d_backward", 1)


def adaptive_avg_pool2d_backward(grad_out, x, output_size):
    """Each grad_out entry spread evenly over its bin; overlapping bins add.
    Example: x (1, 1, 1, 5) to (1, 3), grad_out ones -> [[[[0.5, 0.83, 0.33, 0.83, 0.5]]]]
    (1/2, 1/2 + 1/3, 1/3, 1/3 + 1/2, 1/2)."""
    return _adaptive_avg_backward(grad_out, x, output_size, "adaptive_avg_pool2d_backward", 2)


def adaptive_avg_pool3d_backward(grad_out, x, output_size):
    """adaptive_avg_pool2d_backward along three axes."""
    return _adaptive_avg_backward(grad_out, x, output_size, "adaptive_avg_pool3d_backward", 3)


# --- adaptive max pooling -----------------------------------------------------------------

def _torch_argmax(v: np.ndarray) -> np.ndarray:
    """torch's scan along the last axis: the last NaN, else the first maximum."""
    nan = np.isnan(v)
    last_nan = v.shape[-1] - 1 - np.argmax(nan[..., ::-1], axis=-1)
    first_max = np.argmax(np.where(nan, -np.inf, v), axis=-1)
    return np.where(nan.any(axis=-1), last_nan, first_max)


def _adaptive_max_parts(x, size):
    """(values, flat indices) of every bin's maximum, one axis at a time: gather each bin
    (padded to the longest with -inf, which never wins: bins hold >= 1 pixel), pick
    torch's argmax, carry the flat input index along. The last axis goes first, so that
    a tie is settled by the first column within a row, then by the first row."""
    vals = x
    flat = np.broadcast_to(np.arange(math.prod(x.shape[2:])).reshape(x.shape[2:]), x.shape)
    for axis in reversed(range(len(size))):     # last axis first: row-major tie order
        n, m = x.shape[2 + axis], size[axis]
        start, end = adaptive_bins(n, m)
        taps = start[:, None] + np.arange((end - start).max())
        valid = taps < end[:, None]
        taps = np.minimum(taps, n - 1)
        ax = 2 + axis
        gv = np.where(valid, np.moveaxis(np.take(vals, taps, axis=ax), (ax, ax + 1), (-2, -1)),
                      -np.inf)
        gi = np.moveaxis(np.take(flat, taps, axis=ax), (ax, ax + 1), (-2, -1))
        pick = _torch_argmax(gv)[..., None]
        vals = np.moveaxis(np.take_along_axis(gv, pick, -1)[..., 0], -1, ax)
        flat = np.moveaxis(np.take_along_axis(gi, pick, -1)[..., 0], -1, ax)
    return np.ascontiguousarray(vals, dtype=x.dtype), np.ascontiguousarray(flat, np.int64)


def _adaptive_max(x, output_size, return_indices, func, nd):
    x, size = _adaptive_args(x, output_size, func, nd)
    return_indices = boolean(return_indices, "return_indices", func)
    out, idx = _adaptive_max_parts(x, size)
    return (out, idx) if return_indices else out


def _adaptive_max_backward(grad_out, x, output_size, func, nd):
    x, size = _adaptive_args(x, output_size, func, nd)
    grad_out = check_grad_out(grad_out, x.shape[:2] + size, func, ndim=nd + 2,
                              layout=LAYOUTS[nd][1], dtype=x.dtype, context=f"x.shape={x.shape}")
    _, idx = _adaptive_max_parts(x, size)
    return _scatter(grad_out, idx, x.shape)


def _scatter(values, idx, shape) -> np.ndarray:
    """Add values (N, C, ...) into zero planes of `shape` at flat plane indices idx."""
    n, c = shape[:2]
    out = np.zeros((n * c, math.prod(shape[2:])), dtype=values.dtype)
    rows = np.repeat(np.arange(n * c), math.prod(idx.shape[2:]))
    np.add.at(out, (rows, idx.reshape(-1)), values.reshape(-1))
    return out.reshape(shape)


def adaptive_max_pool2d(x, output_size, return_indices=False):
    """Max over adaptive bins: x (N, C, H, W) -> (N, C, *output_size); return_indices: also
    torch's flat indices h*W + w. Ties go to the first maximum in row-major order, a NaN
    wins (the last NaN). Example: [[[[1, 3, 2, 3, 0]]]] to (1, 3) -> [[[[3, 3, 3]]]],
    indices [[[[1, 1, 3]]]]."""
    return _adaptive_max(x, output_size, return_indices, "adaptive_max_pool2d", 2)


def adaptive_max_pool1d(x, output_size, return_indices=False):
    """adaptive_max_pool2d along one axis: (N, C, L) -> (N, C, output_size).
    Example: [[[1, 3, 2, 5]]] to 2 -> [[[3, 5]]], indices [[[1, 3]]]."""
    return _adaptive_max(x, output_size, return_indices, "adaptive_max_pool1d", 1)


def adaptive_max_pool3d(x, output_size, return_indices=False):
    """adaptive_max_pool2d along three axes; indices d*H*W + h*W + w.
    Example: arange(8.).reshape(1, 1, 2, 2, 2) to 1 -> 7, index 7."""
    return _adaptive_max(x, output_size, return_indices, "adaptive_max_pool3d", 3)


def adaptive_max_pool1d_backward(grad_out, x, output_size):
    """Each grad_out entry to its bin's argmax; overlapping bins add."""
    return _adaptive_max_backward(grad_out, x, output_size, "adaptive_max_pool1d_backward", 1)


def adaptive_max_pool2d_backward(grad_out, x, output_size):
    """Each grad_out entry to its bin's argmax; overlapping bins add.
    Example: [[[[1, 3, 2, 3, 0]]]] to (1, 3), grad_out [[[[1, 2, 4]]]] -> [[[[0, 3, 0, 4, 0]]]]."""
    return _adaptive_max_backward(grad_out, x, output_size, "adaptive_max_pool2d_backward", 2)


def adaptive_max_pool3d_backward(grad_out, x, output_size):
    """adaptive_max_pool2d_backward along three axes."""
    return _adaptive_max_backward(grad_out, x, output_size, "adaptive_max_pool3d_backward", 3)


# --- power-average (Lp) pooling -----------------------------------------------------------

def _lp_args(x, norm_type, kernel_size, func, nd):
    if isinstance(norm_type, bool) or not isinstance(norm_type, (int, float)) or \
            norm_type == 0 or np.isnan(norm_type):
        raise ValueError(f"{func}: norm_type must be a non-zero number, got {norm_type!r}")
    x = float_array(x, "x", func, nd + 2, LAYOUTS[nd][0])
    # x^p and its mean pool's padded copies come before the pooling's own estimate
    check_elementwise(func, x.itemsize, 4, x=x.shape)
    return x, math.prod(ntuple(kernel_size, nd, "kernel_size", func, minimum=1))


def _lp_pool(x, norm_type, kernel_size, stride, ceil_mode, func, nd):
    x, taps = _lp_args(x, norm_type, kernel_size, func, nd)
    if np.isinf(norm_type):
        sign = 1 if norm_type > 0 else -1
        return sign * _max_pool(sign * np.abs(x), kernel_size, stride, 0, 1, ceil_mode,
                                False, func, nd)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        mean = _avg_pool(x ** norm_type, kernel_size, stride, 0, ceil_mode, True, None, 1,
                         func, nd)
        return ((mean * taps) ** (1.0 / norm_type)).astype(x.dtype)


def _lp_pool_backward(grad_out, x, norm_type, kernel_size, stride, ceil_mode, func, nd):
    """Chain rule through torch's expression: d/dx (k * avg(x^p))^(1/p) =
    (1/p) (k a)^(1/p - 1) * k * avg_backward(...) * p x^(p - 1), a = avg(x^p)."""
    x, taps = _lp_args(x, norm_type, kernel_size, func, nd)
    grad_out = float_array(grad_out, "grad_out", func, nd + 2, LAYOUTS[nd][1])
    if np.isinf(norm_type):
        sign = 1 if norm_type > 0 else -1
        g = _max_pool_backward(grad_out, sign * np.abs(x), kernel_size, stride, 0, 1,
                               ceil_mode, func, nd)
        return (g * np.sign(x)).astype(x.dtype)
    p = float(norm_type)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        mean = _avg_pool(x ** p, kernel_size, stride, 0, ceil_mode, True, None, 1, func, nd)
        d_mean = grad_out * (mean * taps) ** (1.0 / p - 1.0) * taps / p
        g = _avg_pool_backward(d_mean.astype(x.dtype), x, kernel_size, stride, 0, ceil_mode,
                               True, None, 1, func, nd)
        return (g * p * x ** (p - 1.0)).astype(x.dtype)


def lp_pool2d(x, norm_type, kernel_size, stride=None, ceil_mode=False):
    """(sum over the window of x^p)^(1/p), like torch.nn.functional.lp_pool2d: x (N, C, H,
    W) -> (N, C, Ho, Wo), no padding; computed as torch does, (kH*kW * avg_pool2d(x^p))^(1/p)
    (so a ceil_mode window cut by the border is scaled by kH*kW / its taps, as in torch).
    p = inf: max of |x|. Example: [[[[3, 4]]]], p 2, kernel (1, 2) -> [[[[5]]]]."""
    return _lp_pool(x, norm_type, kernel_size, stride, ceil_mode, "lp_pool2d", 2)


def lp_pool1d(x, norm_type, kernel_size, stride=None, ceil_mode=False):
    """lp_pool2d along one axis: (N, C, L) -> (N, C, L_out).
    Example: [[[3, 4, 6, 8]]], p 2, kernel 2 -> [[[5, 10]]]."""
    return _lp_pool(x, norm_type, kernel_size, stride, ceil_mode, "lp_pool1d", 1)


def lp_pool3d(x, norm_type, kernel_size, stride=None, ceil_mode=False):
    """lp_pool2d along three axes: (N, C, D, H, W) -> (N, C, Do, Ho, Wo).
    Example: ones (1, 1, 2, 2, 2), p 2, kernel 2 -> sqrt(8)."""
    return _lp_pool(x, norm_type, kernel_size, stride, ceil_mode, "lp_pool3d", 3)


def lp_pool1d_backward(grad_out, x, norm_type, kernel_size, stride=None, ceil_mode=False):
    """Gradient of lp_pool1d: x^(p-1) * out^(1-p) * grad_out per window tap."""
    return _lp_pool_backward(grad_out, x, norm_type, kernel_size, stride, ceil_mode,
                             "lp_pool1d_backward", 1)


def lp_pool2d_backward(grad_out, x, norm_type, kernel_size, stride=None, ceil_mode=False):
    """Gradient of lp_pool2d: x^(p-1) * out^(1-p) * grad_out per window tap (overlaps add).
    Example: [[[[3, 4]]]], p 2, kernel (1, 2), grad_out [[[[10]]]] -> [[[[6, 8]]]]."""
    return _lp_pool_backward(grad_out, x, norm_type, kernel_size, stride, ceil_mode,
                             "lp_pool2d_backward", 2)


def lp_pool3d_backward(grad_out, x, norm_type, kernel_size, stride=None, ceil_mode=False):
    """Gradient of lp_pool3d (see lp_pool2d_backward)."""
    return _lp_pool_backward(grad_out, x, norm_type, kernel_size, stride, ceil_mode,
                             "lp_pool3d_backward", 3)


# --- max unpooling ------------------------------------------------------------------------

def _unpool_args(x, indices, kernel_size, stride, padding, output_size, func, nd):
    x = float_array(x, "x", func, nd + 2, LAYOUTS[nd][0])
    idx = np.asarray(indices)
    if idx.dtype.kind not in "iu" or idx.shape != x.shape:
        raise TypeError(f"{func}: indices must be an integer array of x's shape {x.shape}, "
                        f"got dtype {idx.dtype} shape {idx.shape}")
    kernel = ntuple(kernel_size, nd, "kernel_size", func, minimum=1)
    stride = kernel if stride is None else ntuple(stride, nd, "stride", func, minimum=1)
    pad = ntuple(padding, nd, "padding", func, minimum=0)
    default = tuple((i - 1) * s - 2 * p + k
                    for i, s, p, k in zip(x.shape[2:], stride, pad, kernel))
    if output_size is None:
        size = default
    else:
        size = tuple(output_size)[-nd:]
        size = ntuple(size, nd, "output_size", func, minimum=1)
        if any(abs(a - b) >= s for a, b, s in zip(size, default, stride)):
            raise ValueError(f"{func}: output_size {size} must be within one stride "
                             f"{stride} of the default size {default}")
    if min(size) < 1:
        raise ValueError(f"{func}: the output size {size} is empty (input {x.shape[2:]}, "
                         f"kernel {kernel}, stride {stride}, padding {pad}); pass output_size")
    plane = math.prod(size)
    check_bytes(func, 8 * elements(x.shape[:2] + size) + 16 * idx.size,
                f"the output of size {size}", x=x.shape)
    if idx.size and (idx.min() < 0 or idx.max() >= plane):
        raise ValueError(f"{func}: indices must lie in [0, {plane}) for output size "
                         f"{size}, got [{idx.min()}, {idx.max()}]")
    return x, idx.astype(np.int64), x.shape[:2] + size


def _max_unpool(x, indices, kernel_size, stride, padding, output_size, func, nd):
    x, idx, shape = _unpool_args(x, indices, kernel_size, stride, padding, output_size,
                                 func, nd)
    out = np.zeros((shape[0] * shape[1], math.prod(shape[2:])), dtype=x.dtype)
    rows = np.repeat(np.arange(out.shape[0]), math.prod(x.shape[2:]))
    out[rows, idx.reshape(-1)] = x.reshape(-1)
    return out.reshape(shape)


def _max_unpool_backward(grad_out, x, indices, kernel_size, stride, padding, output_size,
                         func, nd):
    x, idx, shape = _unpool_args(x, indices, kernel_size, stride, padding, output_size,
                                 func, nd)
    grad_out = check_grad_out(grad_out, shape, func, ndim=nd + 2, dtype=x.dtype,
                              context=f"x.shape={x.shape}")
    flat = grad_out.reshape(shape[0] * shape[1], math.prod(shape[2:]))
    picks = idx.reshape(flat.shape[0], math.prod(x.shape[2:]))   # explicit: N may be 0
    return np.take_along_axis(flat, picks, 1).reshape(x.shape)


def max_unpool2d(x, indices, kernel_size, stride=None, padding=0, output_size=None):
    """Inverse of max_pool2d's selection, like torch.nn.functional.max_unpool2d: x and
    indices (N, C, H, W) -> zeros (N, C, Ho, Wo) with x placed at the flat indices;
    Ho = (H - 1)*s - 2p + k unless output_size is given (within one stride of it).
    Example: [[[[5, 7]]]] at [[[[1, 2]]]], kernel 2 -> [[[[0, 5, 7, 0], [0, 0, 0, 0]]]]."""
    return _max_unpool(x, indices, kernel_size, stride, padding, output_size,
                       "max_unpool2d", 2)


def max_unpool1d(x, indices, kernel_size, stride=None, padding=0, output_size=None):
    """max_unpool2d along one axis: (N, C, L) -> (N, C, (L - 1)*s - 2p + k).
    Example: [[[5, 7]]] at [[[1, 2]]], kernel 2 -> [[[0, 5, 7, 0]]]."""
    return _max_unpool(x, indices, kernel_size, stride, padding, output_size,
                       "max_unpool1d", 1)


def max_unpool3d(x, indices, kernel_size, stride=None, padding=0, output_size=None):
    """max_unpool2d along three axes: (N, C, D, H, W) -> (N, C, Do, Ho, Wo)."""
    return _max_unpool(x, indices, kernel_size, stride, padding, output_size,
                       "max_unpool3d", 3)


def max_unpool1d_backward(grad_out, x, indices, kernel_size, stride=None, padding=0,
                          output_size=None):
    """grad_out gathered at the indices: grad_x (N, C, L)."""
    return _max_unpool_backward(grad_out, x, indices, kernel_size, stride, padding,
                                output_size, "max_unpool1d_backward", 1)


def max_unpool2d_backward(grad_out, x, indices, kernel_size, stride=None, padding=0,
                          output_size=None):
    """grad_out gathered at the indices: grad_x (N, C, H, W). Example: indices [[[[1, 2]]]],
    grad_out [[[[0, 5, 7, 0], [1, 1, 1, 1]]]] -> [[[[5, 7]]]]."""
    return _max_unpool_backward(grad_out, x, indices, kernel_size, stride, padding,
                                output_size, "max_unpool2d_backward", 2)


def max_unpool3d_backward(grad_out, x, indices, kernel_size, stride=None, padding=0,
                          output_size=None):
    """grad_out gathered at the indices: grad_x (N, C, D, H, W)."""
    return _max_unpool_backward(grad_out, x, indices, kernel_size, stride, padding,
                                output_size, "max_unpool3d_backward", 3)
