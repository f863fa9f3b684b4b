"""The documents' own pooling formulas (FORMULAS C12-C14), as they write them, for the
non-overlapping windows they cover. The general functions in pooling.py must agree.

C12  max pooling backward: "the error is passed unchanged to the neuron holding the maximum
     of its block; the other neurons get 0" (seed 000).
C13  mean pooling backward: delta_(l-1) = delta_l (Kronecker) ones(n, n) / n^2 (seed 000).
C14  LeNet's subsampling layer (seed 003): each output is the sum of an n x n block times a
     trainable coefficient beta, plus a trainable bias b (one of each per map), before the
     activation. The seed's backward delta_l = beta * (f'(u_l) * up(delta_(l+1))) is the
     chain of `lenet_subsample_backward` (beta * up(delta)) and the activation's f'.
"""
from __future__ import annotations

import numpy as np

from ._validate import check_grad_out, float_array, positive_int, same_dtype
from .memory import check_elementwise


def _blocks(x, kernel_size, func):
    """x (N, C, H, W) -> (N, C, Ho, n, Wo, n) view of the non-overlapping n x n blocks;
    rows/cols past the last full block are not covered (floor, like stride == kernel)."""
    x = float_array(x, "x", func, 4, "(N, C, H, W)")
    n = positive_int(kernel_size, "kernel_size", func)
    check_elementwise(func, x.itemsize, 3, x=x.shape)
    h, w = x.shape[2:]
    if n > min(h, w):
        raise ValueError(f"{func}: kernel_size={n} is larger than the input {x.shape[2:]}")
    ho, wo = h // n, w // n
    return x, n, x[:, :, :ho * n, :wo * n].reshape(x.shape[:2] + (ho, n, wo, n))


def _grad(grad_out, x, blocks, func):
    """grad_out of the block-wise forward: one entry per block, (N, C, Ho, Wo)."""
    return check_grad_out(grad_out, blocks.shape[:3] + blocks.shape[4:5], func, ndim=4,
                          layout="(N, C, H_out, W_out)", dtype=x.dtype,
                          context=f"x.shape={x.shape}, kernel_size={blocks.shape[3]}")


def _unblock(blocks_grad, x) -> np.ndarray:
    """(N, C, Ho, n, Wo, n) -> (N, C, H, W), zero on rows/cols no block covers."""
    out = np.zeros_like(x)
    n_h, n_w = blocks_grad.shape[2] * blocks_grad.shape[3], blocks_grad.shape[4] * blocks_grad.shape[5]
    out[:, :, :n_h, :n_w] = blocks_grad.reshape(x.shape[:2] + (n_h, n_w))
    return out


def max_pool2d_backward_documents(grad_out, x, kernel_size):
    """C12 for n x n max pooling with stride n: each error goes to its block's maximum
    (the first one on ties, as torch). grad_out (N, C, H//n, W//n) -> (N, C, H, W).
    Example: block [[1, 3], [2, 0]] with error 5 -> [[0, 5], [0, 0]]."""
    func = "max_pool2d_backward_documents"
    x, n, blocks = _blocks(x, kernel_size, func)
    grad_out = _grad(grad_out, x, blocks, func)
    flat = blocks.transpose(0, 1, 2, 4, 3, 5).reshape(grad_out.shape + (n * n,))
    if np.isnan(flat).any():
        raise ValueError(f"{func}: NaN inputs are outside the documents' formula; use "
                         f"max_pool2d_backward")
    onehot = np.zeros_like(flat)
    np.put_along_axis(onehot, np.argmax(flat, axis=-1)[..., None], grad_out[..., None], -1)
    return _unblock(onehot.reshape(grad_out.shape + (n, n)).transpose(0, 1, 2, 4, 3, 5), x)


def avg_pool2d_backward_kronecker(grad_out, x, kernel_size):
    """C13: delta_(l-1) = delta_l (x) ones(n, n) / n^2, per map (numpy.kron).
    Example: delta [[4]] with n = 2 -> [[1, 1], [1, 1]]."""
    func = "avg_pool2d_backward_kronecker"
    x, n, blocks = _blocks(x, kernel_size, func)
    grad_out = _grad(grad_out, x, blocks, func)
    spread = np.kron(grad_out, np.ones((n, n), dtype=x.dtype)) / (n * n)
    out = np.zeros_like(x)
    out[:, :, :spread.shape[2], :spread.shape[3]] = spread
    return out


def lenet_subsample(x, coefficient, bias, kernel_size=2):
    """C14: out[n, c] = coefficient[c] * (sum of each k x k block of x[n, c]) + bias[c].
    x (N, C, H, W), coefficient and bias (C,) -> (N, C, H//k, W//k).
    Example: block [[1, 2], [3, 4]], coefficient 0.5, bias 1 -> 0.5 * 10 + 1 = 6."""
    func = "lenet_subsample"
    x, n, blocks = _blocks(x, kernel_size, func)
    coefficient, bias = _per_map(coefficient, bias, x, func)
    sums = blocks.sum(axis=(3, 5))
    return (coefficient[:, None, None] * sums + bias[:, None, None]).astype(x.dtype)


def lenet_subsample_backward(grad_out, x, coefficient, bias, kernel_size=2):
    """Gradients of lenet_subsample: (grad_x, grad_coefficient, grad_bias).
    grad_x = coefficient * up(grad_out) (each error copied over its block: the seed's
    beta * up(delta)); grad_coefficient[c] = sum grad_out * block sums; grad_bias[c] =
    sum grad_out."""
    func = "lenet_subsample_backward"
    x, n, blocks = _blocks(x, kernel_size, func)
    coefficient, bias = _per_map(coefficient, bias, x, func)
    grad_out = _grad(grad_out, x, blocks, func)
    up = np.broadcast_to(grad_out[:, :, :, None, :, None], blocks.shape)
    grad_x = _unblock(coefficient[:, None, None, None, None] * up, x)
    grad_coefficient = (grad_out * blocks.sum(axis=(3, 5))).sum(axis=(0, 2, 3))
    return grad_x, grad_coefficient, grad_out.sum(axis=(0, 2, 3))


def _per_map(coefficient, bias, x, func):
    coefficient = float_array(coefficient, "coefficient", func, 1, "(C,)")
    bias = float_array(bias, "bias", func, 1, "(C,)")
    same_dtype(func, x=x, coefficient=coefficient, bias=bias)
    for name, v in (("coefficient", coefficient), ("bias", bias)):
        if v.shape != (x.shape[1],):
            raise ValueError(f"{func}: {name} must have shape ({x.shape[1]},) for "
                             f"x.shape={x.shape}, got {v.shape}")
    return coefficient, bias
