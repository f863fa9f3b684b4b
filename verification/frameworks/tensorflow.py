"""TensorFlow (CPU) adapter: eager tf.nn ops, gradients from tf.GradientTape with grad_out
as the upstream gradient (tape.gradient(..., output_gradients=grad_out)). Tested with
tensorflow-cpu 2.21.0 (import package `tensorflow`), oneDNN at its default (on).

Mapping: conv2d -> tf.nn.conv2d (tf.nn.convolution for a dilated convolution at stride 1
with 'SAME' / 'VALID' padding: its space_to_batch path has CPU gradients); max_pool2d -> tf.nn.max_pool2d (tf.nn.pool "MAX" when
dilated); avg_pool2d -> tf.nn.avg_pool2d (tf.nn.pool "AVG" when dilated); batch_norm ->
tf.compat.v1.nn.fused_batch_norm (NCHW, exponential_avg_factor = momentum); relu /
leaky_relu / sigmoid / tanh / softmax / log_softmax -> tf.nn.*; cross_entropy ->
keras.losses.SparseCategoricalCrossentropy / CategoricalCrossentropy(from_logits); dense
-> tf.linalg.matmul(transpose_b=True) + tf.nn.bias_add; conv1d/3d -> tf.nn.convolution;
max_pool1d/3d, avg_pool1d/3d -> tf.nn.*; conv_transpose1d/2d/3d -> tf.nn.conv{1,2,3}d_transpose;
layer_norm -> keras.ops.layer_normalization; group_norm / instance_norm ->
keras.layers.GroupNormalization; unfold -> tf.image.extract_patches. No TF op (not
defined, NOTES): fold, adaptive
and Lp pooling, max_unpool, nll_loss.
Layout: TF's CPU conv and pooling kernels are NHWC only, so NCHW is transposed to NHWC
and back inside the differentiated function (the tape sees the transposes); the weight
(K, C/g, kH, kW) becomes TF's filter (kH, kW, C/g, K), and groups is what TF infers from
the input / filter channel ratio (tf.nn.conv2d has no groups argument).
Padding: 'same' / 'valid' -> TF's 'SAME' / 'VALID'; numbers and 'full' -> TF's explicit
list [[0, 0], [top, bottom], [left, right], [0, 0]] (conv2d, max_pool2d); avg_pool2d and
tf.nn.pool take only 'SAME' / 'VALID', so only zero padding ('VALID') maps there.
dtype: float64 passes through (arrays become tensors first: tf.nn.max_pool2d turns a raw
float64 NumPy array into float32), except for batch norm (FLOAT32_ONLY).
"""
from __future__ import annotations

import os

# TF's C++ logging: errors only (set before the import; the one oneDNN "custom operations
# are on" INFO line is printed before absl logging starts and ignores this variable).
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

_API = "https://www.tensorflow.org/api_docs/python/tf/nn/"
_FBN_DOC = "https://www.tensorflow.org/api_docs/python/tf/raw_ops/FusedBatchNormV3"
_KERAS_LOSSES = "https://keras.io/api/losses/probabilistic_losses/#"
_KERAS_NORM = "https://keras.io/api/layers/normalization_layers/group_normalization/"
# FusedBatchNormV3's x: "half, bfloat16, float32" (a double input is refused: "Value for
# attr 'T' of double is not in the list of allowed values: half, bfloat16, float").
# MaxPool3D / AvgPool3D: "half, bfloat16, float32" (double: "Value for attr 'T' of double
# is not in the list of allowed values"; AvgPool3D: "Could not find device for node").
FLOAT32_ONLY = frozenset({"batch_norm", "batch_norm_backward", "max_pool3d",
                          "max_pool3d_backward", "avg_pool3d", "avg_pool3d_backward"})
