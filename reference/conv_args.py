"""Validation and normalisation of conv2d arguments, shared by every algorithm and the
backward pass, so that all of them accept and refuse exactly the same inputs."""
from __future__ import annotations

from dataclasses import dataclass

from ._validate import float_array, pair, positive_int, same_dtype
from .shapes import Pads, conv_output_shape, normalize_padding


@dataclass(frozen=True)
class ConvGeometry:
    """Everything about a conv2d call except the arrays, in normalised form."""
    n: int
    c: int
    hw: tuple[int, int]           # input (H, W)
    k: int                        # output channels
    kernel: tuple[int, int]       # (kH, kW)
    stride: tuple[int, int]
    pads: Pads                    # ((top, bottom), (left, right))
    dilation: tuple[int, int]
    groups: int
    out: tuple[int, int]          # (Ho, Wo)

    @property
    def c_per_group(self) -> int:
        return self.c // self.groups

    @property
    def k_per_group(self) -> int:
        return self.k // self.groups


def conv_geometry(x, weight, bias, stride, padding, dilation, groups,
                  func: str = "conv2d"):
    """Check conv2d's inputs; return (x, weight, bias) as arrays and the ConvGeometry.

    Shapes: x (N, C, H, W); weight (K, C // groups, kH, kW); bias (K,) or None.
    """
    x = float_array(x, "x", func, 4, "(N, C, H, W)")
    weight = float_array(weight, "weight", func, 4, "(C_out, C_in // groups, kH, kW)")
    if bias is not None:
        bias = float_array(bias, "bias", func, 1, "(C_out,)")
    same_dtype(func, x=x, weight=weight, bias=bias)
    groups = positive_int(groups, "groups", func)
    n, c, h, w = x.shape
    k, cg, kh, kw = weight.shape
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
    stride = pair(stride, "stride", func, minimum=1)
    dilation = pair(dilation, "dilation", func, minimum=1)
    pads = normalize_padding(padding, (kh, kw), dilation, stride, func)
    out = conv_output_shape((h, w), (kh, kw), stride, pads, dilation, func)
    geo = ConvGeometry(n, c, (h, w), k, (kh, kw), stride, pads, dilation, groups, out)
    return x, weight, bias, geo

