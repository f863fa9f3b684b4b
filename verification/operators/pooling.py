"""`cnnref check` cases for max and mean pooling, forward and backward (FORMULAS C12, C13),
held to PyTorch's semantics: ties go to the first maximum in row-major window order,
padding is -inf for max pooling (it never wins), a NaN in a window is its maximum (and
receives its gradient), ceil_mode drops a last window that would start in the right
padding, the mean's divisor follows count_include_pad / divisor_override, and overlapping
windows accumulate in the backward pass.

Windows holding several NaNs (torch routes the gradient to the last one, a detail of its
CPU scan) and windows lying wholly in the padding (possible with dilation; torch then
names a pixel outside the window) are not part of the battery.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np
from hypothesis import strategies as st


from cnnref import reference as ref
from cnnref.verification.core import tolerances
from cnnref.verification.core.strategies import seeds, simplify
from cnnref.verification.core.cases import Case, built, pair, upstream_gradient
from cnnref.verification.mutants import pooling as mutants
from cnnref.verification.operators.op import Op

MAX_DEFAULTS = {"stride": None, "padding": 0, "dilation": 1, "ceil_mode": False}
AVG_DEFAULTS = {"stride": None, "padding": 0, "ceil_mode": False, "count_include_pad": True,
                "divisor_override": None, "dilation": 1}
_PAIRS = ("kernel_size", "stride", "padding", "dilation")
DIVISOR_WINS = "divisor_override with count_include_pad=False or ceil_mode"


# --- strategies: valid configurations only, biased towards the corners ---------------

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
    kwargs = {"kernel_size": simplify(kernel),
              "stride": None if draw(st.integers(0, 3)) == 0 else simplify(stride),
              "padding": padding if not torch_only else simplify(padding),
              "ceil_mode": draw(st.booleans())}
    if kind == "max" or not torch_only or dilation != (1, 1):
        kwargs["dilation"] = simplify(dilation)
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


def pool_features(kind: str):
    def features(args, kwargs) -> frozenset:
        x, k = args["x"], pair(args["kernel_size"])
        s = pair(kwargs.get("stride") or k)
        f = {f"{n}=pair" for n in _PAIRS
             if isinstance(args.get(n, kwargs.get(n)), (tuple, list))}
        f |= {"stride=None (kernel)"} if kwargs.get("stride") is None else set()
        f |= {"overlapping windows"} if s[0] < k[0] or s[1] < k[1] else set()
        f |= {"padding>0"} if max(np.ravel(kwargs.get("padding", 0))) > 0 else set()
        f |= _padding_forms(kwargs.get("padding", 0), k)
        f |= {"dilation>1"} if max(pair(kwargs.get("dilation", 1))) > 1 else set()
        f |= {"non-square"} if x.shape[2] != x.shape[3] else set()
        f |= {"batch>1"} if x.shape[0] > 1 else set()
        if kwargs.get("ceil_mode"):
            f.add("ceil_mode")
            f |= {"ceil_mode drop rule"} if _drops(x, args["kernel_size"], kwargs) else set()
        f |= {"+-inf"} if np.isinf(x).any() else set()
        if kind == "max":
            f |= {"NaN"} if np.isnan(x).any() else set()
            f |= {"ties"} if mutants.has_ties(x, args["kernel_size"], kwargs) else set()
            f |= {"negative values next to padding"} if _negative_border(x, args, kwargs) \
                else set()
        else:
            f |= {"count_include_pad=False"} if kwargs.get("count_include_pad") is False \
                else set()
            f |= {"divisor_override"} if kwargs.get("divisor_override") is not None else set()
            # torch: the override wins over both; a framework that rescales its mean
            # differs exactly there
            f |= {DIVISOR_WINS} if "divisor_override" in f and (
                "count_include_pad=False" in f or kwargs.get("ceil_mode")) else set()
            f |= {"dilation>1 (avg)"} if "dilation>1" in f else set()
            f.discard("dilation>1")
        return frozenset(f)
    return features


def _padding_forms(padding, k) -> set:
    """ONNX's forms beyond torch: ((top, bottom), (left, right)) with unequal sides, a pad
    wider than half the kernel, a pad as wide as the kernel."""
    if not (isinstance(padding, (tuple, list)) and isinstance(padding[0], (tuple, list))):
        padding = tuple((p, p) for p in pair(padding))
    out = {"padding=asymmetric"} if any(a != b for a, b in padding) else set()
    if any(max(p) > kk // 2 for p, kk in zip(padding, k)):
        out.add("padding > kernel/2")
    if any(max(p) >= kk for p, kk in zip(padding, k)):
        out.add("padding >= kernel")      # ONNX Runtime refuses it, ONNX defines it
    return out


def _drops(x, k, kw) -> bool:
    """Does PyTorch's ceil_mode rule drop a window here (naive ceil would keep it)?"""
    geometry = {n: kw[n] for n in ("stride", "padding", "dilation", "ceil_mode") if n in kw}
    try:
        mutants.no_drop(np.zeros(x.shape), k, geometry)
        return True
    except ValueError:
        return False


