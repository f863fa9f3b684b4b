"""The one comparison: a candidate's array against the float64 truth, element-wise under
an allowed error, returning a structured failure (what, where, by how much, allowed).

Used by the test suite (`assert_close` raises on a failure), by `cnnref check`
(which reports it, with a diagnosis) and by the benchmarks' correctness checks.

Order of checks: shape; then special values (a NaN where the truth has none or the
reverse, an infinity of the wrong sign, an infinity where the truth is finite); then
|got - truth| <= allowed on the elements where the truth is finite. An allowed error that
is NaN there would pass anything (err > NaN is False), so it is a failure of its own kind
('tolerance'): a tolerance rule was fed an infinity.

Example: compare("out", np.array([1.0, 2.5]), np.array([1.0, 2.0]), 0.1) is a 'value'
failure at index (1,), |error| 0.5 > allowed 0.1, 1 of 2 elements out of bound.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


class WrongType(Exception):
    """The implementation returned something that is not a real numeric array."""


def as_array(value) -> np.ndarray:
    """numpy.asarray, plus torch tensors that still require grad or live on a GPU."""
    if hasattr(value, "detach") and hasattr(value, "cpu"):
        value = value.detach().cpu()
    try:
        arr = np.asarray(value)
    except Exception as exc:
        raise WrongType(f"numpy.asarray failed on a {type(value).__name__}: {exc}") from exc
    if arr.dtype.kind not in "fiub":
        raise WrongType(f"returned dtype {arr.dtype} ({type(value).__name__}), "
                        "expected a real floating array")
    return arr


@dataclass
class Failure:
    """Why one output is wrong. kind: shape, special, value, tolerance (the comparison's
    own), raised, type, missing, timeout, crashed, checker-error (the checker's)."""
    kind: str
    tensor: str
    message: str
    max_error: float | None = None
    allowed: float | None = None
    index: tuple | None = None
    got: float | None = None
    want: float | None = None
    n_bad: int | None = None
    size: int | None = None


def _first(mask: np.ndarray) -> tuple:
    return tuple(int(i) for i in np.argwhere(mask)[0])


def compare(name: str, got, truth, allowed) -> Failure | None:
    """None when `got` matches `truth` within `allowed` (scalar or per element)."""
    got, truth = np.asarray(got), np.asarray(truth)
    if got.shape != truth.shape:
        return Failure("shape", name, f"{name} has shape {got.shape}, but should have "
                       f"shape {truth.shape}")
    g64, t64 = got.astype(np.float64), truth.astype(np.float64)
    special = (np.isnan(g64) != np.isnan(t64)) | (np.isinf(t64) & (g64 != t64)) | \
        (np.isinf(g64) & ~np.isinf(t64))
    if special.any():
        idx = _first(special)
        return Failure("special", name, f"{name}{list(idx)}={g64[idx]}, but should be "
                       f"{t64[idx]}", index=idx, got=float(g64[idx]), want=float(t64[idx]),
                       n_bad=int(special.sum()), size=int(special.size))
    finite = np.isfinite(t64)
    with np.errstate(invalid="ignore"):  # inf - inf where both are the same infinity
        err = np.where(finite, np.abs(g64 - t64), 0.0)
    allowed = np.broadcast_to(np.asarray(allowed, dtype=np.float64), err.shape)
    if np.isnan(allowed[finite]).any():
        idx = _first(np.isnan(allowed) & finite)
        return Failure("tolerance", name, f"the allowed error of {name}{list(idx)} is NaN "
                       "(a tolerance rule fed an infinity?)", index=idx)
    over = err > allowed
    if not over.any():
        return None
    idx = tuple(int(i) for i in np.unravel_index(np.argmax(np.where(over, err, -1.0)),
                                                 err.shape))
    return Failure("value", name,
                   f"{name}{list(idx)}={float(g64[idx])!r}, but should be "
                   f"{float(t64[idx])!r}: |error| {err[idx]:.3g} > allowed "
                   f"{allowed[idx]:.3g} ({int(over.sum())} of {err.size} elements out of "
                   "bound)", max_error=float(err[idx]), allowed=float(allowed[idx]),
                   index=idx, got=float(g64[idx]), want=float(t64[idx]),
                   n_bad=int(over.sum()), size=int(err.size))


def worst_ratio(got, truth, allowed) -> float:
    """max |got - truth| / allowed over the finite truth (inf where allowed is 0 and the
    error is not; 0 when both are 0): how close a passing candidate came to its bound."""
    g64, t64 = np.asarray(got, dtype=np.float64), np.asarray(truth, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        err = np.where(np.isfinite(t64), np.abs(g64 - t64), 0.0)
    allowed = np.broadcast_to(np.asarray(allowed, dtype=np.float64), err.shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(allowed > 0, err / allowed, np.where(err > 0, np.inf, 0.0))
    return float(ratio.max(initial=0.0))


def assert_close(got, truth, allowed, what: str, call: str) -> float:
    """Raise AssertionError (naming `what` and the call) unless `got` matches `truth`
    under verification/core/compare.py; returns the worst |error| / allowed."""
    failure = compare(what, got, truth, allowed)
    if failure is not None:
        raise AssertionError(f"{failure.message} [{call}]")
    return worst_ratio(got, truth, allowed)
