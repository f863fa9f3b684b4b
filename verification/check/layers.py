"""Layer classes as written: a short declarative spec turns a learner's layer (an object
with forward / backward methods, or a pair of functions passing a cache) into the
reference's functions (`conv2d` and `conv2d_backward`, `max_pool2d` and
`max_pool2d_backward`, `avg_pool2d` and `avg_pool2d_backward`), which `cnnref check` then
checks like any other implementation. The user's check file is a module:

    from cnnref.verification.check.layers import LayerSpec, functions
    from mynet import Conv2D
    conv2d, conv2d_backward = functions(LayerSpec(
        "conv2d", Conv2D, init={"n_filters": "out_channels", "filter_shape": "kernel_hw",
                                "input_shape": "input_chw", "stride": "stride"},
        weight="W", bias="b", forward="forward_pass", backward="backward_pass",
        grad_weight="optimizer:W_opt", grad_bias="optimizer:b_opt", setup="initialize"))

and `cnnref check check_conv.py` runs the battery on it.

What a spec says (LayerSpec's fields):
- init: constructor keyword -> a quantity of the call (a name below), a callable(ctx), or
  a literal (not a str). Names: in_channels, out_channels, kernel_size (int when square,
  else (kH, kW)), kernel_hw, kernel_h, kernel_w, stride, stride_hw, stride_h, stride_w,
  padding (as the checker passes it: int, pair or 'same' / 'valid'), padding_hw,
  padding_h, padding_w (ints), input_chw / input_hwc (one sample), batch. A name that
  cannot be given for this call (padding_h of 'same') refuses it: NotImplementedError,
  reported as not covered. The reference's keywords the functions accept are those the
  spec mentions (`keywords` overrides), so a layer without padding is checked without it.
- supports: {keyword: predicate or tuple of accepted values}: other values are refused
  (NotImplementedError: not covered).
- weight, bias: where they live (a path, see below), weight_layout: their axes ("OIHW",
  PyTorch's; "HWIO", "OHWI", ...); stored in the shape the attribute already has.
- data: "NCHW", "NHWC", or per sample "CHW" / "HWC" (each sample's forward then backward;
  gradients read after each and summed, or read once at the end when `accumulates`).
- forward, backward: method names (a class) or functions (`make` None: the forward's
  `forward_args` recipe, the backward called as backward(grad, cache)); setup: a method
  called after construction with a recording optimizer (an optimizer-callback layer);
  lazy: run one forward before pouring the weights (parameters created on first call).
- output, grad_input, grad_weight, grad_bias: where each result ends up: "return" (or
  "return[i]"), an attribute path ("dW", "gradients['W']", "filters[*].weights_grad": one
  entry per output channel), or "optimizer:ATTR" (the gradient handed to
  ATTR.update(w, grad)).
"""
from __future__ import annotations

import copy
import inspect
import re
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from cnnref.reference.conv_args import conv_geometry

OPS = {"conv2d": ("x", "weight", "bias"), "max_pool2d": ("x", "kernel_size"),
       "avg_pool2d": ("x", "kernel_size")}
DEFAULTS = {"conv2d": {"stride": 1, "padding": 0},
            "max_pool2d": {"stride": None, "padding": 0},
            "avg_pool2d": {"stride": None, "padding": 0}}


@dataclass(frozen=True)
class LayerSpec:
    op: str
    make: Callable | None            # the class (or a factory); None: functions with a cache
    init: dict = field(default_factory=dict)
    forward: str | Callable = "forward"
    backward: str | Callable = "backward"
    weight: str | None = None
    bias: str | None = None
    weight_layout: str = "OIHW"
    data: str = "NCHW"
    output: str = "return"
    grad_input: str = "return"
    grad_weight: str | None = None
    grad_bias: str | None = None
    forward_args: tuple = ()         # functions: the forward's positional recipe
    forward_kwargs: dict = field(default_factory=dict)
    setup: str | None = None
    lazy: bool = False
    accumulates: bool = False
    cache: str = "return[1]"         # functions: where the forward leaves the cache
    backward_args: tuple = ("grad",)     # class: "grad", "x" (the layer's input) ...
    supports: dict = field(default_factory=dict)
    keywords: tuple | None = None


class Recorder:
    """The optimizer handed to a layer that applies its own updates: keeps the gradient,
    returns the weights unchanged."""
    grad = None

    def update(self, w, grad):
        self.grad = np.array(grad, dtype=np.float64)
        return w


