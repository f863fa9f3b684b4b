"""Transposed convolution (conv_transpose1d/2d/3d), beyond the documents: the adjoint of
convolution with respect to its input, i.e. the documents' backward error pass (C7-C8) used
as a layer of its own.

For a transposed convolution with input x (N, C_in, *i) and weight (C_in, C_out // groups,
*kernel) there is one convolution, from (N, C_out, *O) to (N, C_in, *i) with the same
weight, stride, padding, dilation and groups, whose grad_x map this is:

    conv_transpose(x, w) = conv_backward(grad_out=x, w).grad_x
    O = (i - 1)*s - pad_before - pad_after + d*(k - 1) + output_padding + 1

output_padding adds rows at the end that no window reaches (they hold only the bias); it
only resolves which O a strided convolution came from, so torch requires it to be smaller
than the stride or the dilation. Two algorithms, both exact on integers:
  * 'col2im' (default): columns W^T @ x, folded back onto the padded output (the
    windowing primitive's adjoint) and cropped;
  * 'documents' (C7-C8): insert s - 1 zeros between the inputs, then a full convolution
    with the kernel rotated 180 degrees, then crop the padding.
Beyond torch, as ONNX ConvTranspose defines it: asymmetric padding, one (before, after)
pair per axis. Padding strings are refused (torch refuses them; ONNX's auto_pad follows a
different rule). An empty batch (N = 0) gives the empty result, an empty grad_x and zero
grad_weight and grad_bias, as torch does; any other empty axis is refused.
"""
from __future__ import annotations

import numpy as np

from ._validate import check_grad_out, float_array, ntuple, positive_int, same_dtype
from .conv import conv_im2col
from .conv_args import ConvGeometry
from .conv_backward import _grad_x_documents, grad_input_col2im, grad_weight_im2col
from .im2col import workspace_cap
from .memory import check_conv_memory
from .shapes import normalize_padding

LAYOUTS = {1: ("(N, C_in, L)", "(C_in, C_out // groups, kL)"),
           2: ("(N, C_in, H, W)", "(C_in, C_out // groups, kH, kW)"),
           3: ("(N, C_in, D, H, W)", "(C_in, C_out // groups, kD, kH, kW)")}
METHODS = ("col2im", "documents")


def _check_arrays(x, weight, bias, groups, func, nd):
    x = float_array(x, "x", func, nd + 2, LAYOUTS[nd][0])
    weight = float_array(weight, "weight", func, nd + 2, LAYOUTS[nd][1])
    if bias is not None:
        bias = float_array(bias, "bias", func, 1, "(C_out,)")
    same_dtype(func, x=x, weight=weight, bias=bias)
    groups = positive_int(groups, "groups", func)
    if weight.shape[0] != x.shape[1] or x.shape[1] % groups:
        raise ValueError(f"{func}: weight.shape[0] must equal the input channels "
                         f"x.shape[1] and be divisible by groups={groups}; got "
                         f"x.shape={x.shape}, weight.shape={weight.shape}")
    c_out = weight.shape[1] * groups
    if bias is not None and bias.shape != (c_out,):
        raise ValueError(f"{func}: bias must have shape ({c_out},) = (weight.shape[1] * "
                         f"groups,), got {bias.shape}")
    if min(x.shape[1:]) == 0 or min(weight.shape) == 0:   # N = 0 is an empty batch
        raise ValueError(f"{func}: empty arrays are not supported (only an empty batch, "
                         f"N = 0): x.shape={x.shape}, weight.shape={weight.shape}")
    return x, weight, bias, groups


