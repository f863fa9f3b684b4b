"""The mathematical operations behind the layer (FORMULAS B1-B3, C16).

B1  1-D convolution        s(t) = sum_a x(a) w(t - a)
B2  2-D convolution        C[s, t] = sum_m sum_n A[m, n] B[s - m, t - n],
                           full size (ma + mb - 1) x (na + nb - 1); commutative
B3  cross-correlation      h[i, j] = sum_m sum_n I[i + m, j + n] K[m, n]
C16 conv(x, w) == xcorr(x, rot180(w)): what a CNN layer computes is a cross-correlation,
    and since the kernel is learned the distinction does not matter for training.

Modes follow numpy.convolve / scipy.signal: 'full' (every overlap), 'valid' (complete
overlaps only), 'same' (the size of the first argument, centred as scipy does).
"""
from __future__ import annotations

import numpy as np

from ._validate import float_array
from .conv import conv2d

MODES = ("full", "valid", "same")


def rot180(kernel) -> np.ndarray:
    """Rotate the last two axes by 180 degrees: K[m, n] -> K[kH-1-m, kW-1-n]."""
    k = np.asarray(kernel)
    if k.dtype.kind not in "biufc":
        raise TypeError(f"rot180: kernel must be a numeric array, got dtype {k.dtype} "
                        f"with shape {k.shape}")
    if k.ndim < 2:
        raise ValueError(f"rot180: kernel needs at least 2 dimensions, got shape {k.shape}")
    return np.ascontiguousarray(k[..., ::-1, ::-1])


def convolve1d(x, w, mode: str = "full") -> np.ndarray:
    """Discrete 1-D convolution s[t] = sum_a x[a] w[t - a] (B1), like numpy.convolve.

    Example: convolve1d([1, 2, 3], [0, 1, 0.5]) == [0, 1, 2.5, 4, 1.5]. 'same' has len(x)
    entries (scipy's rule; numpy.convolve gives max(len(x), len(w))).
    """
    x = float_array(x, "x", "convolve1d", 1, "(L,)")
    w = float_array(w, "w", "convolve1d", 1, "(K,)")
    return convolve2d(x[None, :], w[None, :], mode, _func="convolve1d")[0]


def correlate2d(a, b, mode: str = "valid") -> np.ndarray:
    """2-D cross-correlation h[i, j] = sum_m sum_n a[i + m, j + n] b[m, n] (B3).

    This is what a CNN layer computes (B4). Example: correlate2d([[1, 2], [3, 4]], [[1, 1]])
    == [[3], [7]] (each row's neighbours summed, the kernel not flipped).
    """
    a, b = _matrix(a, "a", "correlate2d"), _matrix(b, "b", "correlate2d")
    return convolve2d(a, rot180(b), mode, _func="correlate2d")


def convolve2d(a, b, mode: str = "full", _func: str = "convolve2d") -> np.ndarray:
    """Mathematical 2-D convolution C = A * B (B2): the kernel is flipped.

    'full' gives (ma + mb - 1, na + nb - 1); 'valid' needs b no larger than a.
    Example: convolve2d([[1, 2], [3, 4]], [[1, 1]]) == [[1, 3, 2], [3, 7, 4]].
    """
    if not isinstance(_func, str):
        raise TypeError(f"convolve2d: _func must be the caller's name (a str), got {_func!r}")
    a, b = _matrix(a, "a", _func), _matrix(b, "b", _func)
    if not isinstance(mode, str) or mode not in MODES:
        raise ValueError(f"{_func}: mode must be one of {MODES}, got {mode!r}")
    if a.dtype != b.dtype:
        dtype = np.result_type(a, b)
        a, b = a.astype(dtype), b.astype(dtype)
    (ma, na), (mb, nb) = a.shape, b.shape
    if mode == "valid" and (mb > ma or nb > na):
        raise ValueError(f"{_func}: 'valid' needs the kernel no larger than the input, "
                         f"got a.shape={a.shape}, b.shape={b.shape}")
    if mode == "full":
        pads = ((mb - 1, mb - 1), (nb - 1, nb - 1))
    elif mode == "same":   # numpy/scipy centring: full[(mb-1)//2 : (mb-1)//2 + ma]
        pads = ((mb // 2, (mb - 1) // 2), (nb // 2, (nb - 1) // 2))
    else:
        pads = ((0, 0), (0, 0))
    out = conv2d(a[None, None], rot180(b)[None, None], padding=pads, algorithm="naive")
    return out[0, 0]


def _matrix(v, name, func) -> np.ndarray:
    return float_array(v, name, func, 2, "(rows, cols)")
