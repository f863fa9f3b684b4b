"""The one way the operators beyond the documents' 2-D set become checkable: a case
(shapes + keywords + seed) is built into a call by filling the reference's positional
arguments in order, arrays from the shapes and required scalars (kernel_size,
output_size, num_groups, ...) from the keywords; a backward entry gets a random upstream
gradient shaped like the reference forward's output. The fixed cases (worked examples
and corners) are tables of small inputs; a drawn case the user's signature cut down is
grown until the window fits again.

Example: Case({"x": (1, 1, 5)}, {"kernel_size": 2, "stride": 2}) for max_pool1d builds
max_pool1d(x=<(1, 1, 5)>, kernel_size=2, stride=2); for max_pool1d_backward it adds
grad_out=<(1, 1, 2)> first.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Callable

import numpy as np

from cnnref import reference as ref
from cnnref.verification.core.cases import Case, as64, built, make_arrays, upstream_gradient


def call_args(positional: tuple, arrays: dict, kwargs: dict) -> tuple[dict, dict]:
    """(positional arguments by name, in order; the keywords left). An argument is an
    array when the case has a shape (or None) for it, else a required scalar taken out
    of the keywords; a positional name in neither is an absent optional array."""
    kw = dict(kwargs)
    args = {name: arrays[name] if name in arrays else kw.pop(name, None)
            for name in positional}
    return args, kw


def forward_output(forward: str, positional: tuple, args: dict, kwargs: dict):
    """The reference forward's result on the float64 copies of the arrays."""
    values = [as64(args.get(name)) for name in positional]
    return getattr(ref, forward)(*values, **kwargs)


def builder(name: str, forward: str, positional: tuple, features: Callable,
            arrays: Callable | None = None) -> Callable:
    """build(case, dtype, family, label, probe) of `name`, the forward `forward` (the
    same name for a forward entry) with the forward's `positional` names. arrays(case,
    dtype) -> {name: array}: the values (default: make_arrays, standard normal or small
    integers). features(args, kwargs) -> the features one call exercises."""
    backward = name != forward

    def build(case: Case, dtype: str, family: str, label: str = "", probe=None) -> Case:
        values = (arrays or make_arrays)(case, np.dtype(dtype))
        args, kw = call_args(positional, values, case.kwargs)
        if backward:
            out = np.shape(forward_output(forward, positional, args, kw))
            args = {"grad_out": upstream_gradient(out, case.seed, case.exact, dtype), **args}
        feats = features(args, kw) | ({"float32"} if dtype == "float32" else set())
        return built(name, args, kw, dtype, family, label or repr(case), case.exact,
                     feats, probe)
    return build


def fixed(build: Callable, rows: list, family: str, seed: int) -> Callable:
    """The fixed cases of one table: rows of (shapes, kwargs, probe or None), built
    exactly (small integers) in float64, labelled 'corner i'; then the first row again
    in float32 (refusing float32 inputs is a limitation, not a failure)."""
    def cases() -> list[Case]:
        out = [build(Case(shapes, kwargs, seed + i, exact=True), "float64", family,
                     f"corner {i}", probe)
               for i, (shapes, kwargs, probe) in enumerate(rows)]
        shapes, kwargs, _ = rows[0]
        return out + [build(Case(shapes, kwargs, seed, exact=True), "float32", family,
                            "corner float32", "float32")]
    return cases


def given(name: str, forward: str, positional: tuple, features: Callable, rows: list,
          family: str = "examples") -> Callable:
    """Cases with given values: rows of (arguments by name: nested lists become arrays,
    scalars stay, kwargs, label, expected). The
    expected forward result is stated for the test that holds the reference to it
    (verification/tests/test_operator_cases.py); a backward entry gets an integer
    upstream gradient."""
    def cases() -> list[Case]:
        out = []
        for i, (values, kwargs, label, _) in enumerate(rows):
            values = {k: np.asarray(v) if isinstance(v, (list, np.ndarray)) else v
                      for k, v in values.items()}
            args, kw = call_args(positional, values, kwargs)
            if name != forward:
                shape = np.shape(forward_output(forward, positional, args, kw))
                args = {"grad_out": upstream_gradient(shape, 5000 + i, True, np.float64),
                        **args}
                label += ", integer upstream gradient"
            out.append(built(name, args, kw, "float64", family, label, True,
                             features(args, kw)))
        return out
    cases.rows, cases.positional = rows, positional      # for the test of the expectations
    return cases


def grow_to_fit(forward: str, positional: tuple, plain: Callable | None = None,
                channels: Callable | None = None) -> Callable:
    """fit(case, supported, unsupported): the argument forms the user refused made plain
    (`plain(kwargs, shapes, unsupported)`), the arrays' channels matched to the keywords
    left (`channels(shapes, kwargs)`: groups reset to 1 changes a weight's shape), then
    x's spatial axes grown one at a time until the reference accepts the call (a padding
    reset to 0 may leave the window larger than the input)."""
    def fit(case: Case, supported: set, unsupported=()) -> Case:
        kwargs = plain(case.kwargs, case.shapes, set(unsupported)) if plain else case.kwargs
        shapes = channels(case.shapes, kwargs) if channels else case.shapes
        case = replace(case, kwargs=kwargs, shapes=shapes)
        for _ in range(32):
            zeros = {k: None if s is None else np.zeros(s) for k, s in case.shapes.items()}
            args, kw = call_args(positional, zeros, case.kwargs)
            try:
                forward_output(forward, positional, args, kw)
                return case
            except ValueError:
                n, c, *spatial = case.shapes["x"]
                grown = (n, c, *[s + 1 for s in spatial])
                case = replace(case, shapes={**case.shapes, "x": grown})
        return case
    return fit


def checkable(name: str, forward: str, positional: tuple, features: Callable,
              all_features: tuple, strategy: Callable, corners: list, examples: list,
              arrays: Callable | None = None, plain: Callable | None = None,
              cost: float = 1.0, applicable: Callable | None = None,
              value_corners: list = (), grow: bool = True, beyond: tuple = (),
              channels: Callable | None = None) -> dict:
    """The `Op` fields that make one entry checkable (`cnnref check`, the matrix):
    strategy(exact) draws a Case; corners: rows of (shapes, kwargs, probe), then
    value_corners: rows of (arrays, kwargs, label, expected) as examples are; grow:
    whether a case cut down to the user's signature is grown to fit (windowed ops), its
    channels matched by `channels` (see grow_to_fit);
    beyond: the matrix's own families, (family, strategy, arrays or None), past torch's
    argument space or its ordinary values (ONNX's padding, NaN and infinities)."""
    build = builder(name, forward, positional, features, arrays)
    draws = [(family, strategy_, builder(name, forward, positional, features, values or arrays))
             for family, strategy_, values in beyond]
    shaped = fixed(build, corners, "corners", 6000)
    valued = given(name, forward, positional, features, list(value_corners), "corners")
    return {"strategy": strategy, "build": build, "features": features,
            "corners": lambda: shaped() + valued(),
            "examples": given(name, forward, positional, features, examples),
            "fit": grow_to_fit(forward, positional, plain, channels) if grow else None,
            "cost": cost,
            "all_features": tuple(all_features) + ("float32", "exact integers"),
            "applicable": applicable, "matrix_draws": (lambda: draws) if draws else None}
