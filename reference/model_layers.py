"""Trainable layers built from the reference ops, one small class each (micrograd-sized).

Every class here ends in `Layer` (ConvLayer, DenseLayer, ...) and holds arrays; the frozen
specs of the same layers in netspec.py (Conv, Dense, ...) hold only sizes. model.py builds
one of these from each spec.

Every layer has `params` and `grads` (name -> array, same names), `buffers` (state that is
not trained: batch norm's running statistics), `forward(x, training)` which caches what
`backward` needs, and `backward(grad_out) -> grad_x` which fills `grads`. Arrays are NCHW
(or (N, F) after a flatten); names follow torch.nn (weight, bias, running_mean, ...).

The maths is the reference's: conv2d / conv2d_backward (B4-B7, C7-C11), max_pool2d /
avg_pool2d (C12, C13), lenet_subsample (C14), batch_norm (C15), activations (C6), dense
(C1, C4), and beyond the documents conv_transpose2d, group / layer / instance norm,
adaptive and Lp pooling. Layers never modify an array in place: `Sequential.sgd_step` swaps in new arrays.
"""
from __future__ import annotations

import numpy as np

from . import activations as act
from .batchnorm import batch_norm, batch_norm_backward, batch_norm_running_stats
from .conv import conv2d
from .conv_backward import conv2d_backward
from .conv_transpose import conv_transpose2d, conv_transpose2d_backward
from .normalization import (group_norm, group_norm_backward, instance_norm,
                            instance_norm_backward, layer_norm, layer_norm_backward)
from .pooling_adaptive import (adaptive_avg_pool2d, adaptive_avg_pool2d_backward,
                               adaptive_max_pool2d, adaptive_max_pool2d_backward, lp_pool2d,
                               lp_pool2d_backward)
from .dense import dense, dense_backward
from .pooling import avg_pool2d, avg_pool2d_backward, max_pool2d, max_pool2d_backward
from .pooling_documents import lenet_subsample, lenet_subsample_backward


class TrainableLayer:
    """Base class of the trainable layers: no parameters; subclasses set
    params/grads/buffers in __init__."""

    def __init__(self, name: str = ""):
        self.name = name
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.buffers: dict[str, np.ndarray] = {}

    def forward(self, x, training=True):
        raise NotImplementedError

    def backward(self, grad_out):
        raise NotImplementedError

    def __repr__(self):
        shapes = {k: v.shape for k, v in self.params.items()}
        return f"{type(self).__name__}({self.name!r}, {shapes})"


class ConvLayer(TrainableLayer):
    """out = conv2d(x, weight, bias, ...): x (N, C, H, W), weight (K, C/groups, kH, kW).

    `mask` (K, C/groups, 1, 1) of 0/1 gives a partial connection table (LeNet-5's C3:
    output map k reads input map c only where mask[k, c] = 1). The weight is kept zero
    where the mask is 0 and the mask multiplies the gradient, so those weights stay
    exactly 0 under SGD and the forward pass adds exact zeros: the same function as a
    conv over each map's own inputs (1,500 live weights in C3, 1,516 with the biases)."""

    def __init__(self, weight, bias=None, stride=1, padding=0, dilation=1, groups=1,
                 mask=None, name=""):
        super().__init__(name)
        self.conv = {"stride": stride, "padding": padding, "dilation": dilation,
                     "groups": groups}
        self.mask = None if mask is None else np.asarray(mask, dtype=weight.dtype)
        self.params["weight"] = weight if self.mask is None else weight * self.mask
        if bias is not None:
            self.params["bias"] = bias

    def forward(self, x, training=True):
        self._x = x
        return conv2d(x, self.params["weight"], self.params.get("bias"), **self.conv)

    def backward(self, grad_out):
        gx, gw, gb = conv2d_backward(grad_out, self._x, self.params["weight"],
                                     self.params.get("bias"), **self.conv)
        self.grads["weight"] = gw if self.mask is None else gw * self.mask
        if gb is not None:
            self.grads["bias"] = gb
        return gx


_ACTIVATIONS = {"relu": (act.relu, act.relu_backward), "tanh": (act.tanh, act.tanh_backward),
                "sigmoid": (act.sigmoid, act.sigmoid_backward)}