NOTES = {
    "conv2d": "tf.nn.conv2d in NHWC (CPU kernels are NHWC only): transposed both ways; "
              "groups carried by the filter's in-channels (C / groups), as TF infers it; "
              "'same'/'valid' -> 'SAME'/'VALID', zero -> 'VALID', other numbers and "
              "'full' -> explicit pads. Dilated at stride 1 with 'SAME'/'VALID': "
              "tf.nn.convolution (space_to_batch), which takes no explicit pads.",
    "conv2d_backward": "GradientTape through the same call. TF's CPU gradient kernels "
                       "refuse groups > 1 ('Gradients for grouped convolutions are not "
                       "supported on CPU') and, through tf.nn.conv2d, dilation > 1 "
                       "(explicit pads or stride > 1): TF's errors are passed on.",
    "max_pool2d": "tf.nn.max_pool2d with explicit pads; dilation > 1 -> tf.nn.pool('MAX'), "
                  "which takes only 'SAME'/'VALID' and stride 1 (NotImplementedError "
                  "otherwise); no ceil_mode argument: NotImplementedError. TF's max "
                  "ignores NaN and returns the dtype's lowest finite value for a window "
                  "of -inf (or NaN and -inf) where torch returns NaN / -inf.",
    "avg_pool2d": "tf.nn.avg_pool2d (tf.nn.pool('AVG') when dilated): padding only "
                  "'VALID'/'SAME', so padding > 0 is NotImplementedError; no ceil_mode, "
                  "count_include_pad or divisor_override arguments: NotImplementedError.",
    "batch_norm": "tf.compat.v1.nn.fused_batch_norm (TF 2 has no tf.nn.fused_batch_norm): "
                  "the only TF op with a running-statistics update (exponential_avg_factor "
                  "= momentum, torch's convention, unbiased batch variance), NCHW on CPU; "
                  "tf.nn.batch_normalization + tf.nn.moments would run float64 but update "
                  "nothing. Float32 only (" + _FBN_DOC + "). weight/bias None -> ones/zeros "
                  "(the op requires both); (N, C) input -> (N, C, 1, 1) (the op takes 4-D). "
                  "Training returns (y, new_running_mean, new_running_var).",
    "batch_norm_backward": "GradientTape through fused_batch_norm (FusedBatchNormGradV3), "
                           "float32 only like the forward.",
    "leaky_relu": "tf.nn.leaky_relu(alpha=negative_slope): alpha is a float op attribute, "
                  "stored in float32, so a float64 result uses float32(negative_slope).",
    "cross_entropy": "Keras's losses on channels-last logits (N, *d, C), dtype = the "
                     "logits': class indices -> SparseCategoricalCrossentropy(from_logits, "
                     "ignore_class = ignore_index); probabilities, or indices with "
                     "label_smoothing (one-hot) -> CategoricalCrossentropy(label_smoothing: "
                     "y (1 - e) + e / C, torch's). reduction 'mean' -> "
                     "'sum_over_batch_size' (over the unignored positions), 'sum', 'none'. "
                     "No class weights (NotImplementedError), no ignore_class with label "
                     "smoothing (NotImplementedError when a target is ignored).",
    "cross_entropy_backward": "GradientTape through the same Keras loss.",
    "conv1d": "tf.nn.conv1d in NWC (tf.nn.convolution when dilated at stride 1), filter "
              "(kL, C/g, K), groups inferred; padding only 'SAME'/'VALID' (and zero): "
              "other padding NotImplementedError (tf.nn.conv1d's docs).",
    "conv3d": "tf.nn.conv3d in NDHWC (tf.nn.convolution when dilated at stride 1); padding "
              "as conv1d (tf.nn.conv3d takes 'SAME'/'VALID' only). CPU Conv3D has no "
              "dilation at stride > 1 and no groups: TF's errors.",
    "max_pool1d": "tf.nn.max_pool1d with explicit pads; dilated: tf.nn.pool('MAX'); no "
                  "ceil_mode: NotImplementedError. Max semantics as max_pool2d.",
    "max_pool3d": "tf.nn.max_pool3d ('SAME'/'VALID' only: padding > 0 NotImplementedError); "
                  "dilated: tf.nn.pool; no ceil_mode. Float32 only (MaxPool3D's T: half, "
                  "bfloat16, float32; https://www.tensorflow.org/api_docs/python/tf/raw_ops/"
                  "MaxPool3D).",
    "avg_pool1d": "tf.nn.avg_pool1d ('VALID' only); no ceil_mode / count_include_pad.",
    "avg_pool3d": "tf.nn.avg_pool3d ('VALID' only); no ceil_mode / count_include_pad / "
                  "divisor_override. Float32 only (AvgPool3D's T: half, bfloat16, float32; "
                  "https://www.tensorflow.org/api_docs/python/tf/raw_ops/AvgPool3D).",
    **{f"conv_transpose{nd}d": f"tf.nn.conv{nd}d_transpose in channels-last with "
       "output_shape = torch's size (output_padding included); filter (*k, C_out, C_in); "
       "zero padding -> 'VALID'" + (", other padding -> explicit pads (asymmetric too)"
                                   if nd == 2 else "; other padding NotImplementedError "
                                   "('SAME'/'VALID' only)") + "; groups > 1 "
       "NotImplementedError (no groups argument)." for nd in (1, 2, 3)},
    "layer_norm": "keras.ops.layer_normalization(x, gamma=weight, beta=bias, axis = the "
                  "last len(normalized_shape) axes, epsilon).",
    "group_norm": "keras.layers.GroupNormalization(groups, axis=1, epsilon; scale/center "
                  "off for a None weight/bias) in the input's dtype, gamma and beta handed "
                  "in by stateless_call (so GradientTape sees them).",
    "instance_norm": "keras GroupNormalization with groups = C (its docs: 'identical to "
                     "Instance Normalization'); use_input_stats=False (running statistics) "
                     "has no TF op: NotImplementedError.",
    "nll_loss": "not defined: TF has no negative log-likelihood loss op (picking "
                "-input[target] is a gather, not a loss operator).",
    "unfold": "tf.image.extract_patches (TF's im2col: sizes, strides, rates = dilation) "
              "on NHWC; its patches (N, Ho, Wo, kH*kW*C), channels fastest, are "
              "reordered to torch's (N, C*kH*kW, Ho*Wo). padding only 'VALID' (zero) or "
              "'SAME' (its docs): other padding NotImplementedError.",
    "unfold_backward": "GradientTape through extract_patches and the reordering.",
    "fold": "not defined: TF has no col2im / fold op.",
    **{f"adaptive_{kind}_pool{nd}d": "not defined: TF core has no adaptive pooling "
       "(TensorFlow Addons, which had AdaptiveAveragePooling, is end-of-life)."
       for kind in ("avg", "max") for nd in (1, 2, 3)},
    **{f"lp_pool{nd}d": "not defined: TF has no Lp pooling op." for nd in (1, 2, 3)},
    **{f"max_unpool{nd}d": "not defined: TF has no max unpooling op "
       "(tf.nn.max_pool_with_argmax has no inverse)." for nd in (1, 2, 3)},
    "dense": "tf.linalg.matmul(x, weight, transpose_b=True), then tf.nn.bias_add.",
}


