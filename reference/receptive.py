"""Receptive fields of units in a stack of layers (A8) and the pixel-coverage map (A10).

Per axis, with the input pixels' centres at 0, 1, ..., a unit of a layer is described by
(size r, jump j, start) (seed 001: "感受野", the input region that can influence the unit):

    r_out = r_in + (k - 1) * d * j_in
    j_out = j_in * s
    start_out = start_in + ((k - 1) * d / 2 - p) * j_in

starting from (1, 1, 0) at the input; p is the padding before the first pixel. Unit i's
field covers input pixels start + i*j - (r-1)/2 .. start + i*j + (r-1)/2 (some of them
possibly padding). Example: two 3x3 convs (stride 1) see 5x5; after a 2x2/2 pool and a
3x3 conv: r = 5 + 1*1 + 2*2 = 10, j = 2.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._validate import pair
from .memory import check_bytes
from .shapes import conv_output_shape, normalize_padding
from .windows import sliding_windows


@dataclass(frozen=True)
class ReceptiveField:
    size: tuple[int, int]          # (r_h, r_w): input pixels one unit can see
    jump: tuple[int, int]          # (j_h, j_w): input pixels between neighbouring units
    start: tuple[float, float]     # centre of unit (0, 0), in input pixel coordinates

    def box(self, index) -> tuple[tuple[int, int], tuple[int, int]]:
        """Inclusive input rows and columns ((top, bottom), (left, right)) of unit `index`
        = (i, j); may extend past the image into the padding."""
        out = []
        for r, j, s, i in zip(self.size, self.jump, self.start, index):
            lo = round(s + i * j - (r - 1) / 2)       # exact: a half-integer or an integer
            out.append((lo, lo + r - 1))
        return out[0], out[1]


INPUT_FIELD = ReceptiveField((1, 1), (1, 1), (0.0, 0.0))


def receptive_field_step(rf: ReceptiveField, kernel_size, stride=1, padding=0,
                         dilation=1) -> ReceptiveField:
    """The field after one more layer of kernel k, stride s, padding p (before), dilation d.

    Elementwise layers are k = s = 1, p = 0; a fully connected layer on an (H, W) map is a
    kernel (H, W) without padding. `padding` is an int or a pair (h, w).
    """
    func = "receptive_field_step"
    if not isinstance(rf, ReceptiveField):
        raise TypeError(f"{func}: rf must be a ReceptiveField (INPUT_FIELD to start), got "
                        f"{rf!r}")
    k, s = pair(kernel_size, "kernel_size", func, 1), pair(stride, "stride", func, 1)
    p, d = pair(padding, "padding", func, 0), pair(dilation, "dilation", func, 1)
    size = tuple(r + (kk - 1) * dd * j for r, kk, dd, j in zip(rf.size, k, d, rf.jump))
    jump = tuple(j * ss for j, ss in zip(rf.jump, s))
    start = tuple(st + ((kk - 1) * dd / 2 - pp) * j
                  for st, kk, dd, pp, j in zip(rf.start, k, d, p, rf.jump))
    return ReceptiveField(size, jump, start)


def coverage_map(input_hw, kernel_size, stride=1, padding=0, dilation=1) -> np.ndarray:
    """How many output windows of one conv/pool layer use each input pixel (A10, seed 002
    Fig. 5: border pixels count less than central ones). Returns int64 (H, W).

    Built on the windowing primitive: the windows of an array of pixel indices, counted.
    Example: 6x6 input, 3x3 kernel: the outer product of [1, 2, 3, 3, 2, 1] with itself
    (the corner pixel is used once, the central ones 9 times).
    """
    func = "coverage_map"
    hw = pair(tuple(input_hw) if isinstance(input_hw, list) else input_hw,
              "input_hw", func, 1)
    kernel = pair(kernel_size, "kernel_size", func, 1)
    st, dil = pair(stride, "stride", func, 1), pair(dilation, "dilation", func, 1)
    (t, b), (l, r) = pads = normalize_padding(padding, kernel, dil, st, func)
    out = conv_output_shape(hw, kernel, st, pads, dil, func)
    hp, wp = hw[0] + t + b, hw[1] + l + r
    check_bytes(func, 3 * hp * wp * 8, "pixel indices, counts and result (int64)",
                input_hw=hw)
    index = np.arange(hp * wp).reshape(hp, wp)
    windows = sliding_windows(index, kernel, st, dil, out)
    counts = np.bincount(windows.ravel(), minlength=hp * wp).reshape(hp, wp)
    return counts[t:t + hw[0], l:l + hw[1]]
