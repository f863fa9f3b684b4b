"""Whole networks: built-in specs (LeNet-5, Table 18-1, seed 000's figure 1), per-layer output
shapes, counts and receptive fields, and the summary data behind `cnnref summary` (A6-A9).

Built-ins (one-line specs, grammar in reference/netspec.py):
  lenet5     LeCun et al. 1998 / seed 003 section 3.3: C1, S2 (trainable subsampling), C3 with
             the partial S2->C3 table, S4, C5, F6. C5 is a 5x5 conv on the 5x5 S4 maps, i.e.
             fully connected as seed 003 says. OUTPUT is FC 10, the usual trainable stand-in
             for LeCun's Euclidean RBF layer (84*10 = 840 weights, no bias; FC 10 has 850).
             TANH stands for LeCun's scaled tanh A*tanh(S*a) (same counts).
  table18_1  seed 004's colour-classification CNN, one layer per row of Table 18-1.
  seed000    seed 000's figure 1, INPUT -> CONV(3) -> POOL -> CONV(5) -> POOL -> FC -> FC
             (N=1, M=2, K=2). The seed gives no sizes: we chose a 1x28x28 input, 5x5 kernels,
             2x2 max pools, FC 32 and FC 10, and ReLU (the activation of the seed's example).
"""
from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from . import counting as cnt
from ._validate import boolean, positive_int
from .netspec import (CONNECTION_TABLES, SPATIAL_TYPES, Activation, AdaptivePool, BatchNorm,
                      Conv, Deconv, Dense, Flatten, LPPool, Norm, check_layer, check_network,
                      Network, Pool, Subsample, format_layer, format_network, parse_network)
from .pooling_adaptive import adaptive_bins
from .receptive import INPUT_FIELD, ReceptiveField, receptive_field_step

BUILTIN: dict[str, str] = {
    "lenet5": "INPUT 1x32x32 -> C1:CONV 6@5x5 -> TANH -> S2:SUBSAMPLE 2 -> TANH"
              " -> C3:CONV 16@5x5 table=lecun_c3 -> TANH -> S4:SUBSAMPLE 2 -> TANH"
              " -> C5:CONV 120@5x5 -> TANH -> F6:FC 84 -> TANH -> OUTPUT:FC 10",
    "table18_1": "INPUT 3x28x28 -> c1:CONV 2@1x1 -> relu1:RELU -> p1:POOL 2"
                 " -> c2:CONV 3@3x3 -> relu2:RELU -> p2:POOL 2 -> f3:FC 32 -> bn3:BN"
                 " -> relu3:RELU -> f4:FC 6 -> s4:SOFTMAX",
    "seed000": "INPUT 1x28x28 -> CONV 3@5x5 -> RELU -> POOL 2 -> CONV 5@5x5 -> RELU"
               " -> POOL 2 -> FC 32 -> RELU -> FC 10",
}


def get_network(name_or_spec: str) -> Network:
    """A built-in network by name, or a one-line spec parsed."""
    if not isinstance(name_or_spec, str):
        raise TypeError(f"get_network: name_or_spec must be a str, got "
                        f"{type(name_or_spec).__name__}")
    if name_or_spec in BUILTIN:
        return parse_network(BUILTIN[name_or_spec], name_or_spec)
    if not name_or_spec.strip().upper().startswith("INPUT"):
        raise ValueError(f"get_network: name_or_spec={name_or_spec!r} is neither a built-in network "
                         f"({', '.join(BUILTIN)}) nor a spec starting with INPUT")
    return parse_network(name_or_spec)


