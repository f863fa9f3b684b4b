"""Layer, group and instance norm, nll_loss, and the full cross_entropy (class weights,
ignore_index, reduction, label smoothing, probability targets): strategies, PyTorch twins
and tolerance rules for the test suite (verification/tests/test_norms_losses.py).
cross_entropy's own entry stays in misc.py (the checker's, with the documents' C2
signature); its twin and rule take these arguments too. Corners reached: rows of one
repeated value next to normal ones (var ~ 0, eps decides), normalized_shape of 1-3 axes,
one group and one channel per group, every target ignored ('mean' is NaN), smoothing 0
and 1, weighted probability targets, spatial (N, C, d1, d2) losses.
For `cnnref check` and the matrix each entry also has worked examples (arithmetic in the
label), corners and features (verification/operators/generic.py builds the calls); the
checker's cross_entropy is the full one, its documents' examples (C2) first.
"""
from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from cnnref.verification.core import tolerances
from cnnref import reference as ref
from cnnref.verification.core.cases import Case, make_arrays
from cnnref.verification.core.strategies import seeds
from cnnref.verification.mutants import extra as mutants
from cnnref.verification.mutants import misc as documents
from cnnref.verification.operators import generic
from cnnref.verification.operators.op import Op


@st.composite
def norm_cases(draw, kind: str) -> Case:
    """x (N, C, *spatial) with 0-2 spatial axes (1-2 for instance norm), weight and bias
    each present or not; layer norm: normalized_shape the last 1..3 axes; group norm: a
    divisor of C; instance norm: input or running statistics."""
    n, c = draw(st.integers(1, 3)), draw(st.integers(1, 4))
    spatial = tuple(draw(st.integers(1, 4)) for _ in range(draw(st.integers(
        1 if kind == "instance" else 0, 2))))
    if kind == "instance" and int(np.prod(spatial)) < 2:
        spatial = spatial[:-1] + (spatial[-1] + 1,)
    shape = (n, c) + spatial
    kwargs = {"eps": draw(st.sampled_from([1e-5, 1e-3]))}
    if kind == "layer":
        k = draw(st.integers(1, min(3, len(shape))))
        pshape = shape[len(shape) - k:]
        kwargs["normalized_shape"] = pshape       # F.layer_norm takes a tuple only
    elif kind == "group":
        kwargs["num_groups"] = g = draw(st.sampled_from([g for g in range(1, c + 1)
                                                         if c % g == 0]))
        if c // g * int(np.prod(spatial)) < 2:     # torch wants > 1 value per group
            shape += (2,)
        pshape = (c,)
    else:
        pshape = (c,)
        kwargs["use_input_stats"] = draw(st.booleans())
    shapes = {"x": shape}
    if kind == "instance":
        stats = not kwargs["use_input_stats"] or draw(st.booleans())
        shapes.update(running_mean=pshape if stats else None,
                      running_var=pshape if stats else None)
    weight = draw(st.booleans())
    # torch 2.13's group_norm backward fails ("tensor does not have a device") with a bias
    # but no weight; the reference handles it, the comparison cannot
    bias = draw(st.booleans()) and (weight or kind != "group")
    shapes.update(weight=pshape if weight else None, bias=pshape if bias else None)
    return Case(shapes, kwargs, draw(seeds))


@st.composite
def loss_cases(draw, probabilities: bool = False) -> Case:
    """logits (N, C) or (N, C, d1[, d2]); class weights or not; ignore_index -100 or a
    class (sometimes every target); reduction; label_smoothing 0, 0.1, 1 or drawn."""
    shape = (draw(st.integers(1, 4)), draw(st.integers(1, 5)))
    shape += tuple(draw(st.integers(1, 3)) for _ in range(draw(st.integers(0, 2))))
    kwargs = {"reduction": draw(st.sampled_from(["mean", "sum", "none"])),
              "label_smoothing": draw(st.sampled_from([0.0, 0.0, 0.1, 1.0, 0.35]))}
    if not probabilities:
        kwargs["ignore_index"] = draw(st.sampled_from([-100, 0, shape[1] - 1]))
    shapes = {"logits": shape, "weight": (shape[1],) if draw(st.booleans()) else None}
    return Case(shapes, kwargs, draw(seeds))