# --- paths: "W", "params['W']", "filters[*].weights", "return[1]" ------------------------

_STEP = re.compile(r"([A-Za-z_]\w*)|\[\s*'([^']*)'\s*\]|\[\s*\"([^\"]*)\"\s*\]|\[(\*|\d+)\]")


def _steps(path: str) -> list:
    return [m.group(1) or m.group(2) or m.group(3) or
            (m.group(4) if m.group(4) == "*" else int(m.group(4)))
            for m in _STEP.finditer(path)]


def _get(obj, step):
    if isinstance(step, int) or not isinstance(obj, (dict,)) and not hasattr(obj, step):
        return obj[step]
    return obj[step] if isinstance(obj, dict) else getattr(obj, step)


def read(root, path: str):
    """The value at `path` below `root`; `[*]` stacks one entry per item."""
    steps = _steps(path)
    for i, step in enumerate(steps):
        if step == "*":
            return np.stack([np.asarray(read(item, _join(steps[i + 1:])), dtype=np.float64)
                             for item in root])
        root = _get(root, step)
    return root


def write(root, path: str, value) -> None:
    """Store `value` at `path`, in the shape the slot already has; `[*]` unstacks."""
    steps = _steps(path)
    for i, step in enumerate(steps[:-1]):
        if step == "*":
            for item, part in zip(root, value):
                write(item, _join(steps[i + 1:]), part)
            return
        root = _get(root, step)
    last = steps[-1]
    old = root[last] if isinstance(root, dict) else getattr(root, last, None)
    if isinstance(old, np.ndarray) and old.size == np.size(value):
        value = np.reshape(value, old.shape).astype(old.dtype)
    elif isinstance(value, (np.ndarray, np.number)) and np.ndim(value) == 0:
        value = float(value)
    if isinstance(root, dict):
        root[last] = value
    else:
        setattr(root, last, value)


def _join(steps) -> str:
    return "".join(f"[{s!r}]" if isinstance(s, str) and not s.isidentifier() else
                   (f".{s}" if isinstance(s, str) else f"[{s}]") for s in steps).lstrip(".")


def locate(where: str, layer, returned):
    """The value a spec's `output` / `grad_*` names, after the call that returned
    `returned`."""
    if where == "return" or where.startswith("return["):
        return returned if where == "return" else read(returned, where[len("return"):])
    if where.startswith("optimizer:"):
        return read(layer, where[len("optimizer:"):]).grad
    return read(layer, where)


# --- the quantities of one call -----------------------------------------------------------

def _pair(v):
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)


class _Context(dict):
    """The quantities of one call; a name that has no value for it refuses the call."""

    def __missing__(self, name):
        raise KeyError(f"LayerSpec: unknown quantity {name!r}; known: {sorted(self)}")

    def __getitem__(self, name):
        value = super().__getitem__(name)
        if isinstance(value, NotImplementedError):
            raise value
        return value


def _int_padding(padding, x, weight, stride):
    """(pad_h, pad_w) as ints, or NotImplementedError when the sides differ."""
    if not isinstance(padding, str) and not isinstance(_pair(padding)[0], (tuple, list)):
        return _pair(padding)
    if weight is None:
        return NotImplementedError(f"padding={padding!r} has no (pad_h, pad_w) form here")
    pads = conv_geometry(x, weight, None, stride, padding, 1, 1)[3].pads
    if any(a != b for a, b in pads):
        return NotImplementedError(f"padding={padding!r} pads the sides unequally {pads}")
    return tuple(a for a, _ in pads)


def context(op: str, x, weight, bias, kernel_size, stride, padding) -> _Context:
    """Every name a spec may use (see the module docstring), for an NCHW call."""
    n, c, h, w = x.shape
    khw = tuple(weight.shape[2:]) if weight is not None else _pair(kernel_size)
    stride = kernel_size if stride is None else stride
    pad = _int_padding(padding, x, weight, stride)
    out = _Context(batch=n, in_channels=c, out_channels=weight.shape[0] if weight is not None
                   else c, kernel_hw=khw, kernel_h=khw[0], kernel_w=khw[1],
                   kernel_size=khw[0] if khw[0] == khw[1] else khw, stride=stride,
                   stride_hw=_pair(stride), stride_h=_pair(stride)[0],
                   stride_w=_pair(stride)[1], padding=padding, padding_hw=pad,
                   input_chw=(c, h, w), input_hwc=(h, w, c))
    if isinstance(pad, NotImplementedError):
        out.update(padding_h=pad, padding_w=pad)
    else:
        out.update(padding_h=pad[0], padding_w=pad[1])
    return out