def layer_counts(layer, in_shape, batch=1, input_grad=True) -> cnt.Counts:
    """Counts of one layer spec on a per-sample input shape (C, H, W) or (F,)."""
    func = "layer_counts"
    check_layer(layer, func)
    in_shape = cnt._shape(in_shape, func, "in_shape")
    kw = {"batch": positive_int(batch, "batch", func),
          "input_grad": boolean(input_grad, "input_grad", func)}
    _check_spatial(layer, in_shape, func)
    if isinstance(layer, (Conv, Deconv)):
        return _conv_counts(layer, in_shape, kw)
    if isinstance(layer, Pool):
        return cnt.pool2d_counts(in_shape, layer.kernel_size, layer.stride, layer.padding,
                                 layer.mode, **kw)
    if isinstance(layer, LPPool):
        return cnt.lp_pool2d_counts(in_shape, layer.norm_type, layer.kernel_size,
                                    layer.stride, **kw)
    if isinstance(layer, AdaptivePool):
        return cnt.adaptive_pool2d_counts(in_shape, layer.output_size, layer.mode, **kw)
    if isinstance(layer, Subsample):
        return cnt.subsample2d_counts(in_shape, layer.kernel_size, layer.stride, **kw)
    if isinstance(layer, Dense):
        return cnt.linear_counts(math.prod(in_shape), layer.out_features, layer.bias, **kw)
    if isinstance(layer, BatchNorm):
        return cnt.batchnorm_counts(in_shape, **kw)
    if isinstance(layer, Norm):
        return cnt.norm_counts(in_shape, layer.kind, layer.num_groups, **kw)
    if isinstance(layer, Activation):
        return cnt.activation_counts(in_shape, layer.kind, **kw)
    if isinstance(layer, Flatten):
        return cnt.Counts((math.prod(in_shape),), 0, 0, 0, 0, 0, 0, 0)
    raise TypeError(f"layer_counts: unknown layer spec {layer!r}")


def _conv_counts(layer, in_shape, kw) -> cnt.Counts:
    if isinstance(layer, Deconv):
        return cnt.conv_transpose2d_counts(in_shape, layer.out_channels, layer.kernel_size,
                                           layer.stride, layer.padding, layer.output_padding,
                                           layer.dilation, layer.groups, layer.bias, **kw)
    table = CONNECTION_TABLES[layer.table] if layer.table else None
    return cnt.conv2d_counts(in_shape, layer.out_channels, layer.kernel_size, layer.stride,
                             layer.padding, layer.dilation, layer.groups, layer.bias, table,
                             **kw)


def _check_spatial(layer, shape, func: str = "network_counts"):
    if isinstance(layer, SPATIAL_TYPES) and len(shape) != 3:
        raise ValueError(f"{func}: {format_layer(layer)} needs a (C, H, W) in_shape, got {shape} "
                         f"(after FC or FLATTEN the map is gone)")


def network_counts(net: Network, batch=1) -> list[cnt.Counts]:
    """Counts of every layer in order. Backward: a layer gets input_grad only when some
    earlier layer has parameters (as autograd does: the input needs no gradient)."""
    check_network(net, "network_counts")
    batch = positive_int(batch, "batch", "network_counts")
    shape, needs_grad, out = tuple(net.input.shape), False, []
    for i, layer in enumerate(net.layers):
        _check_spatial(layer, shape)
        try:
            counts = layer_counts(layer, shape, batch, needs_grad)
        except ValueError as e:
            raise ValueError(f"layer {i + 1} ({format_layer(layer)}) on input {shape}: {e}")
        out.append(counts)
        needs_grad = needs_grad or counts.params > 0
        shape = counts.out_shape
    return out


def output_shapes(net: Network) -> list[tuple[int, ...]]:
    """Per-sample output shape of every layer, e.g. LeNet-5's C1 -> (6, 28, 28)."""
    check_network(net, "output_shapes")
    return [c.out_shape for c in network_counts(net)]


def receptive_fields(net: Network) -> list[ReceptiveField]:
    """The field of every layer's units in input pixels. A fully connected layer acts as a
    kernel covering its whole input map (FLATTEN keeps that map's size for it). Norms are
    elementwise here, as BN: their per-sample statistics are not part of the field.
    A DECONV is taken as what it computes, a stride-1 conv over its input with s - 1 zeros
    inserted between pixels: the jump divides by s, the size grows by (k - 1)*d input
    jumps / s (the zeros' span included, so an upper bound). An adaptive pool's bins vary:
    its size is the largest bin, its jump the bins' mean spacing H / oh, its start bin 0's
    centre (exact when oh divides H: a k = s = H / oh pool)."""
    rf, hw, out = INPUT_FIELD, tuple(check_network(net, "receptive_fields").input.shape[1:]), []
    for layer, counts in zip(net.layers, network_counts(net)):
        if isinstance(layer, Conv):
            rf = receptive_field_step(rf, layer.kernel_size, layer.stride, layer.padding,
                                      layer.dilation)
        elif isinstance(layer, (Pool, Subsample, LPPool)):
            rf = receptive_field_step(rf, layer.kernel_size, layer.stride,
                                      getattr(layer, "padding", 0))
        elif isinstance(layer, Deconv):
            rf = _deconv_field(rf, layer)
        elif isinstance(layer, AdaptivePool):
            rf = _adaptive_field(rf, hw, layer.output_size)
        elif isinstance(layer, Dense):
            rf, hw = receptive_field_step(rf, hw), (1, 1)
        if len(counts.out_shape) == 3:
            hw = counts.out_shape[1:]
        out.append(rf)
    return out


