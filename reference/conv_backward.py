"""conv2d backward: the documents' method (FORMULAS C7-C11) and col2im.

Both return (grad_x, grad_weight, grad_bias) for out = conv2d(x, weight, bias, ...).

The documents' method (seed 000, "卷积层的训练"):
  C8  restore the stride-S error map to stride 1 by inserting S-1 zeros between elements;
  C7  grad_x = full convolution of that map with the kernel rotated 180 degrees, which is a
      cross-correlation of the zero-ringed map with rot180(w);
  C9  with several filters, the partial maps of all filters are summed (a sum over K);
  C10 grad_w = valid cross-correlation of the (padded) input with the restored error map;
  C11 grad_b = sum of the error map.
col2im (im2col.py) is the transpose of im2col: grad_cols = W^T @ grad_out, then every
column entry is added back to the input pixel it was copied from (overlapping windows
accumulate).
"""
from __future__ import annotations

import numpy as np

from .conv import conv2d
from ._validate import check_grad_out
from .conv_args import ConvGeometry, conv_geometry
from .im2col import (col2im, im2col, is_pointwise, pad_if_needed, reuse, tile_input,
                     tile_origin, tiles, workspace_cap)
from .memory import check_conv_memory
from .windows import dilate2d

METHODS = ("documents", "col2im")


def conv2d_backward(grad_out, x, weight, bias=None, stride=1, padding=0, dilation=1,
                    groups=1, *, method: str = "auto", workspace_bytes: int | None = None):
    """Gradients of conv2d with respect to x, weight and bias for upstream `grad_out`.

    grad_out (N, K, Ho, Wo); x (N, C, H, W); weight (K, C // groups, kH, kW).
    Returns (grad_x (N, C, H, W), grad_weight (K, C // groups, kH, kW), grad_bias (K,) or
    None when bias is None). `method`: 'documents' (C7-C11 step by step), 'col2im' (scatter
    the column gradients back), or 'auto' (default, the fastest: at stride 1 grad_x is a
    plain conv2d of grad_out with the rotated kernel, otherwise col2im). A NaN or inf in
    the weight stays in the grad_x entries it touches, as in torch: the zero padding of
    grad_out never multiplies it (auto uses col2im then; 'documents' adds those taps
    apart). N = 0 gives empty grad_x and zero grad_weight and grad_bias.

    Example (seed 000, C7): 3x3 input, 2x2 kernel, stride 1 -> 2x2 error map d; then
    grad_x = d zero-ringed to 4x4, cross-correlated with rot180(w) -> 3x3.
    """
    func = "conv2d_backward"
    x, weight, bias, geo = conv_geometry(x, weight, bias, stride, padding, dilation, groups,
                                         func)
    grad_out = check_grad_out(grad_out, (geo.n, geo.k) + geo.out, func, ndim=4,
                              layout="(N, C_out, H_out, W_out)", dtype=x.dtype,
                              context=f"x.shape={x.shape}, weight.shape={weight.shape}")
    if method not in ("auto",) + METHODS:
        raise ValueError(f"{func}: method must be one of {('auto',) + METHODS}, "
                         f"got {method!r}")
    cap = workspace_cap(workspace_bytes, func)
    check_conv_memory(func, geo, x.itemsize, "im2col", cap, backward=True,
                      grad_out=grad_out.shape, x=x.shape, weight=weight.shape)
    if geo.n == 0:
        gx, gw = np.zeros_like(x), np.zeros_like(weight)
    elif method == "documents":
        gx, gw = _grad_x_documents(grad_out, weight, geo), _grad_w_documents(grad_out, x, geo)
    else:
        as_conv = method == "auto" and bool(np.isfinite(weight).all())
        gx, gw = _backward_col2im(grad_out, x, weight, geo, cap, as_conv)
    gb = None if bias is None else grad_out.sum(axis=(0, 2, 3))        # C11
    return gx, gw, gb


def _crop_padding(gxp: np.ndarray, geo: ConvGeometry) -> np.ndarray:
    (top, _), (left, _) = geo.pads
    h, w = geo.hw
    return np.ascontiguousarray(gxp[..., top:top + h, left:left + w])


