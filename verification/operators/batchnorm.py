"""`cnnref check` cases for batch normalisation (FORMULAS C15), PyTorch semantics: training
normalises with the batch mean and the *biased* variance, evaluation with the running
statistics; the backward pass in training mode carries the terms through mu and sigma^2.

What is compared. `batch_norm` gets copies of running_mean and running_var. Its output y
is always compared. The running statistics are compared when the implementation
provides them, either way PyTorch users write it:
  * it returns a tuple (y, new_running_mean, new_running_var), or
  * it returns y and updates the running_mean / running_var it was given in place
    (detected as: the copies it got changed).
They must equal reference.batch_norm_running_stats in training mode (unbiased variance,
`momentum` as torch) and stay unchanged in evaluation mode. An implementation that does
neither is checked on y alone, and the report lists the running statistics as not
covered. `batch_norm_backward` returns (grad_x, grad_weight, grad_bias).
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np
from hypothesis import strategies as st


from cnnref import reference as ref
from cnnref.verification.core import tolerances
from cnnref.verification.core.strategies import seeds
from cnnref.verification.core.cases import Case, built, upstream_gradient
from cnnref.verification.core.compare import WrongType
from cnnref.verification.core.tolerances import Bound
from cnnref.verification.mutants import misc as mutants
from cnnref.verification.operators.op import Op

DEFAULTS = {"training": False, "momentum": 0.1, "eps": 1e-5}
STATS = ("running_mean", "running_var")


# --- strategies: valid configurations only, biased towards the corners ---------------

@st.composite
def batch_norm_cases(draw) -> Case:
    """(N, C) or (N, C, H, W), N = 1 allowed where training has > 1 value per channel;
    affine or not; running statistics positive."""
    four_d = draw(st.booleans())
    n, c = draw(st.integers(1, 4)), draw(st.integers(1, 3))
    shape = (n, c, draw(st.integers(1, 4)), draw(st.integers(1, 4))) if four_d else (n, c)
    training = draw(st.booleans())
    if training and np.prod(shape) // c <= 1:
        shape = (2,) + shape[1:]
    affine = draw(st.booleans())
    shapes = {"x": shape, "running_mean": (c,), "running_var": (c,),
              "weight": (c,) if affine else None, "bias": (c,) if affine else None}
    kwargs = {"training": training, "momentum": draw(st.sampled_from([0.1, 0.5])),
              "eps": draw(st.sampled_from([1e-5, 1e-3]))}
    return Case(shapes, kwargs, draw(seeds))


def _large_offset(x) -> bool:
    """A mean far larger than the spread: where a one-pass variance cancels."""
    x = np.asarray(x, dtype=np.float64)
    spread = float(x.std())
    return bool(spread > 0 and np.abs(x.mean()) > 1e6 * spread)


def bn_features(args, kwargs) -> frozenset:
    x = args["x"]
    f = {"training" if kwargs.get("training") else "evaluation"}
    f |= {"affine"} if args.get("weight") is not None else set()
    f |= {"weight or bias alone"} if (args.get("weight") is None) != (args.get("bias") is None) \
        else set()
    f |= {"(N, C) input"} if x.ndim == 2 else {"4-D input"}
    f |= {"N=1"} if x.shape[0] == 1 else set()
    f |= {"large offset"} if _large_offset(x) else set()
    f |= {"momentum, eps not default"} if kwargs.get("momentum", 0.1) != 0.1 or \
        kwargs.get("eps", 1e-5) != 1e-5 else set()
    return frozenset(f)


def _arrays(case: Case, dtype) -> dict:
    """x standard normal around a per-channel offset (integers for exact cases), positive
    running variances, weight and bias when affine."""
    rng = np.random.default_rng(case.seed)
    out = {}
    for name, shape in case.shapes.items():
        if shape is None:
            out[name] = None
        elif name == "running_var":
            out[name] = rng.integers(1, 5, shape) if case.exact else rng.uniform(0.5, 2, shape)
        elif case.exact:
            out[name] = rng.integers(-4, 5, shape)
        else:
            out[name] = rng.standard_normal(shape)
        if out[name] is not None:
            out[name] = np.asarray(out[name]).astype(dtype)
    return out


def bn_builder(op: str, backward: bool):
    def build(case: Case, dtype: str, family: str, label: str = "", probe=None) -> Case:
        arrays = _arrays(case, np.dtype(dtype))
        args = {k: arrays[k] for k in ("x", "running_mean", "running_var", "weight", "bias")}
        if backward:
            args = {"grad_out": upstream_gradient(args["x"].shape, case.seed, case.exact, dtype),
                    **args}
        feats = bn_features(args, case.kwargs) | ({"float32"} if dtype == "float32" else set())
        return built(op, args, dict(case.kwargs), dtype, family, label or repr(case),
                         case.exact, feats, probe)
    return build


def bn_truth(case: Case) -> dict:
    a = {k: None if v is None else v.astype(np.float64) for k, v in case.args.items()}
    y = ref.batch_norm(*a.values(), **case.kwargs)
    if case.kwargs.get("training"):
        stats = ref.batch_norm_running_stats(a["x"], a["running_mean"], a["running_var"],
                                             case.kwargs.get("momentum", 0.1))
    else:
        stats = (a["running_mean"], a["running_var"])
    return {"out": y, **dict(zip(STATS, stats))}


def bn_outputs(result, passed: dict, case: Case) -> dict:
    """y alone (running statistics read back from the copies if they changed), or the
    tuple (y, new_running_mean, new_running_var)."""
    if isinstance(result, (tuple, list)):
        if len(result) != 3:
            raise WrongType(f"returned a {type(result).__name__} of {len(result)}, expected "
                            "y or (y, new_running_mean, new_running_var)")
        return dict(zip(("out",) + STATS, result))
    out = {"out": result}
    for name in STATS:
        given, before = passed.get(name), case.args[name]
        if isinstance(given, np.ndarray) and not np.array_equal(given, before, equal_nan=True):
            out[name] = given
    return out


def bn_extra_bounds(args, kwargs) -> dict:
    if kwargs.get("training"):
        return tolerances.batch_norm_running_stats_rule(*args[:3], kwargs.get("momentum", 0.1))
    # evaluation: the statistics must come back untouched
    return {name: Bound(0, np.zeros(np.shape(args[i + 1]))) for i, name in enumerate(STATS)}


# (x shape, affine, kwargs, probe). Training with a small batch makes the biased and the
# unbiased variance differ a lot (M / (M - 1)); evaluation with running statistics far
# from the batch's exposes batch statistics used in evaluation; a random upstream
# gradient exposes a backward without the terms through mu and sigma^2.
# affine: which of weight and bias are given ("weight bias", "weight", "bias" or "").
BN_CORNERS = [
    ((2, 3, 2, 2), "weight bias", {"training": True}, None),
    ((2, 2, 2, 3), "weight bias", {"training": False}, None),
    ((3, 2, 1, 2), "", {"training": True}, None),
    ((1, 2, 3, 2), "", {"training": True, "momentum": 0.5, "eps": 1e-3}, None),
    ((2, 1, 3, 3), "", {"training": False, "eps": 1e-3}, None),
    ((2, 2, 3, 1), "weight", {"training": True}, None),
    ((3, 2, 1, 2), "bias", {"training": True}, None),
    ((4, 3), "weight bias", {"training": True}, "(N, C) input"),
    ((3, 2), "weight bias", {"training": False}, "(N, C) input"),
]


def bn_corners(op: str, backward: bool):
    build = bn_builder(op, backward)

    def corners() -> list[Case]:
        out = []
        for i, (shape, affine, kw, probe) in enumerate(BN_CORNERS):
            c = (shape[1],)
            shapes = {"x": shape, "running_mean": c, "running_var": c,
                      "weight": c if "weight" in affine else None,
                      "bias": c if "bias" in affine else None}
            case = Case(shapes, kw, seed=3000 + i, exact=True)
            out.append(build(case, "float64", "corners", f"corner {i}", probe))
        case = Case({"x": (2, 2, 2, 2), "running_mean": (2,), "running_var": (2,),
                     "weight": (2,), "bias": (2,)}, {"training": True}, 3050)
        out.append(build(case, "float32", "corners", "corner float32", "float32"))
        out.append(_large_offset_case(op, backward))
        return out
    return corners


def _large_offset_case(op: str, backward: bool) -> Case:
    """x = 1e8 + [0, 1, 2, 3] per channel, training: exact in float64 and its variance
    1.25 exactly; mean(x^2) - mean^2 there is off by ~0.3 (1e16 * 2^-52 ~ 2)."""
    x = (1e8 + np.arange(4.0)).reshape(2, 1, 1, 2).repeat(2, axis=1)
    args = {"x": x, "running_mean": np.zeros(2), "running_var": np.ones(2),
            "weight": None, "bias": None}
    if backward:
        args = {"grad_out": upstream_gradient(x.shape, 3060, True, "float64"), **args}
    kw = {"training": True}
    return built(op, args, kw, "float64", "corners", "corner large offset: 1e8 + [0, 1, 2, 3]",
                 True, bn_features(args, kw))


def bn_examples(op: str, backward: bool):
    """The reference's worked example: x = [[1], [3]], training -> y = [[-1], [1]] /
    sqrt(1 + eps), running_var' = 0.9 * 1 + 0.1 * 2 (mean 2, biased variance 1)."""
    def examples() -> list[Case]:
        args = {"x": np.array([[1.0], [3.0]]), "running_mean": np.zeros(1),
                "running_var": np.ones(1), "weight": None, "bias": None}
        if backward:
            args = {"grad_out": np.array([[2.0], [-1.0]]), **args}
        kw = {"training": True}
        return [built(op, args, kw, "float64", "examples", "C15: x = [[1], [3]], training"
                          " -> y = [[-1], [1]] / sqrt(1 + eps)", True, bn_features(args, kw))]
    return examples


