"""Classic mistakes of the operators beyond the documents (transposed convolution,
adaptive pooling, layer / group norm, cross-entropy with ignore_index and label
smoothing), each a small function built from the reference with the op's signature,
listed in the operators' registry entries. verification/tests/test_mutants_extra.py
shows the operators' strategies reach a case where each one is wrong."""
from __future__ import annotations

import numpy as np

from cnnref import reference as ref
from cnnref.reference.pooling_adaptive import _apply_axes


def _per_axis(v, nd):
    return tuple(v) if isinstance(v, (tuple, list)) else (v,) * nd


def _transpose(x):
    return getattr(ref, f"conv_transpose{x.ndim - 2}d")


def _transpose_crop_at_end(x, w, b=None, **kw):
    """All 2p padding rows cropped from the end instead of p from each side."""
    nd = x.ndim - 2
    p = _per_axis(kw.pop("padding", 0), nd)
    if any(isinstance(pp, (tuple, list)) for pp in p):
        raise ValueError("symmetric padding only")
    full = _transpose(x)(x, w, b, padding=0, **kw)
    keep = tuple(slice(0, n - 2 * pp) for n, pp in zip(full.shape[2:], p))
    return full[(...,) + keep]


CONV_TRANSPOSE = {
    "output_padding forgotten (the output is short by it)":
        lambda x, w, b=None, **kw: _transpose(x)(x, w, b, **{**kw, "output_padding": 0}),
    "padding cropped at the end only (2p rows from the bottom, not p from each side)":
        _transpose_crop_at_end,
}
CONV_TRANSPOSE2D = CONV_TRANSPOSE