def loss_arrays(case: Case, probabilities: bool = False, ignore_all: bool = False) -> dict:
    """logits ~ N(0, 2^2), weights in [0.5, 1.5], targets from the seed: class indices
    with about one in four set to ignore_index (all of them with ignore_all), or rows of
    a softmax (probabilities)."""
    rng = np.random.default_rng(case.seed)
    shape = case.shapes["logits"]
    logits = 2 * rng.standard_normal(shape)
    weight = None if case.shapes["weight"] is None else 0.5 + rng.random(shape[1])
    if probabilities:
        e = np.exp(rng.standard_normal(shape))
        target = e / e.sum(axis=1, keepdims=True)
    else:
        target = rng.integers(0, shape[1], shape[:1] + shape[2:])
        drop = rng.random(target.shape) < 0.25
        target[drop | ignore_all] = case.kwargs["ignore_index"]
    return {"logits": logits, "target": target, "weight": weight}


# --- the PyTorch twins (handed the torch module: the registry never imports torch) ------

def _twin(name: str):
    def twin(torch, *args, **kwargs):
        return getattr(torch.nn.functional, name)(*args, **kwargs)
    return twin


def torch_cross_entropy(torch, logits, target, weight=None, **kwargs):
    return torch.nn.functional.cross_entropy(logits, target, weight, **kwargs)


def torch_nll_loss(torch, input, target, weight=None, **kwargs):
    return torch.nn.functional.nll_loss(input, target, weight, **kwargs)


def torch_instance_norm(torch, x, running_mean=None, running_var=None, weight=None,
                        bias=None, **kwargs):
    """F.instance_norm updates the running statistics in place: hand it copies."""
    copies = [None if v is None else v.detach().clone() for v in (running_mean, running_var)]
    return torch.nn.functional.instance_norm(x, *copies, weight, bias, **kwargs)


# --- what `cnnref check` and the matrix run ------------------------------------------------

def norm_arrays(case: Case, dtype) -> dict:
    """The norms' arrays: make_arrays, a positive running variance, and for one seed in
    three a first sample of one repeated value (variance 0: eps decides)."""
    a = make_arrays(case, np.dtype(dtype))
    if a.get("running_var") is not None:
        a["running_var"] = np.abs(a["running_var"]) + np.asarray(0.5, dtype)
    if case.seed % 3 == 0:
        a["x"][0] = 1.5
    return a


def norm_features(kind: str):
    def features(args, kwargs) -> frozenset:
        """Which statistics a norm takes, over which axes, and the degenerate ones."""
        x = args["x"]
        f = {n for n in ("weight", "bias") if args.get(n) is not None}
        f |= {"variance 0 (a constant sample)"} if x.size and np.ptp(x[0]) == 0 else set()
        f |= {"eps != 1e-5"} if kwargs.get("eps", 1e-5) != 1e-5 else set()
        f |= {"no spatial axes"} if x.ndim == 2 else set()
        if kind == "layer":
            f.add(f"normalized_shape of {len(args['normalized_shape'])} axes")
        elif kind == "group":
            g, c = args["num_groups"], x.shape[1]
            f.add("num_groups=1" if g == 1 else "num_groups=C" if g == c else
                  "1 < num_groups < C")
        else:
            f |= {"use_input_stats=False"} if not kwargs.get("use_input_stats", True) else set()
            f |= {"running statistics given"} if args.get("running_mean") is not None else set()
        return frozenset(f)
    return features


NORM_FEATURES = {
    "layer": ("weight", "bias", "variance 0 (a constant sample)", "eps != 1e-5",
              "no spatial axes", "normalized_shape of 1 axes", "normalized_shape of 2 axes",
              "normalized_shape of 3 axes"),
    "group": ("weight", "bias", "variance 0 (a constant sample)", "eps != 1e-5",
              "no spatial axes", "num_groups=1", "num_groups=C", "1 < num_groups < C"),
    "instance": ("weight", "bias", "variance 0 (a constant sample)", "eps != 1e-5",
                 "use_input_stats=False", "running statistics given")}
