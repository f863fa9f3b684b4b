"""1-D and 3-D convolution and pooling (conv1d/3d, max_pool1d/3d, avg_pool1d/3d, with
their backward entries): the 2-D operators' one code path with one or three spatial
axes; and the transposed convolution in 1, 2 and 3 dimensions. Strategies reach the same corners as in 2-D: remainders of (L + p - span) % s,
per-axis and asymmetric padding, the padding strings, groups and depthwise, dilation,
ceil_mode with the window PyTorch drops, count_include_pad.

Each entry carries the torch twin, the tolerance rule, the strategy of the test suite
(verification/tests/test_conv_nd.py, test_pooling_nd.py, test_conv_transpose.py) and, for
`cnnref check` and the matrix, worked examples, corners and features
(verification/operators/generic.py builds the calls).
"""
from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from cnnref import reference as ref
from cnnref.verification.core import tolerances
from cnnref.verification.core.cases import Case
from cnnref.verification.core.strategies import seeds
from cnnref.verification.mutants import extra as mutants
from cnnref.verification.operators import generic
from cnnref.verification.operators.op import Op
from cnnref.verification.operators.pooling import special_values

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


# --- what `cnnref check` and the matrix run: features, worked examples, corners ----------

def _tuple(v) -> bool:
    return isinstance(v, (tuple, list))


def _padding_features(padding) -> set:
    if isinstance(padding, str):
        return {f"padding={padding}"}
    if _tuple(padding) and any(_tuple(p) for p in padding):
        return {"padding=asymmetric"} if any(a != b for a, b in padding) else {"padding=tuple"}
    if _tuple(padding):
        return {"padding=tuple"} | ({"padding>0"} if max(padding) > 0 else set())
    return {"padding>0"} if padding > 0 else set()


def _window_features(kw: dict, nd: int, names=("stride", "dilation")) -> set:
    f = {f"{n}=tuple" for n in names if _tuple(kw.get(n))}
    f |= {"stride>1"} if max(_per_axis(kw.get("stride") or 1, nd)) > 1 else set()
    f |= {"dilation>1"} if max(_per_axis(kw.get("dilation", 1), nd)) > 1 else set()
    return f


def conv_nd_features(args, kwargs) -> frozenset:
    """The corners of conv{1,3}d's argument space one call exercises."""
    x, w = args["x"], args["weight"]
    nd, groups = x.ndim - 2, kwargs.get("groups", 1)
    f = _window_features(kwargs, nd) | _padding_features(kwargs.get("padding", 0))
    f |= {"bias"} if args.get("bias") is not None else set()
    f |= {"batch>1"} if x.shape[0] > 1 else set()
    f |= {"groups>1"} if groups > 1 else set()
    f |= {"depthwise"} if groups > 1 and groups == x.shape[1] else set()
    f |= {"non-square kernel"} if len(set(w.shape[2:])) > 1 else set()
    return frozenset(f)


CONV_ND_FEATURES = ("bias", "batch>1", "stride>1", "padding>0", "dilation>1", "groups>1",
                    "depthwise", "non-square kernel", "stride=tuple", "dilation=tuple",
                    "padding=tuple", "padding=same", "padding=valid", "padding=full",
                    "padding=asymmetric")


def plain_forms(kwargs: dict, shapes: dict, unsupported: set) -> dict:
    """Refused argument forms made plain ints: a tuple kernel -> its largest entry, a
    tuple stride, dilation or padding -> its smallest, a padding string or per-side
    padding -> the largest side; output_padding follows the stride it must stay below."""
    kw = dict(kwargs)
    for name, pick in (("kernel_size", max), ("stride", min), ("dilation", min),
                       ("output_padding", min)):
        if f"{name}=tuple" in unsupported and _tuple(kw.get(name)):
            kw[name] = pick(kw[name])
    pad = kw.get("padding", 0)
    forms = _padding_features(pad) & unsupported
    if forms and isinstance(pad, str):
        kernel = shapes["weight"][2:]
        nd = len(kernel)
        pads = ref.normalize_padding(pad, kernel, _per_axis(kw.get("dilation", 1), nd),
                                     (1,) * nd, "check")
        kw["padding"] = max(max(p) for p in pads)
    elif forms:
        kw["padding"] = (max if "padding=asymmetric" in forms else min)(
            max(p) if _tuple(p) else p for p in pad)
    if "output_padding" in kw and "stride" in kw:
        limit = [max(s, d) - 1 for s, d in zip(_per_axis(kw["stride"], 3),
                                               _per_axis(kw.get("dilation", 1), 3))]
        if not _tuple(kw["output_padding"]):
            kw["output_padding"] = min([kw["output_padding"]] + limit)
    return kw


