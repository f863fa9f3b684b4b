"""Argument checking shared by every public function.

Bad input must fail at the door with a message that names the function, the argument and
the shapes involved, never deep inside NumPy with a broadcasting traceback.
"""
from __future__ import annotations

import numbers

import numpy as np

FLOAT_DTYPES = (np.float16, np.float32, np.float64)


def float_array(x, name: str, func: str, ndim: int | tuple[int, ...] | None = None,
                layout: str = "") -> np.ndarray:
    """Return `x` as a floating ndarray (no copy when it already is one) or raise.

    Integer, bool and complex inputs raise TypeError: convolution of integers is exact in
    a different sense, and PyTorch refuses them too.
    """
    arr = np.asarray(x)
    if arr.dtype.type not in FLOAT_DTYPES:
        raise TypeError(f"{func}: {name} must be a floating array (float16/32/64), "
                        f"got dtype {arr.dtype} with shape {arr.shape}")
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else ndim
        if arr.ndim not in allowed:
            want = " or ".join(str(a) for a in allowed)
            raise ValueError(f"{func}: {name} must have {want} dimensions {layout}, "
                             f"got shape {arr.shape}")
    return arr


def same_dtype(func: str, **arrays) -> np.dtype:
    """All named arrays (None skipped) share one dtype, as PyTorch requires; return it."""
    present = {k: v for k, v in arrays.items() if v is not None}
    dtypes = {np.asarray(v).dtype for v in present.values()}
    if len(dtypes) > 1:
        desc = ", ".join(f"{k}.dtype={np.asarray(v).dtype}" for k, v in present.items())
        raise TypeError(f"{func}: arrays must share one dtype, got {desc}")
    return dtypes.pop()


def _is_int(v) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, (bool, np.bool_))


AXIS_NAMES = {1: "(l,)", 2: "(h, w)", 3: "(d, h, w)"}


def ntuple(value, n: int, name: str, func: str, minimum: int) -> tuple[int, ...]:
    """Normalise an int or an n-sequence of ints to an n-tuple, each >= `minimum`.

    n is the number of spatial axes: (l,) in 1-D, (h, w) in 2-D, (d, h, w) in 3-D.
    Example: ntuple(2, 3, "stride", "conv3d", 1) == (2, 2, 2).
    """
    if _is_int(value):
        out = (int(value),) * n
    elif isinstance(value, (tuple, list)) and len(value) == n and all(map(_is_int, value)):
        out = tuple(int(v) for v in value)
    else:
        what = "a pair" if n == 2 else f"a {n}-tuple"
        raise TypeError(f"{func}: {name} must be an int or {what} of ints "
                        f"{AXIS_NAMES.get(n, '')}, got {value!r}")
    if min(out) < minimum:
        raise ValueError(f"{func}: {name} must be >= {minimum}, got {value!r}")
    return out


def pair(value, name: str, func: str, minimum: int) -> tuple[int, int]:
    """Normalise an int or a 2-sequence of ints to `(h, w)`, each >= `minimum`."""
    return ntuple(value, 2, name, func, minimum)


def positive_int(value, name: str, func: str) -> int:
    if not _is_int(value):
        raise TypeError(f"{func}: {name} must be an int, got {value!r}")
    if value < 1:
        raise ValueError(f"{func}: {name} must be >= 1, got {value!r}")
    return int(value)


def check_grad_out(grad_out, expected_shape, func: str, *, ndim: int | None = None,
                   layout: str = "", dtype=None, context: str = "") -> np.ndarray:
    """Return `grad_out` as a floating array of the forward output's shape, or raise.

    `expected_shape`: the shape the forward pass returns for these inputs. `ndim`/`layout`:
    the rank to insist on first (see float_array). `dtype`: when given, grad_out must have
    it too (TypeError otherwise). `context`: the inputs' shapes, for the message.
    """
    grad_out = float_array(grad_out, "grad_out", func, ndim, layout)
    expected = tuple(expected_shape)
    if grad_out.shape != expected:
        raise ValueError(f"{func}: grad_out must have the forward output's shape {expected}, "
                         f"got {grad_out.shape}" + (f" ({context})" if context else ""))
    if dtype is not None and grad_out.dtype != dtype:
        raise TypeError(f"{func}: grad_out.dtype={grad_out.dtype} differs from the "
                        f"inputs' dtype {dtype}")
    return grad_out


def _one_or_tuple(values):
    values = tuple(values)
    return values[0] if len(values) == 1 else values


def check_window_fits(func: str, input_size, kernel, pads, dilation, axes=None,
                      context: str = "") -> tuple[int, ...]:
    """Every window must fit in the padded input; return the window span of each axis.

    Per axis, a kernel of k taps with dilation d spans d*(k - 1) + 1 input pixels, which
    must not exceed the padded length i + pad_before + pad_after. Arguments are sequences
    with one entry per axis (`pads`: (before, after) pairs); `axes` names the axes.
    """
    axes = axes or {1: "L", 2: "HW", 3: "DHW"}.get(len(kernel), "HW")
    spans = []
    for axis, i, k, (pb, pa), d in zip(axes, input_size, kernel, pads, dilation):
        span = d * (k - 1) + 1
        if span > i + pb + pa:
            raise ValueError(
                f"{func}: kernel span {span} (kernel {_one_or_tuple(kernel)}, dilation "
                f"{_one_or_tuple(dilation)}): the window spans {span} along {axis}, larger "
                f"than the padded input {i} + {pb} + {pa} = {i + pb + pa} (input "
                f"{_one_or_tuple(input_size)}, padding {_one_or_tuple(pads)}"
                + (f", {context}" if context else "") + ")")
        spans.append(span)
    return tuple(spans)


def boolean(value, name: str, func: str) -> bool:
    """A bool (or NumPy bool), as torch insists: 'no', 0 or None are not booleans."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{func}: {name} must be a bool, got {value!r}")
    return bool(value)


def real(value, name: str, func: str, minimum: float | None = None) -> float:
    """A real number (int, float or a NumPy scalar; not a bool, a string or None), finite,
    and >= `minimum` when given."""
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value[()]
    if not isinstance(value, numbers.Real) or isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{func}: {name} must be a number, got {value!r}")
    if not np.isfinite(float(value)):
        raise ValueError(f"{func}: {name} must be finite, got {value!r}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{func}: {name} must be non-negative, got {value!r}" if minimum == 0
                         else f"{func}: {name} must be >= {minimum}, got {value!r}")
    return float(value)


def dim_index(x: np.ndarray, dim, func: str) -> int:
    """`dim` as an int in [0, x.ndim): an int (not a bool) in [-x.ndim, x.ndim)."""
    if not _is_int(dim):
        raise TypeError(f"{func}: dim must be an int, got {dim!r}")
    if not -max(x.ndim, 1) <= dim < max(x.ndim, 1):
        raise ValueError(f"{func}: dim={dim} is out of range for x.shape={x.shape} "
                         f"(expected -{max(x.ndim, 1)} <= dim < {max(x.ndim, 1)})")
    return int(dim) % max(x.ndim, 1)