NORM_CORNERS = {
    "layer": [({"x": (2, 3, 4), "weight": (4,), "bias": (4,)}, {"normalized_shape": (4,)}, None),
              ({"x": (2, 2, 3, 2), "weight": (2, 3, 2), "bias": None},
               {"normalized_shape": (2, 3, 2)}, None),
              ({"x": (3, 4), "weight": None, "bias": None}, {"normalized_shape": (4,),
                                                             "eps": 1e-3}, None)],
    "group": [({"x": (2, 4, 3), "weight": (4,), "bias": (4,)}, {"num_groups": 2}, None),
              ({"x": (1, 6, 2, 2), "weight": (6,), "bias": None}, {"num_groups": 3}, None),
              ({"x": (2, 3, 4), "weight": None, "bias": None}, {"num_groups": 1}, None),
              ({"x": (2, 3, 3), "weight": (3,), "bias": (3,)}, {"num_groups": 3}, None)],
    "instance": [({"x": (2, 3, 4), "running_mean": None, "running_var": None,
                   "weight": (3,), "bias": (3,)}, {}, None),
                 ({"x": (1, 2, 3, 2), "running_mean": (2,), "running_var": (2,),
                   "weight": None, "bias": None}, {"use_input_stats": False}, None)]}
_EPS = 1e-5
NORM_EXAMPLES = {
    "layer": [({"x": [[1.0, 3.0]], "normalized_shape": (2,)}, {},
               "[[1, 3]] over its last axis: mean 2, variance 1 -> [[-1, 1]] / sqrt(1 + eps)",
               np.array([[-1.0, 1.0]]) / np.sqrt(1 + _EPS))],
    "group": [({"x": [[[1.0], [3.0], [5.0], [9.0]]], "num_groups": 2}, {},
               "4 channels in 2 groups: (1, 3) has mean 2 and variance 1, (5, 9) mean 7 and "
               "variance 4 -> [-1, 1] / sqrt(1 + eps) and [-2, 2] / sqrt(4 + eps)",
               np.array([[[-1.0], [1.0], [-2.0], [2.0]]])
               / np.sqrt([1 + _EPS, 1 + _EPS, 4 + _EPS, 4 + _EPS])[None, :, None])],
    "instance": [({"x": [[[1.0, 3.0]]]}, {},
                  "the plane [1, 3]: mean 2, variance 1 -> [-1, 1] / sqrt(1 + eps)",
                  np.array([[[-1.0, 1.0]]]) / np.sqrt(1 + _EPS))]}


def loss_case_arrays(score: str):
    def arrays(case: Case, dtype) -> dict:
        """loss_arrays, the scores named `score` ('input' of nll_loss: log-probabilities,
        log_softmax of the logits), in dtype."""
        base = replace_shapes(case)
        a = loss_arrays(base, probabilities=len(case.shapes["target"]) ==
                        len(case.shapes[score]))
        scores = a.pop("logits")
        if score == "input":
            scores = ref.log_softmax(scores, 1)
        out = {score: scores.astype(dtype), **a}
        if out["target"].dtype.kind == "f":
            out["target"] = out["target"].astype(dtype)
        if out["weight"] is not None:
            out["weight"] = out["weight"].astype(dtype)
        return out
    return arrays


def replace_shapes(case: Case) -> Case:
    """The case as loss_arrays reads it (the scores under 'logits')."""
    score = "input" if "input" in case.shapes else "logits"
    shapes = {"logits": case.shapes[score], "weight": case.shapes.get("weight")}
    kwargs = {"ignore_index": -100, **case.kwargs}
    return Case(shapes, kwargs, case.seed, case.exact)


@st.composite
def checker_loss_cases(draw, score: str = "logits", exact: bool = False) -> Case:
    """A third of the time the documents' C2 call (N, C) logits with the defaults, else
    loss_cases: weights, ignore_index, reductions, label smoothing (cross_entropy),
    spatial targets; probability targets in one cross_entropy draw of four."""
    if draw(st.integers(0, 2)) == 0:
        shape = (draw(st.integers(1, 5)), draw(st.integers(1, 6)))
        return Case({score: shape, "target": shape[:1], "weight": None}, {}, draw(seeds), exact)
    probs = score == "logits" and draw(st.integers(0, 3)) == 0
    case = draw(loss_cases(probs))
    shape = case.shapes["logits"]
    kwargs = dict(case.kwargs)
    if score == "input":
        kwargs.pop("label_smoothing")
    target = shape if probs else shape[:1] + shape[2:]
    return Case({score: shape, "target": target, "weight": case.shapes["weight"]}, kwargs,
                case.seed, exact)


