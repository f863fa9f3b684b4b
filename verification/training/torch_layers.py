"""PyTorch twins of the layer specs in reference/netspec.py (for the count checks, and for
training helpers that build models from the `lenet5` / `table18_1` specs).

`torch_network(net)` is an nn.Sequential with one module per spec layer, so hooks or
iteration give every layer's output. Two layers have no torch.nn equivalent:
  Subsample2d   LeNet's trainable subsampling, coef[c] * sum(window) + bias[c]
  TableConv2d   a conv whose output map k reads only the input maps table[k] (LeNet C3):
                one weight tensor per output map, so numel() counts only real weights.
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from cnnref.reference.netspec import (CONNECTION_TABLES, Activation, AdaptivePool, BatchNorm,
                                      Conv, Deconv, Dense, Flatten, LPPool, Norm, Pool,
                                      Subsample)
from cnnref.reference.networks import output_shapes


class Subsample2d(nn.Module):
    def __init__(self, channels, kernel_size, stride):
        super().__init__()
        self.kernel_size, self.stride = tuple(kernel_size), tuple(stride)
        self.coef = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x):
        window = self.kernel_size[0] * self.kernel_size[1]
        pooled = F.avg_pool2d(x, self.kernel_size, self.stride) * window
        return pooled * self.coef.view(1, -1, 1, 1) + self.bias.view(1, -1, 1, 1)


class TableConv2d(nn.Module):
    def __init__(self, table, out_channels, kernel_size, bias=True, **conv_kwargs):
        super().__init__()
        if len(table) != out_channels:
            raise ValueError(f"TableConv2d: {len(table)} table rows for {out_channels} maps")
        self.table = [tuple(row) for row in table]
        self.conv_kwargs = conv_kwargs
        self.weights = nn.ParameterList(
            nn.Parameter(torch.randn(1, len(row), *kernel_size) * 0.1) for row in table)
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None

    def forward(self, x):
        maps = [F.conv2d(x[:, list(row)], w, None, **self.conv_kwargs)
                for row, w in zip(self.table, self.weights)]
        out = torch.cat(maps, dim=1)
        return out if self.bias is None else out + self.bias.view(1, -1, 1, 1)


def torch_layer(layer, in_shape):
    """The torch.nn module computing `layer` on per-sample input shape `in_shape`."""
    if isinstance(layer, Conv):
        kw = {"stride": layer.stride, "padding": layer.padding, "dilation": layer.dilation}
        if layer.table:
            return TableConv2d(CONNECTION_TABLES[layer.table], layer.out_channels,
                               layer.kernel_size, layer.bias, **kw)
        return nn.Conv2d(in_shape[0], layer.out_channels, layer.kernel_size,
                         groups=layer.groups, bias=layer.bias, **kw)
    if isinstance(layer, Pool):
        cls = nn.MaxPool2d if layer.mode == "max" else nn.AvgPool2d
        return cls(layer.kernel_size, layer.stride, layer.padding)
    if isinstance(layer, (Deconv, Norm, LPPool, AdaptivePool)):
        return _torch_new_layer(layer, in_shape)
    if isinstance(layer, Subsample):
        return Subsample2d(in_shape[0], layer.kernel_size, layer.stride)
    if isinstance(layer, Dense):
        linear = nn.Linear(math.prod(in_shape), layer.out_features, bias=layer.bias)
        return linear if len(in_shape) == 1 else nn.Sequential(nn.Flatten(), linear)
    if isinstance(layer, BatchNorm):
        return (nn.BatchNorm2d if len(in_shape) == 3 else nn.BatchNorm1d)(in_shape[0])
    if isinstance(layer, Activation):
        return {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid,
                "softmax": lambda: nn.Softmax(dim=1)}[layer.kind]()
    if isinstance(layer, Flatten):
        return nn.Flatten()
    raise TypeError(f"torch_layer: unknown layer spec {layer!r}")


def _torch_new_layer(layer, in_shape):
    """The twins of DECONV, GN / LN / IN, LPPOOL and ADAPTIVEAVG / ADAPTIVEMAX."""
    if isinstance(layer, Deconv):
        return nn.ConvTranspose2d(in_shape[0], layer.out_channels, layer.kernel_size,
                                  layer.stride, layer.padding, layer.output_padding,
                                  layer.groups, layer.bias, layer.dilation)
    if isinstance(layer, Norm):
        if layer.kind == "group":
            return nn.GroupNorm(layer.num_groups, in_shape[0])
        if layer.kind == "layer":
            return nn.LayerNorm(list(in_shape))
        return nn.InstanceNorm2d(in_shape[0], affine=True)
    if isinstance(layer, LPPool):
        return nn.LPPool2d(layer.norm_type, layer.kernel_size, layer.stride)
    cls = nn.AdaptiveMaxPool2d if layer.mode == "max" else nn.AdaptiveAvgPool2d
    return cls(layer.output_size)


def torch_network(net):
    """nn.Sequential of torch_layer for every layer of `net` (a reference Network)."""
    shapes = [tuple(net.input.shape)] + output_shapes(net)
    return nn.Sequential(*(torch_layer(layer, shape)
                           for layer, shape in zip(net.layers, shapes)))


def flops(fn) -> tuple[object, int]:
    """(fn's result, the FLOPs torch.utils.flop_counter.FlopCounterMode counted in it)."""
    from torch.utils.flop_counter import FlopCounterMode
    with FlopCounterMode(display=False) as counter:
        result = fn()
    return result, counter.get_total_flops()


def torch_layer_counts(layer, in_shape, batch, input_grad, dtype="float64", seed=0):
    """(output, parameters' numel, forward FLOPs, backward FLOPs or None) of a layer's torch
    twin on a random batch, backward with a random upstream gradient (FlopCounterMode)."""
    torch.manual_seed(seed)
    module = torch_layer(layer, in_shape).to(getattr(torch, dtype))
    x = torch.randn(batch, *in_shape, dtype=getattr(torch, dtype), requires_grad=input_grad)
    out, fwd = flops(lambda: module(x))
    params = sum(p.numel() for p in module.parameters())
    if not out.requires_grad:
        return out, params, fwd, None
    grad = torch.randn(out.shape, dtype=out.dtype)
    _, bwd = flops(lambda: out.backward(grad))
    return out, params, fwd, bwd
