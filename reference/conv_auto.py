"""conv2d(..., algorithm='auto'): which algorithm is fastest for a shape, by measured rules.

Winograd F(4x4, 3x3) does 2.25 multiplications per output and input channel instead of 9,
but pays for its transforms per tile and input channel (input) and per tile and output
channel (output), and its batched products are small when a sample has few tiles. It wins
when the reduction is long (many input channels) and the planes are large; elsewhere the
direct sum (im2col + GEMM) wins. F(2x2, 3x3) never won by more than the noise.

Measured (one sample pair, N=2, padding 1, one BLAS thread, best of 25 interleaved calls,
2-core Xeon shared with other jobs; im2col time / Winograd F(4x4) time, >1: Winograd
faster):

    C=K  H=W   float32 float64       C   K   H   float32 float64
      3   56    0.46    0.52          3  64  56    0.19    0.14
      8   56    0.65    0.79         16  64  28    0.64    0.84
     16   28    0.64    0.88         64  16  28    1.01    1.20
     32   28    0.84    0.99        128 128  14    0.65    0.94
     32   14    0.56    0.66        128 128  28    1.18    2.20
     64   14    0.60    0.79        256 256   7    0.28    0.18
     64   16    0.75    0.99        256 256  14    0.50    0.40
     64   28    1.09    1.31
     64   56    1.43    1.36

Rule: Winograd F(4x4, 3x3) where it applies (3x3, stride 1, dilation 1), with at least
64 input channels per group and at least 28 x 28 output pixels; im2col elsewhere. The
ResNet 3x3 layer (64 channels, 56 x 56) takes Winograd; the CIFAR layer (32 channels) and
every depthwise layer (1 channel per group) take im2col.
"""
from __future__ import annotations

from .conv_args import ConvGeometry, conv_geometry
from .conv_winograd import winograd_unsupported

WINOGRAD_MIN_CHANNELS = 64
WINOGRAD_MIN_PIXELS = 28 * 28


def pick(geo: ConvGeometry) -> str:
    """The algorithm 'auto' runs on this geometry: 'winograd4' or 'im2col' (see above)."""
    if winograd_unsupported(geo) is None and geo.c_per_group >= WINOGRAD_MIN_CHANNELS \
            and geo.out[0] * geo.out[1] >= WINOGRAD_MIN_PIXELS:
        return "winograd4"
    return "im2col"


def choose_algorithm(x, weight, stride=1, padding=0, dilation=1, groups=1) -> str:
    """What conv2d(x, weight, ..., algorithm='auto') runs: 'winograd4' or 'im2col'.

    Same arguments as conv2d (only the shapes matter). Example: x (8, 64, 56, 56), weight
    (64, 64, 3, 3), padding=1 -> 'winograd4'; weight (64, 1, 3, 3), groups=64 -> 'im2col'.
    """
    *_, geo = conv_geometry(x, weight, None, stride, padding, dilation, groups,
                            "choose_algorithm")
    return pick(geo)
