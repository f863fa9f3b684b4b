"""1-D and 3-D convolution and pooling (conv1d/3d, max_pool1d/3d, avg_pool1d/3d, with
their backward entries): the 2-D operators' one code path with one or three spatial
axes; and the transposed convolution in 1, 2 and 3 dimensions. Strategies reach the same corners as in 2-D: remainders of (L + p - span) % s,
per-axis and asymmetric padding, the padding strings, groups and depthwise, dilation,
ceil_mode with the window PyTorch drops, count_include_pad.

These entries carry the torch twin, the tolerance rule and the strategy used by the test
suite (verification/tests/test_conv_nd.py, test_pooling_nd.py, test_conv_transpose.py); `cnnref check` does not
run them yet (no examples or corners of their own).
"""
from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from cnnref import reference as ref
from cnnref.verification.core import tolerances
from cnnref.verification.core.cases import Case
from cnnref.verification.core.strategies import seeds
from cnnref.verification.mutants import extra as mutants
from cnnref.verification.operators.op import Op

CONV_DEFAULTS = {"stride": 1, "padding": 0, "dilation": 1, "groups": 1}
MAX_DEFAULTS = {"stride": None, "padding": 0, "dilation": 1, "ceil_mode": False}
AVG_DEFAULTS = {"stride": None, "padding": 0, "ceil_mode": False, "count_include_pad": True,
                "divisor_override": None, "dilation": 1}


def _axes(draw, nd: int, low: int, high: int):
    """One int per axis, or a single int when all agree (both forms are exercised)."""
    v = tuple(draw(st.integers(low, high)) for _ in range(nd))
    return v[0] if len(set(v)) == 1 and draw(st.booleans()) else v


def _per_axis(v, nd: int) -> tuple:
    return tuple(v) if isinstance(v, (tuple, list)) else (v,) * nd


@st.composite
def conv_nd_cases(draw, nd: int, exact: bool = False) -> Case:
    """Valid conv{nd}d inputs: plain, grouped and depthwise channels, kernels 1-3, stride
    1-3, dilation 1-2, every padding form; inputs from "span == padded input" up."""
    kind = draw(st.sampled_from(["plain", "grouped", "depthwise"]))
    groups = {"plain": 1, "grouped": 2, "depthwise": draw(st.integers(1, 3))}[kind]
    cg = 1 if kind == "depthwise" else draw(st.integers(1, 2))
    kg = draw(st.integers(1, 2))
    kernel = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    stride, dilation = _axes(draw, nd, 1, 3), _axes(draw, nd, 1, 2)
    forms = ["int", "axes", "asym", "valid", "full"]
    forms += ["same"] if _per_axis(stride, nd) == (1,) * nd else []
    form = draw(st.sampled_from(forms))
    padding = {"int": lambda: draw(st.integers(0, 2)), "axes": lambda: _axes(draw, nd, 0, 2),
               "asym": lambda: tuple((draw(st.integers(0, 2)), draw(st.integers(0, 2)))
                                     for _ in range(nd))}.get(form, lambda: form)()
    pads = ref.normalize_padding(padding, kernel, _per_axis(dilation, nd), (1,) * nd, "s")
    size = [max(1, d * (k - 1) + 1 - a - b) + draw(st.integers(0, 4 if nd == 3 else 6))
            for k, d, (a, b) in zip(kernel, _per_axis(dilation, nd), pads)]
    shapes = {"x": (draw(st.integers(1, 2)), groups * cg, *size),
              "weight": (groups * kg, cg, *kernel),
              "bias": (groups * kg,) if draw(st.booleans()) else None}
    kwargs = {"stride": stride, "padding": padding, "dilation": dilation, "groups": groups}
    return Case(shapes, kwargs, draw(seeds), exact)


