"""Classic pooling mistakes (FORMULAS C12, C13) for the diagnosis of `cnnref check`, each a
small function built from the reference's own geometry (see verification/mutants/conv.py).

A mutant takes the op's arguments ((grad_out,) x, kernel_size, **kwargs; float64) and
returns an array or {output name: array}; it raises when it does not apply.
"""
from __future__ import annotations

import numpy as np

from cnnref import reference as ref
from cnnref.reference.pooling import _crop, _windows, pool_geometry
from cnnref.reference.windows import fold
from cnnref.verification.mutants.conv import DROP_LAST, drop_last_sample


def _geo(x, k, kw, func="mutant"):
    names = ("stride", "padding", "dilation", "ceil_mode")
    defaults = (None, 0, 1, False)
    return pool_geometry(x, k, *(kw.get(n, d) for n, d in zip(names, defaults)), func)[1]


def _route(g, x, k, kw, pick, fill=-np.inf, overwrite=None):
    """grad_x of max pooling with the window-local argmax chosen by `pick(windows)`.
    overwrite: None adds overlapping windows' gradients (correct); 'block' assigns each
    window's whole block (zeros included), 'pixel' assigns the argmax pixel, so the last
    window in row-major order wins a shared pixel."""
    geo = _geo(x, k, kw)
    win = _windows(x, geo, fill)
    idx = pick(win)
    taps = geo.kernel[0] * geo.kernel[1]
    onehot = np.zeros(idx.shape + (taps,))
    np.put_along_axis(onehot, idx[..., None], g[..., None], -1)
    onehot = onehot.reshape(idx.shape + geo.kernel)
    if overwrite is None:
        return _crop(fold(onehot, geo.padded_hw, geo.stride, geo.dilation), geo)
    return _crop(_overwrite(onehot, geo, overwrite == "pixel"), geo)


def _overwrite(blocks, geo, pixel_only: bool):
    """Scatter (N, C, Ho, Wo, kH, kW) blocks with `=` in row-major window order."""
    out = np.zeros(blocks.shape[:2] + geo.padded_hw)
    (sh, sw), (dh, dw) = geo.stride, geo.dilation
    rows, cols = np.arange(geo.kernel[0]) * dh, np.arange(geo.kernel[1]) * dw
    for i in range(geo.out[0]):
        for j in range(geo.out[1]):
            r, c = (i * sh + rows)[:, None], (j * sw + cols)[None, :]
            block = blocks[:, :, i, j]
            if pixel_only:
                hit = block != 0
                view = out[:, :, r, c]
                view[hit] = block[hit]
                out[:, :, r, c] = view
            else:
                out[:, :, r, c] = block
    return out


def _split_ties(g, x, k, kw):
    """grad_x of max pooling with each window's gradient shared equally by its tied maxima
    (TensorFlow-style and some autodiff systems' rule for max)."""
    geo = _geo(x, k, kw)
    win = _windows(x, geo, -np.inf)
    with np.errstate(invalid="ignore"):
        hit = win == np.max(win, axis=-1, keepdims=True)
        share = hit / np.maximum(hit.sum(axis=-1, keepdims=True), 1)
    blocks = (share * g[..., None]).reshape(share.shape[:-1] + geo.kernel)
    return _crop(fold(blocks, geo.padded_hw, geo.stride, geo.dilation), geo)


def _ties_all(g, x, k, kw):
    """grad_x of max pooling by the mask `(window == max) * dout`: every tied maximum of
    a window receives the window's whole gradient (the mask is right only without ties)."""
    geo = _geo(x, k, kw)
    win = _windows(x, geo, -np.inf)
    with np.errstate(invalid="ignore"):
        hit = win == np.max(win, axis=-1, keepdims=True)
    if not np.any(hit.sum(axis=-1) > 1):
        raise ValueError("no ties: the mask is right here")
    blocks = (hit * g[..., None]).reshape(hit.shape[:-1] + geo.kernel)
    return _crop(fold(blocks, geo.padded_hw, geo.stride, geo.dilation), geo)


