"""unfold / fold, adaptive average and max pooling, Lp pooling and max unpooling in 1, 2
and 3 dimensions (with their backward entries): strategies, PyTorch twins and tolerance
rules, for the test suite (verification/tests/test_pooling_extra.py). Corners reached:
adaptive bins that overlap and differ in length (m not dividing n), outputs larger than
the input, None entries of output_size; Lp pooling with p = 1, 1.5, 2, 3 and inf,
ceil_mode windows cut by the border; unpooling with output_size one stride off the
default. For `cnnref check` and the matrix each entry also has worked examples (arithmetic
in the label), corners and features (verification/operators/generic.py builds the calls).
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np
from hypothesis import strategies as st

from cnnref import reference as ref
from cnnref.verification.core import tolerances
from cnnref.verification.core.cases import Case, make_arrays
from cnnref.verification.core.strategies import seeds
from cnnref.verification.mutants import extra as mutants
from cnnref.verification.operators import generic
from cnnref.verification.operators.nd import _per_axis, _tuple, plain_forms
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
    # the default size is the pooled size times the kernel: without padding and with every
    # axis a multiple of its kernel, the indices name the same pixels in it
    default_ok = not any(padding) and all(n % k == 0 for n, k in zip(sizes, kernel))
    kwargs = {"kernel_size": kernel, "padding": padding,
              "output_size": None if default_ok and draw(st.booleans()) else sizes}
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 2)), *sizes)
    return Case({"x": shape}, kwargs, draw(seeds))


# --- the PyTorch twins (handed the torch module: the registry never imports torch) ------

def _twin(name: str):
    def twin(torch, *args, **kwargs):
        return getattr(torch.nn.functional, name)(*args, **kwargs)
    return twin


MUTANTS = {"unfold": mutants.UNFOLD,
           **{f"adaptive_avg_pool{nd}d": mutants.ADAPTIVE_AVG for nd in (1, 2, 3)},
           **{f"adaptive_max_pool{nd}d": mutants.ADAPTIVE_MAX for nd in (1, 2, 3)},
           **{f"lp_pool{nd}d": mutants.LP_POOL for nd in (1, 2, 3)}}


# --- what `cnnref check` and the matrix run ------------------------------------------------

def fold_case(case: Case) -> Case:
    """The fold of an unfold case: x (N, C*kh*kw, L) of the columns unfold makes from the
    drawn (N, C, H, W), output_size (H, W)."""
    n, c, h, w = case.shapes["x"]
    kw = case.kwargs
    cols = ref.unfold(np.zeros((1, c, h, w)), kw["kernel_size"], kw["dilation"],
                      kw["padding"], kw["stride"]).shape[1:]
    return replace(case, shapes={"x": (n, *cols)}, kwargs={"output_size": (h, w), **kw})


def window_features(args, kwargs) -> frozenset:
    """unfold / fold: the window's corners (fold sums where windows overlap)."""
    k = _per_axis(args["kernel_size"], 2)
    s, p = _per_axis(kwargs.get("stride", 1), 2), _per_axis(kwargs.get("padding", 0), 2)
    d = _per_axis(kwargs.get("dilation", 1), 2)
    f = {f"{n}=pair" for n in ("stride", "padding", "dilation") if _tuple(kwargs.get(n))}
    f |= {"kernel_size=pair"} if _tuple(args["kernel_size"]) else set()
    f |= {"stride>1"} if max(s) > 1 else set()
    f |= {"padding>0"} if max(p) > 0 else set()
    f |= {"dilation>1"} if max(d) > 1 else set()
    f |= {"overlapping windows"} if any(ss < dd * (kk - 1) + 1 for ss, dd, kk in zip(s, d, k)) \
        else set()
    f |= {"batch>1"} if args["x"].shape[0] > 1 else set()
    return frozenset(f)


WINDOW_FEATURES = ("stride>1", "padding>0", "dilation>1", "overlapping windows", "batch>1",
                   "kernel_size=pair", "stride=pair", "padding=pair", "dilation=pair")
