"""Costs and the output errors of back-propagation (FORMULAS C2, C3).

C2  quadratic      C = 1/(2n) sum_x ||y(x) - a(x)||^2, n = number of samples (rows)
                   = F.mse_loss(a, y, reduction='sum') / (2n)
    binary CE      C = -mean(y ln a + (1 - y) ln(1 - a)), logs clamped at -100 (PyTorch)
    softmax CE     C = -mean_n log softmax(z_n)[t_n], integer targets (F.cross_entropy)
C3  output error   delta_L = dC/dz_L = (A - Y) * f'(Z) for the quadratic cost (per sample;
                   the 1/n of the mean is applied by the loss's backward), and A - Y for
                   sigmoid + binary CE and softmax + CE (f' cancels).
"""
from __future__ import annotations

import numpy as np

from ._validate import _is_int, float_array, real, same_dtype
from .activations import log_softmax, softmax
from .memory import check_elementwise


def _pair(a, y, func, a_name="a"):
    a = float_array(a, a_name, func)
    y = float_array(y, "y", func)
    same_dtype(func, **{a_name: a, "y": y})
    if a.shape != y.shape:
        raise ValueError(f"{func}: {a_name}.shape={a.shape} must equal y.shape={y.shape}")
    if a.ndim == 0:
        raise ValueError(f"{func}: {a_name} needs at least 1 dimension (samples first)")
    check_elementwise(func, a.itemsize, 4, **{a_name: a.shape, "y": y.shape})
    return a, y


def _scalar_grad(grad_out, func) -> float:
    """The upstream gradient of a scalar loss: a number or a 0-d (or one-element) float
    array, as torch's scalar tensor; not a string, a bool or None."""
    if isinstance(grad_out, np.ndarray):
        grad_out = float_array(grad_out, "grad_out", func)
        if grad_out.size != 1:
            raise ValueError(f"{func}: grad_out must be a scalar (the loss is one), got "
                             f"shape {grad_out.shape}")
        grad_out = grad_out.reshape(())[()]
    return real(grad_out, "grad_out", func)


def _empty_mean(values):
    """The mean, NaN without a warning for an empty batch (torch's mean of nothing)."""
    return values.mean() if values.size else values.dtype.type(np.nan)


def quadratic_loss(a, y):
    """1/(2n) sum ||y - a||^2 over a batch (N, ...), n = N.
    Example: a = [[1, 2]], y = [[0, 0]] -> (1 + 4) / 2 = 2.5."""
    a, y = _pair(a, y, "quadratic_loss")
    with np.errstate(invalid="ignore"):      # N = 0: 0 / 0 = NaN, as torch's sum / (2 * 0)
        return ((y - a) ** 2).sum() / a.dtype.type(2 * a.shape[0])


def quadratic_loss_backward(grad_out, a, y):
    """dC/da = (a - y) / n, times the scalar grad_out."""
    a, y = _pair(a, y, "quadratic_loss_backward")
    g = _scalar_grad(grad_out, "quadratic_loss_backward")
    return (g / max(a.shape[0], 1) * (a - y)).astype(a.dtype)


def binary_cross_entropy(a, y):
    """-mean(y ln a + (1 - y) ln(1 - a)) with each log clamped at -100 as PyTorch does, so
    a = 0 or 1 gives a finite loss. Example: a = [0.5], y = [1] -> ln 2."""
    a, y = _pair(a, y, "binary_cross_entropy")
    if np.any((a < 0) | (a > 1)):
        raise ValueError("binary_cross_entropy: a must lie in [0, 1] (probabilities)")
    with np.errstate(divide="ignore"):
        la, l1a = np.maximum(np.log(a), -100), np.maximum(np.log1p(-a), -100)
    return -_empty_mean(y * la + (1 - y) * l1a)


# PyTorch's guard on a(1 - a) in the BCE backward: the float constant 1e-12, i.e.
# float32(1e-12) = 9.99999996e-13 even for float64 inputs (torch gives -2.000000008e11,
# not -2e11, for a = 1e-20, y = 1, n = 5).
BCE_EPSILON = float(np.float32(1e-12))


