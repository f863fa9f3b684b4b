"""Layer specifications and the one-line network grammar (FORMULAS A9).

The classes here (Conv, Pool, Dense, ...) are frozen *specs*: sizes and options, no arrays.
The trainable layers that model.py builds from them live in model_layers.py and are all
named with a `Layer` suffix (ConvLayer, PoolLayer, DenseLayer, ...).

A network is an `Input` and a tuple of frozen layer specs. It can be written in one line,
in the documents' arrow notation (seed 000: ``INPUT -> [[CONV]*N -> POOL?]*M -> [FC]*K``):

    INPUT 1x32x32 -> CONV 6@5x5 -> POOL 2 -> CONV 16@5x5 -> POOL 2 -> FC 120 -> FC 84 -> FC 10

Grammar (keywords are case-insensitive; `a[xb]` means a square `a` or a pair `a x b`):

    network := "INPUT" C x H x W  ("->" item)*         (also H x W, meaning C = 1)
    item    := [NAME ":"] layer  |  "[" item ("->" item)* "]" "*" COUNT
    CONV K@k[xk][/s[xs]][+p[xp]] [dil=d] [groups=g] [nobias] [table=NAME]
    DECONV K@k[xk][/s[xs]][+p[xp]] [outpad=a[xb]] [dil=d] [groups=g] [nobias]
                                    transposed conv (nn.ConvTranspose2d); outpad is its
                                    output_padding (< stride or dilation, as torch requires)
    POOL | MAXPOOL | AVGPOOL  k[xk][/s[xs]][+p[xp]]      (stride defaults to the kernel)
    LPPOOL p=P k[xk][/s[xs]]        power-average pooling (nn.LPPool2d, P > 0, no padding)
    ADAPTIVEAVG | ADAPTIVEMAX h[xw] adaptive pooling to an h x w output
    SUBSAMPLE k[xk][/s[xs]]         LeNet's trainable subsampling: coef * sum(window) + bias
    FC n [nobias]                   a flatten is implied before it
    GN G                            group norm, G groups (nn.GroupNorm(G, C), affine)
    LN | IN                         layer norm over (C, H, W) (nn.LayerNorm([C, H, W]),
                                    elementwise affine); instance norm (nn.InstanceNorm2d(C,
                                    affine=True), batch statistics)
    RELU | TANH | SIGMOID | SOFTMAX | BN | FLATTEN

`table=NAME` names a partial input->output channel connection table (CONNECTION_TABLES),
e.g. LeNet-5's C3 (`table=lecun_c3`). Padding is symmetric (torch.nn.Conv2d's int form).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

Pair = tuple[int, int]

# LeNet-5's S2 -> C3 table (LeCun et al. 1998, Table I; seed 003 section 3.3 C): output map
# k of C3 reads the S2 maps listed in entry k.
LECUN_C3 = ((0, 1, 2), (1, 2, 3), (2, 3, 4), (3, 4, 5), (0, 4, 5), (0, 1, 5),
            (0, 1, 2, 3), (1, 2, 3, 4), (2, 3, 4, 5), (0, 3, 4, 5), (0, 1, 4, 5),
            (0, 1, 2, 5), (0, 1, 3, 4), (1, 2, 4, 5), (0, 2, 3, 5), (0, 1, 2, 3, 4, 5))
CONNECTION_TABLES: dict[str, tuple[tuple[int, ...], ...]] = {"lecun_c3": LECUN_C3}


@dataclass(frozen=True)
class Input:
    shape: tuple[int, int, int]          # (C, H, W) of one sample


@dataclass(frozen=True)
class Conv:
    out_channels: int
    kernel_size: Pair
    stride: Pair = (1, 1)
    padding: Pair = (0, 0)
    dilation: Pair = (1, 1)
    groups: int = 1
    bias: bool = True
    table: str | None = None             # key of CONNECTION_TABLES (needs groups == 1)
    name: str = ""


@dataclass(frozen=True)
class Deconv:
    """A transposed convolution (nn.ConvTranspose2d): weight (C_in, K / groups, kH, kW)."""
    out_channels: int
    kernel_size: Pair
    stride: Pair = (1, 1)
    padding: Pair = (0, 0)
    output_padding: Pair = (0, 0)
    dilation: Pair = (1, 1)
    groups: int = 1
    bias: bool = True
    name: str = ""


@dataclass(frozen=True)
class Pool:
    kernel_size: Pair
    stride: Pair
    padding: Pair = (0, 0)
    mode: str = "max"                    # "max" or "avg" (floor mode; avg counts padding)
    name: str = ""


@dataclass(frozen=True)
class LPPool:
    """(sum of x^p over the window)^(1/p) (nn.LPPool2d, floor mode, no padding)."""
    norm_type: float
    kernel_size: Pair
    stride: Pair
    name: str = ""


@dataclass(frozen=True)
class AdaptivePool:
    """Adaptive pooling to a fixed output size (nn.AdaptiveAvgPool2d / AdaptiveMaxPool2d)."""
    output_size: Pair
    mode: str = "avg"                    # "avg" or "max"
    name: str = ""


@dataclass(frozen=True)
class Subsample:
    kernel_size: Pair
    stride: Pair
    name: str = ""


@dataclass(frozen=True)
class Dense:
    out_features: int
    bias: bool = True
    name: str = ""


@dataclass(frozen=True)
class BatchNorm:
    name: str = ""


@dataclass(frozen=True)
class Norm:
    """Per-sample normalisation with a learnt affine map: 'group' (num_groups groups of
    channels), 'layer' (all of C, H, W; gamma and beta of shape (C, H, W)) or 'instance'
    (each channel's plane; gamma and beta per channel)."""
    kind: str                            # 'group', 'layer', 'instance'
    num_groups: int = 1                  # 'group' only
    name: str = ""


@dataclass(frozen=True)
class Activation:
    kind: str                            # 'relu', 'tanh', 'sigmoid', 'softmax'
    name: str = ""


@dataclass(frozen=True)
class Flatten:
    name: str = ""


# Any one layer spec (the trainable layers built from them are model_layers.*Layer).
LayerSpec = (Conv | Deconv | Pool | LPPool | AdaptivePool | Subsample | Dense | BatchNorm
             | Norm | Activation | Flatten)
ACTIVATIONS = ("relu", "tanh", "sigmoid", "softmax")


@dataclass(frozen=True)
class Network:
    input: Input
    layers: tuple
    name: str = ""


LAYER_TYPES = (Conv, Deconv, Pool, LPPool, AdaptivePool, Subsample, Dense, BatchNorm, Norm,
               Activation, Flatten)
# Layers that need a (C, H, W) map (not the (F,) features after FC or FLATTEN).
SPATIAL_TYPES = (Conv, Deconv, Pool, LPPool, AdaptivePool, Subsample, Norm)
NORM_KEYWORDS = {"GN": "group", "LN": "layer", "IN": "instance"}


def check_network(net, func: str) -> Network:
    """`net` must be a Network (parse_network, get_network); TypeError otherwise."""
    if not isinstance(net, Network):
        raise TypeError(f"{func}: net must be a Network (from parse_network or get_network), "
                        f"got {type(net).__name__} {net!r:.60}")
    return net


def check_layer(layer, func: str, name: str = "layer"):
    """`layer` must be one layer spec (Conv, Pool, ...); TypeError otherwise."""
    if not isinstance(layer, LAYER_TYPES):
        raise TypeError(f"{func}: {name} must be a layer spec "
                        f"({', '.join(t.__name__ for t in LAYER_TYPES)}), got {layer!r:.60}")
    return layer


def _fail(text: str, why: str):
    raise ValueError(f"parse_network: cannot read {text!r}: {why}")


_AXB = r"(\d+)(?:x(\d+))?"
_GEOMETRY = re.compile(rf"^{_AXB}(?:/{_AXB})?(?:\+{_AXB})?$")


def _pair(a, b) -> Pair | None:
    return None if a is None else (int(a), int(b if b is not None else a))


def _geometry(text: str, arg: str):
    m = _GEOMETRY.match(arg)
    if not m:
        _fail(text, "expected k[xk][/s[xs]][+p[xp]]")
    kernel, stride, pad = _pair(*m.group(1, 2)), _pair(*m.group(3, 4)), _pair(*m.group(5, 6))
    if min(kernel) < 1 or (stride and min(stride) < 1):
        _fail(text, "kernel and stride must be >= 1")
    return kernel, stride, pad or (0, 0)


def _conv_options(text: str, kind: str, opts: list[str]) -> dict:
    """CONV's and DECONV's options: dil=d, groups=g, nobias, and table=NAME (CONV) or
    outpad=a[xb] (DECONV)."""
    extra = "table" if kind == "CONV" else "outpad"
    out = {"dilation": (1, 1), "groups": 1, "bias": True}
    for opt in opts:
        key, _, val = opt.partition("=")
        if opt == "nobias":
            out["bias"] = False
        elif key in ("dil", extra) and key != "table" and re.fullmatch(_AXB, val):
            out["dilation" if key == "dil" else "output_padding"] = \
                _pair(*re.fullmatch(_AXB, val).groups())
        elif key == "groups" and val.isdigit():
            out["groups"] = int(val)
        elif key == extra == "table" and val in CONNECTION_TABLES:
            out["table"] = val
        else:
            last = f"table={'|'.join(CONNECTION_TABLES)}" if extra == "table" else \
                "outpad=a[xb]"
            _fail(text, f"unknown {kind} option {opt!r} (dil=d, groups=g, nobias, {last})")
    if out["groups"] < 1 or min(out["dilation"]) < 1:
        _fail(text, "channels, groups and dilation must be >= 1")
    return out


def _conv(text: str, args: list[str], name: str, kind: str = "CONV"):
    """CONV K@k[xk][/s][+p] [options] or DECONV (the same, with outpad= for table=)."""
    m = re.match(r"^(\d+)@(.+)$", args[0]) if args else None
    if not m:
        _fail(text, f"expected {kind} K@k[xk][/s][+p]")
    kernel, stride, pad = _geometry(text, m.group(2))
    if int(m.group(1)) < 1:
        _fail(text, "channels, groups and dilation must be >= 1")
    if kind == "DECONV":
        opts = _conv_options(text, kind, args[1:])
        return Deconv(int(m.group(1)), kernel, stride or (1, 1), pad, name=name, **opts)
    opts = {"table": None, **_conv_options(text, kind, args[1:])}
    return Conv(int(m.group(1)), kernel, stride or (1, 1), pad, name=name, **opts)


def _lp_pool(text: str, args: list[str], name: str) -> LPPool:
    """LPPOOL p=P k[xk][/s[xs]]: P a positive number (2, 1.5)."""
    m = re.fullmatch(r"p=(\d+(?:\.\d+)?)", args[0]) if len(args) == 2 else None
    if not m or float(m.group(1)) <= 0:
        _fail(text, "expected LPPOOL p=P k[xk][/s[xs]] with P > 0")
    kernel, stride, pad = _geometry(text, args[1])
    if pad != (0, 0):
        _fail(text, "LPPOOL takes no padding (as nn.LPPool2d)")
    p = float(m.group(1))
    return LPPool(int(p) if p.is_integer() else p, kernel, stride or kernel, name)


def _shaped(text: str, kind: str, args: list[str], name: str):
    """The layers with a size argument: GN G, ADAPTIVEAVG / ADAPTIVEMAX h[xw]."""
    if kind == "GN":
        if len(args) != 1 or not args[0].isdigit() or int(args[0]) < 1:
            _fail(text, "expected GN G (the number of groups, >= 1)")
        return Norm("group", int(args[0]), name)
    m = re.fullmatch(_AXB, args[0]) if len(args) == 1 else None
    if not m or min(_pair(*m.groups())) < 1:
        _fail(text, f"expected {kind} h[xw] (the output size, >= 1)")
    return AdaptivePool(_pair(*m.groups()), kind[len("ADAPTIVE"):].lower(), name)


def _layer(text: str):
    name, colon, rest = text.partition(":")
    if not colon:
        name, rest = "", text
    words = rest.split()
    if not words:
        _fail(text, "empty layer")
    kind, args = words[0].upper(), [w.lower() for w in words[1:]]
    if kind in ("CONV", "DECONV"):
        return _conv(text, args, name, kind)
    if kind == "LPPOOL":
        return _lp_pool(text, args, name)
    if kind in ("GN", "ADAPTIVEAVG", "ADAPTIVEMAX"):
        return _shaped(text, kind, args, name)
    if kind in ("POOL", "MAXPOOL", "AVGPOOL", "SUBSAMPLE"):
        if len(args) != 1:
            _fail(text, f"expected {kind} k[xk][/s][+p]")
        kernel, stride, pad = _geometry(text, args[0])
        if kind == "SUBSAMPLE":
            if pad != (0, 0):
                _fail(text, "SUBSAMPLE takes no padding")
            return Subsample(kernel, stride or kernel, name)
        return Pool(kernel, stride or kernel, pad, "avg" if kind == "AVGPOOL" else "max", name)
    if kind == "FC":
        if not args or not args[0].isdigit() or int(args[0]) < 1 or \
                args[1:] not in ([], ["nobias"]):
            _fail(text, "expected FC n [nobias]")
        return Dense(int(args[0]), not args[1:], name)
    if args:
        _fail(text, f"{kind} takes no arguments")
    if kind.lower() in ACTIVATIONS:
        return Activation(kind.lower(), name)
    if kind in ("BN", "FLATTEN"):
        return BatchNorm(name) if kind == "BN" else Flatten(name)
    if kind in ("LN", "IN"):
        return Norm(NORM_KEYWORDS[kind], 1, name)
    _fail(text, f"unknown layer {kind!r}")


def _split_top(text: str) -> list[str]:
    """Split on '->' outside brackets."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        depth += (ch == "[") - (ch == "]")
        if depth < 0:
            _fail(text, "unbalanced ']'")
        if depth == 0 and text.startswith("->", i):
            parts.append(text[start:i])
            start = i + 2
    if depth:
        _fail(text, "unbalanced '['")
    return [p.strip() for p in parts + [text[start:]]]


# Limits on what one line may expand to: a network of a million layers or brackets nested
# a thousand deep is a typo or an attack, and must not end in RecursionError or MemoryError.
MAX_LAYERS = 10_000
MAX_DEPTH = 20


def _items(text: str, depth: int = 0) -> list:
    if depth > MAX_DEPTH:
        _fail(text, f"brackets nested more than {MAX_DEPTH} deep")
    layers = []
    for part in _split_top(text):
        m = re.fullmatch(r"\[(.*)\]\s*\*\s*(\d+)", part, re.S)
        if m:
            inner, count = _items(m.group(1), depth + 1), int(m.group(2))
            if len(layers) + len(inner) * count > MAX_LAYERS:
                _fail(part, f"the network is limited to {MAX_LAYERS} layers, got "
                            f"{len(inner)} layers * {m.group(2)}")
            layers += inner * count
        else:
            layers.append(_layer(part))
        if len(layers) > MAX_LAYERS:
            _fail(part, f"the network is limited to {MAX_LAYERS} layers")
    return layers


def parse_network(text: str, name: str = "") -> Network:
    """Read a one-line network; see the module docstring for the grammar. Every layer must
    fit the shape it receives (checked layer by layer: a 9x9 kernel on an 8x8 input is a
    ValueError naming that layer).

    Example: parse_network("INPUT 1x8x8 -> [CONV 4@3x3+1 -> RELU]*2 -> POOL 2 -> FC 10")
    has 6 layers: CONV, RELU, CONV, RELU, POOL, FC.
    """
    for arg, v in (("text", text), ("name", name)):
        if not isinstance(v, str):
            raise TypeError(f"parse_network: {arg} must be a str, got {type(v).__name__}")
    net = _parse(text, name)
    from .networks import network_counts      # networks builds on this module
    try:
        network_counts(net)
    except ValueError as exc:
        raise ValueError(f"parse_network: {text!r}: {exc}") from None
    return net


def _parse(text: str, name: str) -> Network:
    first, *rest = _split_top(text.strip())
    m = re.fullmatch(r"(?i)INPUT\s+(\d+)x(\d+)(?:x(\d+))?", first)
    if not m:
        _fail(first, "a network starts with INPUT CxHxW (or HxW)")
    dims = [int(v) for v in m.groups() if v is not None]
    shape = tuple(dims) if len(dims) == 3 else (1, *dims)
    if min(shape) < 1:
        _fail(first, "sizes must be >= 1")
    return Network(Input(shape), tuple(_items(" -> ".join(rest))) if rest else (), name)


def _axb(p: Pair) -> str:
    return f"{p[0]}" if p[0] == p[1] else f"{p[0]}x{p[1]}"


def _format_conv(layer, prefix: str) -> str:
    k, kind = layer.kernel_size, "CONV" if isinstance(layer, Conv) else "DECONV"
    s = "" if layer.stride == (1, 1) else f"/{_axb(layer.stride)}"
    p = "" if layer.padding == (0, 0) else f"+{_axb(layer.padding)}"
    opts = [f"outpad={_axb(layer.output_padding)}"] \
        if kind == "DECONV" and layer.output_padding != (0, 0) else []
    opts += [f"dil={_axb(layer.dilation)}"] if layer.dilation != (1, 1) else []
    opts += [f"groups={layer.groups}"] if layer.groups != 1 else []
    opts += [] if layer.bias else ["nobias"]
    opts += [f"table={layer.table}"] if kind == "CONV" and layer.table else []
    return " ".join([f"{prefix}{kind} {layer.out_channels}@{k[0]}x{k[1]}{s}{p}"] + opts)


def _format_window(layer, prefix: str) -> str:
    kind = {Subsample: "SUBSAMPLE", LPPool: "LPPOOL"}.get(type(layer)) or \
        {"max": "POOL", "avg": "AVGPOOL"}[layer.mode]
    pad = getattr(layer, "padding", (0, 0))
    s = "" if layer.stride == layer.kernel_size else f"/{_axb(layer.stride)}"
    p = "" if pad == (0, 0) else f"+{_axb(pad)}"
    norm = f" p={layer.norm_type:g}" if isinstance(layer, LPPool) else ""
    return f"{prefix}{kind}{norm} {_axb(layer.kernel_size)}{s}{p}"


def format_layer(layer) -> str:
    """The one-line form of one layer (inverse of the parser)."""
    check_layer(layer, "format_layer")
    prefix = f"{layer.name}:" if layer.name else ""
    if isinstance(layer, (Conv, Deconv)):
        return _format_conv(layer, prefix)
    if isinstance(layer, (Pool, Subsample, LPPool)):
        return _format_window(layer, prefix)
    if isinstance(layer, AdaptivePool):
        return f"{prefix}ADAPTIVE{layer.mode.upper()} {_axb(layer.output_size)}"
    if isinstance(layer, Norm):
        kind = {v: k for k, v in NORM_KEYWORDS.items()}[layer.kind]
        return prefix + kind + (f" {layer.num_groups}" if layer.kind == "group" else "")
    if isinstance(layer, Dense):
        return f"{prefix}FC {layer.out_features}" + ("" if layer.bias else " nobias")
    if isinstance(layer, Activation):
        return prefix + layer.kind.upper()
    return prefix + ("BN" if isinstance(layer, BatchNorm) else "FLATTEN")


def format_network(net: Network) -> str:
    """Canonical one-line form: parse_network(format_network(n)) == n (up to the name)."""
    c, h, w = check_network(net, "format_network").input.shape
    return " -> ".join([f"INPUT {c}x{h}x{w}"] + [format_layer(l) for l in net.layers])


def architecture_pattern(n: int, m: int, k: int, *, input: str = "1x32x32",
                         conv: str = "CONV 8@3x3+1", pool: str | None = "POOL 2",
                         fc: str = "FC 10") -> str:
    """Seed 000's pattern ``INPUT -> [[CONV]*N -> POOL?]*M -> [FC]*K`` as a one-line spec
    (pool=None drops the optional POOL). Figure 1 is N=1, M=2, K=2."""
    func = "architecture_pattern"
    for name, v, low in (("n", n, 1), ("m", m, 1), ("k", k, 0)):
        if not isinstance(v, int) or isinstance(v, bool):
            raise TypeError(f"{func}: {name} must be an int, got {v!r}")
        if v < low:
            raise ValueError(f"{func}: {name} must be >= {low}, got {v!r}")
    for name, v in (("input", input), ("conv", conv), ("pool", pool), ("fc", fc)):
        if not isinstance(v, str) and not (name == "pool" and v is None):
            raise TypeError(f"{func}: {name} must be a str, got {v!r}")
    spec = _pattern(n, m, k, input, conv, pool, fc)
    try:
        _parse(spec, "")
    except ValueError as exc:
        raise ValueError(f"{func}: input={input!r}, conv={conv!r}, pool={pool!r}, "
                         f"fc={fc!r} do not make a network: {exc}") from None
    return spec


def _pattern(n, m, k, input, conv, pool, fc) -> str:
    block = f"[{conv}]*{n}" + (f" -> {pool}" if pool else "")
    return f"INPUT {input} -> [{block}]*{m} -> [{fc}]*{k}"


def pattern_of(net: Network) -> tuple[tuple[int, ...], int]:
    """Read (N per block, K) back from a network of the pattern above; elementwise layers
    (activations, BN, GN, LN, IN, FLATTEN) are ignored, every pooling counts as the POOL.
    Raises ValueError when it does not fit (a DECONV never does)."""
    check_network(net, "pattern_of")
    kinds = [type(l).__name__ for l in net.layers
             if isinstance(l, (Conv, Deconv, Pool, LPPool, AdaptivePool, Subsample, Dense))]
    if "Deconv" in kinds:
        raise ValueError(f"pattern_of: the pattern has no transposed conv, got {kinds}")
    first_fc = kinds.index("Dense") if "Dense" in kinds else len(kinds)
    body, tail, blocks, count = kinds[:first_fc], kinds[first_fc:], [], 0
    if any(t != "Dense" for t in tail):
        raise ValueError(f"pattern_of: FC layers must all come last, got {kinds}")
    for t in body:
        if t == "Conv":
            count += 1
        elif count == 0:
            raise ValueError(f"pattern_of: a POOL must follow at least one CONV, got {kinds}")
        else:
            blocks.append(count)
            count = 0
    return tuple(blocks + ([count] if count else [])), len(tail)
