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

from ._validate import _is_int, check_grad_out, float_array, real, same_dtype
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


REDUCTIONS = ("none", "mean", "sum")


def _class_targets(scores, target, weight, ignore_index, func):
    """Integer targets (N, *d) for scores (N, C, *d): the per-position weight w[t] (0 where
    t == ignore_index) and the clipped class index."""
    if not _is_int(ignore_index):
        raise TypeError(f"{func}: ignore_index must be an int, got {ignore_index!r}")
    t = np.asarray(target)
    c = scores.shape[1]
    if t.dtype.kind not in "iu" or t.shape != scores.shape[:1] + scores.shape[2:]:
        raise TypeError(f"{func}: target must be integer class indices of shape "
                        f"{scores.shape[:1] + scores.shape[2:]} (or probabilities of shape "
                        f"{scores.shape}), got dtype {t.dtype} shape {t.shape}")
    keep = t != ignore_index
    if keep.any() and (t[keep].min() < 0 or t[keep].max() >= c):
        raise ValueError(f"{func}: target values must lie in [0, {c}) or equal ignore_index="
                         f"{ignore_index}, got [{t[keep].min()}, {t[keep].max()}]")
    cls = np.where(keep, t, 0)
    w = np.ones(c, dtype=scores.dtype) if weight is None else weight
    return np.where(keep, w[cls], 0).astype(scores.dtype), cls, keep


def _loss_args(scores, target, weight, reduction, label_smoothing, func, name="logits"):
    scores = float_array(scores, name, func)
    if scores.ndim < 2 or min(scores.shape[1:]) == 0:
        raise ValueError(f"{func}: {name} must be (N, C) or (N, C, *d), only N may be 0 "
                         f"(as PyTorch), got shape {scores.shape}")
    check_elementwise(func, scores.itemsize, 4, **{name: scores.shape})
    if weight is not None:
        weight = float_array(weight, "weight", func, 1, "(C,)")
        if weight.shape != scores.shape[1:2]:
            raise ValueError(f"{func}: weight must have shape ({scores.shape[1]},), got "
                             f"{weight.shape}")
        same_dtype(func, **{name: scores, "weight": weight})
    if not isinstance(reduction, str) or reduction not in REDUCTIONS:
        raise ValueError(f"{func}: reduction must be one of {REDUCTIONS}, got {reduction!r}")
    if not 0.0 <= real(label_smoothing, "label_smoothing", func) <= 1.0:
        raise ValueError(f"{func}: label_smoothing must lie in [0, 1], got {label_smoothing!r}")
    return scores, weight


def _coefficients(scores, target, weight, ignore_index, label_smoothing, func):
    """q (N, C, *d) with loss_i = -sum_c q_ic * logp_ic, and the mean's denominator.

    Class indices: q_ic = (1 - e) w[t_i] [c == t_i] + (e / C) w_c, 0 where t_i is ignored;
    denominator sum of w[t_i] over the kept positions (torch's nll_loss and its label
    smoothing term both divide by it). Probabilities y: q_ic = w_c ((1 - e) y_ic + e / C);
    denominator N * prod(d) (torch ignores ignore_index there)."""
    c, e = scores.shape[1], float(label_smoothing)
    w = np.ones(c, dtype=scores.dtype) if weight is None else weight
    wshape = (1, c) + (1,) * (scores.ndim - 2)
    t = np.asarray(target)
    if t.dtype.kind == "f":
        if t.shape != scores.shape:
            raise TypeError(f"{func}: target must be integer class indices of shape "
                            f"{scores.shape[:1] + scores.shape[2:]} or probabilities of "
                            f"shape {scores.shape}, got dtype {t.dtype} shape {t.shape}")
        same_dtype(func, target=t, scores=scores)
        q = w.reshape(wshape) * ((1 - e) * t + e / c)
        return q, scores.size // c
    wt, cls, keep = _class_targets(scores, t, weight, ignore_index, func)
    onehot = np.moveaxis(np.eye(c, dtype=scores.dtype)[cls], -1, 1)
    q = (1 - e) * wt[:, None] * onehot + (e / c) * w.reshape(wshape) * keep[:, None]
    return q, wt.sum()


