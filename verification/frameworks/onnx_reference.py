"""ONNX reference-evaluator adapter: each function builds a one-node ONNX graph (_onnx.py,
opset 28) and runs it with onnx.reference.ReferenceEvaluator, the NumPy implementation
of the ONNX operator specifications that ships with onnx. Tested with onnx 1.23.2.

Mapping (see _onnx.py): conv2d -> Conv, max_pool2d -> MaxPool, avg_pool2d ->
AveragePool, batch_norm -> BatchNormalization, relu / leaky_relu / sigmoid / tanh ->
Relu / LeakyRelu / Sigmoid / Tanh, softmax / log_softmax -> Softmax / LogSoftmax,
cross_entropy -> SoftmaxCrossEntropyLoss, dense -> Gemm(transB=1); conv1d/3d -> Conv,
max_pool1d/3d -> MaxPool, avg_pool1d/3d -> AveragePool, conv_transpose1d/2d/3d ->
ConvTranspose, lp_pool1d/2d/3d -> LpPool, max_unpool1d/2d/3d -> MaxUnpool, fold -> Col2Im,
layer_norm / group_norm / instance_norm -> LayerNormalization / GroupNormalization /
InstanceNormalization, nll_loss -> NegativeLogLikelihoodLoss. unfold and adaptive
pooling have no ONNX operator (not defined; NOTES). Layout NC(D)HW
both sides; padding as ONNX pads [top, left, bottom, right] or its auto_pad
SAME_UPPER / VALID. float64 passes through (the evaluator runs every op in the
inputs' dtype). Forward only: the reference evaluator has no autodiff.
"""
from __future__ import annotations

import numpy as np
from onnx.reference import ReferenceEvaluator

try:                      # imported as cnnref.verification.frameworks.onnx_reference
    from . import _onnx
except ImportError:       # loaded from its file path: the sibling module
    import _onnx

FLOAT32_ONLY = frozenset()
_NO_AUTODIFF = ("not defined: onnx.reference.ReferenceEvaluator evaluates forward "
                "graphs only; it has no autodiff")
_NEW_NOTES = {
    "conv1d": "Conv with one spatial axis; 'same' -> auto_pad SAME_UPPER, 'valid' -> VALID, "
              "'full' and numbers -> explicit pads [begin..., end...].",
    "conv3d": "Conv with three spatial axes; padding as conv1d.",
    "max_pool1d": "MaxPool, stride=None -> strides = kernel_shape.",
    "max_pool3d": "MaxPool, stride=None -> strides = kernel_shape.",
    "avg_pool1d": "AveragePool (count_include_pad, ceil_mode, dilations attributes).",
    "avg_pool3d": "AveragePool; divisor_override has no ONNX attribute: NotImplementedError.",
    **{f"conv_transpose{nd}d": "ConvTranspose with explicit pads (asymmetric ones "
       "included) and output_padding, never output_shape / auto_pad (with those ONNX picks "
       "the pads itself, the odd one at the end for SAME_UPPER); weight (C_in, "
       "C_out / groups, *k) as torch." for nd in (1, 2, 3)},
    **{f"lp_pool{nd}d": "LpPool(p, kernel_shape, strides, ceil_mode); p is an int "
       "attribute, so a fractional or infinite norm_type is NotImplementedError. ONNX "
       "takes |x|^p where torch takes x^p (the same on x >= 0)." for nd in (1, 2, 3)},
    **{f"max_unpool{nd}d": "MaxUnpool; torch's per-plane indices become ONNX's indices "
       "into the whole output tensor (+ (n*C + c) * plane size); output_size -> the "
       "output_shape input (N, C, *spatial)." for nd in (1, 2, 3)},
    "fold": "Col2Im (image_shape, block_shape inputs; dilations, pads, strides).",
    "layer_norm": "LayerNormalization(axis = -len(normalized_shape)); weight/bias None -> "
                  "Scale 1, B 0. epsilon is a float32 attribute.",
    "group_norm": "GroupNormalization (opset 21+: per-channel scale and bias, torch's; "
                  "opset 18's were per group); weight/bias None -> ones / zeros; "
                  "stash_type = the input's type (the function body casts X to it). "
                  "epsilon is a float32 attribute.",
    "instance_norm": "InstanceNormalization with use_input_stats=True; the running-"
                     "statistics form (use_input_stats=False) has no ONNX op: "
                     "NotImplementedError. epsilon is a float32 attribute.",
    "nll_loss": "NegativeLogLikelihoodLoss(reduction, ignore_index), optional weight.",
    "cross_entropy": "SoftmaxCrossEntropyLoss(reduction, ignore_index), optional weights; "
                     "no label_smoothing attribute and class-index labels only: "
                     "NotImplementedError for label_smoothing != 0 or probability targets.",
    "unfold": "not defined: ONNX has no Im2Col operator (Col2Im, fold's, has no inverse "
              "in the operator set).",
    **{f"adaptive_{kind}_pool{nd}d": "not defined: ONNX has no adaptive pooling operator; "
       f"Global{kind.capitalize()}Pool is only output_size 1" for kind in ("avg", "max")
       for nd in (1, 2, 3)},
}
NOTES = {
    **{name + "_backward": _NO_AUTODIFF for name in (
        "conv2d", "max_pool2d", "avg_pool2d", "batch_norm", "relu", "leaky_relu",
        "sigmoid", "tanh", "softmax", "log_softmax", "cross_entropy", "dense", "conv1d",
        "conv3d", "max_pool1d", "max_pool3d", "avg_pool1d", "avg_pool3d", "conv_transpose1d",
        "conv_transpose2d", "conv_transpose3d", "fold", "lp_pool1d", "lp_pool2d",
        "lp_pool3d", "max_unpool1d", "max_unpool2d", "max_unpool3d", "layer_norm",
        "group_norm", "instance_norm", "nll_loss")},
    "conv2d": "'same' -> auto_pad SAME_UPPER, 'valid' -> VALID, 'full' -> explicit pads.",
    "avg_pool2d": "divisor_override has no ONNX attribute: NotImplementedError.",
    "leaky_relu": "alpha (= negative_slope) is a float32 attribute (AttributeProto.f is a "
                  "protobuf float; onnx.proto), so a float64 run uses float32(slope).",
    "batch_norm": "BatchNormalization with training_mode; momentum passed as 1 - m "
                  "(ONNX weighs the old running value); weight/bias None -> scale 1, B 0 "
                  "(the op requires both); training returns (y, running_mean, running_var). "
                  "epsilon and momentum travel as float32 attributes (AttributeProto.f is "
                  "a protobuf float; onnx.proto).",
    "max_pool2d": "stride=None -> strides = kernel_shape (ONNX's default stride is 1).",
    **_NEW_NOTES,
    "layer_norm": _NEW_NOTES["layer_norm"] + " stash_type stays 1 (the evaluator implements "
                  "no other value; it computes in the input's dtype).",
}


