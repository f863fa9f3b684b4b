"""The memory model: every buffered computation states its peak before allocating.

A reference must never answer a large request with NumPy's raw "Unable to allocate
74.5 GiB" from deep inside, or worse with minutes of swapping. Each operator estimates
the bytes it will hold at its peak (its result plus its temporaries, in the input's
itemsize) from the shapes alone and calls `check_bytes` first; a request above the limit
raises `MemoryLimitError` at once, naming the function, the shapes and the bytes.

The limit is `MAX_BYTES` (default 8 GiB: a third of a 24 GiB machine, far above any test
or training run here), changed at run time with `set_max_bytes`. im2col's column buffer is capped
separately by `workspace_bytes` (im2col.py) and tiled within a sample, so it never
decides whether a call fits: only the result and the inputs' own size do.

Example: conv2d of a (1, 1, 100000, 100000) view (no memory of its own) with a 3x3 kernel
needs 99998**2 * 8 bytes = 74.5 GiB for its result, and is refused before any allocation.
"""
from __future__ import annotations

DEFAULT_MAX_BYTES = 8 * 2**30
MAX_BYTES = DEFAULT_MAX_BYTES


class MemoryLimitError(MemoryError, ValueError):
    """A call whose estimated peak memory exceeds MAX_BYTES. A MemoryError (what it is)
    and a ValueError (bad input for this limit), so either `except` catches it."""


def set_max_bytes(limit: int | None) -> int:
    """Set the memory limit of every reference call (None: the default); returns the old
    one. Example: old = set_max_bytes(2**30); ...; set_max_bytes(old)."""
    global MAX_BYTES
    if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool)
                              or limit < 1):
        raise ValueError(f"set_max_bytes: limit must be a positive int or None, got {limit!r}")
    old, MAX_BYTES = MAX_BYTES, DEFAULT_MAX_BYTES if limit is None else limit
    return old


def fmt_bytes(n: int) -> str:
    """Bytes in the largest unit that keeps a number >= 1: 80000000000 -> '74.5 GiB'."""
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} B"


def elements(*shapes) -> int:
    """Total number of elements of several shapes, in Python ints (no overflow)."""
    total = 0
    for shape in shapes:
        count = 1
        for d in shape:
            count *= int(d)
        total += count
    return total


def check_bytes(func: str, nbytes: int, what: str, **shapes) -> None:
    """Raise MemoryLimitError when `nbytes` (the estimated peak) exceeds MAX_BYTES.

    `what` says what the bytes are ("result (1, 1, 99998, 99998) float64"), `shapes`
    the inputs' shapes for the message (x=(1, 1, 100000, 100000)).
    """
    if nbytes > MAX_BYTES:
        desc = ", ".join(f"{k}.shape={tuple(v)}" for k, v in shapes.items())
        raise MemoryLimitError(
            f"{func}: needs about {fmt_bytes(nbytes)} ({nbytes} bytes: {what}) for "
            f"{desc}, above the memory limit of {fmt_bytes(MAX_BYTES)} "
            f"(cnnref.reference.memory.set_max_bytes)")


def check_elementwise(func: str, itemsize: int, copies: int, **shapes) -> None:
    """An elementwise op whose peak is `copies` arrays the size of its largest input."""
    n = max(elements(s) for s in shapes.values())
    check_bytes(func, copies * n * itemsize, f"{copies} arrays of {n} elements", **shapes)


# --- the estimates, one per buffered algorithm -------------------------------------------

# NumPy's own iteration buffers and small temporaries (a strided copy buffers 8192
# elements at a time) and Python objects: measured at 0.15 to 1.6 MiB beside the tiles.
SLACK = 2 * 2**20

def _padded(geo) -> tuple[int, ...]:
    return tuple(i + a + b for i, (a, b) in zip(geo.hw, geo.pads))


def conv_peak_bytes(geo, itemsize: int, algorithm: str, cap: int) -> int:
    """Estimated peak bytes of a convolution (im2col.py; the naive loops and FFT): the result,
    plus im2col's column buffer, two padded blocks and a result tile for one tile (every
    tile is at most the first); the naive loops' Python lists (32 bytes a number); the FFT's
    padded input, its transforms (complex: twice the itemsize), product and inverse."""
    from .im2col import tile_shape             # a function of the geometry alone
    from .conv_winograd import TILES, winograd_peak_bytes
    if algorithm in TILES:
        return winograd_peak_bytes(geo, TILES[algorithm], itemsize, cap) + SLACK
    result = elements((geo.n, geo.k) + tuple(geo.out)) * itemsize
    if algorithm in ("naive", "fft"):
        return result + _conv_other_bytes(geo, itemsize, algorithm)
    n, *extent = tile_shape(geo, itemsize, cap)
    block = (n, geo.c) + tuple(min(p, (e - 1) * s + d * (k - 1) + 1) for p, e, s, d, k in
                               zip(_padded(geo), extent, geo.stride, geo.dilation,
                                   geo.kernel))
    pixels = elements(tuple(extent))
    columns = (n, geo.c * elements(tuple(geo.kernel)), pixels)
    # two blocks: the next tile's is allocated while the last one is still referenced
    return result + elements(block, block, columns, (n, geo.k, pixels)) * itemsize + SLACK


def _conv_other_bytes(geo, itemsize: int, algorithm: str) -> int:
    """The naive loops' Python lists (32 bytes a number, 8 per result); the FFT's padded
    input, its transforms (complex: twice the itemsize), product and inverse. Any number of
    spatial axes (the FFT's last axis is halved)."""
    padded, out, kernel = _padded(geo), tuple(geo.out), tuple(geo.kernel)
    if algorithm == "naive":
        return 8 * elements((geo.n, geo.k) + out) + 32 * elements(
            (geo.n, geo.c) + padded, (geo.k, geo.c_per_group) + kernel)
    half = padded[:-1] + (padded[-1] // 2 + 1,)
    spectra = elements((geo.n, geo.c) + half, (geo.k, geo.c_per_group) + half,
                       (geo.n, geo.k) + half)
    return (2 * spectra + elements((geo.n, geo.c) + padded, (geo.n, geo.k) + padded)) * itemsize


def check_conv_memory(func: str, geo, itemsize: int, algorithm: str, cap: int,
                      backward: bool = False, **shapes) -> None:
    """conv_peak_bytes against the limit; the backward holds grad_x, grad_weight and a
    padded grad_x chunk besides the forward-like workspace."""
    peak = conv_peak_bytes(geo, itemsize, algorithm, cap)
    what = f"{algorithm} workspace and result"
    if backward:
        padded = _padded(geo)
        n = min(geo.n, max(1, cap // max(1, geo.c * elements(padded) * itemsize)))
        peak += elements((geo.n, geo.c) + tuple(geo.hw), (n, geo.c) + padded,
                         (geo.k, geo.c_per_group) + tuple(geo.kernel)) * itemsize
        what = "grad_x, grad_weight and the " + what
    check_bytes(func, peak, what, **shapes)


def pool_peak_bytes(n_c: int, padded_hw, out_hw, taps: int, itemsize: int) -> int:
    """Estimated peak bytes of pooling (pooling.py) on N*C = `n_c` planes: two padded
    copies, per window tap one value and one flag (the NaN scan), per output a few int64
    indices and the result."""
    padded = elements((n_c,) + tuple(padded_hw))
    outs = elements((n_c,) + tuple(out_hw))
    return 2 * padded * itemsize + outs * taps * (itemsize + 1) + outs * (4 * 8 + itemsize)