UNFOLD_CORNERS = [({"x": (1, 1, 3, 4)}, {"kernel_size": 2}, None),
                  ({"x": (2, 2, 5, 4)}, {"kernel_size": (3, 2), "stride": 2, "padding": 1},
                   "kernel_size=pair"),
                  ({"x": (1, 1, 6, 5)}, {"kernel_size": 2, "dilation": 2, "stride": (2, 1)},
                   "stride=pair")]
_NINE = np.arange(1.0, 10.0).reshape(1, 1, 3, 3)
_COLUMNS = [[[1.0, 2, 4, 5], [2, 3, 5, 6], [4, 5, 7, 8], [5, 6, 8, 9]]]
UNFOLD_EXAMPLES = [({"x": _NINE, "kernel_size": 2}, {}, "im2col (B7) of [[1, 2, 3], [4, 5, 6], "
                    "[7, 8, 9]] with 2x2 windows: one column per window, one row per "
                    "kernel tap: [[1, 2, 4, 5], [2, 3, 5, 6], [4, 5, 7, 8], [5, 6, 8, 9]]",
                    _COLUMNS)]
FOLD_EXAMPLES = [({"x": _COLUMNS, "output_size": (3, 3), "kernel_size": 2}, {},
                  "col2im of those columns adds each pixel once per window holding it "
                  "(counts [[1, 2, 1], [2, 4, 2], [1, 2, 1]]): [[1, 4, 3], [8, 20, 12], "
                  "[7, 16, 9]]", [[[[1.0, 4, 3], [8, 20, 12], [7, 16, 9]]]])]


def adaptive_features(kind: str):
    def features(args, kwargs) -> frozenset:
        """Adaptive pooling: how output size m meets input size n on each axis (torch's
        bins [floor(i n / m), ceil((i + 1) n / m)) overlap and differ in length unless m
        divides n)."""
        x, size = args["x"], args["output_size"]
        nd = x.ndim - 2
        sizes = [n if m is None else m for n, m in zip(x.shape[2:], _per_axis(size, nd))]
        f = {"output_size=int"} if not _tuple(size) else set()
        # one axis: an int is the plain form, a 1-tuple the one torch also takes
        f |= {"output_size=tuple"} if _tuple(size) and nd == 1 else set()
        f |= {"output_size with None"} if _tuple(size) and None in size else set()
        f |= {"m divides n"} if any(n % m == 0 for n, m in zip(x.shape[2:], sizes)) else set()
        f |= {"bins of unequal length"} if any(n % m for n, m in zip(x.shape[2:], sizes)) \
            else set()
        f |= {"overlapping bins"} if any(m < n and n % m for n, m in zip(x.shape[2:], sizes)) \
            else set()
        f |= {"output larger than input"} if any(m > n for n, m in zip(x.shape[2:], sizes)) \
            else set()
        f |= {"batch>1"} if x.shape[0] > 1 else set()
        if kind == "max":
            f |= {"NaN"} if np.isnan(x).any() else set()
        return frozenset(f)
    return features


ADAPTIVE_FEATURES = ("output_size=int", "m divides n", "bins of unequal length",
                     "overlapping bins", "output larger than input", "batch>1")


def _adaptive_every(nd: int) -> tuple:
    return ADAPTIVE_FEATURES + (("output_size=tuple",) if nd == 1 else ())


def _adaptive_corners(nd: int) -> list:
    sp = lambda *v: v[:nd]                      # noqa: E731
    return [({"x": (1, 1, *sp(5, 4, 3))}, {"output_size": sp(3, 2, 2)}, None),
            ({"x": (2, 2, *sp(7, 6, 5))}, {"output_size": sp(3, 4, 2)}, None),
            ({"x": (1, 1, *sp(3, 2, 2))}, {"output_size": sp(5, 3, 3)}, None),
            ({"x": (1, 2, *sp(6, 5, 4))}, {"output_size": 1}, None),
            ({"x": (1, 1, *sp(4, 6, 3))}, {"output_size": 2}, None)]


ADAPTIVE_X = [[[1.0, 2.0, 3.0, 4.0, 5.0]]]
ADAPTIVE_EXAMPLES = {
    "avg": [({"x": ADAPTIVE_X, "output_size": 3}, {}, "5 -> 3 bins [floor(5i/3), "
             "ceil(5(i+1)/3)) = [0, 2), [1, 4), [3, 5): [1.5, 3, 4.5]", [[[1.5, 3.0, 4.5]]])],
    "max": [({"x": ADAPTIVE_X, "output_size": 3}, {}, "5 -> 3 bins [0, 2), [1, 4), [3, 5): "
             "maxima [2, 4, 5]", [[[2.0, 4.0, 5.0]]])]}