def _floor_bins_avg(x, output_size):
    """Adaptive bins [floor(i n / m), floor((i + 1) n / m)) (at least one pixel): the last
    pixels of a bin are dropped when m does not divide n."""
    size = _per_axis(output_size, x.ndim - 2)
    mats = []
    for n, m in zip(x.shape[2:], size):
        i = np.arange(m)
        start = (i * n) // m
        end = np.maximum((i + 1) * n // m, start + 1)
        inside = (np.arange(n) >= start[:, None]) & (np.arange(n) < end[:, None])
        mats.append(inside / (end - start)[:, None])
    return _apply_axes(x, mats)


def _floor_bins_max(x, output_size):
    """adaptive max pooling over the floor-only bins, one axis at a time."""
    size = _per_axis(output_size, x.ndim - 2)
    for axis, (n, m) in enumerate(zip(x.shape[2:], size), start=2):
        m = n if m is None else m
        i = np.arange(m)
        start, end = (i * n) // m, np.maximum((i + 1) * n // m, (i * n) // m + 1)
        x = np.stack([np.take(x, np.arange(a, b), axis).max(axis) for a, b in zip(start, end)],
                     axis)
    return x


FLOOR_BINS = "adaptive bins by floor only (end = floor((i + 1) n / m))"
ADAPTIVE_AVG_POOL2D = {FLOOR_BINS: _floor_bins_avg}
ADAPTIVE_AVG = ADAPTIVE_AVG_POOL2D
ADAPTIVE_MAX = {FLOOR_BINS: _floor_bins_max}


def _lp_mean(x, norm_type, kernel_size, stride=None, ceil_mode=False):
    """(mean of x^p)^(1/p): the window's sum without torch's kernel-size factor."""
    nd = x.ndim - 2
    if np.isinf(norm_type):
        raise ValueError("p = inf is a max either way")
    avg = getattr(ref, f"avg_pool{nd}d")(x ** norm_type, kernel_size, stride, 0, ceil_mode)
    return np.sign(avg) * np.abs(avg) ** (1.0 / norm_type)


LP_POOL = {"the p-th root of the window's mean of x^p (torch's is of the sum)": _lp_mean}


def _unfold_kernel_major(x, kernel_size, dilation=1, padding=0, stride=1):
    """Rows ordered (kernel tap, channel) instead of torch's (channel, kernel tap)."""
    cols = ref.unfold(x, kernel_size, dilation, padding, stride)
    n, rows, length = cols.shape
    c = x.shape[1]
    return cols.reshape(n, c, rows // c, length).transpose(0, 2, 1, 3).reshape(n, rows, length)


UNFOLD = {"rows ordered by kernel tap then channel (torch: channel, then tap)":
          _unfold_kernel_major}


def _layer_norm_last_axis(x, normalized_shape, weight=None, bias=None, eps=1e-5):
    shape = _per_axis(normalized_shape, 1)
    y = ref.layer_norm(x, shape[-1:], None, None, eps)
    y = y if weight is None else y * weight
    return y if bias is None else y + bias


LAYER_NORM = {"layer norm over the last axis only (not all of normalized_shape)":
              _layer_norm_last_axis}


def _smoothing_on_ignored(logits, target, weight=None, ignore_index=-100, reduction="mean",
                          label_smoothing=0.0):
    """The smoothing term e/C sum_c w_c (-log_softmax) added at ignored positions too."""
    kw = {"ignore_index": ignore_index, "reduction": "none"}
    base = ref.cross_entropy(logits, target, weight, **kw, label_smoothing=label_smoothing)
    c = logits.shape[1]
    w = np.ones(c) if weight is None else weight
    wshape = (1, c) + (1,) * (logits.ndim - 2)
    smooth = -(ref.log_softmax(logits, 1) * w.reshape(wshape)).sum(axis=1) * label_smoothing / c
    per = np.where(np.asarray(target) == ignore_index, smooth, base)
    if reduction == "none":
        return per
    kept = np.asarray(target) != ignore_index
    denom = np.where(kept, w[np.where(kept, target, 0)], 0).sum()
    with np.errstate(invalid="ignore", divide="ignore"):
        return per.sum() if reduction == "sum" else per.sum() / denom


CROSS_ENTROPY = {"label smoothing applied to ignored targets": _smoothing_on_ignored}


def _variance_unbiased(x, normalized_shape, weight=None, bias=None, eps=1e-5):
    axes = tuple(range(x.ndim - len(_per_axis(normalized_shape, 1)), x.ndim))
    n = int(np.prod([x.shape[a] for a in axes]))
    if n < 2:
        raise ValueError("one value: no n - 1")
    mean = x.mean(axis=axes, keepdims=True)
    y = (x - mean) / np.sqrt(x.var(axis=axes, keepdims=True, ddof=1) + eps)
    y = y if weight is None else y * weight
    return y if bias is None else y + bias


LAYER_NORM["unbiased variance (divided by n - 1, torch: by n)"] = _variance_unbiased

GROUP_NORM = {
    "statistics per channel (instance norm) instead of per group of channels":
        lambda x, g, w=None, b=None, eps=1e-5: ref.group_norm(x, x.shape[1], w, b, eps),
    "statistics over the whole sample (one group)":
        lambda x, g, w=None, b=None, eps=1e-5: ref.group_norm(x, 1, w, b, eps)}

INSTANCE_NORM = {"running statistics ignored (the input's used instead)":
                 lambda x, rm=None, rv=None, w=None, b=None, use_input_stats=True, **kw:
                 ref.instance_norm(x, None, None, w, b, True, **kw)}


def _mean_over_count(f):
    """'mean' as the sum over the number of targets (torch: over the sum of the kept
    targets' weights)."""
    def mutant(scores, target, weight=None, **kw):
        if kw.get("reduction", "mean") != "mean" or np.asarray(target).dtype.kind == "f":
            raise ValueError("a mean over class targets only")
        return f(scores, target, weight, **{**kw, "reduction": "sum"}) / np.asarray(target).size
    return mutant


MEAN_OVER_COUNT = "'mean' divided by the number of targets, not the sum of their weights"
NLL_LOSS = {MEAN_OVER_COUNT: _mean_over_count(ref.nll_loss)}
CROSS_ENTROPY[MEAN_OVER_COUNT] = _mean_over_count(ref.cross_entropy)