class ActivationLayer(TrainableLayer):
    """Elementwise f(x) (relu, tanh, sigmoid) or softmax over axis 1; any shape."""

    def __init__(self, kind: str, name=""):
        super().__init__(name)
        if kind not in (*_ACTIVATIONS, "softmax"):
            raise ValueError(f"ActivationLayer: unknown kind {kind!r}")
        self.kind = kind

    def forward(self, x, training=True):
        self._x = x
        return act.softmax(x, 1) if self.kind == "softmax" else _ACTIVATIONS[self.kind][0](x)

    def backward(self, grad_out):
        if self.kind == "softmax":
            return act.softmax_backward(grad_out, self._x, 1)
        return _ACTIVATIONS[self.kind][1](grad_out, self._x)


class PoolLayer(TrainableLayer):
    """Max or mean pooling (C12, C13), torch's floor mode; mean counts the padding."""

    def __init__(self, kernel_size, stride, padding=0, mode="max", name=""):
        super().__init__(name)
        if mode not in ("max", "avg"):
            raise ValueError(f"PoolLayer: mode must be 'max' or 'avg', got {mode!r}")
        self.kw = {"kernel_size": kernel_size, "stride": stride, "padding": padding}
        self.mode = mode

    def forward(self, x, training=True):
        self._x = x
        return (max_pool2d if self.mode == "max" else avg_pool2d)(x, **self.kw)

    def backward(self, grad_out):
        back = max_pool2d_backward if self.mode == "max" else avg_pool2d_backward
        return back(grad_out, self._x, **self.kw)


class SubsampleLayer(TrainableLayer):
    """LeNet's trainable subsampling (C14): coefficient[c] * (k x k block sum) + bias[c],
    x (N, C, H, W) -> (N, C, H//k, W//k); coefficient and bias (C,)."""

    def __init__(self, coefficient, bias, kernel_size=2, name=""):
        super().__init__(name)
        self.kernel_size = kernel_size
        self.params.update(coefficient=coefficient, bias=bias)

    def forward(self, x, training=True):
        self._x = x
        return lenet_subsample(x, self.params["coefficient"], self.params["bias"],
                               self.kernel_size)

    def backward(self, grad_out):
        gx, gc, gb = lenet_subsample_backward(grad_out, self._x, self.params["coefficient"],
                                              self.params["bias"], self.kernel_size)
        self.grads.update(coefficient=gc, bias=gb)
        return gx


class FlattenLayer(TrainableLayer):
    """(N, C, H, W) -> (N, C*H*W) in C order (torch.flatten(x, 1)): feature index
    c*H*W + h*W + w. The backward reshapes back, so no transposition can creep in."""

    def forward(self, x, training=True):
        self._shape = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, grad_out):
        return grad_out.reshape(self._shape)


class DenseLayer(TrainableLayer):
    """z = x W^T + b (C1), x (N, in) or (N, C, H, W) flattened first as FlattenLayer does;
    weight (out, in), bias (out,)."""

    def __init__(self, weight, bias=None, name=""):
        super().__init__(name)
        self.params["weight"] = weight
        if bias is not None:
            self.params["bias"] = bias

    def forward(self, x, training=True):
        self._shape = x.shape
        self._x = x.reshape(x.shape[0], -1)
        return dense(self._x, self.params["weight"], self.params.get("bias"))

    def backward(self, grad_out):
        gx, gw, gb = dense_backward(grad_out, self._x, self.params["weight"],
                                    self.params.get("bias"))
        self.grads["weight"] = gw
        if gb is not None:
            self.grads["bias"] = gb
        return gx.reshape(self._shape)


class BatchNormLayer(TrainableLayer):
    """Batch norm over axis 1 of (N, C) or (N, C, H, W) (C15), torch semantics: batch
    statistics (biased variance) in training, running statistics in evaluation; each
    training forward replaces running_mean / running_var by batch_norm_running_stats
    (momentum 0.1, unbiased variance), as nn.BatchNorm does in place."""

    def __init__(self, weight, bias, running_mean, running_var, momentum=0.1, eps=1e-5,
                 name=""):
        super().__init__(name)
        self.params.update(weight=weight, bias=bias)
        self.buffers.update(running_mean=running_mean, running_var=running_var)
        self.momentum, self.eps = momentum, eps

    def _args(self, training):
        return (self.buffers["running_mean"], self.buffers["running_var"],
                self.params["weight"], self.params["bias"], training, self.momentum,
                self.eps)

    def forward(self, x, training=True):
        self._x, self._cached = x, self._args(training)
        y = batch_norm(x, *self._cached)
        if training:
            mean, var = batch_norm_running_stats(x, self.buffers["running_mean"],
                                                 self.buffers["running_var"], self.momentum)
            self.buffers.update(running_mean=mean, running_var=var)
        return y

    def backward(self, grad_out):
        gx, gw, gb = batch_norm_backward(grad_out, self._x, *self._cached)
        self.grads.update(weight=gw, bias=gb)
        return gx


