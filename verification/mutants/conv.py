"""Classic mistakes, each a small function built from the reference, for the diagnosis of
`cnnref check`: when a user's wrong output matches what a mutant computes, the mutant's
description is the likely bug.

A mutant takes the op's arguments (float64 arrays, the reference's signature) and returns
{output name: array}; it may raise when it does not apply (e.g. a transposed square
kernel on a non-square one). `FLOAT32` mutants are matched with the float32 bound.
"""
from __future__ import annotations

import numpy as np

from cnnref import reference as ref
from cnnref.reference.conv_args import conv_geometry
from cnnref.reference.windows import pad2d

FLOAT32 = "precision lost to float32 (float64 inputs computed in float32)"


def _swap(p):
    return (p[1], p[0]) if isinstance(p, (tuple, list)) else p


def _geo(x, w, kw):
    return conv_geometry(x, w, None, kw.get("stride", 1), kw.get("padding", 0),
                         kw.get("dilation", 1), kw.get("groups", 1))[3]


def _f32(a):
    return None if a is None else a.astype(np.float32)


def drop_last_sample(out):
    """The result of a per-sample loop `for n in range(N - 1)`: the last sample (the only
    one when N = 1) left at 0."""
    out = np.array(out, dtype=np.float64)
    out[-1] = 0.0
    return out


WIDTH_PADDING = "padding computed from one axis only (the width's padding used for the " \
    "height too)"
NO_OFFSET = "backward ignores the padding offset (grad_x cut from the padded gradient's " \
    "top-left corner instead of its interior)"
SQUARE_ONLY = "conv backward for square kernels only (taps looped over k x k with k = " \
    "the kernel's height: a wider kernel's extra columns get no gradient)"
DROP_LAST = "per-sample loop drops the last sample (`for n in range(N - 1)`)"


# --- conv2d forward -----------------------------------------------------------------------

def _ceil_size_conv(x, w, b, kw):
    """Output size rounded up: the last, partial window reads zeros past the edge."""
    geo = _geo(x, w, kw)
    (pt, pb), (pl, pr) = geo.pads
    extra = []
    for size, p0, p1, k, d, s in zip(geo.hw, (pt, pl), (pb, pr), geo.kernel, geo.dilation,
                                     geo.stride):
        rem = (size + p0 + p1 - d * (k - 1) - 1) % s
        extra.append((s - rem) % s)
    if not any(extra):
        raise ValueError("no remainder")
    args = {k: v for k, v in kw.items() if k != "padding"}
    return ref.conv2d(x, w, b, padding=((pt, pb + extra[0]), (pl, pr + extra[1])), **args)


def _one_side(x, w, b, kw, before: bool):
    (pt, pb), (pl, pr) = _geo(x, w, kw).pads
    pads = ((pt, 0), (pl, 0)) if before else ((0, pb), (0, pr))
    return ref.conv2d(x, w, b, **{**kw, "padding": pads})


def _width_padding(x, w, b, kw):
    """The padding computed for the width and used for the height too (a 'same' padding
    from kW alone, a pair's second entry for both axes): wrong shape on non-square kernels."""
    geo = _geo(x, w, kw)
    if geo.pads[0] == geo.pads[1]:
        raise ValueError("both axes padded alike: nothing to confuse")
    return ref.conv2d(x, w, b, **{**kw, "padding": (geo.pads[1], geo.pads[1])})


def _first_group_only(x, w, b, kw):
    """groups ignored: every filter reads the first C // groups input channels."""
    groups = kw.get("groups", 1)
    if groups == 1:
        raise ValueError("groups == 1")
    return ref.conv2d(x[:, :w.shape[1]], w, b, **{**kw, "groups": 1})


CONV2D = {
    "kernel flipped (true convolution instead of cross-correlation)":
        lambda x, w, b=None, **kw: ref.conv2d(x, ref.rot180(w), b, **kw),
    "bias ignored": lambda x, w, b=None, **kw: ref.conv2d(x, w, None, **kw),
    "kernel transposed (height and width swapped)":
        lambda x, w, b=None, **kw: ref.conv2d(x, w.swapaxes(2, 3), b, **kw),
    "stride, padding and dilation applied to the swapped axes (height <-> width)":
        lambda x, w, b=None, **kw: ref.conv2d(x, w, b, **{k: _swap(v) for k, v in kw.items()}),
    FLOAT32: lambda x, w, b=None, **kw: ref.conv2d(_f32(x), _f32(w), _f32(b), **kw)
    .astype(np.float64),
    "output size rounded up (ceil instead of floor)": lambda x, w, b=None, **kw:
        _ceil_size_conv(x, w, b, kw),
    "padding applied only before (top / left)": lambda x, w, b=None, **kw:
        _one_side(x, w, b, kw, True),
    "padding applied only after (bottom / right)": lambda x, w, b=None, **kw:
        _one_side(x, w, b, kw, False),
    "padding ignored": lambda x, w, b=None, **kw: ref.conv2d(x, w, b, **{**kw, "padding": 0}),
    "stride ignored": lambda x, w, b=None, **kw: ref.conv2d(x, w, b, **{**kw, "stride": 1}),
    "dilation ignored": lambda x, w, b=None, **kw: ref.conv2d(x, w, b,
                                                              **{**kw, "dilation": 1}),
    "groups ignored (every filter reads the first group's channels)":
        lambda x, w, b=None, **kw: _first_group_only(x, w, b, kw),
    "off-by-one output size (the last row and column are missing: no + 1)":
        lambda x, w, b=None, **kw: ref.conv2d(x, w, b, **kw)[..., :-1, :-1],
    WIDTH_PADDING: lambda x, w, b=None, **kw: _width_padding(x, w, b, kw),
    DROP_LAST: lambda x, w, b=None, **kw: drop_last_sample(ref.conv2d(x, w, b, **kw)),
}


