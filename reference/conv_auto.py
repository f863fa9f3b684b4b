"""conv2d(..., algorithm='auto'): which algorithm is fastest for a shape, by measured rules.

Winograd F(4x4, 3x3) does 2.25 multiplications per output and input channel instead of 9,
but pays for its transforms per tile and input channel (input) and per tile and output
channel (output), and its batched products are small when a sample has few tiles. It wins
when the reduction is long (many input channels) and the planes are large; elsewhere the
direct sum (im2col + GEMM) wins.

Measured (N=2, padding 1, one BLAS thread, CPU time of the process, best of 8 interleaved
calls: wall-clock times on the shared 2-core Xeon varied 4x between identical calls, CPU
time by a few per cent; im2col time / Winograd F(4x4) time, >1: Winograd faster):

    C=K  H=W   float32 float64       C   K   H   float32 float64
      3   56    0.42    0.52          3  64  56    0.16    0.20
      8   56    0.75    0.79         16  64  28    0.55    0.74
     16   28    0.60    0.78         64  16  28    1.04    1.05
     32   28    0.86    1.01        128 128  14    0.54    0.66
     32   14    0.51    0.66        128 128  28    1.12    1.35
     64   14    0.59    0.66        256 256   7    0.27    0.26
     64   16    0.71    0.93        256 256  14    0.43    0.48
     64   28    0.96    1.34
     64   56    1.33    1.38

Depthwise layers (one input channel per group) stay with im2col: on 8x64x56x56 float32
(wall clock, best of 10, loaded machine) im2col took 9 ms, shifted-slice accumulation (nine
multiply-adds over whole planes, one sample at a time) 19 ms, einsum over the window view
121 ms against im2col's 31 ms in the same run, Winograd F(4x4) 69 ms against 24 ms.

F(2x2) beat im2col only at 64 and 128 channels on 14x14 and 16x16 planes in float64, by
1-5 %: within the noise, so 'auto' never picks it.

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