def _pair(v):
    return (int(v), int(v)) if np.ndim(v) == 0 else tuple(int(a) for a in v)


def _pads(padding):
    """An int, (h, w) or ((top, bottom), (left, right)) -> ((top, bottom), (left, right))."""
    if np.ndim(padding) == 2:
        return tuple(_pair(p) for p in padding)
    ph, pw = _pair(padding)
    return (ph, ph), (pw, pw)


def _explicit(pads):
    """TF's explicit padding list for NHWC."""
    return [[0, 0], list(pads[0]), list(pads[1]), [0, 0]]


def _conv_padding(padding, kernel_hw, dilation_hw):
    """The reference's padding -> TF's named form or explicit NHWC list ('full': every
    partial overlap, d*(k-1) on both sides, which TF has no name for)."""
    if isinstance(padding, str):
        if padding == "full":
            return _explicit([(d * (k - 1),) * 2 for k, d in zip(kernel_hw, dilation_hw)])
        return padding.upper()       # 'same' -> 'SAME', 'valid' -> 'VALID'
    pads = _pads(padding)
    return "VALID" if not any(sum(pads, ())) else _explicit(pads)   # zero: TF's name


def _nhwc(x):
    return tf.transpose(x, [0, 2, 3, 1])


def _nchw(y):
    return tf.transpose(y, [0, 3, 1, 2])


def _vjp(fn, grad_out, wrt, *args, **kwargs):
    """fn(*args, **kwargs) (its first output if a tuple) and GradientTape's gradient with
    upstream grad_out w.r.t. args[i] for i in wrt; an argument that is None gets None."""
    tensors = [tf.convert_to_tensor(a) if isinstance(a, np.ndarray) else a for a in args]
    with tf.GradientTape() as tape:
        for i in wrt:
            if tensors[i] is not None:
                tape.watch(tensors[i])
        out = fn(*tensors, **kwargs)
        out = out[0] if isinstance(out, tuple) else out
    upstream = tf.convert_to_tensor(np.asarray(grad_out, dtype=out.dtype.as_numpy_dtype))
    sources = [tensors[i] for i in wrt if tensors[i] is not None]
    grads = iter(tape.gradient(out, sources, output_gradients=upstream))
    return tuple(None if tensors[i] is None else np.asarray(next(grads)) for i in wrt)


# --- convolution ------------------------------------------------------------------------

def _conv2d_tf(x, weight, bias, stride, padding, dilation):
    """NCHW in, NCHW out; TF filter layout (kH, kW, C/groups, K). A dilated convolution
    at stride 1 with 'SAME' / 'VALID' padding goes to tf.nn.convolution, whose dilated
    path (space_to_batch) has CPU gradients; everything else to tf.nn.conv2d, whose CPU
    gradient kernels refuse dilation > 1 and whose explicit padding lists
    tf.nn.convolution does not take (its docs: padding "VALID" or "SAME")."""
    stride, dilation = _pair(stride), _pair(dilation)
    pads = _conv_padding(padding, weight.shape[2:], dilation)
    op = tf.nn.convolution if (dilation != (1, 1) and stride == (1, 1)
                               and isinstance(pads, str)) else tf.nn.conv2d
    y = op(_nhwc(x), tf.transpose(weight, [2, 3, 1, 0]), strides=stride, padding=pads,
           dilations=dilation)
    if bias is not None:
        y = tf.nn.bias_add(y, bias)
    return _nchw(y)


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    # groups: tf.nn.conv2d infers it from x's channels / the filter's in-channels
    b = None if bias is None else tf.convert_to_tensor(bias)
    return np.asarray(_conv2d_tf(tf.convert_to_tensor(x), tf.convert_to_tensor(weight), b,
                                 stride, padding, dilation))


def conv2d_backward(grad_out, x, weight, bias=None, stride=1, padding=0, dilation=1,
                    groups=1):
    return _vjp(_conv2d_tf, grad_out, (0, 1, 2), x, weight, bias, stride=stride,
                padding=padding, dilation=dilation)


# --- pooling ----------------------------------------------------------------------------

def _pool_tf(x, kind, kernel_size, stride, padding, dilation):
    """kind 'MAX' or 'AVG'. tf.nn.max_pool2d / avg_pool2d have no dilation; tf.nn.pool
    has one, but takes only 'SAME' / 'VALID' and, when dilated, stride 1 (its docs)."""
    kernel = _pair(kernel_size)
    strides = kernel if stride is None else _pair(stride)
    pads, dilation = _pads(padding), _pair(dilation)
    zero = not any(sum(pads, ()))
    if dilation != (1, 1):
        if not zero:
            raise NotImplementedError(f"tensorflow {kind.lower()}_pool2d: explicit padding "
                                      f"with dilation unsupported ({_API}pool: padding "
                                      "must be 'SAME' or 'VALID')")
        if strides != (1, 1):
            raise NotImplementedError(f"tensorflow {kind.lower()}_pool2d: stride > 1 with "
                                      f"dilation unsupported ({_API}pool: 'If any value of "
                                      "strides is > 1, then all values of dilation_rate "
                                      "must be 1')")
        y = tf.nn.pool(_nhwc(x), kernel, kind, strides=strides, padding="VALID",
                       dilations=dilation)
    elif kind == "MAX":
        y = tf.nn.max_pool2d(_nhwc(x), kernel, strides, _explicit(pads))
    else:
        if not zero:
            raise NotImplementedError(f"tensorflow avg_pool2d: explicit padding unsupported "
                                      f"({_API}avg_pool2d: padding 'A string, either "
                                      "'VALID' or 'SAME''")
        y = tf.nn.avg_pool2d(_nhwc(x), kernel, strides, "VALID")
    return _nchw(y)