def rotated_transposed_weight(weight, geo: ConvGeometry) -> np.ndarray:
    """(K, Cg, kH, kW) -> (C, Kg, kH, kW), each kernel rotated 180 degrees (C7): filter k's
    channel c becomes output channel c of the transposed convolution; groups stay groups."""
    g, kg, cg = geo.groups, geo.k_per_group, geo.c_per_group
    w_t = weight.reshape(g, kg, cg, *geo.kernel).transpose(0, 2, 1, 3, 4)
    return np.ascontiguousarray(w_t.reshape(geo.c, kg, *geo.kernel)[..., ::-1, ::-1])


def _grad_x_documents(grad_out, weight, geo: ConvGeometry) -> np.ndarray:
    """C7-C9: zero-insert (stride), full convolution with rot180(w), sum over filters.

    The inserted and ringed zeros are not part of the error map: a NaN or inf weight tap
    times them would be NaN where torch has none, so such taps are zeroed in the
    convolution and added apart on the real map entries only (_add_nonfinite_taps)."""
    bad = ~np.isfinite(weight)
    restored = dilate2d(grad_out, geo.stride)                            # C8
    # 'full' padding = d*(k-1) zeros around the map; the sum over k is C9.
    gxp = conv2d(restored, rotated_transposed_weight(np.where(bad, 0, weight), geo),
                 padding="full", dilation=geo.dilation, groups=geo.groups)
    # Padded rows/cols past the last window got no error: they stay zero.
    (pt, pb), (pl, pr) = geo.pads
    hp, wp = geo.hw[0] + pt + pb, geo.hw[1] + pl + pr
    full = np.zeros(gxp.shape[:2] + (hp, wp), dtype=gxp.dtype)
    full[..., :gxp.shape[2], :gxp.shape[3]] = gxp
    _add_nonfinite_taps(full, grad_out, weight, bad, geo)
    return _crop_padding(full, geo)


