"""One-node ONNX graphs for the two ONNX adapters (onnxruntime.py, onnx_reference.py).

Each `*_model` function translates one reference call into an ONNX model holding a single
operator of the default domain (onnx.helper) and the feeds that run it:
  conv2d       -> Conv (pads [top, left, bottom, right], strides, dilations, group;
                  'same' -> auto_pad SAME_UPPER, 'valid' -> auto_pad VALID, 'full' and
                  every numeric form -> explicit pads)
  max_pool2d   -> MaxPool (kernel_shape, strides, pads, dilations, ceil_mode)
  avg_pool2d   -> AveragePool (kernel_shape, strides, pads, dilations, ceil_mode,
                  count_include_pad); divisor_override has no ONNX attribute
  batch_norm   -> BatchNormalization (epsilon, momentum = 1 - torch's, training_mode)
  relu / leaky_relu / sigmoid / tanh -> Relu / LeakyRelu(alpha) / Sigmoid / Tanh
  softmax / log_softmax -> Softmax / LogSoftmax (axis = dim)
  cross_entropy -> SoftmaxCrossEntropyLoss (reduction 'mean')
  dense        -> Gemm (transB = 1: x W^T + b)
Layout: ONNX is NCHW, as the reference, so no transposes. The graph's tensors take the
inputs' own element type (float64 -> DOUBLE, float32 -> FLOAT). Opset OPSET (the newest
the installed onnx 1.23.2 defines and onnxruntime 1.32.0 loads; ORT refuses 29).
Only imports and constants at the top level: the matrix's reproductions copy this file's
functions beside the adapter's.
"""
from __future__ import annotations

import numpy as np
from onnx import helper

OPSET = 28
# the doc cited when a feature has no ONNX attribute at all
AVERAGE_POOL_DOC = "https://onnx.ai/onnx/operators/onnx__AveragePool.html"


def _pair(value) -> list[int]:
    """An int or a pair -> [h, w] (ONNX takes one entry per spatial axis)."""
    if isinstance(value, (tuple, list)):
        return [int(v) for v in value]
    return [int(value)] * 2


def _padding_attrs(padding, kernel, dilation) -> dict:
    """The reference's padding forms -> ONNX attributes. 'same' and 'valid' go to ONNX's
    own auto_pad (SAME_UPPER puts an odd extra pixel at the end, as torch); 'full' (no
    ONNX name) and the numeric forms become explicit [top, left, bottom, right] pads."""
    if isinstance(padding, str):
        if padding == "same":
            return {"auto_pad": "SAME_UPPER"}
        if padding == "valid":
            return {"auto_pad": "VALID"}
        if padding == "full":
            total = [d * (k - 1) for k, d in zip(kernel, dilation)]
            return {"pads": total + total}
        raise ValueError(f"padding string must be 'same', 'valid' or 'full', got {padding!r}")
    if (isinstance(padding, (tuple, list)) and len(padding) == 2
            and all(isinstance(p, (tuple, list)) for p in padding)):
        (top, bottom), (left, right) = padding
        return {"pads": [int(top), int(left), int(bottom), int(right)]}
    ph, pw = _pair(padding)
    return {"pads": [ph, pw, ph, pw]}


def _model(op: str, feeds: dict, n_out: int, **attrs):
    """(ModelProto, feeds) of one `op` node; `feeds` maps input names to arrays, None for
    an omitted optional input (an empty name, ONNX's convention). The outputs take the
    first input's element type."""
    given = {k: v for k, v in feeds.items() if v is not None}
    inputs = [helper.make_tensor_value_info(
        k, helper.np_dtype_to_tensor_dtype(v.dtype), list(v.shape)) for k, v in given.items()]
    elem = inputs[0].type.tensor_type.elem_type
    outs = [f"out{i}" for i in range(n_out)]
    names = [k if v is not None else "" for k, v in feeds.items()]
    while names and names[-1] == "":     # trailing omitted inputs are simply left off
        names.pop()
    node = helper.make_node(op, names, outs, **attrs)
    graph = helper.make_graph([node], op, inputs,
                              [helper.make_tensor_value_info(o, elem, None) for o in outs])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    return model, given


def conv2d_model(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    kernel, dil = list(weight.shape[2:]), _pair(dilation)
    return _model("Conv", {"X": x, "W": weight, "B": bias}, 1, kernel_shape=kernel,
                  strides=_pair(stride), dilations=dil, group=int(groups),
                  **_padding_attrs(padding, kernel, dil))


def max_pool2d_model(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    kernel, dil = _pair(kernel_size), _pair(dilation)
    # torch's stride=None means the kernel; ONNX's default stride is 1
    strides = kernel if stride is None else _pair(stride)
    return _model("MaxPool", {"X": x}, 1, kernel_shape=kernel, strides=strides,
                  dilations=dil, ceil_mode=int(bool(ceil_mode)),
                  **_padding_attrs(padding, kernel, dil))


def avg_pool2d_model(x, kernel_size, stride=None, padding=0, ceil_mode=False,
                     count_include_pad=True, divisor_override=None, dilation=1):
    if divisor_override is not None:
        raise NotImplementedError(
            f"ONNX AveragePool: divisor_override unsupported (no such attribute; "
            f"{AVERAGE_POOL_DOC})")
    kernel, dil = _pair(kernel_size), _pair(dilation)
    strides = kernel if stride is None else _pair(stride)
    # dilations: an AveragePool attribute since opset 19
    return _model("AveragePool", {"X": x}, 1, kernel_shape=kernel, strides=strides,
                  dilations=dil, ceil_mode=int(bool(ceil_mode)),
                  count_include_pad=int(bool(count_include_pad)),
                  **_padding_attrs(padding, kernel, dil))


def batch_norm_model(x, running_mean, running_var, weight=None, bias=None, training=False,
                     momentum=0.1, eps=1e-05):
    """BatchNormalization needs scale and B: torch's None (no affine) is scale 1, B 0.
    ONNX's momentum weighs the OLD running value (running = old * m + batch * (1 - m)),
    torch's the new batch statistic: m_onnx = 1 - m_torch. In training mode (opset 15+)
    the node has the running_mean and running_var outputs."""
    c = x.shape[1]
    scale = np.ones(c, x.dtype) if weight is None else weight
    shift = np.zeros(c, x.dtype) if bias is None else bias
    feeds = {"X": x, "scale": scale, "B": shift, "input_mean": running_mean,
             "input_var": running_var}
    return _model("BatchNormalization", feeds, 3 if training else 1, epsilon=float(eps),
                  momentum=1.0 - float(momentum), training_mode=int(bool(training)))


def unary_model(op: str, x, **attrs):
    """Relu, LeakyRelu(alpha), Sigmoid, Tanh, Softmax(axis), LogSoftmax(axis)."""
    return _model(op, {"X": x}, 1, **attrs)


def cross_entropy_model(logits, target):
    return _model("SoftmaxCrossEntropyLoss", {"scores": logits, "labels": target}, 1,
                  reduction="mean")


def dense_model(x, weight, bias=None):
    return _model("Gemm", {"A": x, "B": weight, "C": bias}, 1, transB=1)