def _no_pool_flags(func, ceil_mode, count_include_pad=True, divisor_override=None):
    """TF's pooling ops have no ceil_mode, count_include_pad or divisor_override."""
    doc = f"{_API}{func}: no such argument"
    if ceil_mode:
        raise NotImplementedError(f"tensorflow {func}: ceil_mode unsupported ({doc})")
    if divisor_override is not None:     # first: it makes count_include_pad moot
        raise NotImplementedError(f"tensorflow {func}: divisor_override unsupported ({doc})")
    if not count_include_pad:
        raise NotImplementedError(f"tensorflow {func}: count_include_pad=False unsupported "
                                  f"({doc})")


def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    _no_pool_flags("max_pool2d", ceil_mode)
    return np.asarray(_pool_tf(tf.convert_to_tensor(x), "MAX", kernel_size, stride,
                               padding, dilation))


def max_pool2d_backward(grad_out, x, kernel_size, stride=None, padding=0, dilation=1,
                        ceil_mode=False):
    _no_pool_flags("max_pool2d", ceil_mode)
    return _vjp(_pool_tf, grad_out, (0,), x, "MAX", kernel_size, stride, padding,
                dilation)[0]


def avg_pool2d(x, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None, dilation=1):
    _no_pool_flags("avg_pool2d", ceil_mode, count_include_pad, divisor_override)
    return np.asarray(_pool_tf(tf.convert_to_tensor(x), "AVG", kernel_size, stride,
                               padding, dilation))


def avg_pool2d_backward(grad_out, x, kernel_size, stride=None, padding=0, ceil_mode=False,
                        count_include_pad=True, divisor_override=None, dilation=1):
    _no_pool_flags("avg_pool2d", ceil_mode, count_include_pad, divisor_override)
    return _vjp(_pool_tf, grad_out, (0,), x, "AVG", kernel_size, stride, padding,
                dilation)[0]


# --- batch normalisation ----------------------------------------------------------------

def _float32(*arrays):
    """Inputs of a FLOAT32_ONLY function: float32 (None stays None)."""
    return [None if a is None else np.asarray(a, dtype=np.float32) for a in arrays]


def _batch_norm_tf(x, running_mean, running_var, weight, bias, training, momentum, eps):
    """fused_batch_norm in NCHW: (y, running_mean', running_var'). It takes 4-D input and
    requires scale and offset: (N, C) -> (N, C, 1, 1), None -> ones / zeros."""
    c = x.shape[1]
    x4 = tf.reshape(x, [x.shape[0], c, 1, 1]) if x.shape.rank == 2 else x
    scale = tf.ones([c], x.dtype) if weight is None else weight
    offset = tf.zeros([c], x.dtype) if bias is None else bias
    y, mean, var = tf.compat.v1.nn.fused_batch_norm(
        x4, scale, offset, running_mean, running_var, epsilon=eps, data_format="NCHW",
        is_training=bool(training), exponential_avg_factor=momentum)
    return tf.reshape(y, x.shape), mean, var


def batch_norm(x, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-05):
    """Evaluation: y. Training: (y, new_running_mean, new_running_var), TF's update."""
    y, mean, var = _batch_norm_tf(*[None if a is None else tf.convert_to_tensor(a) for a in
                                    _float32(x, running_mean, running_var, weight, bias)],
                                  training, momentum, eps)
    return (np.asarray(y), np.asarray(mean), np.asarray(var)) if training else np.asarray(y)


def batch_norm_backward(grad_out, x, running_mean, running_var, weight=None, bias=None,
                        training=False, momentum=0.1, eps=1e-05):
    arrays = _float32(grad_out, x, running_mean, running_var, weight, bias)
    return _vjp(_batch_norm_tf, arrays[0], (0, 3, 4), *arrays[1:], training=training,
                momentum=momentum, eps=eps)


# --- activations, softmax ---------------------------------------------------------------

def relu(x):
    return np.asarray(tf.nn.relu(x))


def relu_backward(grad_out, x):
    return _vjp(tf.nn.relu, grad_out, (0,), x)[0]


def leaky_relu(x, negative_slope=0.01):
    return np.asarray(tf.nn.leaky_relu(x, alpha=negative_slope))


def leaky_relu_backward(grad_out, x, negative_slope=0.01):
    return _vjp(tf.nn.leaky_relu, grad_out, (0,), x, alpha=negative_slope)[0]


def sigmoid(x):
    return np.asarray(tf.nn.sigmoid(x))


def sigmoid_backward(grad_out, x):
    return _vjp(tf.nn.sigmoid, grad_out, (0,), x)[0]


def tanh(x):
    return np.asarray(tf.nn.tanh(x))


def tanh_backward(grad_out, x):
    return _vjp(tf.nn.tanh, grad_out, (0,), x)[0]


def softmax(x, dim):
    return np.asarray(tf.nn.softmax(x, axis=dim))


