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
  cross_entropy -> SoftmaxCrossEntropyLoss (weights, reduction, ignore_index)
  dense        -> Gemm (transB = 1: x W^T + b)
and in 1 and 3 spatial dimensions (Conv, MaxPool, AveragePool: the same builders), plus
ConvTranspose, LpPool, MaxUnpool, Col2Im (fold), LayerNormalization, GroupNormalization,
InstanceNormalization and NegativeLogLikelihoodLoss (see each builder).
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
_OPS_DOC = "https://onnx.ai/onnx/operators/onnx__"
AVERAGE_POOL_DOC = _OPS_DOC + "AveragePool.html"
CROSS_ENTROPY_DOC = _OPS_DOC + "SoftmaxCrossEntropyLoss.html"
LP_POOL_DOC = _OPS_DOC + "LpPool.html"
INSTANCE_NORM_DOC = _OPS_DOC + "InstanceNormalization.html"


def _ntuple(value, nd: int) -> list[int]:
    """An int or one entry per spatial axis -> a list of nd ints (ONNX takes one entry per
    spatial axis)."""
    if isinstance(value, (tuple, list)):
        return [int(v) for v in value]
    return [int(value)] * nd


def _explicit_pads(padding, nd: int) -> list[int]:
    """An int, one per axis, or one (before, after) pair per axis -> ONNX pads
    [x1_begin, x2_begin, ..., x1_end, x2_end, ...]."""
    if (isinstance(padding, (tuple, list)) and len(padding) == nd
            and all(isinstance(p, (tuple, list)) for p in padding)):
        return [int(a) for a, _ in padding] + [int(b) for _, b in padding]
    p = _ntuple(padding, nd)
    return p + p


def _padding_attrs(padding, kernel, dilation) -> dict:
    """The reference's padding forms -> ONNX attributes. 'same' and 'valid' go to ONNX's
    own auto_pad (SAME_UPPER puts an odd extra pixel at the end, as torch); 'full' (no
    ONNX name) and the numeric forms become explicit pads: in 2-D
    [top, left, bottom, right]."""
    if isinstance(padding, str):
        if padding == "same":
            return {"auto_pad": "SAME_UPPER"}
        if padding == "valid":
            return {"auto_pad": "VALID"}
        if padding == "full":
            total = [d * (k - 1) for k, d in zip(kernel, dilation)]
            return {"pads": total + total}
        raise ValueError(f"padding string must be 'same', 'valid' or 'full', got {padding!r}")
    return {"pads": _explicit_pads(padding, len(kernel))}


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