# --- the PyTorch twins: handed the torch module (the registry, which every checker
# worker imports, never imports torch) ---------------------------------------------

def torch_batch_norm(torch, x, running_mean, running_var, weight=None, bias=None, **kwargs):
    return torch.nn.functional.batch_norm(x, running_mean, running_var, weight, bias,
                                          **kwargs)


def _spec(backward: bool) -> Op:
    op = "batch_norm_backward" if backward else "batch_norm"
    positional = (("grad_out",) if backward else ()) + ("x",) + STATS + ("weight", "bias")
    features = ("training", "evaluation", "affine", "weight or bias alone", "4-D input",
                "(N, C) input", "N=1",
                "momentum, eps not default", "float32", "exact integers")
    extra = dict(rule=tolerances.batch_norm_backward_rule,
                 mutants=mutants.BATCH_NORM_BACKWARD) if backward else dict(
        truth=bn_truth, outputs_of=bn_outputs, optional_outputs=frozenset(STATS),
        extra_bounds=bn_extra_bounds,
        all_features=features + tuple(f"{s} compared" for s in STATS),
        torch=torch_batch_norm, differentiable=("x", "weight", "bias"),
        backward="batch_norm_backward", rule=tolerances.batch_norm_rule,
        mutants=mutants.BATCH_NORM)
    return Op(op, positional, frozenset({"weight", "bias"}), DEFAULTS,
                  ("grad_x", "grad_weight", "grad_bias") if backward else ("out",),
                  bn_examples(op, backward), bn_corners(op, backward),
                  lambda exact: batch_norm_cases().map(lambda c: replace(c, exact=exact)),
                  bn_builder(op, backward), bn_features, cost=0.6,
                  **({"all_features": features} | extra))


OPS = (_spec(False), _spec(True))