def _lifted(nd: int, example):
    """A 1-D example lifted to nd axes: the extra axes of length 1 (output size 1)."""
    values, kwargs, label, expected = example
    x = np.asarray(values["x"]).reshape((1, 1) + (1,) * (nd - 1) + (-1,))
    size = values["output_size"]
    out = np.asarray(expected).reshape((1, 1) + (1,) * (nd - 1) + (-1,))
    return ({"x": x, "output_size": (1,) * (nd - 1) + (size,) if nd > 1 else size}, kwargs,
            label + (f" (as {nd}-D, the other axes of length 1)" if nd > 1 else ""), out)


def positive(case: Case, dtype) -> dict:
    """Lp pooling's inputs: positive (a negative x to a fractional power is NaN in torch
    too): |N(0, 1)| + 0.1, or integers 1..4 for exact cases."""
    x = make_arrays(case)["x"]
    x = np.abs(x) + (0 if case.exact else 0.1)
    return {"x": np.where(x == 0, 1.0, x).astype(dtype)}


def lp_features(args, kwargs) -> frozenset:
    """Lp pooling: the norm (1: a sum, 2, inf, fractional) and the window's corners."""
    p, nd = args["norm_type"], args["x"].ndim - 2
    k = _per_axis(args["kernel_size"], nd)
    s = _per_axis(kwargs.get("stride") or k, nd)
    f = {"norm_type=1" if p == 1 else "norm_type=2" if p == 2 else "norm_type=inf"
         if np.isinf(p) else "fractional norm_type" if p != int(p) else "norm_type>2"}
    f |= {"stride=None (kernel)"} if kwargs.get("stride") is None else set()
    f |= {"stride=tuple"} if _tuple(kwargs.get("stride")) else set()
    f |= {"kernel_size=tuple"} if _tuple(args["kernel_size"]) else set()
    f |= {"overlapping windows"} if any(a < b for a, b in zip(s, k)) else set()
    f |= {"ceil_mode"} if kwargs.get("ceil_mode") else set()
    f |= {"batch>1"} if args["x"].shape[0] > 1 else set()
    return frozenset(f)


LP_FEATURES = ("norm_type=1", "norm_type=2", "norm_type=inf", "fractional norm_type",
               "norm_type>2", "stride=None (kernel)", "stride=tuple", "overlapping windows",
               "ceil_mode", "batch>1")


def _lp_corners(nd: int) -> list:
    sp = lambda *v: v[:nd]                      # noqa: E731
    return [({"x": (1, 1, *sp(4, 4, 2))}, {"norm_type": 2, "kernel_size": 2}, None),
            ({"x": (2, 1, *sp(5, 4, 3))}, {"norm_type": 1, "kernel_size": 2, "stride": 1}, None),
            ({"x": (1, 2, *sp(5, 5, 3))}, {"norm_type": 3, "kernel_size": 2, "ceil_mode": True},
             None),
            ({"x": (1, 1, *sp(4, 3, 2))}, {"norm_type": 1.5, "kernel_size": sp(3, 2, 1)},
             "kernel_size=tuple")]


LP_EXAMPLES = [({"x": [[[3.0, 4.0, 0.0, 5.0]]], "norm_type": 2, "kernel_size": 2}, {},
                "p = 2, windows of 2: [sqrt(9 + 16), sqrt(0 + 25)] = [5, 5]", [[[5.0, 5.0]]])]