def _reduce(per_position, denominator, reduction):
    if reduction == "none":
        return per_position
    total = per_position.sum()
    with np.errstate(invalid="ignore", divide="ignore"):
        return total if reduction == "sum" else total / denominator


def _grad_scale(grad_out, shape, denominator, reduction, func, dtype):
    """The upstream gradient of each position: grad_out itself ('none', shape (N, *d)) or
    the scalar, divided by the mean's denominator."""
    if reduction == "none":
        return check_grad_out(grad_out, shape, func, dtype=dtype)
    g = _scalar_grad(grad_out, func)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.full(shape, g / (denominator if reduction == "mean" else 1), dtype=dtype)


def nll_loss(input, target, weight=None, ignore_index=-100, reduction="mean"):
    """Negative log likelihood, like torch.nn.functional.nll_loss: input (N, C, *d) of
    log-probabilities, target (N, *d) class indices; loss_i = -w[t_i] input[i, t_i], 0 for
    t_i == ignore_index; 'mean' divides the sum by sum_i w[t_i] over the kept positions
    (NaN when every target is ignored, as torch). Example: [[-1, -2]], target [1] -> 2."""
    func = "nll_loss"
    input, weight = _loss_args(input, target, weight, reduction, 0.0, func, "input")
    wt, cls, _ = _class_targets(input, target, weight, ignore_index, func)
    picked = np.take_along_axis(input, cls[:, None], 1)[:, 0]
    return _reduce(-wt * picked, wt.sum(), reduction)


def nll_loss_backward(grad_out, input, target, weight=None, ignore_index=-100,
                      reduction="mean"):
    """d/d input[i, c] = -w[t_i] [c == t_i] * g_i (g_i = grad_out / denominator for 'mean')."""
    func = "nll_loss_backward"
    input, weight = _loss_args(input, target, weight, reduction, 0.0, func, "input")
    wt, cls, _ = _class_targets(input, target, weight, ignore_index, func)
    g = _grad_scale(grad_out, wt.shape, wt.sum(), reduction, func, input.dtype)
    out = np.zeros_like(input)
    # an ignored position gets 0 even where g is inf (every target ignored: 'mean' / 0)
    with np.errstate(invalid="ignore"):
        np.put_along_axis(out, cls[:, None], np.where(wt != 0, -wt * g, 0)[:, None], 1)
    return out


def cross_entropy(logits, target, weight=None, ignore_index=-100, reduction="mean",
                  label_smoothing=0.0):
    """Softmax cross-entropy, like torch.nn.functional.cross_entropy: logits (N, C, *d),
    target class indices (N, *d) or probabilities (N, C, *d).
    loss_i = -sum_c q_ic log_softmax(z_i)_c with q from the target, the class weights and
    label smoothing e (see _coefficients); reductions as nll_loss. With the defaults it is
    -mean_n log_softmax(z_n)[target_n] (C2). Example: logits [[0, 0]], target [1] -> ln 2."""
    func = "cross_entropy"
    logits, weight = _loss_args(logits, target, weight, reduction, label_smoothing, func)
    q, denom = _coefficients(logits, target, weight, ignore_index, label_smoothing, func)
    return _reduce(-(q * log_softmax(logits, 1)).sum(axis=1), denom, reduction)


def cross_entropy_backward(grad_out, logits, target, weight=None, ignore_index=-100,
                           reduction="mean", label_smoothing=0.0):
    """dC/dz_ij = g_i (softmax(z_i)_j sum_c q_ic - q_ij): C3's A - Y (q = onehot(target)
    and g = 1/N with the defaults), weighted, smoothed and reduced."""
    func = "cross_entropy_backward"
    logits, weight = _loss_args(logits, target, weight, reduction, label_smoothing, func)
    q, denom = _coefficients(logits, target, weight, ignore_index, label_smoothing, func)
    shape = logits.shape[:1] + logits.shape[2:]
    g = _grad_scale(grad_out, shape, denom, reduction, func, logits.dtype)[:, None]
    coeff = softmax(logits, 1) * q.sum(axis=1, keepdims=True) - q
    # an ignored position (q = 0) gets 0 even where g is inf (every target ignored)
    with np.errstate(invalid="ignore"):
        out = np.where(np.any(q != 0, axis=1, keepdims=True), g * coeff, 0)
    return out.astype(logits.dtype)


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
