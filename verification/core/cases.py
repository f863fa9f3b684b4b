"""The one case type, the arrays it stands for, and the one upstream-gradient generator.

A case is drawn as shapes + keyword arguments + a seed (what hypothesis prints, short and
reproducible); an operator then builds it into a call: the arrays (`args`, in the
reference's positional order, None for an absent optional array), the dtype, the family
it belongs to, a label and the features of the argument space it exercises.

Example: Case({"x": (1, 1, 4, 4)}, {"kernel_size": 2}, seed=3) draws a 4x4 map;
make_arrays of it gives {"x": <standard-normal (1, 1, 4, 4) float64>}.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

# The families of cases, cheapest first: the documents' worked examples, targeted corner
# cases, then hypothesis with small integers (exact sums), random float64, random float32.
FAMILIES = ("examples", "corners", "exact", "random", "float32")


@dataclass(frozen=True)
class Case:
    """shapes: argument name -> shape (None for an absent optional array); kwargs: the
    keyword arguments; seed: of the values; exact: small integers (every direct float64
    sum is exact). Once built: op, args (name -> array or scalar, positional order),
    dtype, family, label, features and probe (the one argument form it probes)."""
    shapes: dict
    kwargs: dict
    seed: int = 0
    exact: bool = False
    op: str = ""
    args: dict | None = field(default=None, repr=False)
    dtype: str = "float64"
    family: str = ""
    label: str = ""
    features: frozenset = field(default=frozenset(), repr=False)
    probe: str | None = None

    def __repr__(self) -> str:   # the reproduction line hypothesis prints
        return (f"Case(shapes={self.shapes!r}, kwargs={self.kwargs!r}, seed={self.seed}, "
                f"exact={self.exact})")

    def describe(self) -> str:
        """`conv2d(x=<float64 (1, 1, 5, 5)>, weight=..., stride=2)`: the built call."""
        parts = [f"{k}={_short(v)}" for k, v in (self.args or {}).items()]
        parts += [f"{k}={v!r}" for k, v in self.kwargs.items()]
        return f"{self.op}({', '.join(parts)})"


def built(op: str, args: dict, kwargs: dict, dtype: str = "float64", family: str = "",
          label: str = "", exact: bool = False, features=frozenset(), probe=None,
          seed: int = 0) -> Case:
    """A case with its arrays given (the worked examples, corners and built draws)."""
    shapes = {k: None if v is None else tuple(np.shape(v)) for k, v in args.items()
              if v is None or isinstance(v, np.ndarray)}
    return Case(shapes, dict(kwargs), seed, exact, op, dict(args), dtype, family, label,
                frozenset(features), probe)


def call_repr(func: str, arrays: dict, kwargs: dict) -> str:
    """`conv2d(x=(2, 3, 5, 5), weight=(4, 3, 3, 3), stride=2)`: shapes for arrays."""
    parts = [f"{k}={None if v is None else tuple(np.shape(v))}" for k, v in arrays.items()]
    parts += [f"{k}={v!r}" for k, v in kwargs.items()]
    return f"{func}({', '.join(parts)})"


def _short(v) -> str:
    if isinstance(v, np.ndarray):
        return f"<{v.dtype} {tuple(v.shape)}>"
    return repr(v)


def make_arrays(case: Case, dtype=np.float64) -> dict:
    """Standard-normal arrays, or integers in [-4, 4] for exact cases (sums of a few
    hundred such products stay far below 2**53, and below 2**24 for float32)."""
    rng = np.random.default_rng(case.seed)
    out = {}
    for name, shape in case.shapes.items():
        if shape is None:
            out[name] = None
        elif case.exact:
            out[name] = rng.integers(-4, 5, size=shape).astype(dtype)
        else:
            out[name] = rng.standard_normal(shape).astype(dtype)
    return out


def upstream_gradient(shape, seed: int, exact: bool, dtype) -> np.ndarray:
    """The random upstream gradient of a backward check, never ones (a `.sum()` gradient
    hides transposed and misrouted gradients): integers in [-4, 4] for exact cases, else
    standard normal, from the seed after the inputs' (seed + 1)."""
    rng = np.random.default_rng(seed + 1)
    g = rng.integers(-4, 5, shape) if exact else rng.standard_normal(shape)
    return np.asarray(g).astype(dtype)


def as64(v):
    """Floating arrays to float64 (the ground truth's precision); integer arrays (class
    targets) and scalars unchanged."""
    if isinstance(v, np.ndarray) and v.dtype.kind == "f":
        return v.astype(np.float64)
    return v


def pair(v) -> tuple:
    """(v, v) for a scalar, the tuple itself for a pair: for arguments already valid."""
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)


def as_float32(case):
    """A case for a float32-only kernel: its float arrays rounded to float32 (the truth
    is then computed on the rounded inputs) and judged by float32 bounds."""
    if case.dtype != "float64":
        return case
    args = {k: v.astype(np.float32) if isinstance(v, np.ndarray) and v.dtype.kind == "f"
            else v for k, v in case.args.items()}
    features = (case.features - {"float64"}) | {"float32"}
    return replace(case, args=args, dtype="float32", features=features)