# --- conv2d backward ----------------------------------------------------------------------

def loop_backward(g, x, w, kw, pos=None, tap=None, overwrite=False):
    """grad_x and grad_weight by an explicit loop over output pixels, with the window
    start step `pos` (the stride) and the tap step `tap` (the dilation) as parameters:
    pos=(1, 1) is the stride forgotten, tap=(1, 1) the dilation ignored, overwrite=True
    writes each window's contribution instead of adding it (the last window wins)."""
    geo = _geo(x, w, kw)
    (ph, pw), (th, tw) = pos or geo.stride, tap or geo.dilation
    xp = pad2d(x, geo.pads)
    gxp, gw = np.zeros_like(xp), np.zeros_like(w)
    cg, kg = geo.c_per_group, geo.k_per_group
    kh, kwid = geo.kernel
    for i in range(geo.out[0]):
        for j in range(geo.out[1]):
            rows = (i * ph + np.arange(kh) * th)[:, None]
            cols = (j * pw + np.arange(kwid) * tw)[None, :]
            for gi in range(geo.groups):
                cs, ks = slice(gi * cg, (gi + 1) * cg), slice(gi * kg, (gi + 1) * kg)
                gs = g[:, ks, i, j]                                         # (N, Kg)
                contrib = np.einsum("nk,kcmq->ncmq", gs, w[ks])
                if overwrite:
                    gxp[:, cs, rows, cols] = contrib
                else:
                    gxp[:, cs, rows, cols] += contrib
                gw[ks] += np.einsum("nk,ncmq->kcmq", gs, xp[:, cs, rows, cols])
    (pt, _), (pl, _) = geo.pads
    return gxp[..., pt:pt + geo.hw[0], pl:pl + geo.hw[1]], gw


def tap_overwrite_grad_x(g, x, w, kw):
    """col2im that writes (=) each kernel tap's plane instead of adding it: for pixels
    shared by overlapping windows the last tap (m, q) in row-major order wins."""
    geo = _geo(x, w, kw)
    cg, kg, g_ = geo.c_per_group, geo.k_per_group, geo.groups
    gr = g.reshape(g.shape[0], g_, kg, *geo.out)
    cols = np.einsum("ngkhw,gkcij->ngchwij", gr, w.reshape(g_, kg, cg, *geo.kernel))
    cols = cols.reshape(g.shape[0], geo.c, *geo.out, *geo.kernel)
    (ho, wo), (sh, sw), (dh, dw) = geo.out, geo.stride, geo.dilation
    gxp = np.zeros_like(pad2d(x, geo.pads))
    for m in range(geo.kernel[0]):
        for q in range(geo.kernel[1]):
            gxp[:, :, m * dh:m * dh + (ho - 1) * sh + 1:sh,
                q * dw:q * dw + (wo - 1) * sw + 1:sw] = cols[..., m, q]
    (pt, _), (pl, _) = geo.pads
    return gxp[..., pt:pt + geo.hw[0], pl:pl + geo.hw[1]]


def _bwd(g, x, w, b, kw):
    gx, gw, gb = ref.conv2d_backward(g, x, w, b, **kw)
    return {"grad_x": gx, "grad_weight": gw, "grad_bias": gb}


def _flipped_bwd(g, x, w, b, kw):
    gx, gw, gb = ref.conv2d_backward(g, x, ref.rot180(w), b, **kw)
    return {"grad_x": gx, "grad_weight": ref.rot180(gw), "grad_bias": gb}


def _scaled(out: dict, name: str, factor: float):
    if out.get(name) is None:
        raise ValueError(f"no {name}")
    return {**out, name: out[name] * factor}


def _loop(g, x, w, b, kw, **opts):
    gx, gw = loop_backward(g, x, w, kw, **opts)
    return {"grad_x": gx, "grad_weight": gw}


def _no_offset(g, x, w, b, kw):
    """grad_x of the padded input cropped at its top-left corner instead of its interior:
    the backward forgot to take the padding offset off."""
    geo = _geo(x, w, kw)
    (t, _), (l, _) = geo.pads
    if t == 0 and l == 0:
        raise ValueError("no padding before: no offset to ignore")
    gxp = ref.conv2d_backward(g, pad2d(x, geo.pads), w, b, **{**kw, "padding": 0})[0]
    return {"grad_x": gxp[..., :geo.hw[0], :geo.hw[1]]}