def _no_offset(g, x, k, kw):
    """grad_x scattered at the padded frame's coordinates without taking the padding off:
    the top-left (H, W) corner of the padded gradient instead of its interior."""
    geo = _geo(x, k, kw)
    (t, _), (l, _) = geo.pads
    if t == 0 and l == 0:
        raise ValueError("no padding before: no offset to ignore")
    grad = ref.max_pool2d_backward(g, np.asarray(x, dtype=np.float64), k, **kw)
    padded = np.zeros(x.shape[:2] + geo.padded_hw)
    padded[..., t:t + geo.hw[0], l:l + geo.hw[1]] = grad
    return padded[..., :geo.hw[0], :geo.hw[1]]


def has_ties(x, k, kw) -> bool:
    """Does some window hold its (finite) maximum more than once, where the gradient's
    first-maximum rule matters?"""
    win = _windows(np.asarray(x, dtype=np.float64), _geo(x, k, kw), -np.inf)
    with np.errstate(invalid="ignore"):
        top = np.max(win, axis=-1, keepdims=True)
        return bool(np.any((np.sum(win == top, axis=-1) > 1) & np.isfinite(top[..., 0])))


def _first(win):
    return np.argmax(win, axis=-1)


def _last(win):
    return win.shape[-1] - 1 - np.argmax(win[..., ::-1], axis=-1)


def _no_nan(win):
    return np.argmax(np.where(np.isnan(win), -np.inf, win), axis=-1)


def _scan_ge(win):
    """The survivor of a row-major scan that keeps the current tap while `current >= next`
    (XLA's select_and_scatter for a max-pool gradient): ties keep the first, and a NaN,
    for which every comparison is false, is passed over unless it is the window's last
    tap. x = [1, nan, 3, 2] -> 1 gives way to nan, nan gives way to 3, 3 keeps: index 2."""
    idx = np.zeros(win.shape[:-1], dtype=np.intp)
    cur = win[..., 0]
    for t in range(1, win.shape[-1]):
        with np.errstate(invalid="ignore"):
            take = ~(cur >= win[..., t])
        idx = np.where(take, t, idx)
        cur = np.where(take, win[..., t], cur)
    return idx


def _scan_forward(x, k, kw, start):
    """Max pooling as a scan that takes a tap when `tap > max` (never a NaN), padding
    skipped. start None: the max starts at the window's first input tap (so a NaN there
    stays: ONNX Runtime's MaxPool); a number: the max starts there (the lowest finite
    value: a window of -inf or NaN gives that number, not -inf or NaN)."""
    geo = _geo(x, k, kw)
    win = _windows(x, geo, -np.inf)
    valid = _windows(np.ones_like(x), geo, 0.0) > 0
    cur = np.full(win.shape[:-1], -np.inf if start is None else start)
    started = np.zeros(win.shape[:-1], dtype=bool) | (start is not None)
    for t in range(win.shape[-1]):
        v, ok = win[..., t], valid[..., t]
        with np.errstate(invalid="ignore"):
            take = ok & (~started | (v > cur))
        cur, started = np.where(take, v, cur), started | ok
    return cur


def zero_pad_forward(x, k, kw):
    geo = _geo(x, k, kw)
    return _windows(x, geo, 0.0).max(axis=-1)