def _num(v: float):
    """An int where the value is whole, so the summary prints 3, not 3.0."""
    return int(v) if float(v).is_integer() else float(v)


def _deconv_field(rf: ReceptiveField, layer: Deconv) -> ReceptiveField:
    """The field through a transposed conv, seen as zero insertion (jump j/s) then a
    stride-1 conv padded by d*(k - 1) - p: unit 0's window starts d*(k - 1) - p zeros
    before the first (upsampled) pixel."""
    size, jump, start = [], [], []
    for r, j, st, k, s, p, d in zip(rf.size, rf.jump, rf.start, layer.kernel_size,
                                    layer.stride, layer.padding, layer.dilation):
        size.append(_num(r + (k - 1) * d * j / s))
        jump.append(_num(j / s))
        start.append(st + (p - (k - 1) * d / 2) * j / s)
    return ReceptiveField(tuple(size), tuple(jump), tuple(start))


def _adaptive_field(rf: ReceptiveField, hw, output_size) -> ReceptiveField:
    size, jump, start = [], [], []
    for r, j, st, n, m in zip(rf.size, rf.jump, rf.start, hw, output_size):
        begin, end = adaptive_bins(n, m)
        size.append(_num(r + (int((end - begin).max()) - 1) * j))
        jump.append(_num(j * n / m))
        start.append(st + (int(end[0] - begin[0]) - 1) / 2 * j)
    return ReceptiveField(tuple(size), tuple(jump), tuple(start))


def layer_names(net: Network) -> list[str]:
    """Given names, or kind + running number (conv1, pool1, fc1, relu1, ...)."""
    seen: dict[str, int] = {}
    names = []
    for layer in check_network(net, "layer_names").layers:
        kind = format_layer(replace(layer, name="")).split()[0]
        kind = kind.lower()            # conv, deconv, pool, avgpool, lppool, gn, ln, fc, ...
        seen[kind] = seen.get(kind, 0) + 1
        names.append(layer.name or f"{kind}{seen[kind]}")
    return names


def summarize(net: Network, batch=1, dtype="float32") -> dict:
    """Everything `cnnref summary` shows, as plain data (the JSON output)."""
    check_network(net, "summarize")
    batch = positive_int(batch, "batch", "summarize")
    cnt._itemsize(dtype, "summarize")
    counts, fields = network_counts(net, batch), receptive_fields(net)
    rows, shape = [], tuple(net.input.shape)
    for name, layer, c, rf in zip(layer_names(net), net.layers, counts, fields):
        row = {"name": name, "layer": format_layer(replace(layer, name="")),
               "in_shape": list(shape), "out_shape": list(c.out_shape),
               **{f: getattr(c, f) for f in TOTALS if f != "activation_bytes"},
               "activation_bytes": cnt.activation_bytes(c.out_shape, dtype, batch),
               "receptive_field": {"size": list(rf.size), "jump": list(rf.jump),
                                   "start": list(rf.start)}}
        if isinstance(layer, Conv):
            table = CONNECTION_TABLES[layer.table] if layer.table else None
            row["weight_sharing"] = cnt.weight_sharing(shape, c.out_shape, layer.kernel_size,
                                                       layer.groups, table).__dict__
        rows.append(row)
        shape = c.out_shape
    totals = {f: sum(r[f] for r in rows) for f in TOTALS}
    totals["param_bytes"] = totals["params"] * np.dtype(dtype).itemsize
    return {"network": net.name or "custom", "spec": format_network(net),
            "input": list(net.input.shape), "batch": batch, "dtype": np.dtype(dtype).name,
            "layers": rows, "totals": totals}


TOTALS = ("params", "macs", "flops", "flops_backward", "torch_flops",
          "torch_flops_backward", "connections", "activation_bytes")
