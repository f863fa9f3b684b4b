"""The im2col lowering and its adjoint col2im, with the workspace cap they share (D2).

im2col unrolls every (dilated) window of the padded input into one column, so that a
convolution becomes one matrix product per group: `weight.reshape(G, Kg, -1) @ cols`.
col2im is its transpose: every column entry is added back onto the input pixel it was
copied from (overlapping windows accumulate), which is how the backward pass turns column
gradients W^T @ grad_out into grad_x. conv.py (forward) and conv_backward.py (backward)
both build on this module, so the column layout is written once.
"""
from __future__ import annotations

import itertools
import math

import numpy as np

from dataclasses import replace

from ._validate import _is_int
from .conv_args import ConvGeometry
from .windows import fold, pad_spatial, sliding_windows

# Cap on the unrolled (C*kH*kW, Ho*Wo) column buffer: the batch is processed in chunks of
# samples whose columns fit (at least one sample per chunk). Small chunks are faster, not
# slower (benchmarks/, ResNet 3x3 8x64x56x56 on 2 cores: float32 14 ms with one-sample
# chunks against 22 ms with the whole 58 MiB batch): the buffer is reused chunk after chunk
# and call after call, whereas a buffer above glibc's mmap threshold (32 MiB) is fresh
# memory on every call and page-faults in. It also bounds the memory im2col trades for
# speed (D2).
DEFAULT_WORKSPACE_BYTES = 8 * 2**20


def workspace_cap(workspace_bytes, func: str) -> int:
    """The column-buffer cap in bytes: `workspace_bytes`, a positive int, or the default."""
    if workspace_bytes is None:
        return DEFAULT_WORKSPACE_BYTES
    if not _is_int(workspace_bytes):
        raise TypeError(f"{func}: workspace_bytes must be a positive int (bytes) or None, "
                        f"got {workspace_bytes!r}")
    if workspace_bytes < 1:
        raise ValueError(f"{func}: workspace_bytes must be >= 1, got {workspace_bytes!r}")
    return int(workspace_bytes)


def pixel_column_bytes(geo: ConvGeometry, itemsize: int) -> int:
    """Bytes of one output pixel's column: C*prod(kernel) entries (never more than the
    weight)."""
    return geo.c * math.prod(geo.kernel) * itemsize


