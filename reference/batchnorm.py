"""Batch normalisation (FORMULAS C15), PyTorch semantics, never mutating its inputs.

    y = gamma * (x - mu) / sqrt(sigma^2 + eps) + beta,   per channel c (axis 1)

with mu and sigma^2 the batch mean and *biased* variance over (N, H, W) in training mode,
and the running statistics in evaluation mode. torch updates its running statistics in
place; here `batch_norm` returns y alone (the same output as torch) and the updated
statistics come from `batch_norm_running_stats`, which uses the *unbiased* variance:

    running_mean' = (1 - momentum) running_mean + momentum mu
    running_var'  = (1 - momentum) running_var  + momentum sigma^2 M / (M - 1),  M = N*H*W

Inputs are (N, C) or (N, C, H, W). Example: x = [[1], [3]] (N = 2, C = 1), training:
mu = 2, sigma^2 = 1, y = [[-1], [1]] / sqrt(1 + eps); running_var' = 0.9 * 1 + 0.1 * 2.
"""
from __future__ import annotations

import numpy as np

from ._validate import boolean, check_grad_out, float_array, real, same_dtype
from .memory import check_elementwise


def _setup(x, running_mean, running_var, weight, bias, training, func, momentum=0.1,
           eps=0.0):
    """Check every argument (eps >= 0 and training a bool, as torch); return x, the
    per-channel arrays by name and the reduction axes. N = 0 or C = 0 is an empty batch
    (the callers return empty results, as torch)."""
    x = float_array(x, "x", func, (2, 3, 4), "(N, C) or (N, C, H, W)")
    training = boolean(training, "training", func)
    real(momentum, "momentum", func)
    real(eps, "eps", func, minimum=0)
    check_elementwise(func, x.itemsize, 5, x=x.shape)
    c = x.shape[1]
    arrays = {}
    for name, v in (("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)):
        if v is not None:
            v = float_array(v, name, func, 1, f"({c},)")
            if v.shape != (c,):
                raise ValueError(f"{func}: {name} must have shape ({c},) for x.shape={x.shape}, "
                                 f"got {v.shape}")
        arrays[name] = v
    same_dtype(func, x=x, **arrays)
    if not training and (running_mean is None or running_var is None):
        raise ValueError(f"{func}: evaluation mode (training=False) needs running_mean and "
                         f"running_var")
    axes = (0,) + tuple(range(2, x.ndim))
    if training and x.size and x.size // c <= 1:
        raise ValueError(f"{func}: training needs more than 1 value per channel, got "
                         f"x.shape={x.shape} (as PyTorch)")
    return x, arrays, axes


def _stats(x, arrays, axes, training):
    """Per-channel mean and variance used to normalise (batch or running), broadcastable."""
    shape = (1, -1) + (1,) * (x.ndim - 2)
    if training:
        mean = x.mean(axis=axes)
        var = ((x - mean.reshape(shape)) ** 2).mean(axis=axes)
    else:
        mean, var = arrays["running_mean"], arrays["running_var"]
    return mean.reshape(shape), var.reshape(shape), shape


def batch_norm(x, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5):
    """Normalise x per channel; returns y with x's shape (see the module docstring).
    `momentum` only affects the running statistics: see batch_norm_running_stats."""
    x, arrays, axes = _setup(x, running_mean, running_var, weight, bias, training,
                             "batch_norm", momentum, eps)
    if x.size == 0:
        return x.copy()
    mean, var, shape = _stats(x, arrays, axes, training)
    y = (x - mean) / np.sqrt(var + x.dtype.type(eps))
    if arrays["weight"] is not None:
        y = y * arrays["weight"].reshape(shape)
    if arrays["bias"] is not None:
        y = y + arrays["bias"].reshape(shape)
    return y.astype(x.dtype)


def batch_norm_running_stats(x, running_mean, running_var, momentum=0.1):
    """The running statistics after one training-mode batch_norm call, as new arrays:
    (new_running_mean, new_running_var), the variance term unbiased (M / (M - 1))."""
    func = "batch_norm_running_stats"
    if running_mean is None or running_var is None:
        raise ValueError(f"{func}: running_mean and running_var are required")
    x, arrays, axes = _setup(x, running_mean, running_var, None, None, True, func, momentum)
    if x.size == 0:     # an empty batch leaves the statistics as they were, as torch
        return arrays["running_mean"].copy(), arrays["running_var"].copy()
    mean, var, _ = _stats(x, arrays, axes, True)
    m = x.size // x.shape[1]
    new_mean = (1 - momentum) * arrays["running_mean"] + momentum * mean.ravel()
    new_var = (1 - momentum) * arrays["running_var"] + momentum * var.ravel() * m / (m - 1)
    return new_mean.astype(x.dtype), new_var.astype(x.dtype)


def batch_norm_backward(grad_out, x, running_mean, running_var, weight=None, bias=None,
                        training=False, momentum=0.1, eps=1e-5):
    """(grad_x, grad_weight, grad_bias); grad_weight / grad_bias are None when weight /
    bias are. Training mode, with xh = (x - mu)/s, s = sqrt(sigma^2 + eps), M = N*H*W:
        grad_x = gamma / (M s) * (M g - sum g - xh * sum(g xh))
    evaluation mode: grad_x = g * gamma / sqrt(running_var + eps).
    Both: grad_weight = sum g * xh, grad_bias = sum g (sums over all axes but 1).
    `momentum` is accepted so that the arguments mirror batch_norm's; it has no effect."""
    func = "batch_norm_backward"
    x, arrays, axes = _setup(x, running_mean, running_var, weight, bias, training, func,
                             momentum, eps)
    g = check_grad_out(grad_out, x.shape, func, dtype=x.dtype,
                       context=f"batch norm keeps x.shape={x.shape}")
    if x.size == 0:
        zeros = np.zeros(x.shape[1], dtype=x.dtype)
        return (x.copy(), None if weight is None else zeros,
                None if bias is None else zeros.copy())
    mean, var, shape = _stats(x, arrays, axes, training)
    s = np.sqrt(var + x.dtype.type(eps))
    xh = (x - mean) / s
    gamma = 1 if arrays["weight"] is None else arrays["weight"].reshape(shape)
    if training:
        m = x.size // x.shape[1]
        sum_g = g.sum(axis=axes, keepdims=True)
        sum_gxh = (g * xh).sum(axis=axes, keepdims=True)
        grad_x = gamma / (m * s) * (m * g - sum_g - xh * sum_gxh)
    else:
        grad_x = g * gamma / s
    grad_w = None if arrays["weight"] is None else (g * xh).sum(axis=axes)
    grad_b = None if arrays["bias"] is None else g.sum(axis=axes)
    return grad_x.astype(x.dtype), grad_w, grad_b
