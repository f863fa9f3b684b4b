"""Activations and their derivatives (FORMULAS C6), elementwise, any shape.

The derivatives are written the documents' way, from the output where they can be:
sigmoid f' = f (1 - f), tanh f' = 1 - f^2, ReLU f' = [x > 0] (0 at x = 0, as PyTorch),
leaky ReLU f' = 1 or negative_slope. Every `*_backward(grad_out, x)` returns
grad_out * f'(x). softmax and log_softmax subtract the maximum first, so large inputs do
not overflow (softmax([1000, 1000]) = [0.5, 0.5]).
"""
from __future__ import annotations

import numpy as np

from ._validate import check_grad_out, dim_index, float_array, real
from .memory import check_elementwise


def _arr(x, func):
    x = float_array(x, "x", func)
    check_elementwise(func, x.itemsize, 4, x=x.shape)   # the result and three temporaries
    return x


def _grad(grad_out, x, func):
    """grad_out of an elementwise op: the shape and dtype of x (the forward output's)."""
    return check_grad_out(grad_out, x.shape, func, dtype=x.dtype,
                          context="elementwise: grad_out.shape must equal x.shape")


def relu(x):
    """max(x, 0), NaN propagating. Example: relu([-1, 0, 2]) == [0, 0, 2]."""
    return np.maximum(_arr(x, "relu"), 0)


def relu_backward(grad_out, x):
    """grad_out where x > 0, else 0; a NaN input passes its gradient through, as torch's
    threshold_backward (`x <= 0 ? 0 : g`) does."""
    x = _arr(x, "relu_backward")
    return np.where(x <= 0, 0, _grad(grad_out, x, "relu_backward")).astype(x.dtype)


def leaky_relu(x, negative_slope=0.01):
    """x if x > 0 else negative_slope * x. Example: leaky_relu([-2, 3], 0.1) == [-0.2, 3]."""
    x = _arr(x, "leaky_relu")
    slope = real(negative_slope, "negative_slope", "leaky_relu")
    return np.where(x > 0, x, x * x.dtype.type(slope))


def leaky_relu_backward(grad_out, x, negative_slope=0.01):
    x = _arr(x, "leaky_relu_backward")
    slope = real(negative_slope, "negative_slope", "leaky_relu_backward")
    g = _grad(grad_out, x, "leaky_relu_backward")
    return np.where(x > 0, g, g * x.dtype.type(slope))


def sigmoid(x):
    """1 / (1 + e^-x), computed from e^-|x| so neither sign overflows.
    Example: sigmoid(0) == 0.5; sigmoid(-1000) == 0 without an overflow warning."""
    x = _arr(x, "sigmoid")
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype)


def sigmoid_backward(grad_out, x):
    """grad_out * f (1 - f), f = sigmoid(x)."""
    x = _arr(x, "sigmoid_backward")
    g = _grad(grad_out, x, "sigmoid_backward")
    f = sigmoid(x)
    return g * f * (1 - f)


def tanh(x):
    """Hyperbolic tangent. Example: tanh(0) == 0."""
    return np.tanh(_arr(x, "tanh"))


def tanh_backward(grad_out, x):
    """grad_out * (1 - f^2), f = tanh(x)."""
    x = _arr(x, "tanh_backward")
    g = _grad(grad_out, x, "tanh_backward")
    f = np.tanh(x)
    return g * (1 - f * f)


def softmax(x, dim):
    """e^(x_i - max) / sum_j e^(x_j - max) along `dim` (an int in [-x.ndim, x.ndim)).
    Example: softmax([0, ln 3], 0) == [0.25, 0.75]. An empty x gives an empty result."""
    x = _arr(x, "softmax")
    return _softmax(x, dim_index(x, dim, "softmax"))


def _softmax(x, dim):
    if x.size == 0:
        return x.copy()
    e = np.exp(x - np.max(x, axis=dim, keepdims=True))
    return e / e.sum(axis=dim, keepdims=True)


def softmax_backward(grad_out, x, dim):
    """J^T g = s * (g - sum(g * s)) along `dim`, s = softmax(x)."""
    x = _arr(x, "softmax_backward")
    dim = dim_index(x, dim, "softmax_backward")
    g = _grad(grad_out, x, "softmax_backward")
    s = _softmax(x, dim)
    return s * (g - (g * s).sum(axis=dim, keepdims=True))


def log_softmax(x, dim):
    """x - logsumexp(x) along `dim`, with the maximum subtracted first.
    Example: log_softmax([1000, 1000], 0) == [-ln 2, -ln 2]."""
    x = _arr(x, "log_softmax")
    dim = dim_index(x, dim, "log_softmax")
    if x.size == 0:
        return x.copy()
    shifted = x - np.max(x, axis=dim, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=dim, keepdims=True))


def log_softmax_backward(grad_out, x, dim):
    """g - softmax(x) * sum(g) along `dim`."""
    x = _arr(x, "log_softmax_backward")
    dim = dim_index(x, dim, "log_softmax_backward")
    g = _grad(grad_out, x, "log_softmax_backward")
    return g - _softmax(x, dim) * g.sum(axis=dim, keepdims=True)