def _add_nonfinite_taps(gxp, grad_out, weight, bad, geo: ConvGeometry) -> None:
    """gxp[n, c, i*s + m*d, j*s + q*d] += grad_out[n, k, i, j] * w[k, c, m, q] for each
    non-finite tap (k, c, m, q) of the weight: C7's sum over the real map entries only."""
    (sh, sw), (dh, dw), (ho, wo) = geo.stride, geo.dilation, geo.out
    for k, c, m, q in np.argwhere(bad):
        ch = (k // geo.k_per_group) * geo.c_per_group + c
        gxp[:, ch, m * dh:m * dh + (ho - 1) * sh + 1:sh,
            q * dw:q * dw + (wo - 1) * sw + 1:sw] += grad_out[:, k] * weight[k, c, m, q]


def _grad_w_documents(grad_out, x, geo: ConvGeometry) -> np.ndarray:
    """C10: valid cross-correlation of the padded input with the restored error map.

    grad_w[k, c, m, q] = sum_n sum_(i,j) restored[n, k, i, j] * x_p[n, c, i + m*d, j + q*d]:
    a conv2d whose "batch" is the input channels, whose "channels" are the samples, whose
    kernel is the error map, and whose output stride is the dilation.
    """
    g, kg, cg = geo.groups, geo.k_per_group, geo.c_per_group
    restored = dilate2d(grad_out, geo.stride)
    xp = pad_if_needed(x, geo)
    kh, kw = geo.kernel
    grads = []
    for gi in range(g):
        xs = xp[:, gi * cg:(gi + 1) * cg].transpose(1, 0, 2, 3)        # (Cg, N, Hp, Wp)
        es = restored[:, gi * kg:(gi + 1) * kg].transpose(1, 0, 2, 3)  # (Kg, N, He, We)
        corr = conv2d(np.ascontiguousarray(xs), np.ascontiguousarray(es),
                      stride=geo.dilation)                             # (Cg, Kg, >=kH, >=kW)
        grads.append(corr[:, :, :kh, :kw].transpose(1, 0, 2, 3))
    return np.ascontiguousarray(np.concatenate(grads, axis=0))


def _transposed_conv_pads(geo: ConvGeometry):
    """Padding that makes grad_x a plain conv2d of grad_out, or None where it cannot.

    With stride 1, grad_x[i] = sum_m grad_out[i + p_top - m*d] * w[m]: a cross-correlation
    of grad_out, padded by d*(k-1) - p_top above and d*(k-1) - p_bottom below, with the
    rotated kernel (C7 without the zero insertion of C8). Padding larger than d*(k-1)
    would need negative padding: those cases and strides > 1 use col2im.
    """
    if geo.stride != (1, 1):
        return None
    spans = [d * (k - 1) for d, k in zip(geo.dilation, geo.kernel)]
    pads = tuple((s - a, s - b) for s, (a, b) in zip(spans, geo.pads))
    return None if min(min(p) for p in pads) < 0 else pads


def _grad_x_as_conv(grad_out, weight, geo: ConvGeometry, pads, workspace_bytes):
    """grad_x = conv2d(grad_out, rot180(w) with in/out channels swapped per group): one
    matrix product with a reduction over Kg*kH*kW, no scatter (see _transposed_conv_pads)."""
    return conv2d(grad_out, rotated_transposed_weight(weight, geo), padding=pads,
                  dilation=geo.dilation, groups=geo.groups, workspace_bytes=workspace_bytes)


def _backward_col2im(grad_out, x, weight, geo: ConvGeometry, cap: int, as_conv: bool):
    g, kg = geo.groups, geo.k_per_group
    w_mat = weight.reshape(g, kg, -1)                                   # (G, Kg, R)
    if is_pointwise(geo):
        g_mat = grad_out.reshape(geo.n, g, kg, -1)                      # (N, G, Kg, P)
        gx = np.matmul(w_mat.transpose(0, 2, 1), g_mat).reshape(x.shape)
        x_mat = x.reshape(geo.n, g, geo.c_per_group, -1)
        gw = np.matmul(g_mat, x_mat.transpose(0, 1, 3, 2)).sum(axis=0)
        return gx, gw.reshape(weight.shape)
    conv_pads = _transposed_conv_pads(geo) if as_conv else None
    gx = np.empty_like(x) if conv_pads is None else None
    gw = np.zeros(w_mat.shape, dtype=x.dtype)
    store, gxp = None, None             # the first (largest) tile's column buffer
    for tile in tiles(geo, x.itemsize, cap):
        (n0, n1), (i0, i1), (j0, j1) = tile
        block, sub = tile_input(x, geo, tile)
        shape = (sub.n, g, w_mat.shape[2], sub.out[0] * sub.out[1])
        cols = im2col(block, sub, out=reuse(store, shape, x.dtype))
        store = cols if store is None else store
        gtile = np.ascontiguousarray(grad_out[n0:n1, :, i0:i1, j0:j1]).reshape(
            sub.n, g, kg, -1)
        gw += np.matmul(gtile, cols.transpose(0, 1, 3, 2)).sum(axis=0)
        if conv_pads is None:
            if (i0, j0) == (0, 0):          # a new sample chunk: its padded gradient
                gxp = _padded_zeros(x, geo, n1 - n0, gxp)
            np.matmul(w_mat.transpose(0, 2, 1), gtile, out=cols)        # reuse the buffer
            (r0, c0), (hb, wb) = tile_origin(geo, tile), block.shape[2:]
            gxp[:, :, r0:r0 + hb, c0:c0 + wb] += col2im(cols, sub, (hb, wb))
            if (i1, j1) == geo.out:         # the chunk's last tile
                gx[n0:n1] = _crop_padding(gxp, geo)
    if conv_pads is not None:
        gx = _grad_x_as_conv(grad_out, weight, geo, conv_pads, cap)
    return gx, gw.reshape(weight.shape)


def _padded_zeros(x, geo: ConvGeometry, n: int, old: np.ndarray | None) -> np.ndarray:
    """Zeros (n, C, Hp, Wp): the previous chunk's buffer cleared when it fits."""
    (pt, pb), (pl, pr) = geo.pads
    shape = (n, geo.c, geo.hw[0] + pt + pb, geo.hw[1] + pl + pr)
    if old is not None and old.shape[1:] == shape[1:] and old.shape[0] >= n:
        old = old[:n]
        old.fill(0)
        return old
    return np.zeros(shape, dtype=x.dtype)
