"""`cnnref check` cases for the activations (FORMULAS C6), softmax / log_softmax and the
dense layer (C1, C4), PyTorch semantics: ReLU's derivative is 0 at 0, leaky ReLU's is
negative_slope at 0, softmax and log_softmax must not overflow on large logits (~1000),
and `*_backward(grad_out, <inputs>)` multiplies by a random upstream gradient. The softmax
cross-entropy (C2, C3) lives with the other losses (norms_losses.py).
NaN inputs are not part of the battery (torch's ReLU passes the gradient through a NaN).
"""
from __future__ import annotations

from functools import partial

import numpy as np
from hypothesis import strategies as st

from cnnref.verification.core import tolerances
from cnnref.verification.core.strategies import seeds
from cnnref.verification.core.cases import Case, built, make_arrays, upstream_gradient
from cnnref.verification.mutants import misc as mutants
from cnnref.verification.operators.op import Op


# --- strategies: valid configurations only, biased towards the corners ---------------

_small_shapes = st.lists(st.integers(1, 4), min_size=1, max_size=4).map(tuple)


@st.composite
def elementwise_cases(draw, exact: bool = False, slope: bool = False) -> Case:
    """Any shape of rank 1-4; integer values (zeros, where ReLU's derivative is decided)
    for exact cases; `slope`: a leaky ReLU negative_slope, 0.01 (the default) or not."""
    slopes = st.sampled_from([0.01, 0.1, 0.25, 2.0])
    kwargs = {"negative_slope": draw(slopes)} if slope else {}
    return Case({"x": draw(_small_shapes)}, kwargs, draw(seeds), exact)


@st.composite
def softmax_cases(draw, exact: bool = False) -> Case:
    """Any shape of rank 1-4 and any valid dim, negative ones included."""
    shape = draw(_small_shapes)
    dim = draw(st.integers(-len(shape), len(shape) - 1))
    return Case({"x": shape}, {"dim": dim}, draw(seeds), exact)


@st.composite
def dense_cases(draw, exact: bool = False) -> Case:
    """x (N, in), weight (out, in), bias (out,) or None; sizes 1..5."""
    n, fin, fout = (draw(st.integers(1, 5)) for _ in range(3))
    shapes = {"x": (n, fin), "weight": (fout, fin),
              "bias": (fout,) if draw(st.booleans()) else None}
    return Case(shapes, {}, draw(seeds), exact)


def _features(args, kwargs) -> frozenset:
    x = args["x"]
    f = {f"rank {x.ndim}"} if "dim" in args else set()
    # a zero the upstream gradient multiplies by 0 tests no derivative at 0
    g = args.get("grad_out")
    zero = (x == 0) if g is None or np.shape(g) != np.shape(x) else (x == 0) & (g != 0)
    f |= {"x == 0"} if np.any(zero) else set()
    f |= {"|x| >= 30"} if np.any(np.abs(x) >= 30) else set()
    if "dim" in args:
        f |= {"dim < 0"} if args["dim"] < 0 else {"dim >= 0"}
        # softmax over one element is exactly 1 (log_softmax 0): a degenerate reduction
        f |= {"dim of length 1"} if x.ndim and x.shape[args["dim"]] == 1 else set()
    f |= {"negative_slope != 0.01"} if kwargs.get("negative_slope", 0.01) != 0.01 else set()
    # above 1, x if x > 0 else slope * x is no longer max(x, slope * x)
    f |= {"negative_slope > 1"} if kwargs.get("negative_slope", 0.01) > 1 else set()
    f |= {"bias"} if args.get("bias") is not None else set()
    f |= {"batch>1"} if "weight" in args and x.shape[0] > 1 else set()
    return frozenset(f)


def _builder(op: str, backward: bool):
    def build(case: Case, dtype: str, family: str, label: str = "", probe=None) -> Case:
        arrays = make_arrays(case, np.dtype(dtype))
        kw = dict(case.kwargs)
        if "dim" in kw:            # dim is required: passed by position
            arrays["dim"] = kw.pop("dim")
        if backward:
            out = _out_shape(arrays)
            arrays = {"grad_out": upstream_gradient(out, case.seed, case.exact, dtype),
                      **arrays}
        feats = _features(arrays, kw) | ({"float32"} if dtype == "float32" else set())
        return built(op, arrays, kw, dtype, family, label or repr(case), case.exact,
                         feats, probe)
    return build