def unpool_arrays(nd: int):
    def arrays(case: Case, dtype) -> dict:
        """max_unpool's inputs: the values and indices max_pool{nd}d gives on the drawn
        input (stride == kernel: every index distinct)."""
        x = make_arrays(case, np.dtype(dtype))["x"]
        kw = case.kwargs
        pool = getattr(ref, f"max_pool{nd}d")
        k, p = _per_axis(kw["kernel_size"], nd), kw.get("padding", 0)
        pooled, idx = pool(x, k, padding=p, return_indices=True)
        if kw.get("output_size") is None:
            # without output_size the result is the default size, (L_pooled - 1) k - 2p + k:
            # pool the input cropped to it, so that the indices name its pixels
            default = [n * kk - 2 * pp for n, kk, pp in zip(pooled.shape[2:], k,
                                                             _per_axis(p, nd))]
            x = x[(Ellipsis,) + tuple(slice(0, max(d, 1)) for d in default)]
            pooled, idx = pool(x, k, padding=p, return_indices=True)
        return {"x": pooled, "indices": idx}
    return arrays


def _unpool_valid(case: Case) -> bool:
    """The indices lie in the output (a padded pooling cropped to a default size of
    less than one window may leave none)."""
    try:
        forward = case.op.removesuffix("_backward")
        args = [case.args[k] for k in ("x", "indices", "kernel_size")]
        getattr(ref, forward)(*args, **case.kwargs)
        return True
    except ValueError:
        return False


def unpool_features(args, kwargs) -> frozenset:
    x, nd = args["x"], args["x"].ndim - 2
    f = {"output_size given"} if kwargs.get("output_size") is not None else set()
    k = _per_axis(args["kernel_size"], nd)
    s, p = _per_axis(kwargs.get("stride") or k, nd), _per_axis(kwargs.get("padding", 0), nd)
    default = [(i - 1) * ss - 2 * pp + kk for i, ss, pp, kk in zip(x.shape[2:], s, p, k)]
    size = kwargs.get("output_size")
    f |= {"output_size not the default"} if size is not None and \
        list(size)[-nd:] != default else set()
    f |= {"padding>0"} if max(_per_axis(kwargs.get("padding", 0), nd)) > 0 else set()
    f |= {"kernel_size=tuple"} if _tuple(args["kernel_size"]) and nd > 1 else set()
    f |= {"batch>1"} if x.shape[0] > 1 else set()
    return frozenset(f)


def _unpool_corners(nd: int) -> list:
    sp = lambda *v: v[:nd]                      # noqa: E731
    return [({"x": (1, 1, *sp(4, 4, 2))}, {"kernel_size": 2, "padding": 0,
                                           "output_size": None}, None),
            ({"x": (2, 2, *sp(5, 5, 3))}, {"kernel_size": 2, "padding": 0,
                                           "output_size": sp(5, 5, 3)}, None),
            ({"x": (1, 1, *sp(5, 4, 3))}, {"kernel_size": 3, "padding": 1,
                                           "output_size": sp(5, 4, 3)}, None)]


UNPOOL_EXAMPLES = [({"x": [[[3.0, 5.0]]], "indices": [[[1, 3]]], "kernel_size": 2}, {},
                    "values [3, 5] back at indices [1, 3] of a length-4 row: [0, 3, 0, 5]",
                    [[[0.0, 3.0, 0.0, 5.0]]])]


def _lifted_lp(nd: int):
    values, kwargs, label, expected = LP_EXAMPLES[0]
    shape = (1, 1) + (1,) * (nd - 1)
    kernel = (1,) * (nd - 1) + (2,) if nd > 1 else 2
    x = np.asarray(values["x"]).reshape(shape + (-1,))
    return ({**values, "x": x, "kernel_size": kernel}, kwargs,
            label + (f" (as {nd}-D, the other axes of length 1)" if nd > 1 else ""),
            np.asarray(expected).reshape(shape + (-1,)))


def _lifted_unpool(nd: int):
    values, kwargs, label, expected = UNPOOL_EXAMPLES[0]
    shape = (1, 1) + (1,) * (nd - 1)
    kernel = (1,) * (nd - 1) + (2,) if nd > 1 else 2
    return ({"x": np.asarray(values["x"]).reshape(shape + (-1,)),
             "indices": np.asarray(values["indices"]).reshape(shape + (-1,)),
             "kernel_size": kernel}, kwargs,
            label + (f" (as {nd}-D, the other axes of length 1)" if nd > 1 else ""),
            np.asarray(expected).reshape(shape + (-1,)))