def binary_cross_entropy_backward(grad_out, a, y):
    """dC/da = (a - y) / max(a (1 - a), BCE_EPSILON) / size, PyTorch's guarded form."""
    a, y = _pair(a, y, "binary_cross_entropy_backward")
    g = _scalar_grad(grad_out, "binary_cross_entropy_backward")
    denom = np.maximum(a * (1 - a), BCE_EPSILON)
    return (g * (a - y) / denom / max(a.size, 1)).astype(a.dtype)


def _targets(logits, target, func):
    logits = float_array(logits, "logits", func, 2, "(N, classes)")
    check_elementwise(func, logits.itemsize, 4, logits=logits.shape)
    t = np.asarray(target)
    if t.dtype.kind not in "iu" or t.shape != logits.shape[:1]:
        raise TypeError(f"{func}: target must be integer class indices of shape "
                        f"({logits.shape[0]},), got dtype {t.dtype} shape {t.shape}")
    if t.size and (t.min() < 0 or t.max() >= logits.shape[1]):
        raise ValueError(f"{func}: target values must lie in [0, {logits.shape[1]}), got "
                         f"[{t.min()}, {t.max()}]")
    return logits, t


def cross_entropy(logits, target):
    """Softmax cross-entropy: -mean_n log_softmax(z_n)[target_n]; logits (N, classes).
    Example: logits [[0, 0]], target [1] -> ln 2."""
    logits, t = _targets(logits, target, "cross_entropy")
    return -_empty_mean(log_softmax(logits, 1)[np.arange(len(t)), t])


def cross_entropy_backward(grad_out, logits, target):
    """dC/dz = (softmax(z) - onehot(target)) / N: C3's A - Y with the mean's 1/N."""
    logits, t = _targets(logits, target, "cross_entropy_backward")
    g = _scalar_grad(grad_out, "cross_entropy_backward")
    return (g / max(len(t), 1) * (softmax(logits, 1) - one_hot(t, logits.shape[1],
                                                               logits.dtype)))


def one_hot(target, classes: int, dtype=np.float64) -> np.ndarray:
    """Integer labels (N,) -> (N, classes) rows of 0 with a 1 at the label, in `dtype`.
    Labels must lie in [0, classes) (torch: "Class values must be smaller than
    num_classes"). Example: one_hot([2, 0], 3) == [[0, 0, 1], [1, 0, 0]]."""
    t = np.asarray(target)
    if t.dtype.kind not in "iu" or t.ndim != 1:
        raise TypeError(f"one_hot: target must be a 1-D array of integer labels, got dtype "
                        f"{t.dtype} shape {t.shape}")
    if not _is_int(classes):
        raise TypeError(f"one_hot: classes must be an int, got {classes!r}")
    if classes < 1:
        raise ValueError(f"one_hot: classes must be >= 1, got {classes!r}")
    if t.size and (t.min() < 0 or t.max() >= classes):
        raise ValueError(f"one_hot: target values must lie in [0, {classes}), got "
                         f"[{t.min()}, {t.max()}] (shape {t.shape})")
    try:
        floating = np.dtype(dtype).kind == "f"
    except TypeError:
        floating = False
    if not floating:
        raise TypeError(f"one_hot: dtype must be a floating dtype, got {dtype!r}")
    check_elementwise("one_hot", np.dtype(dtype).itemsize, 1, out=(t.size, classes))
    out = np.zeros((t.size, classes), dtype=dtype)
    out[np.arange(t.size), t] = 1
    return out


def output_error_quadratic(a, y, z, activation_derivative):
    """C3: delta_L = (A - Y) * f'(Z), per sample (no 1/n), f' given as a function of z.
    Example with the identity activation: a = z = [2], y = [0] -> [2]."""
    a, y = _pair(a, y, "output_error_quadratic")
    if not callable(activation_derivative):
        raise TypeError(f"output_error_quadratic: activation_derivative must be a function "
                        f"of z, got {activation_derivative!r}")
    z = float_array(z, "z", "output_error_quadratic")
    if z.shape != a.shape:
        raise ValueError(f"output_error_quadratic: z.shape={z.shape} must equal "
                         f"a.shape={a.shape}")
    return (a - y) * activation_derivative(z)


def output_error_cross_entropy(a, y):
    """C3: delta_L = A - Y for sigmoid + binary CE and for softmax + CE (per sample; the
    mean-reduced losses above add the 1/n)."""
    a, y = _pair(a, y, "output_error_cross_entropy")
    return a - y