def _out_shape(arrays) -> tuple:
    if "weight" in arrays:
        return (arrays["x"].shape[0], arrays["weight"].shape[0])
    return arrays["x"].shape


def _fixed(op: str, backward: bool, rows, family: str):
    """Cases with given values: rows of (args without grad_out, kwargs, label)."""
    def cases() -> list[Case]:
        out = []
        for i, (args, kw, label) in enumerate(rows):
            args = {k: np.asarray(v, dtype=np.float64) if v is not None and k in (
                "x", "weight", "bias") else v for k, v in args.items()}
            if backward:
                g = upstream_gradient(_out_shape(args), 4000 + i, True, np.float64)
                args = {"grad_out": g, **args}
            out.append(built(op, args, dict(kw), "float64", family, label, True,
                                 _features(args, kw)))
        return out
    return cases


_ACT_X = [[-3.0, -1.0, 0.0, 0.5, 2.0], [1.0, 0.0, -0.5, 4.0, -2.0]]
_LARGE = [[-1000.0, -40.0, 0.0, 40.0, 1000.0]]
EXAMPLES = {
    "relu": [({"x": [-1.0, 0.0, 2.0]}, {}, "C6: relu([-1, 0, 2]) = [0, 0, 2]; f'(0) = 0")],
    "leaky_relu": [({"x": [-2.0, 3.0, 0.0]}, {"negative_slope": 0.1},
                    "C6: leaky_relu([-2, 3, 0], 0.1) = [-0.2, 3, 0]")],
    "sigmoid": [({"x": [0.0, 2.0, -2.0]}, {}, "C6: sigmoid(0) = 0.5, f' = f (1 - f)")],
    "tanh": [({"x": [0.0, 1.0, -1.0]}, {}, "C6: tanh(0) = 0, f' = 1 - f^2")],
    "softmax": [({"x": [0.0, np.log(3.0)], "dim": 0}, {}, "softmax([0, ln 3]) = [1/4, 3/4]")],
    "log_softmax": [({"x": [1000.0, 1000.0], "dim": 0}, {},
                     "log_softmax([1000, 1000]) = [-ln 2, -ln 2]")],
    "dense": [({"x": [[1.0, 2.0]], "weight": [[3.0, 4.0]], "bias": [5.0]}, {},
               "C1: x [[1, 2]], W [[3, 4]], b [5] -> [[16]]")],
}
CORNERS = {
    "relu": [({"x": _ACT_X}, {}, "corner 0: zeros and both signs"),
             ({"x": _LARGE}, {}, "corner 1: |x| = 1000")],
    "leaky_relu": [({"x": _ACT_X}, {}, "corner 0: default slope 0.01"),
                   ({"x": _ACT_X}, {"negative_slope": 0.2}, "corner 1: slope 0.2"),
                   ({"x": _LARGE}, {"negative_slope": 0.2}, "corner 2: |x| = 1000")],
    "sigmoid": [({"x": _ACT_X}, {}, "corner 0"), ({"x": _LARGE}, {}, "corner 1: |x| = 1000")],
    "tanh": [({"x": _ACT_X}, {}, "corner 0"), ({"x": _LARGE}, {}, "corner 1: |x| = 1000")],
    "softmax": [({"x": _ACT_X, "dim": 1}, {}, "corner 0: rows"),
                ({"x": _ACT_X, "dim": 0}, {}, "corner 1: columns (dim 0)"),
                ({"x": [[1000.0, 1001.0, 999.0], [-1000.0, 0.0, 3.0]], "dim": -1}, {},
                 "corner 2: logits ~ 1000 (subtract the maximum first)")],
    "dense": [({"x": [[1.0, -2.0, 0.0], [3.0, 1.0, -1.0]], "weight": [[1.0, 2.0, -1.0],
                                                                     [0.0, 3.0, 2.0]],
                "bias": [1.0, -2.0]}, {}, "corner 0: in 3, out 2, batch 2"),
              ({"x": [[2.0, -1.0], [1.0, 3.0]], "weight": [[1.0, 4.0], [-2.0, 3.0]],
                "bias": None}, {}, "corner 1: square weight, no bias")],
}
CORNERS["log_softmax"] = CORNERS["softmax"] + [
    ({"x": [[0.0, -800.0]], "dim": 1}, {}, "corner 3: log of a probability below 1e-300")]