def conv_model(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """Conv in 1, 2 or 3 spatial dimensions (x (N, C, *spatial), the same weight layout
    (K, C / groups, *kernel) as torch)."""
    nd = x.ndim - 2
    kernel, dil = list(weight.shape[2:]), _ntuple(dilation, nd)
    return _model("Conv", {"X": x, "W": weight, "B": bias}, 1, kernel_shape=kernel,
                  strides=_ntuple(stride, nd), dilations=dil, group=int(groups),
                  **_padding_attrs(padding, kernel, dil))


def max_pool_model(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    nd = x.ndim - 2
    kernel, dil = _ntuple(kernel_size, nd), _ntuple(dilation, nd)
    # torch's stride=None means the kernel; ONNX's default stride is 1
    strides = kernel if stride is None else _ntuple(stride, nd)
    return _model("MaxPool", {"X": x}, 1, kernel_shape=kernel, strides=strides,
                  dilations=dil, ceil_mode=int(bool(ceil_mode)),
                  **_padding_attrs(padding, kernel, dil))


def avg_pool_model(x, kernel_size, stride=None, padding=0, ceil_mode=False,
                   count_include_pad=True, divisor_override=None, dilation=1):
    if divisor_override is not None:
        raise NotImplementedError(
            f"ONNX AveragePool: divisor_override unsupported (no such attribute; "
            f"{AVERAGE_POOL_DOC})")
    nd = x.ndim - 2
    kernel, dil = _ntuple(kernel_size, nd), _ntuple(dilation, nd)
    strides = kernel if stride is None else _ntuple(stride, nd)
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


def cross_entropy_model(logits, target, weight=None, ignore_index=-100, reduction="mean",
                        label_smoothing=0.0):
    """SoftmaxCrossEntropyLoss: scores (N, C, *d), integer labels (N, *d), optional class
    weights, ignore_index and reduction attributes. The op has no label smoothing and
    takes class indices only ("labels ... tensor(int32), tensor(int64)")."""
    if float(label_smoothing) != 0.0:
        raise NotImplementedError(f"ONNX SoftmaxCrossEntropyLoss: label_smoothing "
                                  f"unsupported (no such attribute; {CROSS_ENTROPY_DOC})")
    if not np.issubdtype(np.asarray(target).dtype, np.integer):
        raise NotImplementedError(f"ONNX SoftmaxCrossEntropyLoss: probability targets "
                                  f"unsupported (labels are int32 / int64 class indices; "
                                  f"{CROSS_ENTROPY_DOC})")
    return _model("SoftmaxCrossEntropyLoss", {"scores": logits, "labels": target,
                                              "weights": weight}, 1,
                  reduction=reduction, ignore_index=int(ignore_index))


def nll_loss_model(input, target, weight=None, ignore_index=-100, reduction="mean"):
    """NegativeLogLikelihoodLoss: input (N, C, *d), target (N, *d), optional weight."""
    return _model("NegativeLogLikelihoodLoss", {"input": input, "target": target,
                                                "weight": weight}, 1,
                  reduction=reduction, ignore_index=int(ignore_index))


def dense_model(x, weight, bias=None):
    return _model("Gemm", {"A": x, "B": weight, "C": bias}, 1, transB=1)


# --- operators beyond the 2-D set ---------------------------------------------------------

def conv_transpose_model(x, weight, bias=None, stride=1, padding=0, output_padding=0,
                         groups=1, dilation=1):
    """ConvTranspose (x (N, C_in, *i), weight (C_in, C_out / groups, *kernel), torch's
    layout) with explicit pads and output_padding, never output_shape: the output is then
    ONNX's "stride * (i - 1) + output_padding + ((kernel - 1) * dilation + 1) - pads_begin
    - pads_end", torch's formula; with output_shape (or auto_pad) ONNX would choose the pads
    itself, the odd one at the end (SAME_UPPER), the rule the reference refuses to guess."""
    nd = x.ndim - 2
    return _model("ConvTranspose", {"X": x, "W": weight, "B": bias}, 1,
                  kernel_shape=list(weight.shape[2:]), strides=_ntuple(stride, nd),
                  pads=_explicit_pads(padding, nd), output_padding=_ntuple(output_padding, nd),
                  dilations=_ntuple(dilation, nd), group=int(groups))


def lp_pool_model(x, norm_type, kernel_size, stride=None, ceil_mode=False):
    """LpPool: "p: int" (its page): a fractional or infinite norm_type has no attribute
    value. ONNX's LpPool is (sum |x|^p)^(1/p), torch's (sum x^p)^(1/p): the same on x >= 0."""
    p = float(norm_type)
    if not (np.isfinite(p) and p.is_integer()):
        raise NotImplementedError(f"ONNX LpPool: norm_type={norm_type!r} unsupported (the "
                                  f"attribute p is an int; {LP_POOL_DOC})")
    nd = x.ndim - 2
    kernel = _ntuple(kernel_size, nd)
    strides = kernel if stride is None else _ntuple(stride, nd)
    return _model("LpPool", {"X": x}, 1, kernel_shape=kernel, strides=strides, p=int(p),
                  ceil_mode=int(bool(ceil_mode)), pads=[0] * 2 * nd)


def max_unpool_model(x, indices, kernel_size, stride=None, padding=0, output_size=None):
    """MaxUnpool. torch's indices count within each (n, c) plane of the output, ONNX's
    (those its MaxPool returns) over the whole output tensor: index + (n*C + c) * plane.
    output_size (spatial, or the full shape as torch also takes) -> the output_shape
    input (the full shape); without it ONNX's default size is torch's,
    (i - 1) * stride + kernel - pads_begin - pads_end."""
    nd = x.ndim - 2
    kernel = _ntuple(kernel_size, nd)
    strides = kernel if stride is None else _ntuple(stride, nd)
    pads = _explicit_pads(padding, nd)
    if output_size is None:
        spatial = [(i - 1) * s + k - a - b for i, s, k, a, b
                   in zip(x.shape[2:], strides, kernel, pads[:nd], pads[nd:])]
    else:
        spatial = [int(v) for v in output_size][-nd:]
    n, c = x.shape[:2]
    plane = (np.arange(n * c, dtype=np.int64) * int(np.prod(spatial))).reshape(
        (n, c) + (1,) * nd)
    shape = None if output_size is None else np.array([n, c, *spatial], np.int64)
    return _model("MaxUnpool", {"X": x, "I": np.asarray(indices, np.int64) + plane,
                                "output_shape": shape}, 1,
                  kernel_shape=kernel, strides=strides, pads=pads)


def col2im_model(x, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """Col2Im (torch's fold): x (N, C * kH * kW, L), image_shape and block_shape as int64
    inputs, pads [top, left, bottom, right]."""
    return _model("Col2Im", {"input": x, "image_shape": np.array(_ntuple(output_size, 2), np.int64),
                             "block_shape": np.array(_ntuple(kernel_size, 2), np.int64)}, 1,
                  dilations=_ntuple(dilation, 2), pads=_explicit_pads(padding, 2),
                  strides=_ntuple(stride, 2))


def _affine(x, weight, bias, shape):
    """Scale and bias inputs the normalisation ops require: torch's None -> ones / zeros."""
    scale = np.ones(shape, x.dtype) if weight is None else weight
    return scale, (np.zeros(shape, x.dtype) if bias is None else bias)


def _stash_type(x) -> int:
    """stash_type: the precision of the statistics ("stage one's computation precision";
    the default 1 is float): the input's own element type."""
    return int(helper.np_dtype_to_tensor_dtype(x.dtype))


def layer_norm_model(x, normalized_shape, weight=None, bias=None, eps=1e-05):
    """LayerNormalization over the last len(normalized_shape) axes (axis = -k).
    stash_type stays at its default (1): the reference evaluator implements no other
    value, and both runtimes compute a DOUBLE input's statistics in double anyway."""
    k = len(normalized_shape) if isinstance(normalized_shape, (tuple, list)) else 1
    scale, shift = _affine(x, weight, bias, x.shape[x.ndim - k:])
    return _model("LayerNormalization", {"X": x, "Scale": scale, "B": shift}, 1,
                  axis=-k, epsilon=float(eps))


def group_norm_model(x, num_groups, weight=None, bias=None, eps=1e-05):
    """GroupNormalization (opset 21+: scale and bias per channel, as torch; opset 18's
    were per group). Its function body casts X to stash_type (default 1, float) before
    the statistics, so a DOUBLE input gets stash_type 11."""
    scale, shift = _affine(x, weight, bias, x.shape[1:2])
    return _model("GroupNormalization", {"X": x, "scale": scale, "bias": shift}, 1,
                  num_groups=int(num_groups), epsilon=float(eps), stash_type=_stash_type(x))


def instance_norm_model(x, running_mean=None, running_var=None, weight=None, bias=None,
                        use_input_stats=True, momentum=0.1, eps=1e-05):
    """InstanceNormalization normalises by each instance's own statistics: torch's
    use_input_stats=True (running_mean / running_var then only receive torch's update,
    which F.instance_norm returns nowhere). The running-statistics form has no ONNX op."""
    if not use_input_stats:
        raise NotImplementedError(
            f"ONNX InstanceNormalization: use_input_stats=False unsupported (the op takes "
            f"no running statistics; {INSTANCE_NORM_DOC})")
    scale, shift = _affine(x, weight, bias, x.shape[1:2])
    return _model("InstanceNormalization", {"input": x, "scale": scale, "B": shift}, 1,
                  epsilon=float(eps))