def _square_only(g, x, w, b, kw):
    """Kernel taps looped over k x k with k = the kernel's height: the columns of a wider
    kernel neither give to grad_x nor get a grad_weight (a taller one would crash)."""
    kh, kwid = w.shape[2:]
    if kwid <= kh:
        raise ValueError("not wider than tall: the loop covers the kernel or crashes")
    cut = w.copy()
    cut[..., kh:] = 0.0
    out = _bwd(g, x, cut, b, kw)
    out["grad_weight"][..., kh:] = 0.0
    return out


def _drop_last_bwd(g, x, w, b, kw):
    """The backward of a per-sample loop that stops at N - 1: the last sample's upstream
    gradient never read (its grad_x 0, no share in grad_weight and grad_bias)."""
    g = np.array(g, dtype=np.float64)
    g[-1] = 0.0
    return _bwd(g, x, w, b, kw)


def _n_out(g):
    return g.shape[0] * g.shape[2] * g.shape[3]


CONV2D_BACKWARD = {
    "kernel flipped (true convolution instead of cross-correlation, or the 180-degree "
    "rotation of C7 missing in grad_x)": lambda g, x, w, b=None, **kw: _flipped_bwd(g, x, w,
                                                                                  b, kw),
    "stride forgotten in the backward pass (no zero insertion, C8)":
        lambda g, x, w, b=None, **kw: _loop(g, x, w, b, kw, pos=(1, 1)),
    "dilation ignored in the backward pass": lambda g, x, w, b=None, **kw:
        _loop(g, x, w, b, kw, tap=(1, 1)),
    "overwrite instead of accumulate (overlapping windows must add; last window wins)":
        lambda g, x, w, b=None, **kw: _loop(g, x, w, b, kw, overwrite=True),
    "overwrite instead of accumulate (col2im must add; last kernel tap wins)":
        lambda g, x, w, b=None, **kw: {"grad_x": tap_overwrite_grad_x(g, x, w, kw)},
    "kernel transposed (height and width swapped)": lambda g, x, w, b=None, **kw:
        {"grad_x": _bwd(g, x, w.swapaxes(2, 3), b, kw)["grad_x"]},
    "grad_weight transposed (C_out and C_in swapped)": lambda g, x, w, b=None, **kw:
        {"grad_weight": _bwd(g, x, w, b, kw)["grad_weight"].swapaxes(0, 1)},
    "grad_weight transposed (kH and kW swapped)": lambda g, x, w, b=None, **kw:
        {"grad_weight": _bwd(g, x, w, b, kw)["grad_weight"].swapaxes(2, 3)},
    "grad_weight averaged over the batch instead of summed": lambda g, x, w, b=None, **kw:
        _scaled(_bwd(g, x, w, b, kw), "grad_weight", 1 / g.shape[0]),
    "bias gradient averaged (mean instead of sum over N, H, W)": lambda g, x, w, b=None, **kw:
        _scaled(_bwd(g, x, w, b, kw), "grad_bias", 1 / _n_out(g)),
    "bias gradient averaged over the batch (mean instead of sum over N)":
        lambda g, x, w, b=None, **kw: _scaled(_bwd(g, x, w, b, kw), "grad_bias",
                                              1 / g.shape[0]),
    "bias gradient missing (zeros)": lambda g, x, w, b=None, **kw:
        _scaled(_bwd(g, x, w, b, kw), "grad_bias", 0.0),
    FLOAT32: lambda g, x, w, b=None, **kw: {
        k: None if v is None else v.astype(np.float64)
        for k, v in _bwd(_f32(g), _f32(x), _f32(w), _f32(b), kw).items()},
    NO_OFFSET: lambda g, x, w, b=None, **kw: _no_offset(g, x, w, b, kw),
    SQUARE_ONLY: lambda g, x, w, b=None, **kw: _square_only(g, x, w, b, kw),
    DROP_LAST: lambda g, x, w, b=None, **kw: _drop_last_bwd(g, x, w, b, kw),
}


def _size_mutant(rule):
    def size(input_size, kernel_size, stride=1, padding=0, dilation=1):
        (pb, pa), _ = ref.normalize_padding(
            padding if not isinstance(padding, (tuple, list)) else (tuple(padding), (0, 0)),
            (kernel_size, 1), (dilation, 1), (stride, 1), "mutant")
        return rule(input_size + pb + pa - dilation * (kernel_size - 1) - 1, stride)
    return size


CONV_OUTPUT_SIZE = {
    "missing floor (true division)": _size_mutant(lambda num, s: num / s + 1),
    "ceil instead of floor": _size_mutant(lambda num, s: -(-num // s) + 1),
    "off by one (no + 1)": _size_mutant(lambda num, s: num // s),
    "dilation ignored": lambda i, k, stride=1, padding=0, dilation=1:
        ref.conv_output_size(i, k, stride, padding, 1),
}