def chunk_size(geo: ConvGeometry, itemsize: int, workspace_bytes: int | None) -> int:
    """How many samples' columns fit in the workspace cap (at least one)."""
    cap = DEFAULT_WORKSPACE_BYTES if workspace_bytes is None else workspace_bytes
    per_sample = pixel_column_bytes(geo, itemsize) * math.prod(geo.out)
    return max(1, min(geo.n, cap // max(per_sample, 1)))


def tile_shape(geo: ConvGeometry, itemsize: int, cap: int) -> tuple[int, ...]:
    """(samples, *output extent per axis) of one tile whose columns fit in `cap` bytes.

    Whole samples when one sample's columns fit (chunk_size); else one sample, and along
    the first axis a whose trailing slab (all later axes) fits, as many slabs as fit (1
    along the axes before it); the last axis takes at least one pixel. In 2-D: whole output
    rows, else part of one row. A pixel's column (C*prod(kernel) entries) is never larger
    than the weight, so the buffer is at most max(cap, weight bytes). Example: C=16, 15x15
    kernel, 2034x2034 output, float64, 8 MiB cap: one sample's columns are 111 GiB, one
    row's 55.9 MiB, so tiles of 2330 pixels.
    """
    pixel = pixel_column_bytes(geo, itemsize)
    if pixel * math.prod(geo.out) <= cap:
        return (chunk_size(geo, itemsize, cap),) + geo.out
    for a in range(geo.nd):
        slab = pixel * math.prod(geo.out[a + 1:])
        if slab <= cap or a == geo.nd - 1:
            return (1,) + (1,) * a + (max(1, cap // slab),) + geo.out[a + 1:]
    raise AssertionError("unreachable: the last axis always returns")


def tiles(geo: ConvGeometry, itemsize: int, cap: int):
    """Yield ((n0, n1), (i0, i1), ...): the output tiles, one range per axis, sample
    chunks outermost (2-D: ((n0, n1), (i0, i1), (j0, j1)))."""
    step, *extent = tile_shape(geo, itemsize, cap)
    starts = [range(0, o, e) for o, e in zip(geo.out, extent)]
    for n0 in range(0, geo.n, step):
        for corner in itertools.product(*starts):
            yield ((n0, min(geo.n, n0 + step)),) + tuple(
                (c, min(o, c + e)) for c, o, e in zip(corner, geo.out, extent))


def tile_input(x: np.ndarray, geo: ConvGeometry, tile):
    """The zero-padded block of x that output tile `tile` reads, and its geometry.

    Output rows i0..i1-1 read padded rows i0*s .. (i1-1)*s + span - 1 (each axis alike);
    the block holds exactly those (zeros where they are padding), so im2col(block, sub) is
    the tile's columns. A tile covering whole samples is the padded chunk itself (no extra
    copy). Returns (block (n, C, *extent), sub-geometry with no padding).
    """
    (n0, n1) = tile[0]
    if is_whole(geo, tile):
        block = pad_if_needed(x[n0:n1], geo)
    else:
        block = np.zeros((n1 - n0, geo.c) + _block_hw(geo, tile), dtype=x.dtype)
        src, dst = _block_overlap(geo, tile)
        block[(slice(None), slice(None)) + dst] = x[(slice(n0, n1), slice(None)) + src]
    return block, replace(tile_geometry(geo, tile), hw=block.shape[2:])


def tile_geometry(geo: ConvGeometry, tile) -> ConvGeometry:
    """The geometry of one tile: its samples, its block (no padding), its outputs."""
    (n0, n1), *ranges = tile
    hw = geo.padded if is_whole(geo, tile) else _block_hw(geo, tile)
    return replace(geo, n=n1 - n0, hw=tuple(hw), pads=((0, 0),) * geo.nd,
                   out=tuple(b - a for a, b in ranges))


def is_whole(geo: ConvGeometry, tile) -> bool:
    """Does the tile cover whole samples (every output position)?"""
    return all(r == (0, o) for r, o in zip(tile[1:], geo.out))


def tile_region(tile) -> tuple:
    """The tile's output slices (N, all channels, each spatial range)."""
    (n0, n1), *ranges = tile
    return (slice(n0, n1), slice(None)) + tuple(slice(a, b) for a, b in ranges)


def _block_hw(geo: ConvGeometry, tile) -> tuple[int, ...]:
    return tuple((b - a - 1) * s + d * (k - 1) + 1 for (a, b), s, d, k in
                 zip(tile[1:], geo.stride, geo.dilation, geo.kernel))


def tile_origin(geo: ConvGeometry, tile) -> tuple[int, ...]:
    """Padded position (row, col in 2-D) of the tile's block's first pixel."""
    return tuple(a * s for (a, _), s in zip(tile[1:], geo.stride))


def _block_overlap(geo: ConvGeometry, tile):
    """(x slices, block slices) of the input pixels inside the tile's block."""
    src, dst = [], []
    for r0, size, (before, _), length in zip(tile_origin(geo, tile), _block_hw(geo, tile),
                                             geo.pads, geo.hw):
        lo, hi = max(r0 - before, 0), min(r0 - before + size, length)
        hi = max(hi, lo)
        src.append(slice(lo, hi))
        dst.append(slice(lo - (r0 - before), hi - (r0 - before)))
    return tuple(src), tuple(dst)


def reuse(buf: np.ndarray | None, shape, dtype) -> np.ndarray | None:
    """A `shape` view of the front of the contiguous buffer `buf` when it is large enough
    (the first tile is the largest, so every tile reuses its buffer and no second one is
    ever allocated beside it), else None."""
    size = int(np.prod(shape))
    if buf is None or buf.dtype != dtype or buf.size < size:
        return None
    return buf.reshape(-1)[:size].reshape(shape)


def is_pointwise(geo: ConvGeometry) -> bool:
    """A 1x1, stride-1, unpadded conv needs no unrolling: x itself is the column matrix."""
    return (all(k == 1 for k in geo.kernel) and all(s == 1 for s in geo.stride)
            and all(p == (0, 0) for p in geo.pads) and geo.out == geo.hw)


def pad_if_needed(x: np.ndarray, geo: ConvGeometry) -> np.ndarray:
    """Zero-padded copy of x, or x itself when there is no padding (saves a copy)."""
    return x if all(p == (0, 0) for p in geo.pads) else pad_spatial(x, geo.pads)


def im2col(xp: np.ndarray, geo: ConvGeometry, out: np.ndarray | None = None) -> np.ndarray:
    """Unroll padded input `xp` (n, C, *padded) to columns (n, G, Cg*prod(kernel), prod(out)).

    In 2-D, row r = (c*kH + m)*kW + q of group g holds x_p[g*Cg + c, i*s + m*d, j*s + q*d]
    for every output pixel (i, j) in row-major order, so `weight.reshape(G, Kg, -1) @ cols`
    is the convolution; 1-D and 3-D order their taps and positions the same way. The
    buffer is prod(kernel) times the output plane per channel (D2).
    """
    n, nd = xp.shape[0], geo.nd
    win = sliding_windows(xp, geo.kernel, geo.stride, geo.dilation, geo.out)
    if out is None:
        out = np.empty((n, geo.groups, geo.c_per_group * math.prod(geo.kernel),
                        math.prod(geo.out)), dtype=xp.dtype)
    # (n, C, *out, *kernel) -> (n, C, *kernel, *out): one strided copy, no Python loop.
    order = (0, 1) + tuple(range(2 + nd, 2 + 2 * nd)) + tuple(range(2, 2 + nd))
    np.copyto(out.reshape((n, geo.c) + geo.kernel + geo.out), win.transpose(order))
    return out


def col2im(cols: np.ndarray, geo: ConvGeometry, padded_hw) -> np.ndarray:
    """Transpose of im2col: (n, G, Cg*prod(kernel), prod(out)) -> padded (n, C, *padded),
    summing every entry into the position it was read from (windows.fold)."""
    nd = geo.nd
    order = (0, 1) + tuple(range(2 + nd, 2 + 2 * nd)) + tuple(range(2, 2 + nd))
    taps = cols.reshape((cols.shape[0], geo.c) + geo.kernel + geo.out).transpose(order)
    return fold(taps, padded_hw, geo.stride, geo.dilation)