def _resolve(value, ctx):
    if isinstance(value, str):
        return ctx[value]
    if isinstance(value, dict):
        return {k: _resolve(v, ctx) for k, v in value.items()}
    return value(ctx) if callable(value) else value


# --- layouts ------------------------------------------------------------------------------

def _perm(layout: str, src: str = "OIHW") -> list:
    return [src.index(a) for a in layout]


def to_data(spec: LayerSpec, x):
    """NCHW -> the layer's data layout (per sample: a list of samples)."""
    layout = spec.data
    samples = layout in ("CHW", "HWC")
    x = np.transpose(x, _perm(("N" + layout) if samples else layout, "NCHW"))
    return list(x) if samples else x


def from_data(spec: LayerSpec, y):
    """The layer's data layout -> NCHW (per sample: the samples stacked first)."""
    layout = ("N" + spec.data) if spec.data in ("CHW", "HWC") else spec.data
    y = np.stack([np.asarray(s, dtype=np.float64) for s in y]) \
        if isinstance(y, list) else np.asarray(y, dtype=np.float64)
    return np.transpose(y, _perm("NCHW", layout))


def from_weight_layout(spec: LayerSpec, g, shape):
    """A weight gradient in the layer's layout -> OIHW `shape`."""
    layout_shape = [shape[i] for i in _perm(spec.weight_layout)]
    g = np.reshape(np.asarray(g, dtype=np.float64), layout_shape)
    return np.transpose(g, _perm("OIHW", spec.weight_layout))


# --- one call ----------------------------------------------------------------------------

def _new_layer(spec: LayerSpec, ctx, weight, bias):
    """The layer built from the call's quantities, its optimizers recording, its weights
    poured in (after a first forward when it creates them lazily)."""
    layer = spec.make(**{k: _resolve(v, ctx) for k, v in spec.init.items()})
    if spec.setup:
        getattr(layer, spec.setup)(Recorder())
    for where in (spec.grad_weight, spec.grad_bias):
        if where and where.startswith("optimizer:"):
            write(layer, where[len("optimizer:"):], Recorder())
    if spec.lazy:
        data = to_data(spec, ctx["x"])
        _forward(spec, layer, ctx, data[0] if isinstance(data, list) else data)
    if spec.weight:
        write(layer, spec.weight, np.transpose(weight, _perm(spec.weight_layout)))
    if spec.bias:
        write(layer, spec.bias, bias)
    return layer


def _forward(spec: LayerSpec, layer, ctx, x):
    """(output, what the backward needs: the layer itself or the cache)."""
    if spec.make is None:
        args = [x if a == "x" else _resolve(a, ctx) for a in spec.forward_args]
        returned = spec.forward(*args, **spec.forward_kwargs)
        return locate(spec.output, None, returned), locate(spec.cache, None, returned)
    returned = getattr(layer, spec.forward)(x, **spec.forward_kwargs)
    return np.array(locate(spec.output, layer, returned), dtype=np.float64), layer


def _backward(spec: LayerSpec, state, g, x) -> tuple:
    """(grad_input, grad_weight, grad_bias) in the layer's own layouts."""
    if spec.make is None:
        returned = spec.backward(g, state)
        layer = None
    else:
        args = [{"grad": g, "x": x}[a] for a in spec.backward_args]
        layer, returned = state, getattr(state, spec.backward)(*args)
    grads = [locate(where, layer, returned) if where else None
             for where in (spec.grad_input, spec.grad_weight, spec.grad_bias)]
    return tuple(None if v is None else np.array(v, dtype=np.float64) for v in grads)


def _samples(spec: LayerSpec, x):
    """[(index, the layer's input)]: one entry (the batch) or one per sample."""
    data = to_data(spec, x)
    return list(enumerate(data)) if isinstance(data, list) else [(None, data)]


