"""A minimal sequential model trained with plain SGD, W <- W - eta dC/dW (C5), in NumPy.

    model = build("lenet5", seed=0, dtype=np.float64)      # or "table18_1", or any spec
    loss = model.loss(x, target)    # forward (training), softmax cross-entropy, backward
    model.sgd_step(0.05)            # every parameter, through reference.sgd_step

Networks come from the one-line specs of reference/networks.py (`cnnref summary` shows the
same ones), through `from_network`, so the architecture is written once:
  lenet5     1x32x32 -> C1 6@5x5 -> tanh -> S2 -> tanh -> C3 16@5x5 (LeCun's partial table,
             a mask on the full weight) -> tanh -> S4 -> tanh -> C5 120@5x5 -> tanh -> F6 84
             -> tanh -> FC 10. LeCun's RBF output and scaled tanh are simplified as in the
             spec (FC 10, plain tanh); the loss is softmax cross-entropy.
  table18_1  seed 004's colour CNN; its final SOFTMAX is folded into the loss (softmax +
             cross-entropy, output error A - Y, C3), so `forward` returns the logits.
A trailing SOFTMAX of any spec is folded the same way; argmax(logits) is the prediction.

Initialisation is deterministic: one numpy.random.default_rng(seed), layers in order,
weight then bias, drawn in float64 and rounded once to `dtype` (so float32 and float64
models start from the same values up to that rounding). Schemes (fan_in = inputs per unit;
for C3's masked maps, the live inputs of that map):
  'torch'  U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weights and biases (torch.nn's default)
  'msra'   N(0, 2/fan_in) weights, zero biases (He; the documents' InitialMethod.MSRA)
  'lecun'  U(-2.4/fan_in, 2.4/fan_in) weights, zero biases (LeCun et al. 1998, app. C)
Subsampling coefficients are weights with fan_in = k*k; batch norm starts at gamma = 1,
beta = 0, running mean 0, running variance 1, and group / layer / instance norm at gamma = 1,
beta = 0. A transposed conv's fan_in is (K / groups) * kH * kW, as torch computes it.
"""
from __future__ import annotations

import math

import numpy as np

from .dense import sgd_step
from .losses import cross_entropy, cross_entropy_backward
from .model_layers import (ActivationLayer, AdaptivePoolLayer, BatchNormLayer, ConvLayer,
                           DeconvLayer, DenseLayer, FlattenLayer, LPPoolLayer, NormLayer,
                           PoolLayer, SubsampleLayer, TrainableLayer)
from . import netspec as ns
from .networks import get_network, layer_names, output_shapes

INIT = {"lenet5": "lecun", "table18_1": "msra"}
# The documents' feed-forward comparison net (seed 004, dnn_model: 784 -> 128 -> 64 -> 6,
# ReLU, MSRA), with the input and class count of the CNN it is compared with (D3).
DENSE_HIDDEN = (128, 64)