def no_drop(x, k, kw, always_ceil=False):
    """ceil_mode without PyTorch's rule that drops a last window starting in the right
    padding: that window holds padding only, so its maximum is -inf."""
    if not (kw.get("ceil_mode") or always_ceil):
        raise ValueError("floor mode")
    out = ref.max_pool2d(x, k, **{**kw, "ceil_mode": True})
    geo = _geo(x, k, {**kw, "ceil_mode": True})
    extra = []
    for size, s, (pb, pa), kk, d, o in zip(geo.hw, geo.stride, geo.pads, geo.kernel,
                                           geo.dilation, geo.out):
        naive = -(-(size + pb + pa - d * (kk - 1) - 1) // s) + 1
        extra.append(naive - o)
    if not any(extra):
        raise ValueError("no window dropped")
    return np.pad(out, ((0, 0), (0, 0), (0, extra[0]), (0, extra[1])),
                  constant_values=-np.inf)


def _nan_ignored_forward(x, k, kw):
    if not np.isnan(x).any():
        raise ValueError("no NaN")
    return ref.max_pool2d(np.where(np.isnan(x), -np.inf, x), k, **kw)


def _with(fn, **changes):
    return lambda *a, **kw: fn(*a, **{**kw, **changes})


LOWEST = "(a window of -inf or NaN gives that value; torch: -inf or NaN)"
TIES_SPLIT = "ties split evenly (the gradient shared by tied maxima; torch: all to the first)"
TIES_LAST = "max-pool ties go to the last maximum (torch: the first in row-major order)"
ZERO_PAD = "max pooling padded with 0 instead of -inf (padding must never win)"
TIES_ALL = "gradient sent to every tied maximum (the mask `(x == max) * dout`; torch: " \
    "only the first maximum in row-major order)"
NO_OFFSET = "backward ignores the padding offset (the gradient is written at padded " \
    "coordinates: shifted up-left by the padding)"
OVERWRITE = "overwrite instead of accumulate (overlapping windows must add)"
FLOOR = "ceil_mode ignored (always floor)"
CEIL = "ceil_mode always on (ceil even when ceil_mode=False)"
NO_DROP = "ceil_mode without the drop rule (a last window starting in the right padding " \
          "must be dropped)"

MAX_POOL2D = {
    ZERO_PAD: lambda x, k, **kw: zero_pad_forward(x, k, kw),
    FLOOR: _with(ref.max_pool2d, ceil_mode=False),
    CEIL: _with(ref.max_pool2d, ceil_mode=True),
    NO_DROP: lambda x, k, **kw: no_drop(x, k, kw),
    DROP_LAST: lambda x, k, **kw: drop_last_sample(ref.max_pool2d(x, k, **kw)),
    NO_DROP + ", and always on": lambda x, k, **kw: no_drop(x, k, kw, True),
    "NaN ignored (torch: a NaN in the window is the maximum)":
        lambda x, k, **kw: _nan_ignored_forward(x, k, kw),
    "NaN skipped unless first (a 'tap > max' scan from the window's first tap: a NaN "
    "wins only as the first; torch: a NaN anywhere in the window is the maximum)":
        lambda x, k, **kw: _scan_forward(x, k, kw, None),
    "max starts at the dtype's lowest finite value, never takes a NaN " + LOWEST:
        lambda x, k, **kw: _scan_forward(x, k, kw, float(np.finfo(np.asarray(x).dtype).min)),
    "max starts at float32's lowest finite value (-3.4e38, in float64 too), never takes "
    "a NaN " + LOWEST: lambda x, k, **kw: _scan_forward(x, k, kw,
                                                       float(np.finfo(np.float32).min)),
}

MAX_POOL2D_BACKWARD = {
    TIES_LAST: lambda g, x, k, **kw: _route(g, x, k, kw, _last),
    TIES_SPLIT: lambda g, x, k, **kw: _split_ties(g, x, k, kw),
    # a backward that recomputes the argmax on its own padded copy of the input: right
    # when the forward is, unless that copy is padded with 0 while the forward's is -inf
    "max pooling padded with 0 instead of -inf in the backward's argmax (recomputed "
    "there, differently from the forward; padding must never win): the gradient of a "
    "window whose maximum is padding is lost":
        lambda g, x, k, **kw: _route(g, x, k, kw, _first, fill=0.0),
    OVERWRITE + "; each window's block assigned, the last window wins":
        lambda g, x, k, **kw: _route(g, x, k, kw, _first, overwrite="block"),
    OVERWRITE + "; the maximum's pixel assigned, the last window wins":
        lambda g, x, k, **kw: _route(g, x, k, kw, _first, overwrite="pixel"),
    "NaN ignored (torch: the gradient goes to the NaN)":
        lambda g, x, k, **kw: _route(g, x, k, kw, _no_nan),
    TIES_ALL: lambda g, x, k, **kw: _ties_all(g, x, k, kw),
    NO_OFFSET: lambda g, x, k, **kw: _no_offset(g, x, k, kw),
    DROP_LAST: lambda g, x, k, **kw: drop_last_sample(ref.max_pool2d_backward(g, x, k, **kw)),
    "NaN passed over by a >= scan (the gradient goes to a NaN only when it is its "
    "window's last tap: XLA's select_and_scatter; torch: always to the NaN)":
        lambda g, x, k, **kw: _route(g, x, k, kw, _scan_ge),
}


def _k2(k):
    kh, kw_ = (k, k) if np.ndim(k) == 0 else k
    return kh * kw_


def _avg_divisor(mode):
    """The divisor always k*k, or always the count of input pixels in the window."""
    def forward(x, k, **kw):
        if kw.get("divisor_override") is not None:
            raise ValueError("override")
        if mode == "kk":
            return ref.avg_pool2d(x, k, **{**kw, "divisor_override": _k2(k)})
        return ref.avg_pool2d(x, k, **{**kw, "count_include_pad": False})

    def backward(g, x, k, **kw):
        if kw.get("divisor_override") is not None:
            raise ValueError("override")
        if mode == "kk":
            return ref.avg_pool2d_backward(g, x, k, **{**kw, "divisor_override": _k2(k)})
        return ref.avg_pool2d_backward(g, x, k, **{**kw, "count_include_pad": False})
    return forward, backward


def _avg_overwrite(g, x, k, **kw):
    geo = _geo(x, k, kw)
    div = _divisors(x, k, kw)
    if not np.all(div > 0):
        raise ValueError("empty window")
    blocks = np.broadcast_to((g / div)[..., None, None], g.shape + geo.kernel)
    return _crop(_overwrite(blocks, geo, False), geo)


def _divisors(x, k, kw):
    """(Ho, Wo) divisors, read off the reference: avg_pool of ones * divisor = count."""
    from cnnref.reference.pooling import _divisor
    geo = _geo(x, k, kw)
    return _divisor(geo, kw.get("count_include_pad", True), kw.get("divisor_override"), "m")


_KK = "divisor always k*k (count_include_pad=False and the ceil_mode overhang ignored)"
_CLIPPED = "divisor always the count of input pixels (count_include_pad=True ignored)"
_kk_f, _kk_b = _avg_divisor("kk")
_cl_f, _cl_b = _avg_divisor("clipped")

def _rescaled(backward: bool):
    """divisor_override as a rescaling of the ordinary mean: mean * k*k / divisor. Equal
    to sum / divisor only where the mean divides by k*k; count_include_pad=False or a
    ceil_mode overhang then scale by k*k / count (PaddlePaddle)."""
    def mutant(*a, **kw):
        d = kw.get("divisor_override")
        if d is None:
            raise ValueError("no divisor_override")
        scale = _k2(a[-1]) / d
        plain = {**kw, "divisor_override": None}
        if backward:
            g, x, k = a
            return ref.avg_pool2d_backward(g * scale, x, k, **plain)
        x, k = a
        return ref.avg_pool2d(x, k, **plain) * scale
    return mutant


RESCALED = "divisor_override as mean * k*k / divisor_override (differs from sum / " \
           "divisor_override where the mean's own divisor is not k*k)"

AVG_POOL2D = {
    RESCALED: _rescaled(False),
    _KK: _kk_f,
    _CLIPPED: _cl_f,
    "divisor_override ignored": _with(ref.avg_pool2d, divisor_override=None),
    FLOOR: _with(ref.avg_pool2d, ceil_mode=False),
    CEIL: _with(ref.avg_pool2d, ceil_mode=True),
}

AVG_POOL2D_BACKWARD = {
    RESCALED: _rescaled(True),
    _KK: _kk_b,
    _CLIPPED: _cl_b,
    "divisor_override ignored": _with(ref.avg_pool2d_backward, divisor_override=None),
    OVERWRITE + "; each window's block assigned, the last window wins": _avg_overwrite,
}