def _typed(func, *arrays):
    """Arrays as NumPy arrays in their own dtype (None stays None): the evaluator runs
    every op in the inputs' dtype (`func` is for the float32-only rule the ORT adapter
    has)."""
    return [None if a is None else np.asarray(a) for a in arrays]


def _run(model, feeds):
    """Evaluate a one-node model with the reference evaluator; the list of its outputs."""
    return ReferenceEvaluator(model).run(None, feeds)


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    return _run(*_onnx.conv_model(np.asarray(x), weight, bias, stride, padding,
                                    dilation, groups))[0]


def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    return _run(*_onnx.max_pool_model(np.asarray(x), kernel_size, stride, padding,
                                        dilation, ceil_mode))[0]


def avg_pool2d(x, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None, dilation=1):
    return _run(*_onnx.avg_pool_model(np.asarray(x), kernel_size, stride, padding,
                                        ceil_mode, count_include_pad, divisor_override,
                                        dilation))[0]


def batch_norm(x, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-05):
    """Evaluation: y. Training: (y, new_running_mean, new_running_var), ONNX's update."""
    outs = _run(*_onnx.batch_norm_model(np.asarray(x), running_mean, running_var, weight,
                                        bias, training, momentum, eps))
    return tuple(outs) if training else outs[0]


def relu(x):
    return _run(*_onnx.unary_model("Relu", np.asarray(x)))[0]


def leaky_relu(x, negative_slope=0.01):
    return _run(*_onnx.unary_model("LeakyRelu", np.asarray(x),
                                   alpha=float(negative_slope)))[0]


def sigmoid(x):
    return _run(*_onnx.unary_model("Sigmoid", np.asarray(x)))[0]


def tanh(x):
    return _run(*_onnx.unary_model("Tanh", np.asarray(x)))[0]


def softmax(x, dim):
    return _run(*_onnx.unary_model("Softmax", np.asarray(x), axis=int(dim)))[0]


def log_softmax(x, dim):
    return _run(*_onnx.unary_model("LogSoftmax", np.asarray(x), axis=int(dim)))[0]


def cross_entropy(logits, target, weight=None, ignore_index=-100, reduction="mean",
                  label_smoothing=0.0):
    return _run(*_onnx.cross_entropy_model(np.asarray(logits), np.asarray(target), weight,
                                           ignore_index, reduction, label_smoothing))[0]


def dense(x, weight, bias=None):
    return _run(*_onnx.dense_model(np.asarray(x), weight, bias))[0]


# --- operators beyond the 2-D set -------------------------------------------------------

def conv1d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    x, weight, bias = _typed("conv1d", x, weight, bias)
    return _run(*_onnx.conv_model(x, weight, bias, stride, padding, dilation, groups))[0]


