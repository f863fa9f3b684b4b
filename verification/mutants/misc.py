"""Classic mistakes in batch norm (C15), the activations (C6), softmax, the cross-entropy
(C2, C3) and the dense layer (C1, C4), for the diagnosis of `cnnref check` (see
verification/mutants/conv.py). Each takes the op's arguments (float64; class targets stay
integer) and returns an array or {output name: array}; it raises when it does not apply.
"""
from __future__ import annotations

import numpy as np

from cnnref import reference as ref


# --- batch norm ---------------------------------------------------------------------------

def _batch_stats(x, unbiased=False):
    axes = (0,) + tuple(range(2, x.ndim))
    m = x.size // x.shape[1]
    return x.mean(axis=axes), x.var(axis=axes) * (m / (m - 1) if unbiased else 1)


def _need(kw, training: bool):
    if bool(kw.get("training", False)) != training:
        raise ValueError("other mode")


def _unbiased(x, rm, rv, w=None, b=None, **kw):
    _need(kw, True)
    mu, var = _batch_stats(x, unbiased=True)
    return ref.batch_norm(x, mu, var, w, b, **{**kw, "training": False})


def _eval_batch(x, rm, rv, w=None, b=None, **kw):
    _need(kw, False)
    return ref.batch_norm(x, rm, rv, w, b, **{**kw, "training": True})


def _train_running(x, rm, rv, w=None, b=None, **kw):
    _need(kw, True)
    return ref.batch_norm(x, rm, rv, w, b, **{**kw, "training": False})


def _eps_outside(x, rm, rv, w=None, b=None, **kw):
    mu, var = _batch_stats(x) if kw.get("training") else (rm, rv)
    shape = (1, -1) + (1,) * (x.ndim - 2)
    y = (x - mu.reshape(shape)) / (np.sqrt(var.reshape(shape)) + kw.get("eps", 1e-5))
    y = y if w is None else y * w.reshape(shape)
    return y if b is None else y + b.reshape(shape)


def _one_pass_variance(x, rm, rv, w=None, b=None, **kw):
    """var = mean(x^2) - mean(x)^2: one pass, but it cancels catastrophically when the
    mean is large against the spread (1e8 + [0, 1, 2, 3]: off by ~0.3)."""
    _need(kw, True)
    axes = (0,) + tuple(range(2, x.ndim))
    mu = x.mean(axis=axes)
    var = np.maximum((x * x).mean(axis=axes) - mu * mu, 0.0)
    return ref.batch_norm(x, mu, var, w, b, **{**kw, "training": False})


def _stats_mutant(biased=False, swapped=False):
    def mutant(x, rm, rv, w=None, b=None, **kw):
        _need(kw, True)
        m = kw.get("momentum", 0.1)
        m = 1 - m if swapped else m
        mu, var = _batch_stats(x, unbiased=not biased)
        return {"running_mean": (1 - m) * rm + m * mu, "running_var": (1 - m) * rv + m * var}
    return mutant


def _bn_backward_constant_stats(g, x, rm, rv, w=None, b=None, **kw):
    """Training-mode grad_x with mu and sigma^2 treated as constants: g gamma / s."""
    _need(kw, True)
    mu, var = _batch_stats(x)
    out = ref.batch_norm_backward(g, x, mu, var, w, b, **{**kw, "training": False})
    return {"grad_x": out[0]}


def _bn_backward_eval_batch(g, x, rm, rv, w=None, b=None, **kw):
    """Evaluation-mode formulas (g gamma / s) fed with the batch statistics."""
    _need(kw, False)
    mu, var = _batch_stats(x)
    gx, gw, gb = ref.batch_norm_backward(g, x, mu, var, w, b, **kw)
    return {"grad_x": gx, "grad_weight": gw, "grad_bias": gb}


def _bn_backward_eval_as_training(g, x, rm, rv, w=None, b=None, **kw):
    _need(kw, False)
    gx, gw, gb = ref.batch_norm_backward(g, x, rm, rv, w, b, **{**kw, "training": True})
    return {"grad_x": gx, "grad_weight": gw, "grad_bias": gb}