def loss_features(args, kwargs) -> frozenset:
    """The keyword corners of nll_loss / cross_entropy one call exercises."""
    score = args.get("logits", args.get("input"))
    target = args["target"]
    probs = target.dtype.kind == "f"
    f = {"weight"} if args.get("weight") is not None else set()
    f |= {"probability targets"} if probs else set()
    f |= {"(N, C, d1, ...) input"} if score.ndim > 2 else set()
    f |= {f"reduction={kwargs['reduction']}"} if kwargs.get("reduction", "mean") != "mean" \
        else set()
    smoothing = kwargs.get("label_smoothing", 0.0)
    f |= {"label_smoothing>0"} if smoothing > 0 else set()
    if not probs:
        ignored = target == kwargs.get("ignore_index", -100)
        f |= {"ignore_index hit"} if ignored.any() else set()
        f |= {"every target ignored"} if ignored.size and ignored.all() else set()
        f |= {"label smoothing with ignored targets"} if smoothing > 0 and ignored.any() \
            else set()
    f |= {"|x| >= 30"} if np.any(np.abs(score) >= 30) else set()
    return frozenset(f)


LOSS_FEATURES = ("weight", "(N, C, d1, ...) input", "reduction=sum", "reduction=none",
                 "ignore_index hit", "every target ignored")
CE_FEATURES = LOSS_FEATURES + ("label_smoothing>0", "label smoothing with ignored targets",
                               "probability targets", "|x| >= 30")
LOSS_CORNERS = [({"score": (3, 4), "target": (3,), "weight": (4,)}, {"reduction": "sum"}, None),
                ({"score": (2, 3, 2, 2), "target": (2, 2, 2), "weight": None},
                 {"reduction": "none"}, "(N, C, d1, ...) input")]


def _loss_corners(score: str) -> list:
    return [({score if k == "score" else k: v for k, v in shapes.items()}, kw, probe)
            for shapes, kw, probe in LOSS_CORNERS]


_Z = [[0.0, float(np.log(3.0))], [5.0, 5.0]]
CE_EXAMPLES = [
    ({"logits": [[0.0, 0.0]], "target": [1]}, {}, "C2: logits [[0, 0]], target [1] -> ln 2",
     np.log(2.0)),
    ({"logits": _Z, "target": [1, -100]}, {},
     "ignore_index: softmax([0, ln 3]) = [1/4, 3/4], the second row ignored (and not "
     "counted in the mean) -> -ln(3/4)", -np.log(0.75)),
    ({"logits": _Z, "target": [1, 0]}, {"label_smoothing": 0.5},
     "label smoothing 0.5 over 2 classes: targets [1/4, 3/4] and [3/4, 1/4]; row 1: "
     "-(ln(1/4)/4 + 3 ln(3/4)/4), row 2: ln 2; the mean of the two",
     (-(np.log(0.25) / 4 + 3 * np.log(0.75) / 4) + np.log(2.0)) / 2)]
CE_CORNERS = [
    ({"logits": [[1.0, 2.0, 0.0], [0.5, -1.0, 3.0]], "target": [2, 2]}, {},
     "corner: batch of 2 (the mean, not the sum)", None),
    ({"logits": [[1000.0, 1001.0, 999.0], [0.0, -1000.0, 2.0]], "target": [0, 1]}, {},
     "corner: logits ~ 1000", None),
    ({"logits": _Z, "target": [-100, -100]}, {},
     "corner: every target ignored: 'mean' is 0 / 0 = NaN, as in torch", None),
    ({"logits": _Z, "target": [1, 7], "weight": [2.0, 0.5]}, {"ignore_index": 7,
                                                               "label_smoothing": 0.2},
     "corner: label smoothing never reaches an ignored target", None)]
NLL_EXAMPLES = [({"input": [[-1.0, -2.0], [-3.0, -4.0]], "target": [0, 1]}, {},
                 "-mean(input[i, target[i]]) = (1 + 4) / 2 = 2.5", 2.5),
                ({"input": [[-1.0, -2.0], [-3.0, -4.0]], "target": [0, 1],
                  "weight": [3.0, 1.0]}, {},
                 "weighted: (3 * 1 + 1 * 4) / (3 + 1) = 1.75", 1.75)]