def _negative_border(x, args, kw) -> bool:
    if max(pair(kw.get("padding", 0))) == 0:
        return False
    x64 = np.nan_to_num(x.astype(np.float64))
    return not np.array_equal(mutants.zero_pad_forward(x64, args["kernel_size"], kw),
                              ref.max_pool2d(x64, args["kernel_size"], **kw))


def pool_fit(case: Case, supported: set, unsupported=()) -> Case:
    """Unsupported pair forms become ints (kernel -> its larger side, stride, padding and
    dilation -> their smaller entry, so padding <= kernel // 2 still holds); the input
    grows where the window no longer fits."""
    kw = dict(case.kwargs)
    for name, pick in (("kernel_size", max), ("stride", min), ("padding", min),
                       ("dilation", min)):
        if f"{name}=pair" in unsupported and isinstance(kw.get(name), (tuple, list)):
            kw[name] = pick(kw[name])
    if "dilation>1 (avg)" in unsupported and "count_include_pad" in kw:
        kw["dilation"] = 1
    k, d, p = pair(kw["kernel_size"]), pair(kw.get("dilation", 1)), pair(kw.get("padding", 0))
    p = tuple(min(pp, kk // 2) for pp, kk in zip(p, k))
    kw["padding"] = p if isinstance(kw.get("padding"), (tuple, list)) else p[0]
    n, c, h, w = case.shapes["x"]
    hw = [max(size, dd * (kk - 1) + 1 - 2 * pp) for size, kk, dd, pp in zip((h, w), k, d, p)]
    return replace(case, shapes={"x": (n, c, *hw)}, kwargs=kw)


def _values(case: Case, dtype) -> np.ndarray:
    """Integers in [-2, 2] for exact cases (ties everywhere, negative borders), else
    standard normal."""
    rng = np.random.default_rng(case.seed)
    shape = case.shapes["x"]
    x = rng.integers(-2, 3, shape) if case.exact else rng.standard_normal(shape)
    return np.asarray(x).astype(dtype)


def pool_builder(op: str, kind: str, backward: bool, x_values=None):
    features = pool_features(kind)
    forward = ref.max_pool2d if kind == "max" else ref.avg_pool2d

    def build(case: Case, dtype: str, family: str, label: str = "", probe=None) -> Case:
        kw = dict(case.kwargs)
        k = kw.pop("kernel_size")
        x = _values(case, np.dtype(dtype)) if x_values is None else x_values(case, dtype)
        args = {"x": x, "kernel_size": k}
        if backward:
            shape = forward(x.astype(np.float64), k, **kw).shape
            args = {"grad_out": upstream_gradient(shape, case.seed, case.exact, dtype), **args}
        feats = features(args, kw) | ({"float32"} if dtype == "float32" else set())
        return built(op, args, kw, dtype, family, label or repr(case), case.exact,
                         feats, probe)
    return build


def _touches_input(case: Case) -> bool:
    """Every max window holds at least one input pixel (else torch's index is not the
    window's; see reference.max_pool2d)."""
    kw = dict(case.kwargs)
    return bool((ref.max_pool2d(case.args["x"].astype(np.float64), case.args["kernel_size"],
                                **kw, return_indices=True)[1] >= 0).all())


# seed 000's setting: a 4x4 map, 2x2 pooling, stride 2 (verification/tests/test_pooling.py works
# the numbers by hand: max [[5, 7], [4, 8]] with a tie of 4s, mean [[11, 10], [9, 19]] / 4).
SEED000_MAP = [[1, 5, 2, 0], [3, 2, 7, 1], [4, 4, 8, 6], [0, 1, 2, 3]]

# (x shape, kernel, kwargs, probe). Overlapping windows (k > s) expose overwrite instead
# of add; all-negative inputs with padding expose zero padding; ceil_mode with a
# remainder exposes floor, and (4, k 2, s 3, p 1) is the case where the naive ceil keeps a
# window starting in the right padding that PyTorch drops; non-square shapes and kernels
# expose swapped axes; the default stride (= kernel) on sizes that are no multiple of it,
# pool(x, 2) on 5x7, exposes fast paths for non-overlapping windows that get the floor,
# the leftover rows or the divisor wrong.
MAX_CORNERS = [
    ((1, 1, 3, 4), 2, {"stride": 1}, None),
    ((1, 2, 3, 3), 3, {"stride": 1, "padding": 1}, None),
    ((2, 1, 5, 5), 2, {"stride": 2, "ceil_mode": True}, None),
    ((1, 1, 4, 5), 2, {"stride": 3, "padding": 1, "ceil_mode": True}, None),
    ((1, 2, 5, 4), 3, {"stride": 2, "padding": 1}, None),
    ((1, 1, 6, 7), 2, {"stride": 1, "dilation": 2}, None),
    ((1, 1, 5, 6), (2, 3), {"stride": 1}, "kernel_size=pair"),
    ((1, 1, 6, 5), 2, {"stride": (2, 1)}, "stride=pair"),
    ((1, 1, 5, 5), 3, {"stride": 2, "padding": (1, 0)}, "padding=pair"),
    ((1, 1, 6, 6), 2, {"stride": 1, "dilation": (2, 1)}, "dilation=pair"),
    ((2, 1, 5, 7), 2, {}, None),
    ((1, 2, 7, 5), 3, {}, None),
]
AVG_CORNERS = [
    ((1, 1, 3, 4), 2, {"stride": 1}, None),
    ((1, 1, 5, 5), 2, {"stride": 2, "padding": 1}, None),
    ((1, 2, 5, 5), 2, {"stride": 2, "padding": 1, "count_include_pad": False}, None),
    ((2, 1, 5, 5), 2, {"stride": 2, "ceil_mode": True}, None),
    ((1, 1, 5, 6), 3, {"stride": 2, "padding": 1, "ceil_mode": True,
                       "count_include_pad": False}, None),
    ((1, 1, 4, 5), 3, {"stride": 1, "padding": 1, "divisor_override": 5}, None),
    ((1, 1, 5, 6), (2, 3), {"stride": 1}, "kernel_size=pair"),
    ((1, 1, 6, 5), 2, {"stride": (2, 1)}, "stride=pair"),
    ((1, 1, 5, 5), 3, {"stride": 2, "padding": (1, 0)}, "padding=pair"),
    ((1, 1, 6, 6), 2, {"stride": 1, "dilation": 2}, "dilation>1 (avg)"),
    ((2, 1, 5, 7), 2, {}, None),
    ((1, 2, 7, 5), 3, {"divisor_override": 2}, None),
]


def _nan_values(case: Case, dtype) -> np.ndarray:
    """Integers with one NaN in some 2x2 blocks (never two in one window)."""
    x = _values(case, dtype)
    x[0, 0, 0, 1] = x[0, 1, 3, 2] = x[0, 0, 2, 2] = np.nan
    return x


def pool_corners(op: str, kind: str, backward: bool):
    build = pool_builder(op, kind, backward)
    table = MAX_CORNERS if kind == "max" else AVG_CORNERS

    def corners() -> list[Case]:
        out = []
        for i, (shape, k, kw, probe) in enumerate(table):
            case = Case({"x": shape}, {"kernel_size": k, **kw}, seed=2000 + i, exact=True)
            if i == 1 and kind == "max":    # all negative: zero padding would win
                case = replace(case, seed=2100)
                out.append(pool_builder(op, kind, backward, _negative)(
                    case, "float64", "corners", f"corner {i}: all values negative"))
                continue
            out.append(build(case, "float64", "corners", f"corner {i}", probe))
        case = Case({"x": (2, 2, 4, 5)}, {"kernel_size": 3, "stride": 2, "padding": 1},
                    seed=2050, exact=True)
        out.append(build(case, "float32", "corners", "corner float32", "float32"))
        if kind == "max":
            nan_case = Case({"x": (1, 2, 4, 4)}, {"kernel_size": 2}, seed=2060, exact=True)
            out.append(pool_builder(op, kind, backward, _nan_values)(
                nan_case, "float64", "corners", "corner NaN: a NaN is its window's maximum"))
        return out
    return corners


def _negative(case: Case, dtype) -> np.ndarray:
    return -1 - np.abs(_values(case, dtype))


def pool_examples(op: str, kind: str, backward: bool):
    def examples() -> list[Case]:
        x = np.array(SEED000_MAP, dtype=np.float64)[None, None]
        args = {"x": x, "kernel_size": 2}
        if backward:   # the error [[1, 2], [3, 4]] of the worked example (C12, C13)
            args = {"grad_out": np.array([[[[1.0, 2.0], [3.0, 4.0]]]]), **args}
        label = ("seed 000: 4x4 map, 2x2 windows, stride 2 (default) -> "
                 + ("[[5, 7], [4, 8]], the tie of 4s to the first" if kind == "max"
                    else "[[11, 10], [9, 19]] / 4"))
        return [built(op, args, {}, "float64", "examples", label, True,
                          pool_features(kind)(args, {}))]
    return examples


# --- the PyTorch twins: handed the torch module (the registry, which every checker
# worker imports, never imports torch) ---------------------------------------------

def torch_max_pool2d(torch, x, kernel_size, **kwargs):
    return torch.nn.functional.max_pool2d(x, kernel_size, **kwargs)


def torch_avg_pool2d(torch, x, kernel_size, **kwargs):
    return torch.nn.functional.avg_pool2d(x, kernel_size, **kwargs)


def _spec(kind: str, backward: bool) -> Op:
    op = f"{kind}_pool2d" + ("_backward" if backward else "")
    defaults = MAX_DEFAULTS if kind == "max" else AVG_DEFAULTS
    positional = (("grad_out",) if backward else ()) + ("x", "kernel_size")
    features = ["stride=None (kernel)", "overlapping windows", "padding>0", "ceil_mode",
                "ceil_mode drop rule", "dilation>1", "non-square", "batch>1", "float32",
                "exact integers", "kernel_size=pair", "stride=pair", "padding=pair",
                "dilation=pair"]
    if kind == "max":
        features += ["negative values next to padding", "NaN"]
    else:
        features = [f for f in features if f not in ("dilation>1", "dilation=pair")]
        features += ["count_include_pad=False", "divisor_override", DIVISOR_WINS,
                     "dilation>1 (avg)"]
    return Op(op, positional, frozenset(), defaults, ("grad_x",) if backward else ("out",),
                  pool_examples(op, kind, backward), pool_corners(op, kind, backward),
                  lambda exact, kind=kind: pool2d_cases(kind, values="ties" if exact
                                                        else "normal"),
                  pool_builder(op, kind, backward), pool_features(kind),
                  cost=0.7 if backward else 0.5, fit=pool_fit,
                  applicable=_touches_input if kind == "max" else None,
                  all_features=tuple(features), **_twin_and_bounds(op, kind, backward),
                  matrix_draws=lambda: _matrix_draws(op, kind, backward))


def _matrix_draws(op: str, kind: str, backward: bool) -> list:
    """Beyond torch: ONNX's padding and mean-pool dilation; NaN, +-inf and ties."""
    def special(case, dtype):
        return special_values(case, np.dtype(dtype))
    return [("extensions", pool2d_cases(kind, torch_only=False), pool_builder(op, kind, backward)),
            ("special values", pool2d_cases(kind, values="special"),
             pool_builder(op, kind, backward, x_values=special))]


def _twin_and_bounds(op: str, kind: str, backward: bool) -> dict:
    """The registry fields beside the cases: torch twin, tolerance rule, mutants."""
    rule, mistakes = RULES_AND_MUTANTS[op]
    out = {"rule": rule, "mutants": mistakes}
    if not backward:
        out.update(torch=TWINS[op], differentiable=("x",), backward=op + "_backward")
    return out


RULES_AND_MUTANTS = {
    "max_pool2d": (tolerances.max_pool2d_rule, mutants.MAX_POOL2D),
    "max_pool2d_backward": (tolerances.max_pool2d_backward_rule, mutants.MAX_POOL2D_BACKWARD),
    "avg_pool2d": (tolerances.avg_pool2d_rule, mutants.AVG_POOL2D),
    "avg_pool2d_backward": (tolerances.avg_pool2d_backward_rule, mutants.AVG_POOL2D_BACKWARD),
}
TWINS = {"max_pool2d": torch_max_pool2d, "avg_pool2d": torch_avg_pool2d}


OPS = tuple(_spec(kind, bw) for kind in ("max", "avg") for bw in (False, True))