def _bn_backward_unbiased(g, x, rm, rv, w=None, b=None, **kw):
    """The training-mode gradient of y normalised with the unbiased variance."""
    _need(kw, True)
    axes = (0,) + tuple(range(2, x.ndim))
    shape = (1, -1) + (1,) * (x.ndim - 2)
    mu, var = (v.reshape(shape) for v in _batch_stats(x, unbiased=True))
    s = np.sqrt(var + kw.get("eps", 1e-5))
    xh = (x - mu) / s
    gamma = 1 if w is None else w.reshape(shape)
    gx = gamma / s * (g - g.mean(axis=axes, keepdims=True)
                      - xh * (g * xh).mean(axis=axes, keepdims=True))
    return {"grad_x": gx, "grad_weight": None if w is None else (g * xh).sum(axis=axes)}


BATCH_NORM = {
    "unbiased variance used for normalising (torch normalises with the biased one, "
    "M not M - 1)": _unbiased,
    "evaluation mode uses the batch statistics (must use running_mean / running_var)":
        _eval_batch,
    "training mode uses the running statistics (must use the batch's)": _train_running,
    "eps added outside the square root (sqrt(var) + eps)": _eps_outside,
    "variance as mean(x^2) - mean^2 (catastrophic cancellation on a large offset)":
        _one_pass_variance,
    "running_var updated with the biased variance (torch: unbiased, M / (M - 1))":
        _stats_mutant(biased=True),
    "momentum reversed (running = momentum * old + (1 - momentum) * batch)":
        _stats_mutant(swapped=True),
}

BATCH_NORM_BACKWARD = {
    "mean terms missing (mu and sigma^2 treated as constants: grad_x = g gamma / s)":
        _bn_backward_constant_stats,
    "evaluation mode uses the batch statistics (must use running_mean / running_var)":
        _bn_backward_eval_batch,
    "evaluation mode differentiated as training mode (batch statistics, mean terms)":
        _bn_backward_eval_as_training,
    "unbiased variance used for normalising (torch normalises with the biased one, "
    "M not M - 1)": _bn_backward_unbiased,
}


# --- activations ----------------------------------------------------------------------------

def _at_zero(slope):
    def mutant(g, x, negative_slope=0.01):
        if not np.any(x == 0):
            raise ValueError("no zero")
        return np.where(x >= 0, g, g * (slope if slope is not None else negative_slope))
    return mutant


def _softmax_naive(x, dim):
    with np.errstate(over="ignore", invalid="ignore"):
        e = np.exp(x)
        return e / e.sum(axis=dim, keepdims=True)


def _log_softmax_naive(x, dim):
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        return x - np.log(np.exp(x).sum(axis=dim, keepdims=True))


def _log_of_softmax(x, dim):
    with np.errstate(divide="ignore"):
        return np.log(ref.softmax(x, dim))


def _softmax_backward_naive(g, x, dim):
    s = _softmax_naive(x, dim)
    with np.errstate(invalid="ignore"):
        return s * (g - (g * s).sum(axis=dim, keepdims=True))


def _clipped(x, dim):
    """x - max(x) clipped below at -64, as PaddlePaddle's CPU softmax kernel does."""
    return np.maximum(x - x.max(axis=dim, keepdims=True), -64.0)


CLIP64 = "x - max clipped at -64 (log-probabilities stop at -64; softmax at e^-64, not 0)"
NO_MAX = "no max subtraction (exp overflows on large logits: inf / inf = NaN)"
LEAKY_MAX = "leaky ReLU as max(x, negative_slope * x) (torch's x if x > 0 else " \
            "negative_slope * x: the two differ where negative_slope > 1)"
