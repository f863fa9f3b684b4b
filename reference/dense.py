"""A fully connected layer and its back-propagation (FORMULAS C1, C4, C5).

The documents write Z = W X + B with column vectors x; here, as in torch's F.linear, a
batch is rows: x (N, in), weight (out, in), z = x W^T + b (N, out) - the same map.

C4  delta_l = (W_(l+1)^T delta_(l+1)) * f'(z_l)   (backprop_error)
    dC/dW = delta a^T (summed over the batch), dC/db = delta  (dense_backward)
C5  W <- W - eta dC/dW                             (sgd_step, returning new arrays)
"""
from __future__ import annotations

import numpy as np

from ._validate import check_grad_out, float_array, real, same_dtype
from .memory import check_bytes, elements


def _check(x, weight, bias, func):
    x = float_array(x, "x", func, 2, "(N, in_features)")
    weight = float_array(weight, "weight", func, 2, "(out_features, in_features)")
    if bias is not None:
        bias = float_array(bias, "bias", func, 1, "(out_features,)")
    same_dtype(func, x=x, weight=weight, bias=bias)
    if x.shape[1] != weight.shape[1]:
        raise ValueError(f"{func}: x has {x.shape[1]} features but weight.shape={weight.shape} "
                         f"expects {weight.shape[1]} (x.shape={x.shape})")
    if bias is not None and bias.shape != weight.shape[:1]:
        raise ValueError(f"{func}: bias must have shape ({weight.shape[0]},), got {bias.shape}")
    check_bytes(func, 2 * elements(x.shape, weight.shape, (x.shape[0], weight.shape[0]))
                * x.itemsize, "the result and the gradients", x=x.shape, weight=weight.shape)
    return x, weight, bias


def dense(x, weight, bias=None):
    """z = x W^T + b: x (N, in), weight (out, in), bias (out,) -> (N, out) (C1).
    Example: x = [[1, 2]], W = [[3, 4]], b = [5] -> [[1*3 + 2*4 + 5]] = [[16]]."""
    x, weight, bias = _check(x, weight, bias, "dense")
    z = x @ weight.T
    return z if bias is None else z + bias


def dense_backward(grad_out, x, weight, bias=None):
    """(grad_x, grad_weight, grad_bias) for z = dense(x, W, b) and upstream grad_out (N, out):
    grad_x = grad_out W (C4's W^T delta, rows), grad_weight = grad_out^T x (sum over the
    batch of delta_i a_j), grad_bias = sum of grad_out over the batch (None without bias)."""
    func = "dense_backward"
    x, weight, bias = _check(x, weight, bias, func)
    g = check_grad_out(grad_out, (x.shape[0], weight.shape[0]), func, ndim=2,
                       layout="(N, out_features)", dtype=x.dtype,
                       context=f"x.shape={x.shape}, weight.shape={weight.shape}")
    return g @ weight, g.T @ x, None if bias is None else g.sum(axis=0)


def backprop_error(delta_next, weight_next, z, activation_derivative):
    """C4: delta_l = (delta_(l+1) W_(l+1)) * f'(z_l), rows = samples.
    delta_next (N, out), weight_next (out, in), z (N, in)."""
    func = "backprop_error"
    delta_next = float_array(delta_next, "delta_next", func, 2, "(N, out)")
    weight_next = float_array(weight_next, "weight_next", func, 2, "(out, in)")
    z = float_array(z, "z", func, 2, "(N, in)")
    same_dtype(func, delta_next=delta_next, weight_next=weight_next, z=z)
    if delta_next.shape[1] != weight_next.shape[0] or z.shape != (delta_next.shape[0],
                                                                   weight_next.shape[1]):
        raise ValueError(f"{func}: shapes do not chain: delta_next {delta_next.shape}, "
                         f"weight_next {weight_next.shape}, z {z.shape}")
    if not callable(activation_derivative):
        raise TypeError(f"{func}: activation_derivative must be a function of z, got "
                        f"{activation_derivative!r}")
    return (delta_next @ weight_next) * activation_derivative(z)


def sgd_step(params, grads, lr):
    """C5: one plain gradient-descent step, W <- W - lr * dC/dW, on matching lists (or
    tuples) of arrays; returns new arrays (the inputs are not modified). `lr` a number
    >= 0 (torch.optim.SGD's rule). A single array is refused: its rows are not parameters.
    Example: sgd_step([w=[1.0]], [g=[0.5]], lr=0.1) -> [[0.95]]."""
    func = "sgd_step"
    for name, seq in (("params", params), ("grads", grads)):
        if not isinstance(seq, (list, tuple)):
            raise TypeError(f"{func}: {name} must be a list or tuple of arrays, got "
                            f"{type(seq).__name__}" + (f" of shape {seq.shape}"
                                                      if hasattr(seq, "shape") else ""))
    lr = real(lr, "lr", func, minimum=0)
    if len(params) != len(grads):
        raise ValueError(f"{func}: {len(params)} parameters but {len(grads)} gradients")
    out = []
    for i, (p, g) in enumerate(zip(params, grads)):
        p, g = float_array(p, f"params[{i}]", func), float_array(g, f"grads[{i}]", func)
        if p.shape != g.shape:
            raise ValueError(f"{func}: params[{i}].shape={p.shape} != grads[{i}].shape={g.shape}")
        same_dtype(func, **{f"params[{i}]": p, f"grads[{i}]": g})
        out.append(p - p.dtype.type(lr) * g)
    return out
