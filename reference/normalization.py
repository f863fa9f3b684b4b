"""Layer, group and instance normalisation, beyond the documents (their C15 is batch norm),
torch.nn.functional's semantics, never mutating the inputs.

All three are batch norm's formula over other axes: with xh = (x - mu) / sqrt(var + eps),
mu and var the mean and *biased* variance over a set of axes A,

    y = xh * gamma + beta
    grad_x = (1 / s) * (gh - mean_A(gh) - xh * mean_A(gh * xh)),   gh = grad_out * gamma

  layer_norm(x, normalized_shape):  A = the last len(normalized_shape) axes; gamma and
                                    beta have shape normalized_shape;
  group_norm(x, num_groups):        A = the C / G channels of a group and all spatial axes,
                                    per sample; gamma, beta per channel (C,);
  instance_norm(x):                 A = the spatial axes, per sample and channel; gamma,
                                    beta per channel; use_input_stats=False normalises with
                                    the running statistics instead (like batch norm's
                                    evaluation mode). Like batch_norm here, it returns y
                                    only: the running statistics are not updated.
Each reshapes x to rows (one row per normalised set) and normalises every row.
"""
from __future__ import annotations

import math

import numpy as np

from .memory import check_elementwise
from ._validate import (_is_int, boolean, check_grad_out, float_array, positive_int, real,
                        same_dtype)


def _rows_stats(rows: np.ndarray, eps: float):
    """Per-row mean, s = sqrt(biased var + eps), xh, for rows (R, M) (N = 0: no rows)."""
    mean = rows.mean(axis=1, keepdims=True)
    s = np.sqrt(((rows - mean) ** 2).mean(axis=1, keepdims=True) + rows.dtype.type(eps))
    return mean, s, (rows - mean) / s


def _rows_backward(gh: np.ndarray, xh: np.ndarray, s: np.ndarray) -> np.ndarray:
    """grad of xh = (x - mean)/s per row, for the upstream gh = grad_out * gamma."""
    return (gh - gh.mean(axis=1, keepdims=True)
            - xh * (gh * xh).mean(axis=1, keepdims=True)) / s


def _affine_arrays(func, x, weight, bias, shape, dims: str, names=("weight", "bias")):
    arrays = {}
    for name, v in zip(names, (weight, bias)):
        if v is not None:
            v = float_array(v, name, func)
            if v.shape != shape:
                raise ValueError(f"{func}: {name} must have shape {shape} ({dims}) for "
                                 f"x.shape={x.shape}, got {v.shape}")
        arrays[name] = v
    same_dtype(func, x=x, **arrays)
    return tuple(arrays[n] for n in names)


def _finish(xh_full, weight, bias, bshape, dtype):
    y = xh_full if weight is None else xh_full * weight.reshape(bshape)
    y = y if bias is None else y + bias.reshape(bshape)
    return y.astype(dtype)


def _param_grads(g, xh_full, weight, bias, axes):
    gw = None if weight is None else (g * xh_full).sum(axis=axes).astype(g.dtype)
    gb = None if bias is None else g.sum(axis=axes).astype(g.dtype)
    return gw, gb


# --- layer norm ---------------------------------------------------------------------------

def _layer_setup(x, normalized_shape, weight, bias, func):
    shape = (normalized_shape,) if _is_int(normalized_shape) else tuple(normalized_shape)
    if not shape or not all(_is_int(v) and v >= 1 for v in shape):
        raise TypeError(f"{func}: normalized_shape must be a positive int or a non-empty "
                        f"sequence of them, got {normalized_shape!r}")
    x = float_array(x, "x", func)
    # x, its centred and normalised copies, the gradient's temporaries
    check_elementwise(func, x.itemsize, 6, x=x.shape)
    if x.ndim < len(shape) or x.shape[x.ndim - len(shape):] != shape:
        raise ValueError(f"{func}: x.shape={x.shape} must end with normalized_shape={shape}")
    # normalized_shape's sizes are >= 1, so an empty x has an empty leading (batch) axis:
    # an empty result, as torch
    weight, bias = _affine_arrays(func, x, weight, bias, shape, "normalized_shape")
    return x, shape, weight, bias


def _eps(eps, func) -> float:
    return real(eps, "eps", func, 0)


