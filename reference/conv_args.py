"""Validation and normalisation of convolution arguments (1, 2 or 3 spatial axes), shared
by every algorithm, the backward pass and the transposed convolution, so that all of them
accept and refuse exactly the same inputs."""
from __future__ import annotations

from dataclasses import dataclass

from ._validate import float_array, ntuple, positive_int, same_dtype
from .shapes import Pads, conv_output_shape, normalize_padding

LAYOUTS = {1: ("(N, C, L)", "(C_out, C_in // groups, kL)", "(N, C_out, L_out)"),
           2: ("(N, C, H, W)", "(C_out, C_in // groups, kH, kW)", "(N, C_out, H_out, W_out)"),
           3: ("(N, C, D, H, W)", "(C_out, C_in // groups, kD, kH, kW)",
               "(N, C_out, D_out, H_out, W_out)")}


@dataclass(frozen=True)
class ConvGeometry:
    """Everything about a convolution call except the arrays, in normalised form. The
    spatial fields hold one entry per spatial axis ((H, W) in 2-D, (L,) in 1-D)."""
    n: int
    c: int
    hw: tuple[int, ...]           # input spatial size, (H, W) in 2-D
    k: int                        # output channels
    kernel: tuple[int, ...]       # (kH, kW) in 2-D
    stride: tuple[int, ...]
    pads: Pads                    # one (before, after) per axis
    dilation: tuple[int, ...]
    groups: int
    out: tuple[int, ...]          # output spatial size, (Ho, Wo) in 2-D

    @property
    def c_per_group(self) -> int:
        return self.c // self.groups

    @property
    def k_per_group(self) -> int:
        return self.k // self.groups

    @property
    def nd(self) -> int:
        return len(self.kernel)

    @property
    def padded(self) -> tuple[int, ...]:
        return tuple(i + a + b for i, (a, b) in zip(self.hw, self.pads))


def check_conv_arrays(x, weight, bias, groups, func: str, nd: int):
    """x (N, C, *spatial), weight (K, C // groups, *kernel), bias (K,) or None: arrays of one
    floating dtype whose channels agree; returns (x, weight, bias, groups)."""
    x_layout, w_layout, _ = LAYOUTS[nd]
    x = float_array(x, "x", func, nd + 2, x_layout)
    weight = float_array(weight, "weight", func, nd + 2, w_layout)
    if bias is not None:
        bias = float_array(bias, "bias", func, 1, "(C_out,)")
    same_dtype(func, x=x, weight=weight, bias=bias)
    groups = positive_int(groups, "groups", func)
    c, (k, cg) = x.shape[1], weight.shape[:2]
    if c % groups or k % groups:
        raise ValueError(f"{func}: groups={groups} must divide both the input channels "
                         f"(x.shape={x.shape}) and the output channels "
                         f"(weight.shape={weight.shape})")
    if cg * groups != c:
        raise ValueError(f"{func}: x has {c} channels, so weight.shape[1] must be "
                         f"C // groups = {c // groups}; got x.shape={x.shape}, "
                         f"weight.shape={weight.shape}, groups={groups}")
    if bias is not None and bias.shape != (k,):
        raise ValueError(f"{func}: bias must have shape ({k},) to match "
                         f"weight.shape={weight.shape}, got {bias.shape}")
    if min(x.shape[1:]) == 0 or min(weight.shape) == 0:
        # N = 0 is an empty batch, as in PyTorch. With C = 0 PyTorch returns an
        # (N, 0, Ho, Wo) result that disagrees with weight's C_out (and the empty sum
        # would be the bias alone): no consistent meaning, so refused, as are K, H, W = 0.
        raise ValueError(f"{func}: only the batch may be empty (N = 0, as PyTorch); got "
                         f"x.shape={x.shape}, weight.shape={weight.shape}")
    return x, weight, bias, groups


def conv_geometry(x, weight, bias, stride, padding, dilation, groups,
                  func: str = "conv2d", nd: int = 2):
    """Check a convolution's inputs; return (x, weight, bias) as arrays and the geometry.

    Shapes (nd spatial axes): x (N, C, *spatial); weight (K, C // groups, *kernel); bias
    (K,) or None. Example: x (1, 3, 8), weight (4, 3, 3), nd=1 -> out (6,).
    """
    x, weight, bias, groups = check_conv_arrays(x, weight, bias, groups, func, nd)
    kernel = tuple(weight.shape[2:])
    stride = ntuple(stride, nd, "stride", func, minimum=1)
    dilation = ntuple(dilation, nd, "dilation", func, minimum=1)
    pads = normalize_padding(padding, kernel, dilation, stride, func)
    out = conv_output_shape(x.shape[2:], kernel, stride, pads, dilation, func)
    geo = ConvGeometry(x.shape[0], x.shape[1], tuple(x.shape[2:]), weight.shape[0], kernel,
                       stride, pads, dilation, groups, out)
    return x, weight, bias, geo