class Sequential:
    """Layers applied in order; parameters are named '<layer>.<param>' (e.g. 'C1.weight')."""

    def __init__(self, layers: list[TrainableLayer], name: str = ""):
        self.layers, self.name = list(layers), name

    def forward(self, x, training=True):
        """x (N, C, H, W) -> logits (N, classes); caches every layer's input."""
        for layer in self.layers:
            x = layer.forward(x, training)
        return x

    def backward(self, grad_out):
        """grad_out (N, classes) -> grad_x; fills every layer's grads."""
        for layer in reversed(self.layers):
            grad_out = layer.backward(grad_out)
        return grad_out

    def loss(self, x, target) -> float:
        """Mean softmax cross-entropy of one training batch; fills the gradients
        (dC/dz = (softmax(z) - onehot(t)) / N at the output, C3)."""
        logits = self.forward(x, training=True)
        loss = cross_entropy(logits, target)
        self.backward(cross_entropy_backward(1.0, logits, target))
        return float(loss)

    def sgd_step(self, lr: float) -> None:
        """W <- W - lr dC/dW for every parameter (new arrays; nothing mutated in place)."""
        for layer in self.layers:
            names = list(layer.params)
            new = sgd_step([layer.params[k] for k in names], [layer.grads[k] for k in names], lr)
            layer.params.update(zip(names, new))

    def _named(self, attr: str) -> dict[str, np.ndarray]:
        return {f"{layer.name}.{k}": v for layer in self.layers
                for k, v in getattr(layer, attr).items()}

    def parameters(self) -> dict[str, np.ndarray]:
        return self._named("params")

    def gradients(self) -> dict[str, np.ndarray]:
        return self._named("grads")

    def buffers(self) -> dict[str, np.ndarray]:
        return self._named("buffers")

    def predict(self, x, batch_size: int = 500) -> np.ndarray:
        """Class indices (N,) from the logits in evaluation mode (running BN statistics)."""
        out = [self.forward(x[i:i + batch_size], training=False).argmax(axis=1)
               for i in range(0, len(x), batch_size)]
        return np.concatenate(out)

    def recalibrate_batch_norm(self, x, batch_size: int = 500) -> None:
        """Set every batch norm's running statistics to the average of its batch statistics
        over `x` ("precise BN"): batch k is forwarded in training mode with momentum 1/k,
        so r_k = (1 - 1/k) r_(k-1) + s_k / k is the running average. Training never reads
        these buffers; evaluation then does not hang on the lag of momentum-0.1 averages,
        which trail weights that move fast (table18_1 at lr 0.1: the test accuracy with
        them swings between 16 % and 99 % from one epoch to the next)."""
        norms = [layer for layer in self.layers if isinstance(layer, BatchNormLayer)]
        saved = [layer.momentum for layer in norms]
        for k, start in enumerate(range(0, len(x) if norms else 0, batch_size), 1):
            for layer in norms:
                layer.momentum = 1.0 / k
            self.forward(x[start:start + batch_size], training=True)
        for layer, momentum in zip(norms, saved):
            layer.momentum = momentum

    def evaluate(self, x, target, batch_size: int = 500) -> tuple[float, float]:
        """(mean cross-entropy, accuracy) in evaluation mode, without touching gradients."""
        losses, hits = [], 0
        for i in range(0, len(x), batch_size):
            logits = self.forward(x[i:i + batch_size], training=False)
            t = target[i:i + batch_size]
            losses.append(float(cross_entropy(logits, t)) * len(t))
            hits += int((logits.argmax(axis=1) == t).sum())
        return sum(losses) / len(x), hits / len(x)


def _draw(rng, shape, fan_in, scheme, dtype, is_bias=False):
    """One initial tensor; fan_in is a scalar or one value per output unit (axis 0)."""
    fan = np.asarray(fan_in, dtype=np.float64).reshape((-1,) + (1,) * (len(shape) - 1))
    if scheme == "torch":
        values = rng.uniform(-1, 1, shape) / np.sqrt(fan)
    elif is_bias:
        values = np.zeros(shape)
    elif scheme == "msra":
        values = rng.standard_normal(shape) * np.sqrt(2 / fan)
    elif scheme == "lecun":
        values = rng.uniform(-1, 1, shape) * 2.4 / fan
    else:
        raise ValueError(f"build: unknown init scheme {scheme!r} (torch, msra, lecun)")
    return values.astype(dtype)


def _conv(spec: ns.Conv, shape, rng, scheme, dtype, name):
    k, (kh, kw) = spec.out_channels, spec.kernel_size
    cin = shape[0] // spec.groups
    mask = None
    if spec.table:
        mask = np.zeros((k, cin, 1, 1))
        for out, row in enumerate(ns.CONNECTION_TABLES[spec.table]):
            mask[out, list(row)] = 1
    live = (mask.sum(axis=(1, 2, 3)) if mask is not None else np.full(k, cin)) * kh * kw
    weight = _draw(rng, (k, cin, kh, kw), live, scheme, dtype)
    bias = _draw(rng, (k,), live, scheme, dtype, True) if spec.bias else None
    return ConvLayer(weight, bias, spec.stride, spec.padding, spec.dilation, spec.groups,
                  mask, name)


def _deconv(spec: ns.Deconv, shape, rng, scheme, dtype, name):
    """Weight (C_in, K / groups, kH, kW); fan_in = (K / groups) * kH * kW, as torch's
    ConvTranspose2d computes it (from the weight's axis 1)."""
    kg = spec.out_channels // spec.groups
    fan = kg * spec.kernel_size[0] * spec.kernel_size[1]
    weight = _draw(rng, (shape[0], kg) + spec.kernel_size, fan, scheme, dtype)
    bias = _draw(rng, (spec.out_channels,), fan, scheme, dtype, True) if spec.bias else None
    return DeconvLayer(weight, bias, spec.stride, spec.padding, spec.output_padding,
                       spec.groups, spec.dilation, name)


