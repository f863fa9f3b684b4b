"""What `cnnref check` runs per function: the op table and the convolution cases.

Every op has worked examples from the documents, targeted corner cases (small, integer
valued, chosen so that each classic mistake changes the result), and a hypothesis strategy
(verification/core/strategies.py) for the exact-integer and random families.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np
from hypothesis import strategies as st


from cnnref import reference as ref
from cnnref.reference.conv_args import conv_geometry
from cnnref.verification.core import tolerances
from cnnref.verification.core.strategies import seeds, simplify
from cnnref.verification.core.cases import Case, built, make_arrays, pair as _pair, upstream_gradient
from cnnref.verification.mutants import conv as mutants
from cnnref.verification.operators.op import EXTENSIONS, Op


# --- strategies: valid configurations only, biased towards the corners ---------------

@st.composite
def _channels(draw):
    """(groups, C, K): plain, grouped, depthwise (groups == C), and K == C."""
    kind = draw(st.sampled_from(["plain", "plain", "grouped", "depthwise", "square"]))
    if kind == "depthwise":
        c = draw(st.integers(1, 4))
        return c, c, c * draw(st.integers(1, 2))
    groups = draw(st.integers(2, 3)) if kind == "grouped" else 1
    cg, kg = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    if kind == "square":
        kg = cg
    return groups, groups * cg, groups * kg


@st.composite
def _padding(draw, kernel, dilation, stride):
    """Every accepted form; 'same' only at stride 1 (PyTorch refuses it otherwise)."""
    forms = ["int", "pair", "asym", "valid", "full"] + (["same"] * 2 if stride == (1, 1) else [])
    form = draw(st.sampled_from(forms))
    small = st.integers(0, 2)
    if form == "int":
        return draw(small)
    if form == "pair":
        return (draw(small), draw(small))
    if form == "asym":
        return ((draw(small), draw(small)), (draw(small), draw(small)))
    return form


def _pad_totals(padding, kernel, dilation):
    pads = ref.normalize_padding(padding, kernel, dilation, (1, 1), "strategy")
    return pads[0][0] + pads[0][1], pads[1][0] + pads[1][1]


@st.composite
def conv2d_cases(draw, exact: bool = False, max_extra: int = 6) -> Case:
    """Valid conv2d inputs. Input sizes start at "kernel span == padded input" (offset 0,
    which hypothesis tries first) and include sizes where (H + p - span) % s != 0."""
    groups, c, k = draw(_channels())
    kernel = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    padding = draw(_padding(kernel, dilation, stride))
    totals = _pad_totals(padding, kernel, dilation)
    hw = []
    for kk, d, p in zip(kernel, dilation, totals):
        span = d * (kk - 1) + 1
        hw.append(max(1, span - p) + draw(st.integers(0, max_extra)))
    n = draw(st.integers(1, 3))
    bias = draw(st.booleans())
    shapes = {"x": (n, c, *hw), "weight": (k, c // groups, *kernel),
              "bias": (k,) if bias else None}
    kwargs = {"stride": simplify(stride), "padding": padding,
              "dilation": simplify(dilation), "groups": groups}
    return Case(shapes, kwargs, draw(seeds), exact)


@st.composite
def winograd_cases(draw, exact: bool = False) -> Case:
    """Valid inputs of Winograd F(m x m, 3 x 3): 3x3 kernels, stride 1, dilation 1, every
    padding form, groups and depthwise; output sizes from 1 up to a few tiles of 4, so the
    last tile row and column are partial."""
    groups, c, k = draw(_channels())
    padding = draw(_padding((3, 3), (1, 1), (1, 1)))
    totals = _pad_totals(padding, (3, 3), (1, 1))
    hw = [max(1, 3 - p) + draw(st.integers(0, 10)) for p in totals]
    shapes = {"x": (draw(st.integers(1, 2)), c, *hw), "weight": (k, c // groups, 3, 3),
              "bias": (k,) if draw(st.booleans()) else None}
    return Case(shapes, {"padding": padding, "groups": groups}, draw(seeds), exact)


@st.composite
def conv_output_size_cases(draw) -> Case:
    """Valid conv_output_size arguments: input sizes from "kernel span == padded input"
    up, every padding form, 'same' only at stride 1."""
    kernel, stride = draw(st.integers(1, 5)), draw(st.integers(1, 3))
    dilation = draw(st.integers(1, 3))
    form = draw(st.sampled_from(["int", "int", "pair", "valid", "full"]
                                + (["same"] if stride == 1 else [])))
    if form == "int":
        padding = draw(st.integers(0, 3))
    elif form == "pair":
        padding = (draw(st.integers(0, 3)), draw(st.integers(0, 3)))
    else:
        padding = form
    (before, after), _ = ref.normalize_padding(padding if form != "pair" else (padding, (0, 0)),
                                               (kernel, 1), (dilation, 1), (stride, 1), "s")
    span = dilation * (kernel - 1) + 1
    size = max(1, span - before - after) + draw(st.integers(0, 12))
    kwargs = {"input_size": size, "kernel_size": kernel, "stride": stride,
              "padding": padding, "dilation": dilation}
    return Case({}, kwargs, 0, exact=True)


def conv_fit(case: Case, supported: set, unsupported=()) -> Case:
    """Unsupported argument forms become the plain int form (a padding string or pair ->
    its largest side, a stride or dilation pair -> its smaller entry); inputs grow where
    the window no longer fits."""
    kwargs = _plain_forms(case.kwargs, unsupported, case.shapes.get("weight"))
    shapes = dict(case.shapes)
    if "weight" in shapes:
        shapes = _fit_conv_shapes(shapes, kwargs, case.kwargs.get("groups", 1))
    return replace(case, shapes=shapes, kwargs=kwargs)


def _plain_forms(kwargs, unsupported, weight_shape) -> dict:
    out = dict(kwargs)
    for name in ("stride", "dilation"):
        if f"{name}=pair" in unsupported and isinstance(out.get(name), (tuple, list)):
            out[name] = min(out[name])
    pad = out.get("padding", 0)
    form = ("padding=" + pad if isinstance(pad, str) else
            "padding=asymmetric" if isinstance(pad, (tuple, list)) and
            isinstance(pad[0], (tuple, list)) else
            "padding=pair" if isinstance(pad, (tuple, list)) else None)
    if form in unsupported:
        kernel = weight_shape[2:] if weight_shape else (out["kernel_size"], 1)
        if "kernel_size" in out and isinstance(pad, (tuple, list)):
            pad = (tuple(pad), (0, 0))
        pads = ref.normalize_padding(pad, kernel, _pair(out.get("dilation", 1)), (1, 1),
                                     "check")
        out["padding"] = max(max(p) for p in pads)
    return out


def _fit_conv_shapes(shapes, kwargs, old_groups):
    n, c, h, w = shapes["x"]
    k, _, kh, kw = shapes["weight"]
    shapes["weight"] = (k, c // kwargs.get("groups", 1), kh, kw)
    pads = ref.normalize_padding(kwargs.get("padding", 0), (kh, kw),
                                 _pair(kwargs.get("dilation", 1)), (1, 1), "check")
    dil = _pair(kwargs.get("dilation", 1))
    hw = [max(size, d * (kk - 1) + 1 - p0 - p1)
          for size, kk, d, (p0, p1) in zip((h, w), (kh, kw), dil, pads)]
    shapes["x"] = (n, c, *hw)
    return shapes


# --- convolution ------------------------------------------------------------------------

def conv_features(args, kwargs) -> frozenset:
    """The corners of the conv2d argument space that one call exercises."""
    x, w = args["x"], args["weight"]
    f = {"bias"} if args.get("bias") is not None else set()
    stride, pad = kwargs.get("stride", 1), kwargs.get("padding", 0)
    dil, groups = kwargs.get("dilation", 1), kwargs.get("groups", 1)
    f |= {"stride>1"} if max(_pair(stride)) > 1 else set()
    f |= {"stride=pair"} if isinstance(stride, (tuple, list)) else set()
    f |= {"dilation>1"} if max(_pair(dil)) > 1 else set()
    f |= {"dilation=pair"} if isinstance(dil, (tuple, list)) else set()
    if isinstance(pad, str):
        f.add(f"padding={pad}")
    elif isinstance(pad, (tuple, list)):
        f.add("padding=asymmetric" if isinstance(pad[0], (tuple, list)) else "padding=pair")
    elif pad > 0:
        f.add("padding>0")
    f |= {"groups>1"} if groups > 1 else set()
    f |= {"depthwise"} if groups > 1 and groups == x.shape[1] else set()
    f |= {"non-square"} if x.shape[2] != x.shape[3] or w.shape[2] != w.shape[3] else set()
    f |= {"non-square kernel"} if w.shape[2] != w.shape[3] else set()
    f |= {"batch>1"} if x.shape[0] > 1 else set()
    return frozenset(f)


def _conv_arrays(case: Case, dtype: str, backward: bool) -> dict:
    arrays = make_arrays(case, np.dtype(dtype))
    if not backward:
        return arrays
    kw = {**CONV_DEFAULTS, **case.kwargs}
    *_, geo = conv_geometry(arrays["x"], arrays["weight"], None, kw["stride"],
                            kw["padding"], kw["dilation"], kw["groups"])
    g = upstream_gradient((geo.n, geo.k, *geo.out), case.seed, case.exact, dtype)
    return {"grad_out": g, **arrays}


def _conv_builder(op: str, backward: bool):
    def build(case: Case, dtype: str, family: str, label: str = "", probe=None) -> Case:
        args = _conv_arrays(case, dtype, backward)
        feats = conv_features(args, case.kwargs) | ({"float32"} if dtype == "float32" else set())
        return built(op, args, dict(case.kwargs), dtype, family, label or repr(case),
                         case.exact, feats, probe)
    return build


# (x shape, weight shape, bias, kwargs, probe): integer-valued, each small. Non-square
# inputs and kernels expose swapped axes; stride with a remainder exposes floor/ceil and
# the forgotten stride; overlapping windows (k > s) expose overwrite-instead-of-add; a
# batch of 2 and several output pixels expose a bias gradient averaged instead of summed.
CONV_CORNERS = [
    ((1, 1, 3, 4), (1, 1, 1, 1), False, {}, None),
    ((1, 1, 3, 3), (1, 1, 3, 3), False, {}, None),
    ((2, 2, 5, 4), (3, 2, 3, 2), True, {}, None),
    ((1, 1, 6, 7), (2, 1, 3, 3), False, {"stride": 2}, None),
    ((2, 3, 5, 6), (2, 3, 2, 3), True, {"padding": 1}, None),
    ((2, 2, 7, 6), (3, 2, 3, 3), True, {"stride": 2, "padding": 1}, None),
    # a batch of 3 with stride 3: a bug that shows only when both are odd and > 2 was
    # missed by every other fixed case (hypothesis reaches it only by chance)
    ((3, 2, 7, 8), (2, 2, 3, 2), False, {"stride": 3, "padding": 2}, None),
    ((1, 2, 7, 7), (2, 2, 3, 3), False, {"dilation": 2}, None),
    ((2, 4, 5, 5), (4, 2, 3, 3), True, {"groups": 2}, None),
    ((1, 3, 5, 6), (6, 1, 3, 2), False, {"groups": 3, "padding": 1}, None),
    ((1, 2, 6, 5), (2, 2, 3, 2), True, {"padding": (1, 2)}, "padding=pair"),
    ((1, 2, 7, 6), (2, 2, 3, 3), False, {"stride": (2, 1)}, "stride=pair"),
    ((1, 2, 7, 7), (2, 2, 3, 2), False, {"dilation": (2, 1)}, "dilation=pair"),
    ((1, 1, 5, 6), (2, 1, 3, 3), False, {"padding": "valid"}, "padding=valid"),
    ((1, 1, 5, 6), (2, 1, 2, 3), True, {"padding": "same"}, "padding=same"),
    ((1, 1, 4, 5), (2, 1, 3, 2), False, {"padding": "full"}, "padding=full"),
    ((1, 1, 5, 6), (2, 1, 3, 3), True, {"padding": ((1, 0), (0, 2))}, "padding=asymmetric"),
    # the padding strings with dilation: 'same' and 'full' pad d*(k - 1) in all, not k - 1
    ((1, 1, 6, 7), (2, 1, 3, 2), False, {"padding": "same", "dilation": 2}, None),
    ((1, 1, 4, 5), (1, 1, 2, 3), True, {"padding": "full", "dilation": 2}, None),
]


def _conv_corners(op: str, backward: bool):
    build = _conv_builder(op, backward)

    def corners() -> list[Case]:
        out = []
        for i, (xs, ws, bias, kwargs, probe) in enumerate(CONV_CORNERS):
            shapes = {"x": xs, "weight": ws, "bias": (ws[0],) if bias else None}
            case = Case(shapes, kwargs, seed=1000 + i, exact=True)
            out.append(build(case, "float64", "corners", f"corner {i}", probe))
        # float32 inputs (a result in float64 is fine): refusing them is a limitation
        xs, ws, _, kwargs, _ = CONV_CORNERS[2]
        case = Case({"x": xs, "weight": ws, "bias": (ws[0],)}, kwargs, seed=1002, exact=True)
        out.append(build(case, "float32", "corners", "corner float32", "float32"))
        return out
    return corners


# seed 003, "卷积基本操作示例": the 5x5 image, the 3x3 kernel and the printed 3x3 result.
SEED003_IMAGE = [[3, 3, 2, 1, 0], [0, 0, 1, 3, 1], [3, 1, 2, 2, 3], [2, 0, 0, 2, 2],
                 [2, 0, 0, 0, 1]]
SEED003_KERNEL = [[0, 1, 2], [2, 2, 0], [0, 1, 2]]
SEED003_RESULT = [[12, 12, 17], [10, 17, 19], [9, 6, 14]]


def _conv_examples(backward: bool):
    def examples() -> list[Case]:
        x = np.array(SEED003_IMAGE, dtype=np.float64)[None, None]
        w = np.array(SEED003_KERNEL, dtype=np.float64)[None, None]
        ones5, ones3 = np.ones((1, 1, 5, 5)), np.ones((1, 1, 3, 3))
        cases = [(x, w, {}, "seed 003: 5x5 image, 3x3 kernel -> [[12,12,17],[10,17,19],"
                  "[9,6,14]]"),
                 (ones5, ones3, {"stride": 2}, "seed 000: 5x5 with 3x3, stride 2 -> 2x2"),
                 (np.ones((1, 3, 5, 5)), np.ones((2, 3, 3, 3)), {"stride": 2, "padding": 1},
                  "seed 000: 5x5x3 input, two 3x3x3 filters, stride 2, pad 1 -> 3x3x2"),
                 (np.ones((1, 1, 6, 6)), ones3, {"padding": 1}, "seed 002: 6x6, 3x3, pad 1 "
                  "-> 6x6")]
        out = []
        for i, (xx, ww, kw, label) in enumerate(cases):
            args = {"x": xx, "weight": ww, "bias": None}
            if backward:   # the same geometry with an integer upstream gradient (C7-C11)
                shape = ref.conv2d(xx, ww, **kw).shape
                g = np.random.default_rng(i).integers(-4, 5, shape).astype(np.float64)
                args = {"grad_out": g, **args}
            op = "conv2d_backward" if backward else "conv2d"
            label += ", integer upstream gradient (C7-C11)" if backward else ""
            out.append(built(op, args, kw, "float64", "examples", label, True,
                                 conv_features(args, kw)))
        return out
    return examples


CONV_DEFAULTS = {"stride": 1, "padding": 0, "dilation": 1, "groups": 1}

# --- the PyTorch twins: handed the torch module (the registry, which every checker
# worker imports, never imports torch) ---------------------------------------------

def torch_conv2d(torch, x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """F.conv2d, with asymmetric or 'full' padding applied by F.pad (torch has neither);
    'same' and 'valid' go to torch as strings so that its own rule is what is tested."""
    F = torch.nn.functional
    if padding in ("same", "valid"):
        return F.conv2d(x, weight, bias, stride, padding, dilation, groups)
    (t, b), (l, r) = ref.normalize_padding(padding, tuple(weight.shape[-2:]), _pair(dilation),
                                           _pair(stride), "conv2d")
    if t == b and l == r:
        return F.conv2d(x, weight, bias, stride, (t, l), dilation, groups)
    return F.conv2d(F.pad(x, (l, r, t, b)), weight, bias, stride, 0, dilation, groups)


CONV_FEATURES = ("bias", "batch>1", "non-square", "non-square kernel", "stride>1", "padding>0", "dilation>1",
                 "groups>1", "depthwise", "padding=pair", "padding=same", "padding=valid",
                 "padding=full", "padding=asymmetric", "stride=pair", "dilation=pair",
                 "float32", "exact integers")

CONV2D = Op("conv2d", ("x", "weight", "bias"), frozenset({"bias"}), CONV_DEFAULTS,
                ("out",), _conv_examples(False), _conv_corners("conv2d", False),
                lambda exact: conv2d_cases(exact=exact), _conv_builder("conv2d", False),
                conv_features, fit=conv_fit, all_features=CONV_FEATURES,
                torch=torch_conv2d, differentiable=("x", "weight", "bias"),
                backward="conv2d_backward", rule=tolerances.conv2d_rule,
                mutants=mutants.CONV2D, truth_kwargs={"algorithm": "im2col"})
CONV2D_BACKWARD = Op(
    "conv2d_backward", ("grad_out", "x", "weight", "bias"), frozenset({"bias"}),
    CONV_DEFAULTS, ("grad_x", "grad_weight", "grad_bias"), _conv_examples(True),
    _conv_corners("conv2d_backward", True), lambda exact: conv2d_cases(exact=exact),
    _conv_builder("conv2d_backward", True), conv_features, cost=1.5, fit=conv_fit,
    all_features=CONV_FEATURES, rule=tolerances.conv2d_backward_rule,
    mutants=mutants.CONV2D_BACKWARD, truth_kwargs={"method": "col2im"})


# --- output size -------------------------------------------------------------------------

def size_features(args, kwargs) -> frozenset:
    f = conv_features({"x": np.zeros((1, 1, 1, 1)), "weight": np.zeros((1, 1, 1, 1))},
                      {k: v for k, v in kwargs.items()})
    return frozenset(f - {"non-square"})


def _size_build(case: Case, dtype: str, family: str, label: str = "", probe=None):
    kw = dict(case.kwargs)
    args = {"input_size": kw.pop("input_size"), "kernel_size": kw.pop("kernel_size")}
    return built("conv_output_size", args, kw, "int", family, label or repr(case), True,
                     size_features(args, kw), probe)


# (input, kernel, kwargs, label or probe): the documents' numbers (A1-A3, B8), then corners.
SIZE_EXAMPLES = [(5, 3, {}, "seed 000: 5x5 with 3x3 -> 3"),
                 (5, 3, {"stride": 2}, "seed 000: stride 2 -> 2"),
                 (5, 3, {"stride": 2, "padding": 1}, "seed 000: 5 + pad 1, stride 2 -> 3"),
                 (7, 3, {"stride": 2, "padding": 1}, "seed 000 literal: 7, pad 1 -> 4"),
                 (6, 3, {"stride": 2}, "A1: floor((6 - 3)/2) + 1 = 2"),
                 (6, 3, {"padding": 1}, "seed 002: 6 with 3, pad 1 -> 6")]
SIZE_CORNERS = [(3, 3, {}, None), (1, 1, {"stride": 3}, None), (8, 3, {"stride": 3}, None),
                (7, 2, {"stride": 2, "padding": 2}, None), (9, 3, {"dilation": 2}, None),
                (9, 3, {"dilation": 3, "stride": 2, "padding": 1}, None),
                (6, 3, {"padding": (0, 2)}, "padding=pair"),
                (6, 4, {"padding": "same"}, "padding=same"),
                (6, 4, {"padding": "valid"}, "padding=valid"),
                (6, 4, {"padding": "full"}, "padding=full"),
                (6, 3, {"padding": "same", "dilation": 2}, None),
                (5, 3, {"padding": "full", "dilation": 2}, None)]


def _size_cases(table, family):
    def cases():
        out = []
        for i, (n, k, kw, tag) in enumerate(table):
            probe = tag if tag in EXTENSIONS else None
            label = tag if family == "examples" else f"corner {i}"
            case = Case({}, {"input_size": n, "kernel_size": k, **kw}, 0, True)
            out.append(_size_build(case, "int", family, label, probe))
        return out
    return cases


CONV_OUTPUT_SIZE = Op(
    "conv_output_size", ("input_size", "kernel_size"), frozenset(),
    {"stride": 1, "padding": 0, "dilation": 1}, ("size",), _size_cases(SIZE_EXAMPLES, "examples"),
    _size_cases(SIZE_CORNERS, "corners"), lambda exact: conv_output_size_cases(),
    _size_build, size_features, random=False, cost=0.2, fit=conv_fit,
    all_features=("stride>1", "padding>0", "dilation>1", "padding=pair", "padding=same",
                  "padding=valid", "padding=full"),
    mutants=mutants.CONV_OUTPUT_SIZE)

OPS = (CONV_OUTPUT_SIZE, CONV2D, CONV2D_BACKWARD)