@st.composite
def pool_nd_cases(draw, nd: int, kind: str = "max", exact: bool = False) -> Case:
    """Valid {kind}_pool{nd}d inputs within torch's limits (padding <= kernel // 2, no
    mean-pool dilation): overlapping windows, ceil_mode, stride=None with a remainder."""
    kernel = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    dilation = (1,) * nd if kind == "avg" else _per_axis(_axes(draw, nd, 1, 2), nd)
    padding = tuple(draw(st.integers(0, k // 2)) for k in kernel)
    # torch's avg_pool3d refuses an input shorter than the kernel even where the padding
    # makes the window fit (avg_pool1d and the max pools accept it)
    least = [k if kind == "avg" and nd == 3 else 1 for k in kernel]
    size = [max(low, d * (k - 1) + 1 - 2 * p) + draw(st.integers(0, 4))
            for low, k, d, p in zip(least, kernel, dilation, padding)]
    kwargs = {"kernel_size": kernel[0] if len(set(kernel)) == 1 else kernel,
              "stride": None if draw(st.integers(0, 3)) == 0 else _axes(draw, nd, 1, 3),
              "padding": padding[0] if len(set(padding)) == 1 else padding,
              "ceil_mode": draw(st.booleans())}
    if kind == "max":
        kwargs["dilation"] = dilation[0] if len(set(dilation)) == 1 else dilation
    else:
        kwargs["count_include_pad"] = draw(st.booleans())
        if nd == 3 and draw(st.integers(0, 3)) == 0:
            kwargs["divisor_override"] = draw(st.integers(1, 5))
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 3)), *size)
    return Case({"x": shape}, kwargs, draw(seeds), exact)


# --- the PyTorch twins (handed the torch module: the registry never imports torch) ------