def softmax_backward(grad_out, x, dim):
    return _vjp(tf.nn.softmax, grad_out, (0,), x, axis=dim)[0]


def log_softmax(x, dim):
    return np.asarray(tf.nn.log_softmax(x, axis=dim))


def log_softmax_backward(grad_out, x, dim):
    return _vjp(tf.nn.log_softmax, grad_out, (0,), x, axis=dim)[0]


# --- loss, dense ------------------------------------------------------------------------

def _keras_loss(target, classes, ignore_index, reduction, label_smoothing, dtype):
    """The Keras loss object (from_logits, channels-last) and the targets it takes: class
    indices -> SparseCategoricalCrossentropy(ignore_class); probabilities, or indices
    with label smoothing (one-hot: SparseCategoricalCrossentropy has no label_smoothing)
    -> CategoricalCrossentropy(label_smoothing). 'mean' -> 'sum_over_batch_size', which
    divides by the unmasked count."""
    kwargs = {"from_logits": True, "dtype": dtype.name,
              "reduction": {"mean": "sum_over_batch_size", "sum": "sum"}.get(reduction)}
    if target.dtype.is_integer and float(label_smoothing) == 0.0:
        return (tf.keras.losses.SparseCategoricalCrossentropy(
            ignore_class=int(ignore_index), **kwargs), target)
    if target.dtype.is_integer:
        if bool(tf.reduce_any(target == ignore_index)):
            raise NotImplementedError(
                f"tensorflow cross_entropy: ignore_index with label_smoothing unsupported "
                f"({_KERAS_LOSSES}CategoricalCrossentropy: no ignore_class argument)")
        target = tf.one_hot(target, classes, dtype=dtype)
    else:
        target = _last(target) if target.shape.rank > 2 else target
    return (tf.keras.losses.CategoricalCrossentropy(
        label_smoothing=float(label_smoothing), **kwargs), target)


def _cross_entropy_tf(logits, target, weight, ignore_index, reduction, label_smoothing):
    """Keras's softmax cross-entropy losses on channels-last logits (N, *d, C): TF's
    layout, and the only one where CategoricalCrossentropy's label smoothing is right
    (keras 3.15 divides e by the last axis's length whatever `axis` says)."""
    if weight is not None:
        raise NotImplementedError(f"tensorflow cross_entropy: class weights unsupported "
                                  f"({_KERAS_LOSSES}SparseCategoricalCrossentropy: no class "
                                  "weight argument; sample_weight weighs positions)")
    z = _last(logits) if logits.shape.rank > 2 else logits
    loss, y = _keras_loss(target, logits.shape[1], ignore_index, reduction, label_smoothing,
                          logits.dtype)
    return loss(y, z)


def cross_entropy(logits, target, weight=None, ignore_index=-100, reduction="mean",
                  label_smoothing=0.0):
    w = None if weight is None else tf.convert_to_tensor(weight)
    return np.asarray(_cross_entropy_tf(tf.convert_to_tensor(logits),
                                        tf.convert_to_tensor(target), w, ignore_index,
                                        reduction, label_smoothing))


def cross_entropy_backward(grad_out, logits, target, weight=None, ignore_index=-100,
                           reduction="mean", label_smoothing=0.0):
    return _vjp(_cross_entropy_tf, grad_out, (0,), logits, target, weight,
                ignore_index=ignore_index, reduction=reduction,
                label_smoothing=label_smoothing)[0]


def _dense_tf(x, weight, bias):
    y = tf.linalg.matmul(x, weight, transpose_b=True)
    return y if bias is None else tf.nn.bias_add(y, bias)


def dense(x, weight, bias=None):
    b = None if bias is None else tf.convert_to_tensor(bias)
    return np.asarray(_dense_tf(tf.convert_to_tensor(x), tf.convert_to_tensor(weight), b))


def dense_backward(grad_out, x, weight, bias=None):
    return _vjp(_dense_tf, grad_out, (0, 1, 2), x, weight, bias)


# --- 1-D and 3-D convolution and pooling ----------------------------------------------

def _ntuple(v, nd):
    return (int(v),) * nd if np.ndim(v) == 0 else tuple(int(a) for a in v)


def _pads_nd(padding, nd):
    """An int, one per axis or one (before, after) pair per axis -> nd (before, after)."""
    if np.ndim(padding) == 2:
        return tuple(_ntuple(p, 2) for p in padding)
    return tuple((p, p) for p in _ntuple(padding, nd))


def _last(x):
    """(N, C, *spatial) -> (N, *spatial, C), TF's channels-last layout."""
    return tf.transpose(x, [0, *range(2, x.shape.rank), 1])


def _first(y):
    """(N, *spatial, C) -> (N, C, *spatial)."""
    return tf.transpose(y, [0, y.shape.rank - 1, *range(1, y.shape.rank - 1)])


def _named_padding(func, padding, kernel, dilation):
    """'same' / 'valid' -> 'SAME' / 'VALID', zero padding -> 'VALID'; any other padding
    is NotImplementedError: tf.nn.conv1d, conv3d, the 3-D pools and conv1d/3d_transpose
    take only 'SAME' or 'VALID' (their docs)."""
    if isinstance(padding, str) and padding != "full":
        return padding.upper()
    if not isinstance(padding, str) and not any(sum(_pads_nd(padding, len(kernel)), ())):
        return "VALID"
    raise NotImplementedError(f"tensorflow {func}: padding={padding!r} unsupported ({_API}"
                              f"{func.replace('_backward', '')}: padding 'SAME' or 'VALID')")


