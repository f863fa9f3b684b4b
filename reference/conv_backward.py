"""conv1d/2d/3d backward: the documents' method (FORMULAS C7-C11) and col2im.

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

import math

import numpy as np

from ._validate import check_grad_out
from .conv import _conv
from .conv_args import LAYOUTS, ConvGeometry, conv_geometry
from .im2col import (col2im, im2col, is_pointwise, pad_if_needed, reuse, tile_geometry,
                     tile_input, tile_origin, tile_region, tiles, workspace_cap)
from .memory import check_conv_memory
from .windows import dilate_spatial

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
    return _conv_backward(grad_out, x, weight, bias, stride, padding, dilation, groups,
                          method, workspace_bytes, "conv2d_backward", 2)


def conv1d_backward(grad_out, x, weight, bias=None, stride=1, padding=0, dilation=1,
                    groups=1, *, method: str = "auto", workspace_bytes: int | None = None):
    """Gradients of conv1d: grad_out (N, K, Lo), x (N, C, L), weight (K, C // groups, kL)
    -> (grad_x, grad_weight, grad_bias or None); conv2d_backward's path with one axis.
    Example: x [[[1, 2, 3]]], weight [[[1, 1]]], grad_out [[[1, 1]]] -> grad_x [[[1, 2, 1]]],
    grad_weight [[[3, 5]]]."""
    return _conv_backward(grad_out, x, weight, bias, stride, padding, dilation, groups,
                          method, workspace_bytes, "conv1d_backward", 1)


def conv3d_backward(grad_out, x, weight, bias=None, stride=1, padding=0, dilation=1,
                    groups=1, *, method: str = "auto", workspace_bytes: int | None = None):
    """Gradients of conv3d: grad_out (N, K, Do, Ho, Wo), x (N, C, D, H, W), weight
    (K, C // groups, kD, kH, kW) -> (grad_x, grad_weight, grad_bias or None).
    Example: ones (1, 1, 3, 3, 3) and a (1, 1, 3, 3, 3) kernel of ones, grad_out [[[[[2]]]]]
    -> grad_x 2 everywhere, grad_weight 2 everywhere."""
    return _conv_backward(grad_out, x, weight, bias, stride, padding, dilation, groups,
                          method, workspace_bytes, "conv3d_backward", 3)


def _conv_backward(grad_out, x, weight, bias, stride, padding, dilation, groups, method,
                   workspace_bytes, func: str, nd: int):
    x, weight, bias, geo = conv_geometry(x, weight, bias, stride, padding, dilation, groups,
                                         func, nd)
    grad_out = check_grad_out(grad_out, (geo.n, geo.k) + geo.out, func, ndim=nd + 2,
                              layout=LAYOUTS[nd][2], dtype=x.dtype,
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
    axes = (0,) + tuple(range(2, nd + 2))
    gb = None if bias is None else grad_out.sum(axis=axes)               # C11
    return gx, gw, gb


def crop_padding(gxp: np.ndarray, geo: ConvGeometry) -> np.ndarray:
    """The input's part of a padded-input array (n, C, *padded) -> (n, C, *hw)."""
    region = tuple(slice(a, a + i) for i, (a, _) in zip(geo.hw, geo.pads))
    return np.ascontiguousarray(gxp[(...,) + region])


def rotated_transposed_weight(weight, geo: ConvGeometry) -> np.ndarray:
    """(K, Cg, *kernel) -> (C, Kg, *kernel), each kernel rotated 180 degrees (C7; every
    spatial axis reversed): filter k's channel c becomes output channel c of the
    transposed convolution; groups stay groups."""
    g, kg, cg = geo.groups, geo.k_per_group, geo.c_per_group
    order = (0, 2, 1) + tuple(range(3, 3 + geo.nd))
    w_t = weight.reshape((g, kg, cg) + geo.kernel).transpose(order)
    flip = (...,) + (slice(None, None, -1),) * geo.nd
    return np.ascontiguousarray(w_t.reshape((geo.c, kg) + geo.kernel)[flip])


def _conv_of(x, weight, geo: ConvGeometry, stride, padding, dilation, groups, cap=None):
    """A convolution with geo's number of axes (the backward's own building block)."""
    return _conv(x, weight, None, stride, padding, dilation, groups, "auto", cap,
                 f"conv{geo.nd}d_backward", geo.nd)


def _grad_x_documents(grad_out, weight, geo: ConvGeometry) -> np.ndarray:
    """C7-C9: zero-insert (stride), full convolution with rot180(w), sum over filters.

    The inserted and ringed zeros are not part of the error map: a NaN or inf weight tap
    times them would be NaN where torch has none, so such taps are zeroed in the
    convolution and added apart on the real map entries only (_add_nonfinite_taps)."""
    bad = ~np.isfinite(weight)
    restored = dilate_spatial(grad_out, geo.stride)                      # C8
    # 'full' padding = d*(k-1) zeros around the map; the sum over k is C9.
    gxp = _conv_of(restored, rotated_transposed_weight(np.where(bad, 0, weight), geo), geo,
                   1, "full", geo.dilation, geo.groups)
    # Padded rows/cols past the last window got no error: they stay zero.
    full = np.zeros(gxp.shape[:2] + geo.padded, dtype=gxp.dtype)
    full[(...,) + tuple(slice(0, n) for n in gxp.shape[2:])] = gxp
    _add_nonfinite_taps(full, grad_out, weight, bad, geo)
    return crop_padding(full, geo)


def _add_nonfinite_taps(gxp, grad_out, weight, bad, geo: ConvGeometry) -> None:
    """gxp[n, c, i*s + m*d, ...] += grad_out[n, k, i, ...] * w[k, c, m, ...] for each
    non-finite tap (k, c, m, ...) of the weight: C7's sum over the real map entries only."""
    for k, c, *tap in np.argwhere(bad):
        ch = (k // geo.k_per_group) * geo.c_per_group + c
        region = tuple(slice(m * d, m * d + (o - 1) * s + 1, s) for m, d, o, s
                       in zip(tap, geo.dilation, geo.out, geo.stride))
        gxp[(slice(None), ch) + region] += grad_out[:, k] * weight[(k, c) + tuple(tap)]


def _grad_w_documents(grad_out, x, geo: ConvGeometry) -> np.ndarray:
    """C10: valid cross-correlation of the padded input with the restored error map.

    grad_w[k, c, m, q] = sum_n sum_(i,j) restored[n, k, i, j] * x_p[n, c, i + m*d, j + q*d]:
    a convolution whose "batch" is the input channels, whose "channels" are the samples,
    whose kernel is the error map, and whose output stride is the dilation.
    """
    g, kg, cg = geo.groups, geo.k_per_group, geo.c_per_group
    restored = dilate_spatial(grad_out, geo.stride)
    xp = pad_if_needed(x, geo)
    swap = (1, 0) + tuple(range(2, 2 + geo.nd))
    taps = (slice(None), slice(None)) + tuple(slice(0, k) for k in geo.kernel)
    grads = []
    for gi in range(g):
        xs = xp[:, gi * cg:(gi + 1) * cg].transpose(swap)              # (Cg, N, *padded)
        es = restored[:, gi * kg:(gi + 1) * kg].transpose(swap)        # (Kg, N, *restored)
        corr = _conv_of(np.ascontiguousarray(xs), np.ascontiguousarray(es), geo,
                        geo.dilation, 0, 1, 1)                         # (Cg, Kg, >= kernel)
        grads.append(corr[taps].transpose(swap))
    return np.ascontiguousarray(np.concatenate(grads, axis=0))


def _transposed_conv_pads(geo: ConvGeometry):
    """Padding that makes grad_x a plain convolution of grad_out, or None where it cannot.

    With stride 1, grad_x[i] = sum_m grad_out[i + p_top - m*d] * w[m]: a cross-correlation
    of grad_out, padded by d*(k-1) - p_top above and d*(k-1) - p_bottom below, with the
    rotated kernel (C7 without the zero insertion of C8). Padding larger than d*(k-1)
    would need negative padding: those cases and strides > 1 use col2im.
    """
    if any(s != 1 for s in geo.stride):
        return None
    spans = [d * (k - 1) for d, k in zip(geo.dilation, geo.kernel)]
    pads = tuple((s - a, s - b) for s, (a, b) in zip(spans, geo.pads))
    return None if min(min(p) for p in pads) < 0 else pads


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
    if conv_pads is not None:            # grad_x a plain convolution, no scatter
        gx = _conv_of(grad_out, rotated_transposed_weight(weight, geo), geo, 1, conv_pads,
                      geo.dilation, geo.groups, cap)
        return gx, grad_weight_im2col(grad_out, x, geo, cap)
    gx, gw = np.empty_like(x), np.zeros(w_mat.shape, dtype=x.dtype)
    store, gxp = None, None             # the first (largest) tile's column buffer
    for tile in tiles(geo, x.itemsize, cap):
        cols, gtile, sub = _tile_columns(x, grad_out, geo, tile, store, w_mat.shape[2])
        store = cols if store is None else store
        gw += np.matmul(gtile, cols.transpose(0, 1, 3, 2)).sum(axis=0)
        np.matmul(w_mat.transpose(0, 2, 1), gtile, out=cols)            # reuse the buffer
        gxp = _scatter_tile(gxp, cols, x, geo, tile, sub)
        if all(b == o for (_, b), o in zip(tile[1:], geo.out)):        # the chunk's last tile
            gx[slice(*tile[0])] = crop_padding(gxp, geo)
    return gx, gw.reshape(weight.shape)


def _scatter_tile(gxp, cols, like, geo: ConvGeometry, tile, sub) -> np.ndarray:
    """Add a tile's column gradients into the padded gradient of its sample chunk (a new,
    zeroed chunk buffer at the chunk's first tile); returns the buffer."""
    if all(a == 0 for a, _ in tile[1:]):    # a new sample chunk: its padded gradient
        gxp = _padded_zeros(like, geo, tile[0][1] - tile[0][0], gxp)
    region = tuple(slice(r, r + h) for r, h in zip(tile_origin(geo, tile), sub.hw))
    gxp[(slice(None), slice(None)) + region] += col2im(cols, sub, sub.hw)
    return gxp


def _padded_zeros(x, geo: ConvGeometry, n: int, old: np.ndarray | None) -> np.ndarray:
    """Zeros (n, C, *padded): the previous chunk's buffer cleared when it fits."""
    shape = (n, geo.c) + geo.padded
    if old is not None and old.shape[1:] == shape[1:] and old.shape[0] >= n:
        old = old[:n]
        old.fill(0)
        return old
    return np.zeros(shape, dtype=x.dtype)


def grad_input_col2im(grad_out, weight, geo: ConvGeometry, cap: int) -> np.ndarray:
    """grad_x alone by col2im (W^T @ grad_out, folded back and cropped), tile by tile: the
    transposed convolution's forward. grad_out (N, K, *geo.out) -> (N, C, *geo.hw)."""
    g, kg = geo.groups, geo.k_per_group
    w_t = weight.reshape(g, kg, -1).transpose(0, 2, 1)                  # (G, R, Kg)
    gx = np.empty((geo.n, geo.c) + geo.hw, dtype=grad_out.dtype)
    gxp = None
    for tile in tiles(geo, grad_out.itemsize, cap):
        sub = tile_geometry(geo, tile)
        gtile = np.ascontiguousarray(grad_out[tile_region(tile)]).reshape(sub.n, g, kg, -1)
        gxp = _scatter_tile(gxp, np.matmul(w_t, gtile), grad_out, geo, tile, sub)
        if all(b == o for (_, b), o in zip(tile[1:], geo.out)):
            gx[slice(*tile[0])] = crop_padding(gxp, geo)
    return gx


def grad_weight_im2col(grad_out, x, geo: ConvGeometry, cap: int) -> np.ndarray:
    """grad_weight alone: the sum over tiles of grad_out @ im2col(x)^T, (K, Cg, *kernel)."""
    g, kg = geo.groups, geo.k_per_group
    gw = np.zeros((g, kg, geo.c_per_group * math.prod(geo.kernel)), dtype=x.dtype)
    store = None
    for tile in tiles(geo, x.itemsize, cap):
        cols, gtile, _ = _tile_columns(x, grad_out, geo, tile, store, gw.shape[2])
        store = cols if store is None else store
        gw += np.matmul(gtile, cols.transpose(0, 1, 3, 2)).sum(axis=0)
    return gw.reshape((geo.k, geo.c_per_group) + geo.kernel)


def _tile_columns(x, grad_out, geo: ConvGeometry, tile, store, width: int):
    """One tile of the weight gradient's GEMM: the input's columns (G, C/G * prod(kernel),
    pixels) per sample, written into `store` when it has room, and grad_out's rows
    (G, K/G, pixels) per sample; with the tile's sub-geometry."""
    block, sub = tile_input(x, geo, tile)
    shape = (sub.n, geo.groups, width, math.prod(sub.out))
    cols = im2col(block, sub, out=reuse(store, shape, x.dtype))
    gtile = np.ascontiguousarray(grad_out[tile_region(tile)])
    return cols, gtile.reshape(sub.n, geo.groups, geo.k_per_group, -1), sub