def _pair_of_ops(name, positional, defaults, rule, backward_rule, checkable,
                 differentiable=("x",)):
    """checkable(n) -> the generic.checkable fields of entry n (forward or backward)."""
    forward = Op(name, positional, frozenset(), defaults, torch=_twin(name),
                 differentiable=differentiable, backward=name + "_backward", rule=rule,
                 mutants=MUTANTS.get(name), **checkable(name))
    backward = Op(name + "_backward", ("grad_out",) + positional, frozenset(), defaults,
                  ("grad_x",), rule=backward_rule, **checkable(name + "_backward"))
    return forward, backward


def _cases(forward, positional, features, every, strategy, corners, examples, **extra):
    return lambda n: generic.checkable(n, forward, positional, features, every, strategy,
                                       corners, examples, cost=0.5, **extra)


_WINDOW = {"dilation": 1, "padding": 0, "stride": 1}
OPS = (*_pair_of_ops("unfold", ("x", "kernel_size"), _WINDOW, tolerances.unfold_rule,
                     tolerances.unfold_backward_rule,
                     _cases("unfold", ("x", "kernel_size"), window_features, WINDOW_FEATURES,
                            lambda exact: unfold_cases(exact), UNFOLD_CORNERS,
                            UNFOLD_EXAMPLES, plain=plain_forms)),
       *_pair_of_ops("fold", ("x", "output_size", "kernel_size"), _WINDOW,
                     tolerances.fold_rule, tolerances.fold_backward_rule,
                     _cases("fold", ("x", "output_size", "kernel_size"), window_features,
                            WINDOW_FEATURES, lambda exact: unfold_cases(exact).map(fold_case),
                            [(fold_case(Case(sh, {**_WINDOW, **kw})).shapes,
                              fold_case(Case(sh, {**_WINDOW, **kw})).kwargs, probe)
                             for sh, kw, probe in UNFOLD_CORNERS],
                            FOLD_EXAMPLES, grow=False)))
for _nd in (1, 2, 3):
    OPS += (*_pair_of_ops(f"adaptive_avg_pool{_nd}d", ("x", "output_size"), {},
                          *tolerances.adaptive_avg_rule(_nd),
                          _cases(f"adaptive_avg_pool{_nd}d", ("x", "output_size"),
                                 adaptive_features("avg"), _adaptive_every(_nd),
                                 lambda exact, nd=_nd: adaptive_cases(nd, exact),
                                 _adaptive_corners(_nd),
                                 [_lifted(_nd, e) for e in ADAPTIVE_EXAMPLES["avg"]])),
            *_pair_of_ops(f"adaptive_max_pool{_nd}d", ("x", "output_size"), {},
                          *tolerances.adaptive_max_rule(_nd),
                          _cases(f"adaptive_max_pool{_nd}d", ("x", "output_size"),
                                 adaptive_features("max"), _adaptive_every(_nd),
                                 lambda exact, nd=_nd: adaptive_cases(nd, exact),
                                 _adaptive_corners(_nd),
                                 [_lifted(_nd, e) for e in ADAPTIVE_EXAMPLES["max"]])),
            *_pair_of_ops(f"lp_pool{_nd}d", ("x", "norm_type", "kernel_size"),
                          {"stride": None, "ceil_mode": False}, *tolerances.lp_pool_rule(_nd),
                          _cases(f"lp_pool{_nd}d", ("x", "norm_type", "kernel_size"),
                                 lp_features, LP_FEATURES, lambda exact, nd=_nd: lp_cases(nd),
                                 _lp_corners(_nd), [_lifted_lp(_nd)], arrays=positive,
                                 plain=plain_forms)),
            *_pair_of_ops(f"max_unpool{_nd}d", ("x", "indices", "kernel_size"),
                          {"stride": None, "padding": 0, "output_size": None},
                          *tolerances.max_unpool_rule(_nd),
                          _cases(f"max_unpool{_nd}d", ("x", "indices", "kernel_size"),
                                 unpool_features, ("output_size given",
                                                   "output_size not the default",
                                                   "padding>0", "batch>1"),
                                 lambda exact, nd=_nd: unpool_cases(nd),
                                 _unpool_corners(_nd), [_lifted_unpool(_nd)],
                                 arrays=unpool_arrays(_nd), grow=False,
                                 applicable=_unpool_valid)))