def _conv_nd_tf(x, weight, bias, stride, padding, dilation, func):
    """tf.nn.conv1d / tf.nn.conv3d in channels-last, filter (*k, C/groups, K), groups
    inferred by TF; a dilated convolution at stride 1 goes to tf.nn.convolution
    (space_to_batch, CPU gradients). Not tf.nn.convolution throughout: its undilated 3-D
    call leaves Conv3D's data_format unset, and GradientTape's Conv3D gradient then fails
    ("'NoneType' object has no attribute 'decode'", TF 2.21)."""
    nd = x.shape.rank - 2
    s, d = _ntuple(stride, nd), _ntuple(dilation, nd)
    pads = _named_padding(func, padding, weight.shape[2:], d)
    w = tf.transpose(weight, [*range(2, nd + 2), 1, 0])
    if d != (1,) * nd and s == (1,) * nd:
        y = tf.nn.convolution(_last(x), w, strides=s, padding=pads, dilations=d)
    elif nd == 1:
        y = tf.nn.conv1d(_last(x), w, s, pads, dilations=d)
    else:
        y = tf.nn.conv3d(_last(x), w, [1, *s, 1], pads, dilations=[1, *d, 1])
    return _first(y if bias is None else tf.nn.bias_add(y, bias))


def _conv_nd(func, x, weight, bias, stride, padding, dilation):
    b = None if bias is None else tf.convert_to_tensor(bias)
    return np.asarray(_conv_nd_tf(tf.convert_to_tensor(x), tf.convert_to_tensor(weight), b,
                                  stride, padding, dilation, func))


def conv1d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    return _conv_nd("conv1d", x, weight, bias, stride, padding, dilation)


def conv3d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    return _conv_nd("conv3d", x, weight, bias, stride, padding, dilation)


def conv1d_backward(grad_out, x, weight, bias=None, stride=1, padding=0, dilation=1,
                    groups=1):
    return _vjp(_conv_nd_tf, grad_out, (0, 1, 2), x, weight, bias, stride=stride,
                padding=padding, dilation=dilation, func="conv1d")


def conv3d_backward(grad_out, x, weight, bias=None, stride=1, padding=0, dilation=1,
                    groups=1):
    return _vjp(_conv_nd_tf, grad_out, (0, 1, 2), x, weight, bias, stride=stride,
                padding=padding, dilation=dilation, func="conv3d")


def _pool_nd_tf(x, kind, kernel_size, stride, padding, dilation, func):
    """tf.nn.max_pool1d (explicit pads), tf.nn.max_pool3d / avg_pool1d / avg_pool3d
    ('SAME' / 'VALID' only), tf.nn.pool when dilated ('SAME' / 'VALID', stride 1)."""
    nd = x.shape.rank - 2
    kernel = _ntuple(kernel_size, nd)
    strides = kernel if stride is None else _ntuple(stride, nd)
    dilation, pads = _ntuple(dilation, nd), _pads_nd(padding, nd)
    if dilation != (1,) * nd:
        named = _named_padding(func, padding, kernel, dilation)
        if strides != (1,) * nd:
            raise NotImplementedError(f"tensorflow {func}: stride > 1 with dilation "
                                      f"unsupported ({_API}pool: 'If any value of strides "
                                      "is > 1, then all values of dilation_rate must be 1')")
        y = tf.nn.pool(_last(x), kernel, kind, strides=strides, padding=named,
                       dilations=dilation)
    elif kind == "MAX" and nd == 1:
        y = tf.nn.max_pool1d(_last(x), kernel, strides, [[0, 0], list(pads[0]), [0, 0]])
    else:
        op = {("MAX", 3): tf.nn.max_pool3d, ("AVG", 1): tf.nn.avg_pool1d,
              ("AVG", 3): tf.nn.avg_pool3d}[kind, nd]
        y = op(_last(x), kernel, strides, _named_padding(func, padding, kernel, dilation))
    return _first(y)


def max_pool1d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    _no_pool_flags("max_pool1d", ceil_mode)
    return np.asarray(_pool_nd_tf(tf.convert_to_tensor(x), "MAX", kernel_size, stride,
                                  padding, dilation, "max_pool1d"))


def max_pool3d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    _no_pool_flags("max_pool3d", ceil_mode)
    (x,) = _float32(x)
    return np.asarray(_pool_nd_tf(tf.convert_to_tensor(x), "MAX", kernel_size, stride,
                                  padding, dilation, "max_pool3d"))


def avg_pool1d(x, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, dilation=1):
    _no_pool_flags("avg_pool1d", ceil_mode, count_include_pad)
    return np.asarray(_pool_nd_tf(tf.convert_to_tensor(x), "AVG", kernel_size, stride,
                                  padding, dilation, "avg_pool1d"))


def avg_pool3d(x, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None, dilation=1):
    _no_pool_flags("avg_pool3d", ceil_mode, count_include_pad, divisor_override)
    (x,) = _float32(x)
    return np.asarray(_pool_nd_tf(tf.convert_to_tensor(x), "AVG", kernel_size, stride,
                                  padding, dilation, "avg_pool3d"))


