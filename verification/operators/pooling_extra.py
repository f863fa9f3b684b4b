"""unfold / fold, adaptive average and max pooling, Lp pooling and max unpooling in 1, 2
and 3 dimensions (with their backward entries): strategies, PyTorch twins and tolerance
rules, for the test suite (verification/tests/test_pooling_extra.py). Corners reached:
adaptive bins that overlap and differ in length (m not dividing n), outputs larger than
the input, None entries of output_size; Lp pooling with p = 1, 1.5, 2, 3 and inf,
ceil_mode windows cut by the border; unpooling with output_size one stride off the
default. `cnnref check` does not run these yet (no examples or corners of their own).
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
def unfold_cases(draw, exact: bool = False) -> Case:
    """x (N, C, H, W) with kernel, dilation, padding (int or (h, w)) and stride that fit."""
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    padding = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    hw = [max(1, d * (k - 1) + 1 - 2 * p) + draw(st.integers(0, 4))
          for k, d, p in zip(kernel, dilation, padding)]
    simple = lambda v: v[0] if v[0] == v[1] else v     # noqa: E731
    kwargs = {"kernel_size": simple(kernel), "dilation": simple(dilation),
              "padding": simple(padding), "stride": simple(stride)}
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 3)), *hw)
    return Case({"x": shape}, kwargs, draw(seeds), exact)


@st.composite
def adaptive_cases(draw, nd: int, exact: bool = False) -> Case:
    """x (N, C, *n) with n 1..7 per axis pooled to m 1..n + 2 (bins overlap, repeat and
    differ in length), sometimes None (keep the axis) or a single int."""
    sizes = tuple(draw(st.integers(1, 7 if nd < 3 else 5)) for _ in range(nd))
    out = tuple(draw(st.integers(1, n + 2)) for n in sizes)
    form = draw(st.sampled_from(["tuple", "int", "none"]))
    if form == "int":
        out = out[0]
    elif form == "none" and nd > 1:
        out = (None,) + out[1:]
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 3)), *sizes)
    return Case({"x": shape}, {"output_size": out}, draw(seeds), exact)


@st.composite
def lp_cases(draw, nd: int) -> Case:
    """x (N, C, *n) positive (x^p of a negative x is NaN for fractional p, as in torch),
    p in {1, 1.5, 2, 3, inf}, kernels 1-3, stride None or 1-3, ceil_mode."""
    kernel = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    sizes = tuple(k + draw(st.integers(0, 4)) for k in kernel)
    kwargs = {"norm_type": draw(st.sampled_from([1, 1.5, 2, 3, float("inf")])),
              "kernel_size": kernel[0] if len(set(kernel)) == 1 else kernel,
              "stride": None if draw(st.booleans()) else
              tuple(draw(st.integers(1, 3)) for _ in range(nd)),
              "ceil_mode": draw(st.booleans())}
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 2)), *sizes)
    return Case({"x": shape}, kwargs, draw(seeds))


@st.composite
def unpool_cases(draw, nd: int) -> Case:
    """An input to max_pool{nd}d with stride == kernel (distinct indices), padding <=
    kernel // 2; the pooled values and indices are made by the test. output_size: the
    input size (within one stride of the default), or None without padding."""
    kernel = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    padding = tuple(draw(st.integers(0, k // 2)) for k in kernel)
    sizes = tuple(max(1, k - 2 * p) + draw(st.integers(0, 4)) for k, p in zip(kernel, padding))
    default_ok = not any(padding)        # else the default size may be empty or short
    kwargs = {"kernel_size": kernel, "padding": padding,
              "output_size": None if default_ok and draw(st.booleans()) else sizes}
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 2)), *sizes)
    return Case({"x": shape}, kwargs, draw(seeds))


# --- the PyTorch twins (handed the torch module: the registry never imports torch) ------

def _twin(name: str):
    def twin(torch, *args, **kwargs):
        return getattr(torch.nn.functional, name)(*args, **kwargs)
    return twin


MUTANTS = {"adaptive_avg_pool2d": mutants.ADAPTIVE_AVG_POOL2D}


def _pair_of_ops(name, positional, defaults, rule, backward_rule, differentiable=("x",)):
    forward = Op(name, positional, frozenset(), defaults, torch=_twin(name),
                 differentiable=differentiable, backward=name + "_backward", rule=rule,
                 mutants=MUTANTS.get(name))
    backward = Op(name + "_backward", ("grad_out",) + positional, frozenset(), defaults,
                  ("grad_x",), rule=backward_rule)
    return forward, backward


_WINDOW = {"dilation": 1, "padding": 0, "stride": 1}
OPS = (*_pair_of_ops("unfold", ("x", "kernel_size"), _WINDOW, tolerances.unfold_rule,
                     tolerances.unfold_backward_rule),
       *_pair_of_ops("fold", ("x", "output_size", "kernel_size"), _WINDOW,
                     tolerances.fold_rule, tolerances.fold_backward_rule))
for _nd in (1, 2, 3):
    OPS += (*_pair_of_ops(f"adaptive_avg_pool{_nd}d", ("x", "output_size"), {},
                          *tolerances.adaptive_avg_rule(_nd)),
            *_pair_of_ops(f"adaptive_max_pool{_nd}d", ("x", "output_size"), {},
                          *tolerances.adaptive_max_rule(_nd)),
            *_pair_of_ops(f"lp_pool{_nd}d", ("x", "norm_type", "kernel_size"),
                          {"stride": None, "ceil_mode": False}, *tolerances.lp_pool_rule(_nd)),
            *_pair_of_ops(f"max_unpool{_nd}d", ("x", "indices", "kernel_size"),
                          {"stride": None, "padding": 0, "output_size": None},
                          *tolerances.max_unpool_rule(_nd)))