def run(spec: LayerSpec, x, weight=None, bias=None, kernel_size=None, stride=None,
        padding=0, grad=None) -> tuple:
    """The layer on an NCHW call: (out,) or (grad_x, grad_weight, grad_bias), NCHW."""
    x = np.asarray(x, dtype=np.float64)
    ctx = context(spec.op, x, weight, bias, kernel_size, stride, padding)
    _refuse(spec, stride=ctx["stride"], padding=padding)
    if bias is None and weight is not None:      # the layer's bias slot gets zeros
        bias = np.zeros(weight.shape[0])
    ctx.update(x=x, weight=_maybe(weight, lambda w: np.transpose(w, _perm(spec.weight_layout))),
               bias=bias)
    layer = _new_layer(spec, ctx, weight, bias) if spec.make is not None else None
    outs, gx, gw, gb = [], [], [], []
    for n, xs in _samples(spec, x):
        out, state = _forward(spec, layer, ctx, xs)
        outs.append(out)
        if grad is not None:
            gs = to_data(spec, grad)
            g = gs[n] if n is not None else gs
            dx, dw, db = _backward(spec, state, g, xs)
            gx.append(dx)
            gw.append(dw)
            gb.append(db)
    if grad is None:
        return (from_data(spec, outs if spec.data in ("CHW", "HWC") else outs[0]),)
    return _gradients(spec, gx, gw, gb, weight)


def _maybe(v, fn):
    return None if v is None else fn(v)


def _gradients(spec: LayerSpec, gx, gw, gb, weight) -> tuple:
    grad_x = from_data(spec, gx if spec.data in ("CHW", "HWC") else gx[0])
    if weight is None:
        return (grad_x,)

    def total(parts):
        if parts[-1] is None:
            return None
        return parts[-1] if spec.accumulates else np.sum(parts, axis=0)
    gw_total, gb_total = total(gw), total(gb)
    return (grad_x, _maybe(gw_total, lambda g: from_weight_layout(spec, g, weight.shape)),
            _maybe(gb_total, lambda g: np.reshape(g, (weight.shape[0],))))


def _refuse(spec: LayerSpec, **values):
    """NotImplementedError for a value the spec's `supports` leaves out."""
    for key, value in values.items():
        rule = spec.supports.get(key)
        if rule is None:
            continue
        ok = rule(value) if callable(rule) else value in rule
        if not ok:
            raise NotImplementedError(f"{spec.op}: the layer does not support {key}={value!r}")


# --- the reference's functions ------------------------------------------------------------

def _keywords(spec: LayerSpec) -> tuple:
    """The keywords the layer takes: those the spec names (stride*, padding*)."""
    if spec.keywords is not None:
        return tuple(spec.keywords)
    used = " ".join(str(v) for v in [*spec.init.values(), *spec.forward_args]
                    if isinstance(v, (str, dict)))
    return tuple(k for k in DEFAULTS[spec.op] if k in used or k in spec.supports)


def _signature(spec: LayerSpec, backward: bool) -> inspect.Signature:
    P = inspect.Parameter
    names = [n for n in OPS[spec.op] if n != "bias"]
    params = [P("grad_out", P.POSITIONAL_OR_KEYWORD)] if backward else []
    params += [P(n, P.POSITIONAL_OR_KEYWORD) for n in names]
    has_bias = spec.bias is not None or "bias" in spec.forward_args
    if spec.op == "conv2d" and has_bias:
        params.append(P("bias", P.POSITIONAL_OR_KEYWORD, default=None))
    params += [P(k, P.POSITIONAL_OR_KEYWORD, default=DEFAULTS[spec.op][k])
               for k in _keywords(spec)]
    return inspect.Signature(params)


def functions(spec: LayerSpec) -> tuple:
    """(forward, backward): the reference's `<op>` and `<op>_backward` for this layer."""
    fwd_sig, bwd_sig = _signature(spec, False), _signature(spec, True)

    def forward(*args, **kwargs):
        bound = fwd_sig.bind(*args, **kwargs)
        bound.apply_defaults()
        return run(spec, **_call_args(spec, bound.arguments))[0]

    def backward(*args, **kwargs):
        bound = bwd_sig.bind(*args, **kwargs)
        bound.apply_defaults()
        a = dict(bound.arguments)
        out = run(spec, grad=a.pop("grad_out"), **_call_args(spec, a))
        return out if spec.op == "conv2d" else out[0]
    forward.__signature__, backward.__signature__ = fwd_sig, bwd_sig
    forward.__name__, backward.__name__ = spec.op, f"{spec.op}_backward"
    return forward, backward


def _call_args(spec: LayerSpec, arguments: dict) -> dict:
    a = {"stride": DEFAULTS[spec.op]["stride"], "padding": 0, **arguments}
    return {k: a.get(k) for k in ("x", "weight", "bias", "kernel_size", "stride", "padding")}