def max_pool1d_backward(grad_out, x, kernel_size, stride=None, padding=0, dilation=1,
                        ceil_mode=False):
    _no_pool_flags("max_pool1d", ceil_mode)
    return _vjp(_pool_nd_tf, grad_out, (0,), x, "MAX", kernel_size, stride, padding,
                dilation, "max_pool1d")[0]


def max_pool3d_backward(grad_out, x, kernel_size, stride=None, padding=0, dilation=1,
                        ceil_mode=False):
    _no_pool_flags("max_pool3d", ceil_mode)
    grad_out, x = _float32(grad_out, x)
    return _vjp(_pool_nd_tf, grad_out, (0,), x, "MAX", kernel_size, stride, padding,
                dilation, "max_pool3d")[0]


def avg_pool1d_backward(grad_out, x, kernel_size, stride=None, padding=0, ceil_mode=False,
                        count_include_pad=True, dilation=1):
    _no_pool_flags("avg_pool1d", ceil_mode, count_include_pad)
    return _vjp(_pool_nd_tf, grad_out, (0,), x, "AVG", kernel_size, stride, padding,
                dilation, "avg_pool1d")[0]


def avg_pool3d_backward(grad_out, x, kernel_size, stride=None, padding=0, ceil_mode=False,
                        count_include_pad=True, divisor_override=None, dilation=1):
    _no_pool_flags("avg_pool3d", ceil_mode, count_include_pad, divisor_override)
    grad_out, x = _float32(grad_out, x)
    return _vjp(_pool_nd_tf, grad_out, (0,), x, "AVG", kernel_size, stride, padding,
                dilation, "avg_pool3d")[0]


# --- transposed convolution -------------------------------------------------------------

def _transpose_padding(func, padding, nd):
    """Zero -> 'VALID'; tf.nn.conv2d_transpose also takes explicit pads (NHWC list);
    conv1d_transpose and conv3d_transpose take only 'SAME' / 'VALID' (their docs)."""
    pads = _pads_nd(padding, nd)
    if not any(sum(pads, ())):
        return "VALID"
    if nd == 2:
        return [[0, 0], list(pads[0]), list(pads[1]), [0, 0]]
    raise NotImplementedError(f"tensorflow {func}: padding={padding!r} unsupported ({_API}"
                              f"{func.replace('_backward', '')}: padding 'SAME' or 'VALID')")


def _conv_transpose_tf(x, weight, bias, stride, padding, output_padding, dilation, func):
    """tf.nn.conv{1,2,3}d_transpose in channels-last with output_shape given explicitly:
    torch's (i - 1)*s - p_before - p_after + d*(k - 1) + output_padding + 1; weight
    (C_in, C_out, *k) -> TF's filter (*k, C_out, C_in)."""
    nd = x.shape.rank - 2
    s, d = _ntuple(stride, nd), _ntuple(dilation, nd)
    pads, extra = _pads_nd(padding, nd), _ntuple(output_padding, nd)
    out = [(i - 1) * st - a - b + dl * (k - 1) + e + 1 for i, st, (a, b), dl, k, e
           in zip(x.shape[2:], s, pads, d, weight.shape[2:], extra)]
    op = {1: tf.nn.conv1d_transpose, 2: tf.nn.conv2d_transpose,
          3: tf.nn.conv3d_transpose}[nd]
    y = op(_last(x), tf.transpose(weight, [*range(2, nd + 2), 1, 0]),
           [x.shape[0], *out, weight.shape[1]], s,
           _transpose_padding(func, padding, nd), dilations=d)
    return _first(y if bias is None else tf.nn.bias_add(y, bias))


def _no_groups(func, groups):
    if groups != 1:
        raise NotImplementedError(f"tensorflow {func}: groups > 1 unsupported "
                                  f"({_API}{func.replace('_backward', '')}: no groups "
                                  "argument)")


def _conv_transpose(func, x, weight, bias, stride, padding, output_padding, groups,
                    dilation):
    _no_groups(func, groups)
    b = None if bias is None else tf.convert_to_tensor(bias)
    return np.asarray(_conv_transpose_tf(tf.convert_to_tensor(x), tf.convert_to_tensor(weight),
                                         b, stride, padding, output_padding, dilation, func))


def _conv_transpose_backward(func, grad_out, x, weight, bias, stride, padding,
                             output_padding, groups, dilation):
    _no_groups(func, groups)
    return _vjp(_conv_transpose_tf, grad_out, (0, 1, 2), x, weight, bias, stride=stride,
                padding=padding, output_padding=output_padding, dilation=dilation,
                func=func)


