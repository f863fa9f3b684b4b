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


def _transpose_crop_at_end(x, w, b=None, **kw):
    """All 2p padding rows cropped from the end instead of p from each side."""
    nd = x.ndim - 2
    p = _per_axis(kw.pop("padding", 0), nd)
    full = ref.conv_transpose2d(x, w, b, padding=0, **kw)
    keep = tuple(slice(0, n - 2 * pp) for n, pp in zip(full.shape[2:], p))
    return full[(...,) + keep]


CONV_TRANSPOSE2D = {
    "output_padding forgotten (the output is short by it)":
        lambda x, w, b=None, **kw: ref.conv_transpose2d(x, w, b, **{**kw, "output_padding": 0}),
    "padding cropped at the end only (2p rows from the bottom, not p from each side)":
        _transpose_crop_at_end,
}


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


ADAPTIVE_AVG_POOL2D = {"adaptive bins by floor only (end = floor((i + 1) n / m))":
                       _floor_bins_avg}


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