def _pooling(spec, name) -> TrainableLayer:
    if isinstance(spec, ns.Pool):
        return PoolLayer(spec.kernel_size, spec.stride, spec.padding, spec.mode, name)
    if isinstance(spec, ns.LPPool):
        return LPPoolLayer(spec.norm_type, spec.kernel_size, spec.stride, name)
    return AdaptivePoolLayer(spec.output_size, spec.mode, name)


def _layer(spec, shape, rng, scheme, dtype, name) -> TrainableLayer:
    """The trainable layer for one netspec layer on per-sample input `shape`."""
    if isinstance(spec, ns.Conv):
        return _conv(spec, shape, rng, scheme, dtype, name)
    if isinstance(spec, ns.Deconv):
        return _deconv(spec, shape, rng, scheme, dtype, name)
    if isinstance(spec, ns.Dense):
        fan = math.prod(shape)
        w = _draw(rng, (spec.out_features, fan), fan, scheme, dtype)
        b = _draw(rng, (spec.out_features,), fan, scheme, dtype, True) if spec.bias else None
        return DenseLayer(w, b, name)
    if isinstance(spec, ns.Subsample):
        (kh, kw), (sh, sw) = spec.kernel_size, spec.stride
        if not kh == kw == sh == sw:
            raise ValueError(f"build: {name}: LeNet subsampling needs a square kernel equal "
                             f"to its stride, got kernel {spec.kernel_size}, stride {spec.stride}")
        c = shape[0]
        coef = _draw(rng, (c,), kh * kw, scheme, dtype)
        return SubsampleLayer(coef, _draw(rng, (c,), kh * kw, scheme, dtype, True), kh, name)
    if isinstance(spec, (ns.Pool, ns.LPPool, ns.AdaptivePool)):
        return _pooling(spec, name)
    if isinstance(spec, ns.BatchNorm):
        ones, zeros = np.ones(shape[0], dtype), np.zeros(shape[0], dtype)
        return BatchNormLayer(ones, zeros.copy(), zeros.copy(), ones.copy(), name=name)
    if isinstance(spec, ns.Norm):
        affine = shape if spec.kind == "layer" else shape[:1]
        return NormLayer(spec.kind, np.ones(affine, dtype), np.zeros(affine, dtype),
                         spec.num_groups, name)
    if isinstance(spec, ns.Activation):
        return ActivationLayer(spec.kind, name)
    if isinstance(spec, ns.Flatten):
        return FlattenLayer(name)
    raise TypeError(f"build: unknown layer spec {spec!r}")


def trainable_network(net: ns.Network) -> ns.Network:
    """The spec that is trained: a trailing SOFTMAX is folded into the loss."""
    layers = net.layers
    if layers and isinstance(layers[-1], ns.Activation) and layers[-1].kind == "softmax":
        layers = layers[:-1]
    return ns.Network(net.input, tuple(layers), net.name)


def from_network(net: ns.Network, seed: int = 0, dtype=np.float64,
                 init: str = "torch") -> Sequential:
    """A Sequential for a reference Network spec (its trailing SOFTMAX folded)."""
    net = trainable_network(net)
    rng, dtype = np.random.default_rng(seed), np.dtype(dtype)
    shapes = [tuple(net.input.shape)] + output_shapes(net)
    layers = [_layer(spec, shape, rng, init, dtype, name)
              for spec, shape, name in zip(net.layers, shapes, layer_names(net))]
    return Sequential(layers, net.name)


def dense_spec(name_or_spec: str) -> str:
    """The documents' dense comparison net (D3) for a CNN's input and class count:
    INPUT C x H x W -> FC 128 -> RELU -> FC 64 -> RELU -> FC classes."""
    net = trainable_network(get_network(name_or_spec))
    classes = output_shapes(net)[-1][0]
    c, h, w = net.input.shape
    hidden = " -> ".join(f"FC {n} -> RELU" for n in DENSE_HIDDEN)
    return f"INPUT {c}x{h}x{w} -> {hidden} -> FC {classes}"


def build(name_or_spec: str, seed: int = 0, dtype=np.float64, init: str | None = None):
    """A built-in network by the name `cnnref summary` uses (lenet5, table18_1, seed000),
    or any one-line spec; init defaults to the network's own scheme (INIT), else 'torch'."""
    net = get_network(name_or_spec)
    return from_network(net, seed, dtype, init or INIT.get(name_or_spec, "torch"))


def lenet5(seed: int = 0, dtype=np.float64) -> Sequential:
    return build("lenet5", seed, dtype)


def table18_1(seed: int = 0, dtype=np.float64) -> Sequential:
    return build("table18_1", seed, dtype)