ACTIVATIONS = {
    "relu_backward": {"derivative 1 at x = 0 (torch: 0)": _at_zero(0.0)},
    "leaky_relu_backward": {
        "derivative 1 at x = 0 (torch: negative_slope)": _at_zero(None),
        "negative_slope ignored (0.01 always)": lambda g, x, negative_slope=0.01:
            ref.leaky_relu_backward(g, x),
        LEAKY_MAX: lambda g, x, negative_slope=0.01:
            g * np.where(negative_slope * x > x, negative_slope, 1.0)},
    "leaky_relu": {"negative_slope ignored (0.01 always)": lambda x, negative_slope=0.01:
                   ref.leaky_relu(x),
                   LEAKY_MAX: lambda x, negative_slope=0.01: np.maximum(x, negative_slope * x)},
    "sigmoid_backward": {
        "derivative from x instead of f(x): x (1 - x) (C6 writes f' = f (1 - f))":
            lambda g, x: g * x * (1 - x),
        "derivative missing (grad_out passed through)": lambda g, x: g},
    "tanh_backward": {
        "derivative from x instead of f(x): 1 - x^2 (C6 writes f' = 1 - f^2)":
            lambda g, x: g * (1 - x * x),
        "derivative missing (grad_out passed through)": lambda g, x: g},
    "softmax": {NO_MAX: _softmax_naive,
                CLIP64: lambda x, dim: ref.softmax(_clipped(x, dim), dim),
                "dim ignored (always the last axis)": lambda x, dim: ref.softmax(x, -1)},
    "log_softmax": {NO_MAX: _log_softmax_naive,
                    CLIP64: lambda x, dim: ref.log_softmax(_clipped(x, dim), dim),
                    "log of softmax (underflows to -inf; use x - max - log sum exp)":
                        _log_of_softmax,
                    "dim ignored (always the last axis)":
                        lambda x, dim: ref.log_softmax(x, -1)},
    "softmax_backward": {
        NO_MAX: lambda g, x, dim: _softmax_backward_naive(g, x, dim),
        "diagonal of the Jacobian only (g s (1 - s); softmax couples the outputs)":
            lambda g, x, dim: g * ref.softmax(x, dim) * (1 - ref.softmax(x, dim))},
    "log_softmax_backward": {
        "diagonal of the Jacobian only (g (1 - s))":
            lambda g, x, dim: g * (1 - ref.softmax(x, dim))},
}


# --- losses and dense ---------------------------------------------------------------------

def _ce_naive(logits, target):
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        return -_log_softmax_naive(logits, 1)[np.arange(len(target)), target].mean()


def _ce_backward_naive(g, z, t):
    s = _softmax_naive(z, 1)
    s[np.arange(len(t)), t] -= 1
    return float(g) / len(t) * s


def _documents_call(mistake):
    """A mistake of the documents' C2 call, (N, C) logits, class targets, the defaults;
    any other call raises (the diagnosis passes over a mutant that does not apply)."""
    def mutant(*args, **kwargs):
        *head, z, t = args[:-1] if len(args) > 2 and args[-1] is None else args
        t_ = np.asarray(t)
        if kwargs or t_.ndim != 1 or t_.dtype.kind == "f" or (t_ < 0).any():
            raise ValueError("the documents' call only")
        return mistake(*head, z, t)
    return mutant


def _summed(f):
    """'mean' replaced by 'sum' (weights, ignored targets and smoothing as given)."""
    def mutant(*args, **kwargs):
        if kwargs.get("reduction", "mean") != "mean":
            raise ValueError("a mean only")
        return f(*args, **{**kwargs, "reduction": "sum"})
    return mutant


LOSSES = {
    "cross_entropy": {
        "summed over the batch instead of the mean": _summed(ref.cross_entropy),
        NO_MAX: _documents_call(_ce_naive),
        CLIP64: _documents_call(lambda z, t: ref.cross_entropy(_clipped(z, 1), t))},
    "cross_entropy_backward": {
        NO_MAX: _documents_call(_ce_backward_naive),
        "not divided by N (the loss is the mean over the batch)":
            _summed(ref.cross_entropy_backward),
        "grad_out ignored (the upstream gradient must scale the result)":
            lambda g, *rest, **kw: ref.cross_entropy_backward(np.ones_like(g), *rest, **kw)},
    "dense": {"bias ignored": lambda x, w, b=None: ref.dense(x, w, None),
              "weight not transposed (x W instead of x W^T)": lambda x, w, b=None:
                  ref.dense(x, w.T, b)},
    "dense_backward": {
        "grad_weight transposed ((in, out) instead of weight's (out, in))":
            lambda g, x, w, b=None: {"grad_weight": (g.T @ x).T},
        "grad_bias averaged over the batch instead of summed": lambda g, x, w, b=None:
            {"grad_bias": None if b is None else g.mean(axis=0)},
        "grad_x with the weight transposed (g W^T)": lambda g, x, w, b=None:
            {"grad_x": g @ w.T}},
}