def conv_transpose1d(x, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    return _conv_transpose("conv1d_transpose", x, weight, bias, stride, padding,
                           output_padding, groups, dilation)


def conv_transpose2d(x, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    return _conv_transpose("conv2d_transpose", x, weight, bias, stride, padding,
                           output_padding, groups, dilation)


def conv_transpose3d(x, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    return _conv_transpose("conv3d_transpose", x, weight, bias, stride, padding,
                           output_padding, groups, dilation)


def conv_transpose1d_backward(grad_out, x, weight, bias=None, stride=1, padding=0,
                              output_padding=0, groups=1, dilation=1):
    return _conv_transpose_backward("conv1d_transpose", grad_out, x, weight, bias, stride,
                                    padding, output_padding, groups, dilation)


def conv_transpose2d_backward(grad_out, x, weight, bias=None, stride=1, padding=0,
                              output_padding=0, groups=1, dilation=1):
    return _conv_transpose_backward("conv2d_transpose", grad_out, x, weight, bias, stride,
                                    padding, output_padding, groups, dilation)


def conv_transpose3d_backward(grad_out, x, weight, bias=None, stride=1, padding=0,
                              output_padding=0, groups=1, dilation=1):
    return _conv_transpose_backward("conv3d_transpose", grad_out, x, weight, bias, stride,
                                    padding, output_padding, groups, dilation)


# --- layer, group and instance norm -------------------------------------------------------

def _layer_norm_tf(x, normalized_shape, weight, bias, eps):
    """keras.ops.layer_normalization over the last len(normalized_shape) axes; gamma and
    beta have normalized_shape, as torch's weight and bias (None: no scale / shift)."""
    k = len(normalized_shape) if isinstance(normalized_shape, (tuple, list)) else 1
    return tf.keras.ops.layer_normalization(x, weight, bias,
                                            axis=list(range(x.shape.rank - k, x.shape.rank)),
                                            epsilon=eps)


def layer_norm(x, normalized_shape, weight=None, bias=None, eps=1e-05):
    w, b = (None if a is None else tf.convert_to_tensor(a) for a in (weight, bias))
    return np.asarray(_layer_norm_tf(tf.convert_to_tensor(x), normalized_shape, w, b, eps))


def layer_norm_backward(grad_out, x, normalized_shape, weight=None, bias=None, eps=1e-05):
    return _vjp(_layer_norm_tf, grad_out, (0, 2, 3), x, normalized_shape, weight, bias,
                eps)


def _group_norm_tf(x, num_groups, weight, bias, eps):
    """keras.layers.GroupNormalization(groups, axis=1) in the input's dtype; its gamma and
    beta (per channel, as torch's) are handed in by stateless_call, so the tape sees them;
    weight or bias None -> scale=False or center=False."""
    layer = tf.keras.layers.GroupNormalization(
        groups=int(num_groups), axis=1, epsilon=eps, scale=weight is not None,
        center=bias is not None, dtype=x.dtype.name)
    layer.build(x.shape)
    y, _ = layer.stateless_call([v for v in (weight, bias) if v is not None], [], x)
    return y


def group_norm(x, num_groups, weight=None, bias=None, eps=1e-05):
    w, b = (None if a is None else tf.convert_to_tensor(a) for a in (weight, bias))
    return np.asarray(_group_norm_tf(tf.convert_to_tensor(x), num_groups, w, b, eps))


def group_norm_backward(grad_out, x, num_groups, weight=None, bias=None, eps=1e-05):
    return _vjp(_group_norm_tf, grad_out, (0, 2, 3), x, num_groups, weight, bias, eps)


def _instance_norm_tf(x, running_mean, running_var, weight, bias, use_input_stats, eps):
    """GroupNormalization with one group per channel, which its docs call "identical to
    Instance Normalization". TF has no op normalising by running statistics."""
    if not use_input_stats:
        raise NotImplementedError(
            f"tensorflow instance_norm: use_input_stats=False unsupported ({_KERAS_NORM}: "
            "normalises by each instance's statistics only)")
    return _group_norm_tf(x, x.shape[1], weight, bias, eps)


def instance_norm(x, running_mean=None, running_var=None, weight=None, bias=None,
                  use_input_stats=True, momentum=0.1, eps=1e-05):
    w, b = (None if a is None else tf.convert_to_tensor(a) for a in (weight, bias))
    return np.asarray(_instance_norm_tf(tf.convert_to_tensor(x), running_mean, running_var,
                                        w, b, use_input_stats, eps))


def instance_norm_backward(grad_out, x, running_mean=None, running_var=None, weight=None,
                           bias=None, use_input_stats=True, momentum=0.1, eps=1e-05):
    return _vjp(_instance_norm_tf, grad_out, (0, 3, 4), x, running_mean, running_var,
                weight, bias, use_input_stats, eps)


# --- unfold ---------------------------------------------------------------------------------

def _unfold_tf(x, kernel_size, dilation, padding, stride):
    """tf.image.extract_patches on NHWC -> (N, Ho, Wo, kH*kW*C) in (kH, kW, C) order,
    reordered to torch's (N, C*kH*kW, Ho*Wo) with C slowest."""
    if any(_ntuple(padding, 2)):
        raise NotImplementedError(f"tensorflow unfold: padding={padding!r} unsupported "
                                  "(https://www.tensorflow.org/api_docs/python/tf/image/"
                                  "extract_patches: padding 'VALID' or 'SAME')")
    (kh, kw), (sh, sw), (dh, dw) = (_ntuple(v, 2) for v in (kernel_size, stride, dilation))
    p = tf.image.extract_patches(_last(x), [1, kh, kw, 1], [1, sh, sw, 1], [1, dh, dw, 1],
                                 "VALID")
    n, ho, wo, _ = p.shape
    p = tf.reshape(p, [n, ho * wo, kh, kw, x.shape[1]])
    return tf.reshape(tf.transpose(p, [0, 4, 2, 3, 1]), [n, -1, ho * wo])


def unfold(x, kernel_size, dilation=1, padding=0, stride=1):
    return np.asarray(_unfold_tf(tf.convert_to_tensor(x), kernel_size, dilation, padding,
                                 stride))


def unfold_backward(grad_out, x, kernel_size, dilation=1, padding=0, stride=1):
    return _vjp(_unfold_tf, grad_out, (0,), x, kernel_size, dilation, padding, stride)[0]