def _ops(name, positional, optional, defaults, outputs, twin, rule, backward_rule,
         differentiable, cases):
    # a target equal to the default ignore_index is a class index to a signature without
    # ignore_index; and a loss without torch's keywords is the documents' C2 call, (N, C)
    # logits and class targets: spatial inputs and probability targets are held only to
    # a signature with `reduction`, torch's
    requires = {"ignore_index hit": "ignore_index", "(N, C, d1, ...) input": "reduction",
                "probability targets": "reduction"}
    forward = Op(name, positional, frozenset(optional), defaults, torch=twin,
                 differentiable=differentiable, backward=name + "_backward", rule=rule,
                 mutants=MUTANTS.get(name), requires=requires, **cases(name))
    backward = Op(name + "_backward", ("grad_out",) + positional, frozenset(optional),
                  defaults, outputs, rule=backward_rule, requires=requires,
                  mutants=MUTANTS.get(name + "_backward"), **cases(name + "_backward"))
    return forward, backward


def _norm_cases(kind: str, positional: tuple):
    return lambda n: generic.checkable(
        n, f"{kind}_norm", positional, norm_features(kind), NORM_FEATURES[kind],
        lambda exact: norm_cases(kind), NORM_CORNERS[kind], NORM_EXAMPLES[kind],
        arrays=norm_arrays, cost=0.5, grow=False)


def _loss_cases(name: str, positional: tuple, examples: list, corners: list, every):
    score = positional[0]
    return lambda n: generic.checkable(
        n, name, positional, loss_features, every,
        lambda exact: checker_loss_cases(score, exact), _loss_corners(score), examples,
        arrays=loss_case_arrays(score), cost=0.5, grow=False, value_corners=corners)


MUTANTS = {"layer_norm": mutants.LAYER_NORM, "group_norm": mutants.GROUP_NORM,
           "instance_norm": mutants.INSTANCE_NORM, "nll_loss": mutants.NLL_LOSS,
           "cross_entropy": {**documents.LOSSES["cross_entropy"], **mutants.CROSS_ENTROPY},
           "cross_entropy_backward": documents.LOSSES["cross_entropy_backward"]}
_AFFINE = ("grad_x", "grad_weight", "grad_bias")
_LN, _GN = ("x", "normalized_shape", "weight", "bias"), ("x", "num_groups", "weight", "bias")
_IN = ("x", "running_mean", "running_var", "weight", "bias")
OPS = (
    *_ops("layer_norm", _LN, {"weight", "bias"},
          {"eps": 1e-5}, _AFFINE, _twin("layer_norm"), tolerances.layer_norm_rule,
          tolerances.layer_norm_backward_rule, ("x", "weight", "bias"),
          _norm_cases("layer", _LN)),
    *_ops("group_norm", _GN, {"weight", "bias"},
          {"eps": 1e-5}, _AFFINE, _twin("group_norm"), tolerances.group_norm_rule,
          tolerances.group_norm_backward_rule, ("x", "weight", "bias"),
          _norm_cases("group", _GN)),
    *_ops("instance_norm", _IN, {"running_mean", "running_var", "weight", "bias"},
          {"use_input_stats": True, "momentum": 0.1, "eps": 1e-5}, _AFFINE,
          torch_instance_norm, tolerances.instance_norm_rule,
          tolerances.instance_norm_backward_rule, ("x", "weight", "bias"),
          _norm_cases("instance", _IN)),
    *_ops("cross_entropy", ("logits", "target", "weight"), {"weight"},
          {"ignore_index": -100, "reduction": "mean", "label_smoothing": 0.0}, ("grad_x",),
          torch_cross_entropy, tolerances.cross_entropy_rule,
          tolerances.cross_entropy_backward_rule, ("logits",),
          _loss_cases("cross_entropy", ("logits", "target", "weight"), CE_EXAMPLES,
                      CE_CORNERS, CE_FEATURES)),
    *_ops("nll_loss", ("input", "target", "weight"), {"weight"},
          {"ignore_index": -100, "reduction": "mean"}, ("grad_x",), torch_nll_loss,
          tolerances.nll_loss_rule, tolerances.nll_loss_backward_rule, ("input",),
          _loss_cases("nll_loss", ("input", "target", "weight"), NLL_EXAMPLES, [],
                      LOSS_FEATURES)),
)