def transpose_geometry(x, weight, bias, stride, padding, output_padding, groups, dilation,
                       func: str, nd: int):
    """Check the inputs; return the arrays and the geometry of the convolution whose input
    gradient this is (its input: the transposed output, its output: x)."""
    x, weight, bias, groups = _check_arrays(x, weight, bias, groups, func, nd)
    kernel = tuple(weight.shape[2:])
    stride = ntuple(stride, nd, "stride", func, minimum=1)
    dilation = ntuple(dilation, nd, "dilation", func, minimum=1)
    extra = ntuple(output_padding, nd, "output_padding", func, minimum=0)
    if isinstance(padding, str):
        raise ValueError(f"{func}: padding must be an int, one int per axis or one "
                         f"(before, after) pair per axis, got {padding!r}")
    pads = normalize_padding(padding, kernel, dilation, stride, func)
    if any(e >= max(s, d) for e, s, d in zip(extra, stride, dilation)):
        raise ValueError(f"{func}: output_padding={extra} must be smaller than either the "
                         f"stride {stride} or the dilation {dilation} on every axis")
    size = tuple((i - 1) * s + d * (k - 1) + e + 1 - a - b for i, s, d, k, e, (a, b)
                 in zip(x.shape[2:], stride, dilation, kernel, extra, pads))
    if min(size) < 1:
        raise ValueError(f"{func}: the output would be empty: size {size} from input "
                         f"{x.shape[2:]}, kernel {kernel}, stride {stride}, padding {pads}, "
                         f"dilation {dilation}, output_padding {extra}")
    geo = ConvGeometry(x.shape[0], weight.shape[1] * groups, size, x.shape[1], kernel,
                       stride, pads, dilation, groups, tuple(x.shape[2:]))
    return x, weight, bias, geo


def _forward(x, weight, bias, stride, padding, output_padding, groups, dilation, method,
             workspace_bytes, func, nd):
    x, weight, bias, geo = transpose_geometry(x, weight, bias, stride, padding,
                                              output_padding, groups, dilation, func, nd)
    cap = workspace_cap(workspace_bytes, func)
    if method not in ("auto",) + METHODS:
        raise ValueError(f"{func}: method must be one of {('auto',) + METHODS}, "
                         f"got {method!r}")
    # the result is the input gradient of a convolution: its estimate, before allocating
    check_conv_memory(func, geo, x.dtype.itemsize, "im2col", cap, backward=True,
                      x=x.shape, weight=weight.shape)
    if geo.n == 0:                     # an empty batch: the empty result, as torch
        out = np.zeros((0, geo.c) + geo.hw, dtype=x.dtype)
    elif method in ("auto", "col2im"):
        out = grad_input_col2im(x, weight, geo, cap)
    else:
        out = _grad_x_documents(x, weight, geo)
    if bias is not None:
        out += bias.reshape((1, -1) + (1,) * nd)
    return out


def _backward(grad_out, x, weight, bias, stride, padding, output_padding, groups, dilation,
              workspace_bytes, func, nd):
    """grad_x: the convolution of grad_out with the same weight (only the first i windows);
    grad_weight: the convolution weight gradient with x as its upstream gradient."""
    x, weight, bias, geo = transpose_geometry(x, weight, bias, stride, padding,
                                              output_padding, groups, dilation, func, nd)
    grad_out = check_grad_out(grad_out, (geo.n, geo.c) + geo.hw, func, ndim=nd + 2,
                              layout="(N, C_out, *spatial_out)", dtype=x.dtype,
                              context=f"x.shape={x.shape}, weight.shape={weight.shape}")
    cap = workspace_cap(workspace_bytes, func)
    check_conv_memory(func, geo, x.dtype.itemsize, "im2col", cap, backward=True,
                      x=x.shape, weight=weight.shape, grad_out=grad_out.shape)
    if geo.n == 0:                     # an empty batch: empty grad_x, zero grad_weight
        gx, gw = np.zeros(x.shape, dtype=x.dtype), np.zeros(weight.shape, dtype=x.dtype)
    else:
        gx = conv_im2col(grad_out, weight, geo, cap)
        gw = grad_weight_im2col(x, grad_out, geo, cap)
    gb = None if bias is None else grad_out.sum(axis=(0,) + tuple(range(2, nd + 2)))
    return gx, gw, gb