def torch_conv_nd(nd: int):
    def twin(torch, x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
        """F.conv{nd}d; asymmetric and 'full' padding applied by F.pad (torch has neither)."""
        F = torch.nn.functional
        conv = getattr(F, f"conv{nd}d")
        if padding in ("same", "valid"):
            return conv(x, weight, bias, stride, padding, dilation, groups)
        pads = ref.normalize_padding(padding, tuple(weight.shape[2:]),
                                     _per_axis(dilation, nd), _per_axis(stride, nd), "twin")
        if all(a == b for a, b in pads):
            return conv(x, weight, bias, stride, tuple(a for a, _ in pads), dilation, groups)
        flat = [p for a, b in reversed(pads) for p in (a, b)]   # F.pad: last axis first
        return conv(F.pad(x, flat), weight, bias, stride, 0, dilation, groups)
    return twin


def torch_pool_nd(name: str):
    def twin(torch, x, kernel_size, **kwargs):
        return getattr(torch.nn.functional, name)(x, kernel_size, **kwargs)
    return twin


def _conv_ops(nd: int) -> tuple[Op, Op]:
    name = f"conv{nd}d"
    forward = Op(name, ("x", "weight", "bias"), frozenset({"bias"}), CONV_DEFAULTS,
                 torch=torch_conv_nd(nd), differentiable=("x", "weight", "bias"),
                 backward=name + "_backward", rule=tolerances.conv_nd_rule(nd))
    backward = Op(name + "_backward", ("grad_out", "x", "weight", "bias"),
                  frozenset({"bias"}), CONV_DEFAULTS, ("grad_x", "grad_weight", "grad_bias"),
                  rule=tolerances.conv_nd_backward_rule(nd))
    return forward, backward


def _pool_ops(nd: int, kind: str) -> tuple[Op, Op]:
    name = f"{kind}_pool{nd}d"
    defaults = MAX_DEFAULTS if kind == "max" else dict(AVG_DEFAULTS)
    if kind == "avg" and nd == 1:      # torch's avg_pool1d has no divisor_override
        defaults.pop("divisor_override")
    rule, backward_rule = (tolerances.max_pool_nd_rule if kind == "max"
                           else tolerances.avg_pool_nd_rule)(nd)
    forward = Op(name, ("x", "kernel_size"), frozenset(), defaults, torch=torch_pool_nd(name),
                 differentiable=("x",), backward=name + "_backward", rule=rule)
    backward = Op(name + "_backward", ("grad_out", "x", "kernel_size"), frozenset(),
                  defaults, ("grad_x",), rule=backward_rule)
    return forward, backward


OPS = tuple(op for nd in (1, 3) for op in (*_conv_ops(nd), *_pool_ops(nd, "max"),
                                           *_pool_ops(nd, "avg")))


# --- transposed convolution ---------------------------------------------------------------

TRANSPOSE_DEFAULTS = {"stride": 1, "padding": 0, "output_padding": 0, "groups": 1,
                      "dilation": 1}


@st.composite
def conv_transpose_cases(draw, nd: int, exact: bool = False, torch_only: bool = True) -> Case:
    """Valid conv_transpose{nd}d inputs: plain, grouped and depthwise channels, stride 1-3,
    dilation 1-2, padding up to the kernel span d*(k - 1) on each side, output_padding anywhere below
    max(stride, dilation) (the largest value drawn often: it is where a forgotten
    output_padding shows), asymmetric padding when not torch_only."""
    groups = draw(st.sampled_from([1, 1, 2, 3]))
    cin, cout_g = groups * draw(st.integers(1, 2)), draw(st.integers(1, 2))
    kernel = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    stride = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    dilation = tuple(draw(st.integers(1, 2)) for _ in range(nd))
    extra = tuple(draw(st.sampled_from([0, max(s, d) - 1])) for s, d in zip(stride, dilation))
    spans = [d * (k - 1) for k, d in zip(kernel, dilation)]
    if torch_only:
        padding = tuple(draw(st.integers(0, sp)) for sp in spans)
        pads = [(p, p) for p in padding]
    else:
        pads = padding = tuple((draw(st.integers(0, sp)), draw(st.integers(0, sp)))
                               for sp in spans)
    size = []
    for s, sp, e, (a, b) in zip(stride, spans, extra, pads):
        least = max(1, -(-(a + b - sp - e) // s) + 1)      # output length >= 1
        size.append(least + draw(st.integers(0, 3)))
    shapes = {"x": (draw(st.integers(1, 2)), cin, *size),
              "weight": (cin, cout_g, *kernel),
              "bias": (groups * cout_g,) if draw(st.booleans()) else None}
    simple = lambda v: v[0] if len(set(v)) == 1 else v     # noqa: E731
    kwargs = {"stride": simple(stride), "padding": padding if not torch_only else simple(padding),
              "output_padding": simple(extra), "groups": groups, "dilation": simple(dilation)}
    return Case(shapes, kwargs, draw(seeds), exact)


def torch_conv_transpose(nd: int):
    def twin(torch, x, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
             dilation=1):
        """F.conv_transpose{nd}d; asymmetric padding (ONNX) by cropping an unpadded result."""
        f = getattr(torch.nn.functional, f"conv_transpose{nd}d")
        if not (isinstance(padding, tuple) and isinstance(padding[0], tuple)):
            return f(x, weight, bias, stride, padding, output_padding, groups, dilation)
        out = f(x, weight, bias, stride, 0, output_padding, groups, dilation)
        crop = tuple(slice(a, n - b) for (a, b), n in zip(padding, out.shape[2:]))
        return out[(Ellipsis,) + crop]
    return twin


def _transpose_ops(nd: int) -> tuple[Op, Op]:
    name = f"conv_transpose{nd}d"
    forward = Op(name, ("x", "weight", "bias"), frozenset({"bias"}), TRANSPOSE_DEFAULTS,
                 torch=torch_conv_transpose(nd), differentiable=("x", "weight", "bias"),
                 backward=name + "_backward", rule=tolerances.conv_transpose_rule(nd),
                 mutants=mutants.CONV_TRANSPOSE2D if nd == 2 else None)
    backward = Op(name + "_backward", ("grad_out", "x", "weight", "bias"),
                  frozenset({"bias"}), TRANSPOSE_DEFAULTS, ("grad_x", "grad_weight",
                                                            "grad_bias"),
                  rule=tolerances.conv_transpose_backward_rule(nd))
    return forward, backward


OPS += tuple(op for nd in (1, 2, 3) for op in _transpose_ops(nd))
