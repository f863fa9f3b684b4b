"""ONNX Runtime (CPU) adapter: each function builds a one-node ONNX graph (_onnx.py, opset
28, onnx 1.23.2) and runs it with onnxruntime.InferenceSession on the
CPUExecutionProvider, with ORT's default session options (its graph optimisations
included, as a user gets them). Tested with onnxruntime 1.32.0.

Mapping (see _onnx.py): conv2d -> Conv, max_pool2d -> MaxPool, avg_pool2d ->
AveragePool, batch_norm -> BatchNormalization, relu / leaky_relu / sigmoid / tanh ->
Relu / LeakyRelu / Sigmoid / Tanh, softmax / log_softmax -> Softmax / LogSoftmax,
cross_entropy -> SoftmaxCrossEntropyLoss(mean), dense -> Gemm(transB=1). Layout NCHW
both sides; padding as ONNX pads [top, left, bottom, right] or its auto_pad
SAME_UPPER / VALID. Forward only: the non-training onnxruntime build has no autodiff.
Element type: float64 passes through as DOUBLE, except for the ops whose CPU kernels
exist only for float (FLOAT32_ONLY).
"""
from __future__ import annotations

import numpy as np
import onnxruntime

try:                      # imported as cnnref.verification.frameworks.onnxruntime
    from . import _onnx
except ImportError:       # loaded from its file path: the sibling module
    import _onnx

# ORT's CPU kernel table registers Conv (22+), AveragePool (22+) and LeakyRelu (16+) for
# tensor(float) only ("Could not find an implementation for Conv(22)" on DOUBLE):
# https://github.com/microsoft/onnxruntime/blob/main/docs/OperatorKernels.md
FLOAT32_ONLY = frozenset({"conv2d", "avg_pool2d", "leaky_relu"})
_KERNEL_DOC = "https://github.com/microsoft/onnxruntime/blob/main/docs/OperatorKernels.md"
_NO_AUTODIFF = ("not defined: the onnxruntime (non-training) build has no autodiff; "
                "gradients would need onnxruntime-training's graph transformer")
NOTES = {
    **{name + "_backward": _NO_AUTODIFF for name in (
        "conv2d", "max_pool2d", "avg_pool2d", "batch_norm", "relu", "leaky_relu",
        "sigmoid", "tanh", "softmax", "log_softmax", "cross_entropy", "dense")},
    "conv2d": f"Conv has a float kernel only on CPU ({_KERNEL_DOC}): run in float32. "
              "'same' -> auto_pad SAME_UPPER, 'valid' -> VALID, 'full' -> explicit pads.",
    "avg_pool2d": f"AveragePool has a float kernel only on CPU ({_KERNEL_DOC}): run in "
                  "float32. divisor_override has no ONNX attribute: NotImplementedError.",
    "leaky_relu": f"LeakyRelu has a float kernel only on CPU ({_KERNEL_DOC}): float32; "
                  "alpha is a float32 attribute.",
    "batch_norm": "BatchNormalization with training_mode; momentum passed as 1 - m "
                  "(ONNX weighs the old running value); weight/bias None -> scale 1, B 0 "
                  "(the op requires both); training returns (y, running_mean, running_var). "
                  "epsilon and momentum travel as float32 attributes (AttributeProto.f is "
                  "a protobuf float; onnx.proto).",
    "max_pool2d": "stride=None -> strides = kernel_shape (ONNX's default stride is 1).",
}


def _run(model, feeds):
    """Run a one-node model on ORT's CPU provider; the list of its outputs."""
    session = onnxruntime.InferenceSession(model.SerializeToString(),
                                           providers=["CPUExecutionProvider"])
    return session.run(None, feeds)


def _float32(*arrays):
    """Inputs of a FLOAT32_ONLY op: float32 (None stays None)."""
    return [None if a is None else np.asarray(a, dtype=np.float32) for a in arrays]


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    x, weight, bias = _float32(x, weight, bias)
    return _run(*_onnx.conv2d_model(x, weight, bias, stride, padding, dilation, groups))[0]


def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    return _run(*_onnx.max_pool2d_model(np.asarray(x), kernel_size, stride, padding,
                                        dilation, ceil_mode))[0]


def avg_pool2d(x, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None, dilation=1):
    (x,) = _float32(x)
    return _run(*_onnx.avg_pool2d_model(x, kernel_size, stride, padding, ceil_mode,
                                        count_include_pad, divisor_override, dilation))[0]


def batch_norm(x, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-05):
    """Evaluation: y. Training: (y, new_running_mean, new_running_var), ORT's update."""
    outs = _run(*_onnx.batch_norm_model(np.asarray(x), running_mean, running_var, weight,
                                        bias, training, momentum, eps))
    return tuple(outs) if training else outs[0]


def relu(x):
    return _run(*_onnx.unary_model("Relu", np.asarray(x)))[0]


def leaky_relu(x, negative_slope=0.01):
    (x,) = _float32(x)
    return _run(*_onnx.unary_model("LeakyRelu", x, alpha=float(negative_slope)))[0]


def sigmoid(x):
    return _run(*_onnx.unary_model("Sigmoid", np.asarray(x)))[0]


def tanh(x):
    return _run(*_onnx.unary_model("Tanh", np.asarray(x)))[0]


def softmax(x, dim):
    return _run(*_onnx.unary_model("Softmax", np.asarray(x), axis=int(dim)))[0]


def log_softmax(x, dim):
    return _run(*_onnx.unary_model("LogSoftmax", np.asarray(x), axis=int(dim)))[0]


def cross_entropy(logits, target):
    return _run(*_onnx.cross_entropy_model(np.asarray(logits), np.asarray(target)))[0]


def dense(x, weight, bias=None):
    return _run(*_onnx.dense_model(np.asarray(x), weight, bias))[0]