class DeconvLayer(TrainableLayer):
    """out = conv_transpose2d(x, weight, bias, ...): x (N, C_in, H, W), weight (C_in,
    C_out // groups, kH, kW), bias (C_out,) -> (N, C_out, Ho, Wo)."""

    def __init__(self, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                 dilation=1, name=""):
        super().__init__(name)
        self.kw = {"stride": stride, "padding": padding, "output_padding": output_padding,
                   "groups": groups, "dilation": dilation}
        self.params["weight"] = weight
        if bias is not None:
            self.params["bias"] = bias

    def forward(self, x, training=True):
        self._x = x
        return conv_transpose2d(x, self.params["weight"], self.params.get("bias"), **self.kw)

    def backward(self, grad_out):
        gx, gw, gb = conv_transpose2d_backward(grad_out, self._x, self.params["weight"],
                                               self.params.get("bias"), **self.kw)
        self.grads["weight"] = gw
        if gb is not None:
            self.grads["bias"] = gb
        return gx


_NORMS = {"group": (group_norm, group_norm_backward),
          "layer": (layer_norm, layer_norm_backward),
          "instance": (instance_norm, instance_norm_backward)}


class NormLayer(TrainableLayer):
    """Group, layer or instance norm of x (N, C, H, W) with gamma `weight` and beta `bias`
    ((C,), layer norm (C, H, W)); statistics from the batch in training and evaluation
    alike (torch's GroupNorm, LayerNorm and InstanceNorm2d without running statistics)."""

    def __init__(self, kind: str, weight, bias, num_groups=1, name=""):
        super().__init__(name)
        if kind not in _NORMS:
            raise ValueError(f"NormLayer: kind must be one of {tuple(_NORMS)}, got {kind!r}")
        self.kind, self.num_groups = kind, num_groups
        self.params.update(weight=weight, bias=bias)

    def _args(self, x):
        p = self.params
        if self.kind == "group":
            return (x, self.num_groups, p["weight"], p["bias"])
        if self.kind == "layer":
            return (x, x.shape[1:], p["weight"], p["bias"])
        return (x, None, None, p["weight"], p["bias"])

    def forward(self, x, training=True):
        self._x = x
        return _NORMS[self.kind][0](*self._args(x))

    def backward(self, grad_out):
        gx, gw, gb = _NORMS[self.kind][1](grad_out, *self._args(self._x))
        self.grads.update(weight=gw, bias=gb)
        return gx


class AdaptivePoolLayer(TrainableLayer):
    """adaptive_avg_pool2d / adaptive_max_pool2d of x (N, C, H, W) to (N, C, oh, ow)."""

    def __init__(self, output_size, mode="avg", name=""):
        super().__init__(name)
        if mode not in ("max", "avg"):
            raise ValueError(f"AdaptivePoolLayer: mode must be 'max' or 'avg', got {mode!r}")
        self.output_size, self.mode = output_size, mode

    def forward(self, x, training=True):
        self._x = x
        pool = adaptive_max_pool2d if self.mode == "max" else adaptive_avg_pool2d
        return pool(x, self.output_size)

    def backward(self, grad_out):
        back = adaptive_max_pool2d_backward if self.mode == "max" else \
            adaptive_avg_pool2d_backward
        return back(grad_out, self._x, self.output_size)


class LPPoolLayer(TrainableLayer):
    """lp_pool2d: (sum of x^p over each window)^(1/p), x (N, C, H, W), floor mode."""

    def __init__(self, norm_type, kernel_size, stride, name=""):
        super().__init__(name)
        self.args = (norm_type, kernel_size, stride)

    def forward(self, x, training=True):
        self._x = x
        return lp_pool2d(x, *self.args)

    def backward(self, grad_out):
        return lp_pool2d_backward(grad_out, self._x, *self.args)