def conv3d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    x, weight, bias = _typed("conv3d", x, weight, bias)
    return _run(*_onnx.conv_model(x, weight, bias, stride, padding, dilation, groups))[0]


def max_pool1d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    (x,) = _typed("max_pool1d", x)
    return _run(*_onnx.max_pool_model(x, kernel_size, stride, padding, dilation,
                                      ceil_mode))[0]


def max_pool3d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    (x,) = _typed("max_pool3d", x)
    return _run(*_onnx.max_pool_model(x, kernel_size, stride, padding, dilation,
                                      ceil_mode))[0]


def avg_pool1d(x, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, dilation=1):
    (x,) = _typed("avg_pool1d", x)
    return _run(*_onnx.avg_pool_model(x, kernel_size, stride, padding, ceil_mode,
                                      count_include_pad, None, dilation))[0]


def avg_pool3d(x, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None, dilation=1):
    (x,) = _typed("avg_pool3d", x)
    return _run(*_onnx.avg_pool_model(x, kernel_size, stride, padding, ceil_mode,
                                      count_include_pad, divisor_override, dilation))[0]


def _conv_transpose(func, x, weight, bias, stride, padding, output_padding, groups,
                    dilation):
    x, weight, bias = _typed(func, x, weight, bias)
    return _run(*_onnx.conv_transpose_model(x, weight, bias, stride, padding,
                                            output_padding, groups, dilation))[0]


def conv_transpose1d(x, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    return _conv_transpose("conv_transpose1d", x, weight, bias, stride, padding,
                           output_padding, groups, dilation)


def conv_transpose2d(x, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    return _conv_transpose("conv_transpose2d", x, weight, bias, stride, padding,
                           output_padding, groups, dilation)


def conv_transpose3d(x, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    return _conv_transpose("conv_transpose3d", x, weight, bias, stride, padding,
                           output_padding, groups, dilation)


def fold(x, output_size, kernel_size, dilation=1, padding=0, stride=1):
    (x,) = _typed("fold", x)
    return _run(*_onnx.col2im_model(x, output_size, kernel_size, dilation, padding,
                                    stride))[0]


def lp_pool1d(x, norm_type, kernel_size, stride=None, ceil_mode=False):
    (x,) = _typed("lp_pool1d", x)
    return _run(*_onnx.lp_pool_model(x, norm_type, kernel_size, stride, ceil_mode))[0]


def lp_pool2d(x, norm_type, kernel_size, stride=None, ceil_mode=False):
    (x,) = _typed("lp_pool2d", x)
    return _run(*_onnx.lp_pool_model(x, norm_type, kernel_size, stride, ceil_mode))[0]


def lp_pool3d(x, norm_type, kernel_size, stride=None, ceil_mode=False):
    (x,) = _typed("lp_pool3d", x)
    return _run(*_onnx.lp_pool_model(x, norm_type, kernel_size, stride, ceil_mode))[0]


def max_unpool1d(x, indices, kernel_size, stride=None, padding=0, output_size=None):
    (x,) = _typed("max_unpool1d", x)
    return _run(*_onnx.max_unpool_model(x, indices, kernel_size, stride, padding,
                                        output_size))[0]


def max_unpool2d(x, indices, kernel_size, stride=None, padding=0, output_size=None):
    (x,) = _typed("max_unpool2d", x)
    return _run(*_onnx.max_unpool_model(x, indices, kernel_size, stride, padding,
                                        output_size))[0]


def max_unpool3d(x, indices, kernel_size, stride=None, padding=0, output_size=None):
    (x,) = _typed("max_unpool3d", x)
    return _run(*_onnx.max_unpool_model(x, indices, kernel_size, stride, padding,
                                        output_size))[0]


def layer_norm(x, normalized_shape, weight=None, bias=None, eps=1e-05):
    x, weight, bias = _typed("layer_norm", x, weight, bias)
    return _run(*_onnx.layer_norm_model(x, normalized_shape, weight, bias, eps))[0]


def group_norm(x, num_groups, weight=None, bias=None, eps=1e-05):
    x, weight, bias = _typed("group_norm", x, weight, bias)
    return _run(*_onnx.group_norm_model(x, num_groups, weight, bias, eps))[0]


def instance_norm(x, running_mean=None, running_var=None, weight=None, bias=None,
                  use_input_stats=True, momentum=0.1, eps=1e-05):
    x, weight, bias = _typed("instance_norm", x, weight, bias)
    return _run(*_onnx.instance_norm_model(x, running_mean, running_var, weight, bias,
                                           use_input_stats, momentum, eps))[0]


def nll_loss(input, target, weight=None, ignore_index=-100, reduction="mean"):
    input, weight = _typed("nll_loss", input, weight)
    return _run(*_onnx.nll_loss_model(input, np.asarray(target), weight, ignore_index,
                                      reduction))[0]