def conv_channels(shapes: dict, kwargs: dict) -> dict:
    """weight (K, C // groups, *k) for the groups left (a signature without groups gets
    1: the weight then spans every input channel)."""
    c, (k, _, *kernel) = shapes["x"][1], shapes["weight"]
    return {**shapes, "weight": (k, c // kwargs.get("groups", 1), *kernel)}


def transpose_channels(shapes: dict, kwargs: dict) -> dict:
    """weight (C_in, C_out // groups, *k) stays; the bias follows C_out = groups *
    weight.shape[1] for the groups left."""
    c_out = shapes["weight"][1] * kwargs.get("groups", 1)
    return {**shapes, "bias": None if shapes.get("bias") is None else (c_out,)}


def conv_corners(nd: int) -> list:
    """Small exact cases: a remainder of (L + p - span) % s, overlapping windows with a
    batch of 2 (a bias gradient averaged instead of summed), groups and depthwise,
    dilation, kernels of unequal sides, each padding form."""
    sp = lambda *v: v[:nd]                      # noqa: E731 - the first nd sizes
    rows = [({"x": (1, 1, *sp(5, 4, 6)), "weight": (1, 1, *sp(3, 2, 3))}, {}, None),
            ({"x": (2, 2, *sp(7, 6, 5)), "weight": (3, 2, *sp(3, 3, 2))},
             {"stride": 2, "padding": 1}, None),
            ({"x": (3, 2, *sp(8, 7, 7)), "weight": (2, 2, *sp(3, 2, 3))},
             {"stride": 3, "padding": 2}, None),
            ({"x": (1, 2, *sp(7, 7, 6)), "weight": (2, 2, *sp(3, 3, 2))}, {"dilation": 2}, None),
            ({"x": (2, 4, *sp(5, 5, 4)), "weight": (4, 2, *sp(3, 2, 2))}, {"groups": 2}, None),
            ({"x": (1, 3, *sp(6, 5, 4)), "weight": (6, 1, *sp(3, 2, 2))},
             {"groups": 3, "padding": 1}, None),
            ({"x": (1, 1, *sp(6, 5, 5)), "weight": (2, 1, *sp(3, 2, 2))},
             {"padding": "same"}, "padding=same"),
            ({"x": (1, 1, *sp(4, 4, 3)), "weight": (1, 1, *sp(2, 3, 2))},
             {"padding": "full"}, "padding=full"),
            ({"x": (1, 1, *sp(5, 4, 4)), "weight": (2, 1, *sp(3, 2, 2))},
             {"padding": tuple((a, b) for a, b in sp((1, 0), (0, 2), (1, 1)))},
             "padding=asymmetric"),
            ({"x": (1, 1, *sp(7, 6, 5)), "weight": (1, 1, *sp(2, 2, 2))},
             {"stride": sp(2, 1, 3)}, "stride=tuple")]
    return rows


CONV_EXAMPLES = {
    1: [({"x": [[[1.0, 2.0, 3.0, 4.0]]], "weight": [[[1.0, 0.0, -1.0]]]}, {},
         "B1, B3: conv1d is cross-correlation: [1, 2, 3, 4] with [1, 0, -1] -> "
         "[1 - 3, 2 - 4] = [-2, -2] (B1's convolution, kernel flipped, gives [2, 2])",
         [[[-2.0, -2.0]]])],
    3: [({"x": np.ones((1, 1, 3, 3, 3)), "weight": np.ones((1, 1, 2, 2, 2))}, {},
         "ones 3x3x3 with a 2x2x2 kernel of ones -> 2x2x2 of 8 (B5: the sum over the "
         "window, now three axes)", np.full((1, 1, 2, 2, 2), 8.0))]}


def _conv_ops(nd: int) -> tuple[Op, Op]:
    name = f"conv{nd}d"
    positional = ("x", "weight", "bias")
    every = tuple(f for f in CONV_ND_FEATURES if nd > 1 or f != "non-square kernel")
    cases = {n: generic.checkable(n, name, positional, conv_nd_features, every,
                                  lambda exact: conv_nd_cases(nd, exact), conv_corners(nd),
                                  CONV_EXAMPLES[nd], plain=plain_forms,
                                  channels=conv_channels,
                                  cost=1.0 if n == name else 1.5)
             for n in (name, name + "_backward")}
    forward = Op(name, positional, frozenset({"bias"}), CONV_DEFAULTS,
                 torch=torch_conv_nd(nd), differentiable=("x", "weight", "bias"),
                 backward=name + "_backward", rule=tolerances.conv_nd_rule(nd),
                 truth_kwargs={"algorithm": "im2col"}, **cases[name])
    backward = Op(name + "_backward", ("grad_out", "x", "weight", "bias"),
                  frozenset({"bias"}), CONV_DEFAULTS, ("grad_x", "grad_weight", "grad_bias"),
                  rule=tolerances.conv_nd_backward_rule(nd), **cases[name + "_backward"])
    return forward, backward


def pool_nd_features(kind: str):
    def features(args, kwargs) -> frozenset:
        """The corners of {kind}_pool{1,3}d's argument space one call exercises."""
        x, nd = args["x"], args["x"].ndim - 2
        k = _per_axis(args["kernel_size"], nd)
        s = _per_axis(kwargs.get("stride") or k, nd)
        f = _window_features(kwargs, nd, ("stride", "padding", "dilation"))
        f |= {"kernel_size=tuple"} if _tuple(args["kernel_size"]) else set()
        f |= {"stride=None (kernel)"} if kwargs.get("stride") is None else set()
        f |= {"overlapping windows"} if any(a < b for a, b in zip(s, k)) else set()
        f |= {"padding>0"} if max(_per_axis(kwargs.get("padding", 0), nd)) > 0 else set()
        f |= {"batch>1"} if x.shape[0] > 1 else set()
        f |= {"+-inf"} if np.isinf(x).any() else set()
        if kwargs.get("ceil_mode"):
            f |= {"ceil_mode"} | ({"ceil_mode drop rule"} if _drops(x, k, s, kwargs) else set())
        if kind == "max":
            f |= {"NaN"} if np.isnan(x).any() else set()
        else:
            f |= {"count_include_pad=False"} if kwargs.get("count_include_pad") is False \
                else set()
            f |= {"divisor_override"} if kwargs.get("divisor_override") else set()
        return frozenset(f)
    return features


def _drops(x, k, s, kwargs) -> bool:
    """Does torch's ceil_mode rule drop a last window (one starting in the right padding)
    that a plain ceil would keep, on some axis?"""
    nd = len(k)
    p, d = _per_axis(kwargs.get("padding", 0), nd), _per_axis(kwargs.get("dilation", 1), nd)
    for n, kk, ss, pp, dd in zip(x.shape[2:], k, s, p, d):
        naive = -(-(n + 2 * pp - dd * (kk - 1) - 1) // ss) + 1
        if (naive - 1) * ss >= n + pp:
            return True
    return False


def _pool_corners(nd: int, kind: str) -> list:
    """Overlapping windows, padding next to negative values, ceil_mode with the window
    torch drops, stride=None on sizes with a remainder, dilation (max), the divisor
    keywords (mean)."""
    sp = lambda *v: v[:nd]                      # noqa: E731
    rows = [({"x": (1, 1, *sp(3, 4, 3))}, {"kernel_size": 2, "stride": 1}, None),
            ({"x": (1, 2, *sp(5, 4, 3))}, {"kernel_size": 3, "stride": 2, "padding": 1}, None),
            ({"x": (2, 1, *sp(5, 5, 4))}, {"kernel_size": 2, "stride": 2, "ceil_mode": True},
             None),
            ({"x": (1, 1, *sp(4, 4, 4))}, {"kernel_size": 2, "stride": 3, "padding": 1,
                                           "ceil_mode": True}, None),
            ({"x": (2, 1, *sp(5, 7, 5))}, {"kernel_size": 2}, None),
            ({"x": (1, 1, *sp(5, 6, 4))}, {"kernel_size": sp(2, 3, 1)}, "kernel_size=tuple")]
    if kind == "max":
        rows.append(({"x": (1, 1, *sp(7, 6, 5))}, {"kernel_size": 2, "stride": 1,
                                                   "dilation": 2}, None))
    else:
        rows.append(({"x": (1, 2, *sp(5, 5, 4))}, {"kernel_size": 2, "stride": 2, "padding": 1,
                                                   "count_include_pad": False}, None))
        if nd == 3:
            rows.append(({"x": (1, 1, 4, 4, 3)}, {"kernel_size": 3, "stride": 1, "padding": 1,
                                                  "divisor_override": 5}, None))
    return rows


POOL_EXAMPLES = {
    ("max", 1): ({"x": [[[1.0, 3.0, 2.0, 5.0, 4.0]]], "kernel_size": 2}, {},
                 "[1, 3, 2, 5, 4], windows of 2, stride 2 (default): [3, 5], the last "
                 "value left over (floor)", [[[3.0, 5.0]]]),
    ("avg", 1): ({"x": [[[1.0, 3.0, 2.0, 5.0, 4.0]]], "kernel_size": 2}, {},
                 "[1, 3, 2, 5, 4], windows of 2: [(1 + 3)/2, (2 + 5)/2] = [2, 3.5]",
                 [[[2.0, 3.5]]]),
    ("max", 3): ({"x": np.arange(8.0).reshape(1, 1, 2, 2, 2), "kernel_size": 2}, {},
                 "0..7 as 2x2x2, one window -> 7", [[[[[7.0]]]]]),
    ("avg", 3): ({"x": np.arange(8.0).reshape(1, 1, 2, 2, 2), "kernel_size": 2}, {},
                 "0..7 as 2x2x2, one window -> 28 / 8 = 3.5", [[[[[3.5]]]]])}


def _touches_input(case) -> bool:
    """Every max window holds an input pixel (else torch's index is not the window's: the
    reference's one deliberate difference, see reference.max_pool2d)."""
    nd = case.args["x"].ndim - 2
    kw = {k: v for k, v in case.kwargs.items()}
    _, idx = getattr(ref, f"max_pool{nd}d")(case.args["x"].astype(np.float64),
                                            case.args["kernel_size"], **kw,
                                            return_indices=True)
    return bool((idx >= 0).all())


def _special(case, dtype) -> dict:
    """Ties, NaN and infinities (the 2-D pools' matrix family, any rank)."""
    return {"x": special_values(case, np.dtype(dtype))}


def _pool_plain(kwargs: dict, shapes: dict, unsupported: set) -> dict:
    """plain_forms, then padding clipped to half the kernel (torch's limit)."""
    kw = plain_forms(kwargs, shapes, unsupported)
    nd = len(shapes["x"]) - 2
    k, p = _per_axis(kw["kernel_size"], nd), _per_axis(kw.get("padding", 0), nd)
    clipped = tuple(min(a, b // 2) for a, b in zip(p, k))
    kw["padding"] = clipped if _tuple(kw.get("padding")) else min(clipped)
    return kw


def _pool_ops(nd: int, kind: str) -> tuple[Op, Op]:
    name = f"{kind}_pool{nd}d"
    defaults = MAX_DEFAULTS if kind == "max" else dict(AVG_DEFAULTS)
    if kind == "avg" and nd == 1:      # torch's avg_pool1d has no divisor_override
        defaults.pop("divisor_override")
    rule, backward_rule = (tolerances.max_pool_nd_rule if kind == "max"
                           else tolerances.avg_pool_nd_rule)(nd)
    every = ("stride=None (kernel)", "overlapping windows", "padding>0", "ceil_mode",
             "ceil_mode drop rule", "batch>1", "kernel_size=tuple", "stride=tuple",
             "stride>1") + (("padding=tuple",) if nd > 1 else ())
    every += ("dilation>1",) + (("dilation=tuple",) if nd > 1 else ()) if kind == "max" else \
        ("count_include_pad=False",) + (("divisor_override",) if nd == 3 else ())
    cases = {n: generic.checkable(
        n, name, ("x", "kernel_size"), pool_nd_features(kind), every,
        lambda exact: pool_nd_cases(nd, kind, exact), _pool_corners(nd, kind),
        [POOL_EXAMPLES[kind, nd]], plain=_pool_plain, cost=0.5 if n == name else 0.7,
        applicable=_touches_input if kind == "max" else None,
        beyond=(("special values", pool_nd_cases(nd, kind, True), _special),))
        for n in (name, name + "_backward")}
    forward = Op(name, ("x", "kernel_size"), frozenset(), defaults, torch=torch_pool_nd(name),
                 differentiable=("x",), backward=name + "_backward", rule=rule, **cases[name])
    backward = Op(name + "_backward", ("grad_out", "x", "kernel_size"), frozenset(),
                  defaults, ("grad_x",), rule=backward_rule, **cases[name + "_backward"])
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


def transpose_features(args, kwargs) -> frozenset:
    """The corners of conv_transpose{nd}d's argument space one call exercises; an
    output_padding of at least the stride is allowed only by the dilation."""
    x, nd = args["x"], args["x"].ndim - 2
    f = _window_features(kwargs, nd) | _padding_features(kwargs.get("padding", 0))
    extra, s = _per_axis(kwargs.get("output_padding", 0), nd), _per_axis(kwargs.get("stride", 1), nd)
    f |= {"output_padding>0"} if max(extra) > 0 else set()
    f |= {"output_padding>=stride"} if any(e >= st_ for e, st_ in zip(extra, s)) else set()
    f |= {"output_padding=tuple"} if _tuple(kwargs.get("output_padding")) else set()
    f |= {"bias"} if args.get("bias") is not None else set()
    f |= {"batch>1"} if x.shape[0] > 1 else set()
    f |= {"groups>1"} if kwargs.get("groups", 1) > 1 else set()
    return frozenset(f)


TRANSPOSE_FEATURES = ("bias", "batch>1", "stride>1", "padding>0", "output_padding>0",
                      "output_padding>=stride", "dilation>1", "groups>1", "stride=tuple",
                      "padding=tuple", "output_padding=tuple", "dilation=tuple")


def _transpose_corners(nd: int) -> list:
    """Stride with output_padding (the length a forgotten output_padding shortens),
    padding cropped from both sides, overlapping windows that must add (k > s), groups,
    dilation with output_padding >= stride."""
    sp = lambda *v: v[:nd]                      # noqa: E731
    return [({"x": (1, 1, *sp(3, 2, 2)), "weight": (1, 1, *sp(3, 2, 2))}, {}, None),
            ({"x": (2, 2, *sp(3, 3, 2)), "weight": (2, 3, *sp(3, 3, 2))},
             {"stride": 2, "output_padding": 1}, None),
            ({"x": (1, 2, *sp(3, 4, 2)), "weight": (2, 1, *sp(3, 2, 3))},
             {"stride": 2, "padding": 1}, None),
            ({"x": (2, 1, *sp(4, 3, 2)), "weight": (1, 2, *sp(4, 3, 2))},
             {"stride": 3, "padding": 2, "output_padding": 2}, None),
            ({"x": (1, 4, *sp(3, 3, 2)), "weight": (4, 1, *sp(2, 2, 2))}, {"groups": 2}, None),
            ({"x": (1, 1, *sp(3, 3, 2)), "weight": (1, 1, *sp(2, 3, 2))},
             {"dilation": 3, "output_padding": 2}, None),
            ({"x": (1, 1, *sp(3, 2, 2)), "weight": (1, 1, *sp(2, 2, 2))},
             {"stride": sp(2, 1, 3)}, "stride=tuple")]


TRANSPOSE_EXAMPLES = {
    1: [({"x": [[[1.0, 2.0]]], "weight": [[[1.0, 1.0, 1.0]]]}, {"stride": 2},
         "C8 then C7: [1, 2] with 1 zero inserted (stride 2) is [1, 0, 2]; its full "
         "convolution with [1, 1, 1] is [1, 1, 3, 2, 2]", [[[1.0, 1.0, 3.0, 2.0, 2.0]]]),
        ({"x": [[[1.0, 2.0]]], "weight": [[[1.0, 1.0, 1.0]]]},
         {"stride": 2, "padding": 1, "output_padding": 1},
         "the same with padding 1 (one value cropped from each side) and output_padding 1 "
         "(one more on the right): [1, 3, 2, 2]", [[[1.0, 3.0, 2.0, 2.0]]])],
    2: [({"x": [[[[1.0, 2.0], [3.0, 4.0]]]], "weight": np.ones((1, 1, 2, 2))},
         {"stride": 2}, "C8: stride 2 with a 2x2 kernel of ones copies each value into its "
         "own 2x2 block: [[1, 1, 2, 2], [1, 1, 2, 2], [3, 3, 4, 4], [3, 3, 4, 4]]",
         [[[[1.0, 1, 2, 2], [1, 1, 2, 2], [3, 3, 4, 4], [3, 3, 4, 4]]]])],
    3: [({"x": np.ones((1, 1, 2, 2, 2)), "weight": np.ones((1, 1, 2, 2, 2))}, {},
         "ones 2x2x2 with a 2x2x2 kernel of ones, stride 1: 3x3x3, each value the number "
         "of windows covering it (1 at the corners, 8 in the middle)",
         np.einsum("i,j,k->ijk", *[np.convolve([1.0, 1], [1, 1])] * 3)[None, None])]}


def _transpose_ops(nd: int) -> tuple[Op, Op]:
    name = f"conv_transpose{nd}d"
    every = tuple(f for f in TRANSPOSE_FEATURES if nd > 1 or not f.endswith("=tuple")
                  or f == "stride=tuple")
    onnx = (("extensions", conv_transpose_cases(nd, torch_only=False), None),)
    cases = {n: generic.checkable(n, name, ("x", "weight", "bias"), transpose_features, every,
                                  lambda exact: conv_transpose_cases(nd, exact),
                                  _transpose_corners(nd), TRANSPOSE_EXAMPLES[nd],
                                  plain=plain_forms, cost=1.0 if n == name else 1.5,
                                  beyond=onnx, channels=transpose_channels)
             for n in (name, name + "_backward")}
    forward = Op(name, ("x", "weight", "bias"), frozenset({"bias"}), TRANSPOSE_DEFAULTS,
                 torch=torch_conv_transpose(nd), differentiable=("x", "weight", "bias"),
                 backward=name + "_backward", rule=tolerances.conv_transpose_rule(nd),
                 mutants=mutants.CONV_TRANSPOSE, **cases[name])
    backward = Op(name + "_backward", ("grad_out", "x", "weight", "bias"),
                  frozenset({"bias"}), TRANSPOSE_DEFAULTS, ("grad_x", "grad_weight",
                                                            "grad_bias"),
                  rule=tolerances.conv_transpose_backward_rule(nd), **cases[name + "_backward"])
    return forward, backward


OPS += tuple(op for nd in (1, 2, 3) for op in _transpose_ops(nd))
