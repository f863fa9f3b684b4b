"""Layer, group and instance norm, nll_loss, and the full cross_entropy (class weights,
ignore_index, reduction, label smoothing, probability targets): strategies, PyTorch twins
and tolerance rules for the test suite (verification/tests/test_norms_losses.py).
cross_entropy's own entry stays in misc.py (the checker's, with the documents' C2
signature); its twin and rule take these arguments too. Corners reached: rows of one
repeated value next to normal ones (var ~ 0, eps decides), normalized_shape of 1-3 axes,
one group and one channel per group, every target ignored ('mean' is NaN), smoothing 0
and 1, weighted probability targets, spatial (N, C, d1, d2) losses.
`cnnref check` does not run these yet (no examples or corners of their own).
"""
from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from cnnref.verification.core import tolerances
from cnnref.verification.core.cases import Case
from cnnref.verification.core.strategies import seeds
from cnnref.verification.mutants import extra as mutants
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


def torch_nll_loss(torch, input, target, weight=None, **kwargs):
    return torch.nn.functional.nll_loss(input, target, weight, **kwargs)


def torch_instance_norm(torch, x, running_mean=None, running_var=None, weight=None,
                        bias=None, **kwargs):
    """F.instance_norm updates the running statistics in place: hand it copies."""
    copies = [None if v is None else v.detach().clone() for v in (running_mean, running_var)]
    return torch.nn.functional.instance_norm(x, *copies, weight, bias, **kwargs)


def _ops(name, positional, optional, defaults, outputs, twin, rule, backward_rule,
         differentiable):
    forward = Op(name, positional, frozenset(optional), defaults, torch=twin,
                 differentiable=differentiable, backward=name + "_backward", rule=rule,
                 mutants={"layer_norm": mutants.LAYER_NORM}.get(name))
    backward = Op(name + "_backward", ("grad_out",) + positional, frozenset(optional),
                  defaults, outputs, rule=backward_rule)
    return forward, backward


_AFFINE = ("grad_x", "grad_weight", "grad_bias")
OPS = (
    *_ops("layer_norm", ("x", "normalized_shape", "weight", "bias"), {"weight", "bias"},
          {"eps": 1e-5}, _AFFINE, _twin("layer_norm"), tolerances.layer_norm_rule,
          tolerances.layer_norm_backward_rule, ("x", "weight", "bias")),
    *_ops("group_norm", ("x", "num_groups", "weight", "bias"), {"weight", "bias"},
          {"eps": 1e-5}, _AFFINE, _twin("group_norm"), tolerances.group_norm_rule,
          tolerances.group_norm_backward_rule, ("x", "weight", "bias")),
    *_ops("instance_norm", ("x", "running_mean", "running_var", "weight", "bias"),
          {"running_mean", "running_var", "weight", "bias"},
          {"use_input_stats": True, "momentum": 0.1, "eps": 1e-5}, _AFFINE,
          torch_instance_norm, tolerances.instance_norm_rule,
          tolerances.instance_norm_backward_rule, ("x", "weight", "bias")),
    *_ops("nll_loss", ("input", "target", "weight"), {"weight"},
          {"ignore_index": -100, "reduction": "mean"}, ("grad_x",), torch_nll_loss,
          tolerances.nll_loss_rule, tolerances.nll_loss_backward_rule, ("input",)),
)