def conv_transpose2d(x, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1, *, method: str = "auto", workspace_bytes: int | None = None):
    """Transposed 2-D convolution, like torch.nn.functional.conv_transpose2d (note torch's
    argument order: groups before dilation).

    x (N, C_in, H, W), weight (C_in, C_out // groups, kH, kW), bias (C_out,) ->
    (N, C_out, Ho, Wo), Ho = (H - 1)*s - p_top - p_bottom + d*(kH - 1) + output_padding + 1.
    `method`: 'auto' / 'col2im' or 'documents' (zero insertion + full convolution with the
    rotated kernel, C7-C8). Example: ones (1, 1, 2, 2), ones (1, 1, 3, 3), stride 2 ->
    (1, 1, 5, 5) whose centre column and row hold 2 and centre 4 (overlaps add).
    """
    return _forward(x, weight, bias, stride, padding, output_padding, groups, dilation,
                    method, workspace_bytes, "conv_transpose2d", 2)


def conv_transpose1d(x, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1, *, method: str = "auto", workspace_bytes: int | None = None):
    """conv_transpose2d with one spatial axis: x (N, C_in, L), weight (C_in, C_out // groups,
    kL) -> (N, C_out, (L - 1)*s - p_before - p_after + d*(kL - 1) + output_padding + 1).
    Example: [[[1, 2]]] with [[[1, 1, 1]]], stride 2 -> [[[1, 1, 3, 2, 2]]]."""
    return _forward(x, weight, bias, stride, padding, output_padding, groups, dilation,
                    method, workspace_bytes, "conv_transpose1d", 1)


def conv_transpose3d(x, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1, *, method: str = "auto", workspace_bytes: int | None = None):
    """conv_transpose2d with three spatial axes: x (N, C_in, D, H, W), weight (C_in,
    C_out // groups, kD, kH, kW) -> (N, C_out, Do, Ho, Wo), each axis by the same rule.
    Example: ones (1, 1, 1, 1, 1) with a (1, 2, 2, 2, 2) kernel -> that kernel, (1, 2, 2, 2, 2)."""
    return _forward(x, weight, bias, stride, padding, output_padding, groups, dilation,
                    method, workspace_bytes, "conv_transpose3d", 3)


def conv_transpose2d_backward(grad_out, x, weight, bias=None, stride=1, padding=0,
                              output_padding=0, groups=1, dilation=1, *,
                              workspace_bytes: int | None = None):
    """Gradients of conv_transpose2d: grad_out (N, C_out, Ho, Wo) -> (grad_x (N, C_in, H, W),
    grad_weight (C_in, C_out // groups, kH, kW), grad_bias (C_out,) or None).
    grad_x = conv2d(grad_out, weight, stride, padding, dilation, groups), first H x W
    outputs. Example: x ones (1, 1, 1, 1), weight ones (1, 1, 2, 2), grad_out [[[[1, 2],
    [3, 4]]]] -> grad_x [[[[10]]]], grad_weight [[[[1, 2], [3, 4]]]]."""
    return _backward(grad_out, x, weight, bias, stride, padding, output_padding, groups,
                     dilation, workspace_bytes, "conv_transpose2d_backward", 2)


def conv_transpose1d_backward(grad_out, x, weight, bias=None, stride=1, padding=0,
                              output_padding=0, groups=1, dilation=1, *,
                              workspace_bytes: int | None = None):
    """Gradients of conv_transpose1d: grad_out (N, C_out, L_out) -> (grad_x, grad_weight,
    grad_bias or None). Example: x [[[1]]], weight [[[1, 1]]], grad_out [[[2, 3]]] ->
    grad_x [[[5]]], grad_weight [[[2, 3]]]."""
    return _backward(grad_out, x, weight, bias, stride, padding, output_padding, groups,
                     dilation, workspace_bytes, "conv_transpose1d_backward", 1)


def conv_transpose3d_backward(grad_out, x, weight, bias=None, stride=1, padding=0,
                              output_padding=0, groups=1, dilation=1, *,
                              workspace_bytes: int | None = None):
    """Gradients of conv_transpose3d: grad_out (N, C_out, Do, Ho, Wo) -> (grad_x,
    grad_weight, grad_bias or None). Example: x ones (1, 1, 1, 1, 1), weight ones
    (1, 1, 2, 2, 2), grad_out ones -> grad_x [[[[[8]]]]], grad_weight ones."""
    return _backward(grad_out, x, weight, bias, stride, padding, output_padding, groups,
                     dilation, workspace_bytes, "conv_transpose3d_backward", 3)
