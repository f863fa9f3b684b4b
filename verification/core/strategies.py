"""Hypothesis strategies: every one generates only valid configurations, and is biased
towards the corners where implementations go wrong.

Each draws a `Case` (verification/core/cases.py): shapes + keyword arguments + a seed, so a
failing case prints as a short, reproducible line; `make_arrays(case)` gives its arrays.
"""
from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from cnnref import reference as ref
from cnnref.reference.netspec import parse_network
from cnnref.reference.networks import output_shapes
from cnnref.verification.core.cases import Case


seeds = st.integers(0, 2**32 - 1)


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
    kwargs = {"stride": _simplify(stride), "padding": padding,
              "dilation": _simplify(dilation), "groups": groups}
    return Case(shapes, kwargs, draw(seeds), exact)


def _simplify(p):
    """A square pair becomes an int, so both argument forms are exercised."""
    return p[0] if p[0] == p[1] else p


# --- layer stacks ---

_ELEMENTWISE = ["RELU", "TANH", "SIGMOID", "BN"]


@st.composite
def _spatial_layer(draw, c: int) -> str:
    """One CONV / POOL / AVGPOOL / SUBSAMPLE / elementwise layer in one-line form, on c
    input channels (pooling padding <= kernel // 2, as torch requires)."""
    kind = draw(st.sampled_from(["CONV", "CONV", "POOL", "AVGPOOL", "SUBSAMPLE", "ELEM"]))
    k = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    s = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    geo = f"{k[0]}x{k[1]}/{s[0]}x{s[1]}"
    if kind == "ELEM":
        return draw(st.sampled_from(_ELEMENTWISE))
    if kind == "SUBSAMPLE":
        return f"SUBSAMPLE {geo}"
    if kind in ("POOL", "AVGPOOL"):
        p = (draw(st.integers(0, k[0] // 2)), draw(st.integers(0, k[1] // 2)))
        return f"{kind} {geo}+{p[0]}x{p[1]}"
    groups = draw(st.sampled_from([g for g in (1, 2, 3) if c % g == 0]))
    out = groups * draw(st.integers(1, 3))
    p = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    d = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    bias = "" if draw(st.booleans()) else " nobias"
    return f"CONV {out}@{geo}+{p[0]}x{p[1]} dil={d[0]}x{d[1]} groups={groups}{bias}"


@st.composite
def layer_stacks(draw, max_spatial: int = 5, max_fc: int = 2):
    """A valid network (reference.netspec.Network): INPUT, up to `max_spatial` conv/pool/
    subsample/elementwise layers, then optionally FLATTEN and up to `max_fc` FC layers
    with activations. Valid by construction: a layer whose window does not fit the current
    map is not appended (the shape is tracked with the reference's own rule)."""
    c, h, w = draw(st.integers(1, 3)), draw(st.integers(3, 10)), draw(st.integers(3, 10))
    parts = [f"INPUT {c}x{h}x{w}"]
    for _ in range(draw(st.integers(1, max_spatial))):
        candidate = draw(_spatial_layer(c))
        try:
            shape = output_shapes(parse_network(" -> ".join(parts + [candidate])))[-1]
        except ValueError:
            continue
        parts.append(candidate)
        c = shape[0]
    n_fc = draw(st.integers(0, max_fc))
    if len(parts) == 1 and n_fc == 0:
        parts.append("RELU")
    if n_fc and draw(st.booleans()):
        parts.append("FLATTEN")
    for i in range(n_fc):
        # >= 2 features: a softmax of a single value is the constant 1 (no receptive field)
        parts.append(f"FC {draw(st.integers(2, 6))}" + ("" if draw(st.booleans()) else " nobias"))
        if i < n_fc - 1 or draw(st.booleans()):
            parts.append(draw(st.sampled_from(_ELEMENTWISE + ["SOFTMAX"])))
    return parse_network(" -> ".join(parts))


# --- output sizes ---

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


# --- pooling, batch norm ---

@st.composite
def pool2d_cases(draw, kind: str = "max", torch_only: bool = True,
                 values: str = "normal") -> Case:
    """Valid pooling inputs. torch_only: padding <= kernel // 2 (torch's limit) and no
    dilation for mean pooling; otherwise also the ONNX extensions (asymmetric and large
    padding, mean-pool dilation). Reaches overlapping windows (stride < kernel), ceil_mode
    with padding, windows overhanging the input, stride=None with a remainder. values:
    'normal', 'ties' (integers in
    [-2, 2]), 'special' (ties plus NaN, inf and -inf)."""
    kernel = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilation = (1, 1) if kind == "avg" and torch_only else \
        (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    if torch_only:
        padding = (draw(st.integers(0, kernel[0] // 2)), draw(st.integers(0, kernel[1] // 2)))
    else:
        padding = tuple((draw(st.integers(0, k)), draw(st.integers(0, k))) for k in kernel)
    pads = padding if not torch_only else ((padding[0],) * 2, (padding[1],) * 2)
    hw = [max(1, d * (k - 1) + 1 - sum(p)) + draw(st.integers(0, 5))
          for k, d, p in zip(kernel, dilation, pads)]
    # stride=None (the kernel, PyTorch's default) on sizes that leave a remainder is the
    # call most people write, pool(x, 2): drawn a quarter of the time.
    kwargs = {"kernel_size": _simplify(kernel),
              "stride": None if draw(st.integers(0, 3)) == 0 else _simplify(stride),
              "padding": padding if not torch_only else _simplify(padding),
              "ceil_mode": draw(st.booleans())}
    if kind == "max" or not torch_only or dilation != (1, 1):
        kwargs["dilation"] = _simplify(dilation)
    if kind == "avg":
        kwargs["count_include_pad"] = draw(st.booleans())
        if draw(st.integers(0, 4)) == 0:
            kwargs["divisor_override"] = draw(st.integers(1, 5))
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 3)), *hw)
    return Case({"x": shape}, kwargs, draw(seeds), exact=values != "normal")


def special_values(case: Case, dtype=np.float64) -> np.ndarray:
    """Integer-valued input full of ties; for 'special' cases NaN, inf and -inf sprinkled in
    (one element in five each, by the case's seed)."""
    rng = np.random.default_rng(case.seed)
    x = rng.integers(-2, 3, size=case.shapes["x"]).astype(dtype)
    u = rng.random(x.shape)
    x[u < 0.08] = np.nan
    x[(u >= 0.08) & (u < 0.16)] = np.inf
    x[(u >= 0.16) & (u < 0.3)] = -np.inf
    return x


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


# --- activations, losses, dense ---

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
def cross_entropy_cases(draw, exact: bool = False) -> Case:
    """logits (N, classes), N in 1..5, 1..6 classes; the targets come from the seed."""
    shape = (draw(st.integers(1, 5)), draw(st.integers(1, 6)))
    return Case({"logits": shape}, {}, draw(seeds), exact)


@st.composite
def dense_cases(draw, exact: bool = False) -> Case:
    """x (N, in), weight (out, in), bias (out,) or None; sizes 1..5."""
    n, fin, fout = (draw(st.integers(1, 5)) for _ in range(3))
    shapes = {"x": (n, fin), "weight": (fout, fin),
              "bias": (fout,) if draw(st.booleans()) else None}
    return Case(shapes, {}, draw(seeds), exact)
