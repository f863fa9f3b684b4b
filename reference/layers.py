"""A minimal sequential model built from the reference ops (FORMULAS C1-C15 together).

Each layer is a thin object around a forward function and its `*_backward`: `forward`
keeps what the backward needs, `backward(grad_out)` stores parameter gradients in `grads`
and returns the gradient of its input. `Sequential.step(lr)` is the documents' plain
gradient descent W <- W - lr dC/dW (C5). Models come from the network specs of
reference.netspec (`build("lenet5")`, `build("table18_1")`, or any one-line spec), with a
deterministic initialisation from a seed. A trailing SOFTMAX is dropped: the loss is
softmax cross-entropy on the logits (C2), whose output error is A - Y (C3).
"""
from __future__ import annotations

import math

import numpy as np

from . import activations as act
from .batchnorm import batch_norm, batch_norm_backward, batch_norm_running_stats
from .conv import conv2d
from .conv_backward import conv2d_backward
from .dense import dense, dense_backward, sgd_step
from .losses import cross_entropy, cross_entropy_backward
from .netspec import CONNECTION_TABLES, Activation, BatchNorm, Conv, Dense, Flatten, Pool, Subsample
from .networks import get_network, output_shapes
from .pooling import avg_pool2d, avg_pool2d_backward, max_pool2d, max_pool2d_backward
from .pooling_documents import lenet_subsample, lenet_subsample_backward


class Layer:
    """params / grads: name -> array. Stateless layers have none."""
    def __init__(self, **params):
        self.params, self.grads, self.training = params, {}, True


class ConvLayer(Layer):
    """conv2d; with a connection table (LeNet C3) the weight is masked and so is its grad."""
    def __init__(self, weight, bias, spec: Conv, mask=None):
        super().__init__(weight=weight * (1 if mask is None else mask), bias=bias)
        self.mask = mask
        self.kw = dict(stride=spec.stride, padding=spec.padding, dilation=spec.dilation,
                       groups=spec.groups)

    def forward(self, x):
        self.x = x
        return conv2d(x, self.params["weight"], self.params["bias"], **self.kw)

    def backward(self, g):
        gx, gw, gb = conv2d_backward(g, self.x, self.params["weight"], self.params["bias"],
                                     **self.kw)
        self.grads = {"weight": gw if self.mask is None else gw * self.mask, "bias": gb}
        return gx


class ActLayer(Layer):
    def __init__(self, kind):
        super().__init__()
        self.f, self.df = getattr(act, kind), getattr(act, kind + "_backward")

    def forward(self, x):
        self.x = x
        return self.f(x)

    def backward(self, g):
        return self.df(g, self.x)


class PoolLayer(Layer):
    def __init__(self, spec: Pool):
        super().__init__()
        self.kw = dict(kernel_size=spec.kernel_size, stride=spec.stride, padding=spec.padding)
        self.fwd, self.bwd = ((max_pool2d, max_pool2d_backward) if spec.mode == "max"
                              else (avg_pool2d, avg_pool2d_backward))

    def forward(self, x):
        self.x = x
        return self.fwd(x, **self.kw)

    def backward(self, g):
        return self.bwd(g, self.x, **self.kw)


class SubsampleLayer(Layer):
    def __init__(self, coefficient, bias, kernel_size):
        super().__init__(coefficient=coefficient, bias=bias)
        self.k = kernel_size

    def forward(self, x):
        self.x = x
        return lenet_subsample(x, self.params["coefficient"], self.params["bias"], self.k)

    def backward(self, g):
        gx, gc, gb = lenet_subsample_backward(g, self.x, self.params["coefficient"],
                                              self.params["bias"], self.k)
        self.grads = {"coefficient": gc, "bias": gb}
        return gx


class DenseLayer(Layer):
    """Flattens (N, C, H, W) in C order (as torch.nn.Flatten) before z = x W^T + b."""
    def forward(self, x):
        self.shape, self.x = x.shape, x.reshape(x.shape[0], -1)
        return dense(self.x, self.params["weight"], self.params["bias"])

    def backward(self, g):
        gx, gw, gb = dense_backward(g, self.x, self.params["weight"], self.params["bias"])
        self.grads = {"weight": gw, "bias": gb}
        return gx.reshape(self.shape)


