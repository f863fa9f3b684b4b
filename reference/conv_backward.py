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
from .im2col import chunk_size, col2im, im2col, is_pointwise, pad_if_needed
from .windows import dilate2d

METHODS = ("documents", "col2im")


def conv2d_backward(grad_out, x, weight, bias=None, stride=1, padding=0, dilation=1,
                    groups=1, *, method: str = "auto", workspace_bytes: int | None = None):
    """Gradients of conv2d with respect to x, weight and bias for upstream `grad_out`.

    grad_out (N, K, Ho, Wo); x (N, C, H, W); weight (K, C // groups, kH, kW).
    Returns (grad_x (N, C, H, W), grad_weight (K, C // groups, kH, kW), grad_bias (K,) or
    None when bias is None). `method`: 'documents' (C7-C11 step by step), 'col2im' (scatter
    the column gradients back), or 'auto' (default, the fastest: at stride 1 grad_x is a
    plain conv2d of grad_out with the rotated kernel, otherwise col2im).

    Example (seed 000, C7): 3x3 input, 2x2 kernel, stride 1 -> 2x2 error map d; then
    grad_x = d zero-ringed to 4x4, cross-correlated with rot180(w) -> 3x3.
    """
    func = "conv2d_backward"
    x, weight, bias, geo = conv_geometry(x, weight, bias, stride, padding, dilation, groups,
                                         func)
    grad_out = check_grad_out(grad_out, (geo.n, geo.k) + geo.out, func, ndim=4,
                              layout="(N, C_out, H_out, W_out)", dtype=x.dtype,
                              context=f"x.shape={x.shape}, weight.shape={weight.shape}")
    if method in ("auto", "col2im"):
        gx, gw = _backward_col2im(grad_out, x, weight, geo, workspace_bytes,
                                  as_conv=method == "auto")
    elif method == "documents":
        gx, gw = _grad_x_documents(grad_out, weight, geo), _grad_w_documents(grad_out, x, geo)
    else:
        raise ValueError(f"{func}: method must be one of {('auto',) + METHODS}, "
                         f"got {method!r}")
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
    """C7-C9: zero-insert (stride), full convolution with rot180(w), sum over filters."""
    restored = dilate2d(grad_out, geo.stride)                            # C8
    # 'full' padding = d*(k-1) zeros around the map; the sum over k is C9.
    gxp = conv2d(restored, rotated_transposed_weight(weight, geo), padding="full",
                 dilation=geo.dilation, groups=geo.groups)
    # Padded rows/cols past the last window got no error: they stay zero.
    (pt, pb), (pl, pr) = geo.pads
    hp, wp = geo.hw[0] + pt + pb, geo.hw[1] + pl + pr
    full = np.zeros(gxp.shape[:2] + (hp, wp), dtype=gxp.dtype)
    full[..., :gxp.shape[2], :gxp.shape[3]] = gxp
    return _crop_padding(full, geo)


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


def _backward_col2im(grad_out, x, weight, geo: ConvGeometry, workspace_bytes, as_conv: bool):
    g, kg = geo.groups, geo.k_per_group
    w_mat = weight.reshape(g, kg, -1)                                   # (G, Kg, R)
    g_mat = grad_out.reshape(geo.n, g, kg, -1)                          # (N, G, Kg, P)
    if is_pointwise(geo):
        gx = np.matmul(w_mat.transpose(0, 2, 1), g_mat).reshape(x.shape)
        x_mat = x.reshape(geo.n, g, geo.c_per_group, -1)
        gw = np.matmul(g_mat, x_mat.transpose(0, 1, 3, 2)).sum(axis=0)
        return gx, gw.reshape(weight.shape)
    (pt, pb), (pl, pr) = geo.pads
    padded_hw = (geo.hw[0] + pt + pb, geo.hw[1] + pl + pr)
    conv_pads = _transposed_conv_pads(geo) if as_conv else None
    gx = np.empty_like(x) if conv_pads is None else None
    gw = np.zeros(w_mat.shape, dtype=x.dtype)
    step = chunk_size(geo, x.itemsize, workspace_bytes)
    cols = None
    for n0 in range(0, geo.n, step):
        xp = pad_if_needed(x[n0:n0 + step], geo)
        cols = im2col(xp, geo, out=None if cols is None or len(cols) != len(xp) else cols)
        gchunk = g_mat[n0:n0 + step]
        gw += np.matmul(gchunk, cols.transpose(0, 1, 3, 2)).sum(axis=0)
        if conv_pads is None:
            np.matmul(w_mat.transpose(0, 2, 1), gchunk, out=cols)      # reuse the buffer
            gx[n0:n0 + step] = _crop_padding(col2im(cols, geo, padded_hw), geo)
    if conv_pads is not None:
        gx = _grad_x_as_conv(grad_out, weight, geo, conv_pads, workspace_bytes)
    return gx, gw.reshape(weight.shape)