STRATEGIES = {"leaky_relu": lambda exact: elementwise_cases(exact, slope=True),
              "softmax": softmax_cases, "log_softmax": softmax_cases,
              "dense": dense_cases}
POSITIONAL = {"softmax": ("x", "dim"), "log_softmax": ("x", "dim"),
              "dense": ("x", "weight", "bias")}
ALL = {"softmax": ("dim < 0", "dim >= 0", "dim of length 1", "rank 1", "rank 2", "rank 3",
                   "rank 4", "|x| >= 30"),
       "dense": ("bias", "batch>1"),
       "leaky_relu": ("negative_slope != 0.01", "negative_slope > 1", "x == 0")}
ALL["log_softmax"] = ALL["softmax"]


# --- the PyTorch twins: handed the torch module (the registry, which every checker
# worker imports, never imports torch) ---------------------------------------------

def torch_relu(torch, x):
    return torch.nn.functional.relu(x)


def torch_leaky_relu(torch, x, **kwargs):
    return torch.nn.functional.leaky_relu(x, **kwargs)


def torch_sigmoid(torch, x):
    return torch.sigmoid(x)


def torch_tanh(torch, x):
    return torch.tanh(x)


def torch_softmax(torch, x, dim):
    return torch.nn.functional.softmax(x, dim)


def torch_log_softmax(torch, x, dim):
    return torch.nn.functional.log_softmax(x, dim)


def torch_dense(torch, x, weight, bias=None):
    return torch.nn.functional.linear(x, weight, bias)


def _spec(name: str, backward: bool) -> Op:
    op = name + ("_backward" if backward else "")
    outputs = ("grad_x", "grad_weight", "grad_bias") if name == "dense" and backward else \
        ("grad_x",) if backward else ("out",)
    defaults = {"negative_slope": 0.01} if name == "leaky_relu" else {}
    features = ALL.get(name, ("x == 0", "|x| >= 30")) + ("float32", "exact integers")
    return Op(op, (("grad_out",) if backward else ()) + POSITIONAL.get(name, ("x",)),
                  frozenset({"bias"}) if name == "dense" else frozenset(), defaults, outputs,
                  _fixed(op, backward, EXAMPLES[name], "examples"),
                  _fixed(op, backward, CORNERS[name], "corners"),
                  STRATEGIES.get(name, elementwise_cases), _builder(op, backward), _features,
                  cost=0.25, all_features=features, rule=RULES[op],
                  mutants=mutants.ACTIVATIONS.get(op, mutants.LOSSES.get(op)),
                  **({} if backward else {"torch": TWINS[name], "backward": op + "_backward",
                                          "differentiable": DIFFERENTIABLE.get(name, ("x",))}))


DIFFERENTIABLE = {"dense": ("x", "weight", "bias")}
TWINS = {"relu": torch_relu, "leaky_relu": torch_leaky_relu,
         "sigmoid": torch_sigmoid, "tanh": torch_tanh,
         "softmax": torch_softmax, "log_softmax": torch_log_softmax,
         "dense": torch_dense}
RULES = {"dense": tolerances.dense_rule, "dense_backward": tolerances.dense_backward_rule}
for _name in ("relu", "leaky_relu", "sigmoid", "tanh"):
    RULES[_name] = partial(tolerances.elementwise_rule, _name)
    RULES[_name + "_backward"] = partial(tolerances.elementwise_backward_rule, _name)
for _name in ("softmax", "log_softmax"):
    RULES[_name] = partial(tolerances.softmax_rule, _name)
    RULES[_name + "_backward"] = partial(tolerances.softmax_backward_rule, _name)

NAMES = ("relu", "leaky_relu", "sigmoid", "tanh", "softmax", "log_softmax", "dense")
OPS = tuple(_spec(name, bw) for name in NAMES for bw in (False, True))