class BatchNormLayer(Layer):
    def __init__(self, channels, dtype, momentum=0.1, eps=1e-5):
        super().__init__(weight=np.ones(channels, dtype), bias=np.zeros(channels, dtype))
        self.running = (np.zeros(channels, dtype), np.ones(channels, dtype))
        self.momentum, self.eps = momentum, eps

    def forward(self, x):
        self.x, self.used = x, self.running
        y = batch_norm(x, *self.running, self.params["weight"], self.params["bias"],
                       training=self.training, eps=self.eps)
        if self.training:
            self.running = batch_norm_running_stats(x, *self.running, self.momentum)
        return y

    def backward(self, g):
        gx, gw, gb = batch_norm_backward(g, self.x, *self.used, self.params["weight"],
                                         self.params["bias"], training=self.training, eps=self.eps)
        self.grads = {"weight": gw, "bias": gb}
        return gx


class FlattenLayer(Layer):
    def forward(self, x):
        self.shape = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, g):
        return g.reshape(self.shape)


class Sequential:
    """forward -> loss -> backward -> step, the documents' training loop (C1-C5)."""
    def __init__(self, layers, names):
        self.layers, self.names = list(layers), list(names)

    def forward(self, x):
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def backward(self, g):
        for layer in reversed(self.layers):
            g = layer.backward(g)
        return g

    def train(self, mode: bool = True):
        for layer in self.layers:
            layer.training = mode
        return self

    def loss_and_grads(self, x, target) -> float:
        """Mean softmax cross-entropy of a batch; leaves every gradient in layer.grads."""
        logits = self.forward(x)
        loss = float(cross_entropy(logits, target))
        self.backward(cross_entropy_backward(np.ones((), logits.dtype), logits, target))
        return loss

    def step(self, lr: float):
        for layer in self.layers:
            names = [k for k in layer.params if layer.params[k] is not None]
            new = sgd_step([layer.params[k] for k in names], [layer.grads[k] for k in names], lr)
            layer.params.update(zip(names, new))

    def named_parameters(self):
        for name, layer in zip(self.names, self.layers):
            for k, v in layer.params.items():
                if v is not None:
                    yield f"{name}.{k}", v


def _uniform(rng, fan_in, shape, dtype):
    """torch's default: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weights and biases."""
    bound = 1 / math.sqrt(fan_in)
    return rng.uniform(-bound, bound, shape).astype(dtype)


def _layer(spec, in_shape, rng, dtype):
    if isinstance(spec, Conv):
        c = in_shape[0] // spec.groups
        fan = c * spec.kernel_size[0] * spec.kernel_size[1]
        w = _uniform(rng, fan, (spec.out_channels, c, *spec.kernel_size), dtype)
        mask = None
        if spec.table:
            mask = np.zeros(w.shape[:2] + (1, 1), dtype)
            for k, row in enumerate(CONNECTION_TABLES[spec.table]):
                mask[k, list(row)] = 1
        b = _uniform(rng, fan, (spec.out_channels,), dtype) if spec.bias else None
        return ConvLayer(w, b, spec, mask)
    if isinstance(spec, Dense):
        fan = math.prod(in_shape)
        return DenseLayer(weight=_uniform(rng, fan, (spec.out_features, fan), dtype),
                          bias=_uniform(rng, fan, (spec.out_features,), dtype) if spec.bias else None)
    if isinstance(spec, Subsample):
        c = in_shape[0]
        return SubsampleLayer(np.ones(c, dtype) / 4, np.zeros(c, dtype), spec.kernel_size[0])
    if isinstance(spec, Pool):
        return PoolLayer(spec)
    if isinstance(spec, BatchNorm):
        return BatchNormLayer(in_shape[0], dtype)
    if isinstance(spec, Activation):
        return ActLayer(spec.kind)
    if isinstance(spec, Flatten):
        return FlattenLayer()
    raise TypeError(f"build: no trainable layer for spec {spec!r}")


def build(net="lenet5", seed: int = 0, dtype=np.float64) -> Sequential:
    """A Sequential for a built-in network name, a one-line spec, or a Network.
    Example: build('lenet5').forward(np.zeros((2, 1, 32, 32))).shape == (2, 10)."""
    net = get_network(net) if isinstance(net, str) else net
    specs = list(net.layers)
    if isinstance(specs[-1], Activation) and specs[-1].kind == "softmax":
        specs = specs[:-1]
    shapes = [tuple(net.input.shape)] + output_shapes(net)
    rng = np.random.default_rng(seed)
    layers = [_layer(s, shape, rng, np.dtype(dtype)) for s, shape in zip(specs, shapes)]
    names = [s.name or f"{type(s).__name__.lower()}{i}" for i, s in enumerate(specs)]
    return Sequential(layers, names)