def layer_norm(x, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Normalise over the last len(normalized_shape) axes of x (any shape ending in it);
    normalized_shape is a tuple, or an int as torch.nn.LayerNorm accepts it.
    Example: [[1, 3]] with normalized_shape 2 -> [[-1, 1]] / sqrt(1 + eps)."""
    x, shape, weight, bias = _layer_setup(x, normalized_shape, weight, bias, "layer_norm")
    _, _, xh = _rows_stats(x.reshape(-1, math.prod(shape)), _eps(eps, "layer_norm"))
    return _finish(xh.reshape(x.shape), weight, bias, shape, x.dtype)


def layer_norm_backward(grad_out, x, normalized_shape, weight=None, bias=None, eps=1e-5):
    """(grad_x, grad_weight or None, grad_bias or None); grad_weight = sum of g * xh over
    the leading axes, grad_bias = sum of g. Example: see the module docstring."""
    func = "layer_norm_backward"
    x, shape, weight, bias = _layer_setup(x, normalized_shape, weight, bias, func)
    g = check_grad_out(grad_out, x.shape, func, dtype=x.dtype,
                       context=f"layer norm keeps x.shape={x.shape}")
    _, s, xh = _rows_stats(x.reshape(-1, math.prod(shape)), _eps(eps, func))
    gh = g if weight is None else g * weight
    gx = _rows_backward(gh.reshape(xh.shape), xh, s).reshape(x.shape).astype(x.dtype)
    lead = tuple(range(x.ndim - len(shape)))
    return (gx, *_param_grads(g, xh.reshape(x.shape), weight, bias, lead))


# --- group norm ---------------------------------------------------------------------------

def _group_setup(x, num_groups, weight, bias, func):
    x = float_array(x, "x", func)
    # x, its centred and normalised copies, the gradient's temporaries
    check_elementwise(func, x.itemsize, 6, x=x.shape)
    if x.ndim < 2 or min(x.shape[1:]) == 0:
        raise ValueError(f"{func}: x must be (N, C, *) and non-empty but for N (an empty "
                         f"batch, N = 0, gives an empty result), got shape {x.shape}")
    groups = positive_int(num_groups, "num_groups", func)
    if x.shape[1] % groups:
        raise ValueError(f"{func}: num_groups={groups} must divide the channels "
                         f"x.shape[1]={x.shape[1]}")
    if x.shape[0] and _group_rows(x, groups).shape[1] <= 1:    # torch skips it at N = 0
        raise ValueError(f"{func}: expected more than 1 value per group, got x.shape="
                         f"{x.shape} with num_groups={groups} (as PyTorch)")
    weight, bias = _affine_arrays(func, x, weight, bias, (x.shape[1],), "C")
    return x, groups, weight, bias, (1, -1) + (1,) * (x.ndim - 2)


def _group_rows(x, groups: int) -> np.ndarray:
    """(N * groups, C / groups * spatial): one row per normalised set (N may be 0)."""
    return x.reshape(x.shape[0] * groups, x.shape[1] // groups * math.prod(x.shape[2:]))


def group_norm(x, num_groups, weight=None, bias=None, eps=1e-5):
    """Normalise each sample's groups of C / num_groups channels (with their spatial axes):
    x (N, C, *) -> same shape. Example: x (1, 4, 1), 2 groups [[1], [3], [5], [9]] ->
    [[-1], [1], [-1], [1]] / sqrt(1 + eps) and / sqrt(4 + eps)."""
    x, groups, weight, bias, bshape = _group_setup(x, num_groups, weight, bias, "group_norm")
    _, _, xh = _rows_stats(_group_rows(x, groups), _eps(eps, "group_norm"))
    return _finish(xh.reshape(x.shape), weight, bias, bshape, x.dtype)


def group_norm_backward(grad_out, x, num_groups, weight=None, bias=None, eps=1e-5):
    """(grad_x, grad_weight or None, grad_bias or None), per-channel parameter grads."""
    func = "group_norm_backward"
    x, groups, weight, bias, bshape = _group_setup(x, num_groups, weight, bias, func)
    g = check_grad_out(grad_out, x.shape, func, dtype=x.dtype,
                       context=f"group norm keeps x.shape={x.shape}")
    _, s, xh = _rows_stats(_group_rows(x, groups), _eps(eps, func))
    gh = g if weight is None else g * weight.reshape(bshape)
    gx = _rows_backward(gh.reshape(xh.shape), xh, s).reshape(x.shape).astype(x.dtype)
    axes = (0,) + tuple(range(2, x.ndim))
    return (gx, *_param_grads(g, xh.reshape(x.shape), weight, bias, axes))


# --- instance norm ------------------------------------------------------------------------

def _instance_setup(x, running_mean, running_var, weight, bias, use_input_stats, momentum,
                    func):
    x = float_array(x, "x", func)
    # x, its centred and normalised copies, the gradient's temporaries
    check_elementwise(func, x.itemsize, 6, x=x.shape)
    use_input_stats = boolean(use_input_stats, "use_input_stats", func)
    real(momentum, "momentum", func, 0)
    if x.ndim < 3 or min(x.shape[1:]) == 0:
        raise ValueError(f"{func}: x must be (N, C, *spatial) with at least one spatial "
                         f"axis and non-empty but for N, got shape {x.shape}")
    if x.shape[0] == 0 and (weight is not None or bias is not None):
        raise ValueError(f"{func}: an empty batch (x.shape={x.shape}) with weight or bias: "
                         f"torch refuses it (IndexError); without them the result is empty")
    c = x.shape[1]
    weight, bias = _affine_arrays(func, x, weight, bias, (c,), "C")
    rm, rv = _affine_arrays(func, x, running_mean, running_var, (c,), "C",
                            ("running_mean", "running_var"))
    if not use_input_stats and (rm is None or rv is None):
        raise ValueError(f"{func}: use_input_stats=False needs running_mean and running_var")
    if use_input_stats and math.prod(x.shape[2:]) <= 1:
        raise ValueError(f"{func}: expected more than 1 spatial element per channel, got "
                         f"x.shape={x.shape} (as PyTorch)")
    return x, weight, bias, rm, rv, (1, -1) + (1,) * (x.ndim - 2), use_input_stats


def _instance_stats(x, rm, rv, use_input_stats, eps):
    rows = x.reshape(x.shape[0] * x.shape[1], math.prod(x.shape[2:]))     # N may be 0
    if use_input_stats:
        return _rows_stats(rows, eps)
    mean = np.tile(rm, x.shape[0])[:, None]
    s = np.sqrt(np.tile(rv, x.shape[0])[:, None] + x.dtype.type(eps))
    return mean, s, (rows - mean) / s


def instance_norm(x, running_mean=None, running_var=None, weight=None, bias=None,
                  use_input_stats=True, momentum=0.1, eps=1e-5):
    """Normalise each (sample, channel) plane of x (N, C, *spatial) over its spatial axes.
    Example: x (1, 1, 2) = [[[1, 3]]] -> [[[-1, 1]]] / sqrt(1 + eps). `momentum` is
    accepted for torch's signature; the running statistics are not updated."""
    x, weight, bias, rm, rv, bshape, use_input_stats = _instance_setup(
        x, running_mean, running_var, weight, bias, use_input_stats, momentum,
        "instance_norm")
    _, _, xh = _instance_stats(x, rm, rv, use_input_stats, _eps(eps, "instance_norm"))
    return _finish(xh.reshape(x.shape), weight, bias, bshape, x.dtype)


def instance_norm_backward(grad_out, x, running_mean=None, running_var=None, weight=None,
                           bias=None, use_input_stats=True, momentum=0.1, eps=1e-5):
    """(grad_x, grad_weight or None, grad_bias or None). With the running statistics
    (use_input_stats=False) grad_x = g * gamma / sqrt(running_var + eps)."""
    func = "instance_norm_backward"
    x, weight, bias, rm, rv, bshape, use_input_stats = _instance_setup(
        x, running_mean, running_var, weight, bias, use_input_stats, momentum, func)
    g = check_grad_out(grad_out, x.shape, func, dtype=x.dtype,
                       context=f"instance norm keeps x.shape={x.shape}")
    _, s, xh = _instance_stats(x, rm, rv, use_input_stats, _eps(eps, func))
    gh = (g if weight is None else g * weight.reshape(bshape)).reshape(xh.shape)
    gx = _rows_backward(gh, xh, s) if use_input_stats else gh / s
    axes = (0,) + tuple(range(2, x.ndim))
    return (gx.reshape(x.shape).astype(x.dtype),
            *_param_grads(g, xh.reshape(x.shape), weight, bias, axes))
