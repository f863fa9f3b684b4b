"""MLX adapter (tested with mlx 0.32.4, `pip install "mlx[cpu]"`, on its CPU device,
where float64 is supported; arrays are made with the NumPy array's own dtype, since
mx.array(float64 ndarray) alone would give float32).

What maps onto what (MLX is channels-last: NCHW is transposed to NHWC and back inside the
differentiated function, the weight (K, C/g, kH, kW) to MLX's (K, kH, kW, C/g)):
  conv2d          mx.conv_general(x, w, stride, ((top, left), (bottom, right)),
                  kernel_dilation=dilation, groups=groups) + bias; MLX names no padding
                  form, so 'valid' is 0, 'same' and 'full' their explicit pads (torch's
                  'same': total d*(k-1), the extra one at the end)
  max_pool2d      nn.MaxPool2d(kernel_size, stride, padding): no dilation, no ceil_mode,
                  symmetric padding only (its signature: NotImplementedError otherwise)
  avg_pool2d      nn.AvgPool2d(kernel_size, stride, padding): zero padding counted in the
                  divisor; no ceil_mode, count_include_pad=False, divisor_override or
                  dilation (NotImplementedError)
  batch_norm      nn.BatchNorm(C, eps, momentum) with its weight, bias and running
                  statistics set, .train() or .eval(); returns (y, running_mean,
                  running_var) as the layer leaves them
  relu, leaky_relu, log_softmax: mlx.nn; sigmoid, tanh, softmax: mlx.core
  cross_entropy   nn.losses.cross_entropy(logits, target, axis=1, label_smoothing,
                  reduction): no class weights (its `weights` are per target) and no
                  ignore_index, so the signature has neither; probability targets as given
  nll_loss        nn.losses.nll_loss(input, target, axis=1, reduction): no weight, no
                  ignore_index
  dense           x @ weight.T + bias (nn.Linear's addmm)
  conv1d, conv3d  mx.conv_general as conv2d (MLX's grouped kernels: 1-D and 2-D only)
  conv_transpose1d/2d/3d  mx.conv_transpose{n}d(x, w, stride, padding, dilation,
                  output_padding, groups), torch's weight (C_in, C_out/g, *k) regrouped to
                  MLX's (C_out, *k, C_in/g); symmetric padding only (NotImplementedError)
  max_pool1d/3d, avg_pool1d/3d  nn.MaxPool{n}d / nn.AvgPool{n}d, as in 2-D
  layer_norm      mx.fast.layer_norm over the normalized axes flattened into one
  group_norm      nn.GroupNorm(num_groups, C, eps, pytorch_compatible=True): torch's
                  contiguous groups (MLX's default interleaves the channels)
  instance_norm   nn.InstanceNorm(C, eps, affine): no running statistics
                  (use_input_stats=False: NotImplementedError)
Not defined (mlx.nn has no such layer): unfold, fold, adaptive pooling, lp pooling,
max_unpool.
Gradients: mx.vjp of the same function with grad_out as the cotangent.
Docs: https://ml-explore.github.io/mlx/build/html/python/nn/layers.html
"""
from __future__ import annotations

import numpy as np
import mlx.core as mx
import mlx.nn as nn

mx.set_default_device(mx.cpu)   # float64 runs on the CPU only

NOTES = {
    "conv2d": "mx.conv_general in NHWC with explicit (low, high) pads; 'same' and 'full' "
              "as their explicit pads (MLX names no padding form).",
    "max_pool2d": "nn.MaxPool2d: no dilation, no ceil_mode, symmetric pads only "
                  "(NotImplementedError).",
    "avg_pool2d": "nn.AvgPool2d: count_include_pad=True only, no ceil_mode, "
                  "divisor_override or dilation (NotImplementedError).",
    "batch_norm": "nn.BatchNorm (channels last), train() / eval(); returns (y, "
                  "running_mean, running_var) as the layer leaves them.",
    "conv_transpose2d": "mx.conv_transpose2d with the weight regrouped; its padding is "
                        "symmetric (NotImplementedError for pairs).",
    "group_norm": "nn.GroupNorm(pytorch_compatible=True): the default groups channels "
                  "c, c + G, c + 2G, ... (interleaved), not torch's contiguous blocks.",
    "instance_norm": "nn.InstanceNorm keeps no running statistics: use_input_stats=False "
                     "is NotImplementedError.",
    "cross_entropy": "nn.losses.cross_entropy(axis=1): no class weight (its weights are "
                     "per target) and no ignore_index; label_smoothing in [0, 1) only.",
    "nll_loss": "nn.losses.nll_loss(axis=1): no class weight, no ignore_index.",
}

def _last(a):
    """(N, C, *spatial) -> (N, *spatial, C): MLX's layout."""
    return a.transpose((0,) + tuple(range(2, a.ndim)) + (1,))


def _first(a):
    """(N, *spatial, C) -> (N, C, *spatial)."""
    return a.transpose((0, a.ndim - 1) + tuple(range(1, a.ndim - 1)))


def _a(v):
    """A NumPy array (or None) as an MLX array of the same dtype."""
    if v is None:
        return None
    v = np.asarray(v)
    return mx.array(v, dtype=mx.float64 if v.dtype == np.float64 else mx.float32) \
        if v.dtype.kind == "f" else mx.array(v)


def _np(a):
    return None if a is None else np.array(a)


def _axes(v, nd):
    """An int or one value per axis -> a tuple of nd ints."""
    return (int(v),) * nd if np.ndim(v) == 0 else tuple(int(a) for a in v)


def _pair(v):
    return _axes(v, 2)


def _pads(padding, nd=2):
    """An int, one per axis, or ((before, after), ...) -> ((before, after), ...)."""
    if np.ndim(padding) == 2:
        return tuple(_axes(p, 2) for p in padding)
    return tuple((p, p) for p in _axes(padding, nd))


def _vjp(f, grad_out, *inputs):
    """Gradients of f at inputs (None for an input that is None) with grad_out."""
    live = [i for i, v in enumerate(inputs) if v is not None]

    def g(*args):
        full = [_a(v) for v in inputs]
        for i, a in zip(live, args):
            full[i] = a
        return f(*full)
    primals = [_a(inputs[i]) for i in live]
    out = g(*primals)
    _, grads = mx.vjp(g, primals, [_a(grad_out).astype(out.dtype)])
    grads = iter(grads)
    return tuple(None if v is None else _np(next(grads)) for v in inputs)


# --- convolution -------------------------------------------------------------------------

def _conv_pads(padding, weight, dilation):
    """((before, after), ...) per spatial axis of any padding form."""
    nd = weight.ndim - 2
    d, k = _axes(dilation, nd), weight.shape[2:]
    if padding == "valid":
        return ((0, 0),) * nd
    if padding == "full":
        return tuple((di * (ki - 1),) * 2 for di, ki in zip(d, k))
    if padding == "same":
        total = [di * (ki - 1) for di, ki in zip(d, k)]
        return tuple((t // 2, t - t // 2) for t in total)
    return _pads(padding, nd)


def _conv(x, weight, bias, stride, padding, dilation, groups):
    """mx.conv_general channels-last, for 1, 2 or 3 spatial axes (the weight's rank)."""
    nd = weight.ndim - 2
    pads = _conv_pads(padding, weight, dilation)
    out = mx.conv_general(_last(x), _last(weight), _axes(stride, nd),
                          ([a for a, _ in pads], [b for _, b in pads]),
                          kernel_dilation=_axes(dilation, nd), groups=groups)
    out = out if bias is None else out + bias
    return _first(out)


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    return _np(_conv(_a(x), _a(weight), _a(bias), stride, padding, dilation, groups))


def conv2d_backward(grad_out, x, weight, bias=None, stride=1, padding=0, dilation=1,
                    groups=1):
    return _vjp(lambda a, w, b: _conv(a, w, b, stride, padding, dilation, groups),
                grad_out, x, weight, bias)


def conv1d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    return _np(_conv(_a(x), _a(weight), _a(bias), stride, padding, dilation, groups))


def conv1d_backward(grad_out, x, weight, bias=None, stride=1, padding=0, dilation=1,
                    groups=1):
    return _vjp(lambda a, w, b: _conv(a, w, b, stride, padding, dilation, groups),
                grad_out, x, weight, bias)


def conv3d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    return _np(_conv(_a(x), _a(weight), _a(bias), stride, padding, dilation, groups))


def conv3d_backward(grad_out, x, weight, bias=None, stride=1, padding=0, dilation=1,
                    groups=1):
    return _vjp(lambda a, w, b: _conv(a, w, b, stride, padding, dilation, groups),
                grad_out, x, weight, bias)


def _conv_transpose(x, weight, bias, stride, padding, output_padding, groups, dilation):
    """mx.conv_transpose{n}d channels-last; torch's weight (C_in, C_out/g, *k) becomes
    MLX's (C_out, *k, C_in/g), group by group. Its padding is one int per axis."""
    nd = weight.ndim - 2
    pads = _pads(padding, nd)
    if any(a != b for a, b in pads):
        raise NotImplementedError(f"mx.conv_transpose{nd}d takes symmetric padding only "
                                  "(padding: int or one per axis)")
    cin, cout_g, k = weight.shape[0], weight.shape[1], weight.shape[2:]
    w = weight.reshape(groups, cin // groups, cout_g, *k)
    w = w.transpose((0, 2) + tuple(range(3, 3 + nd)) + (1,))
    w = w.reshape(groups * cout_g, *k, cin // groups)
    one = (lambda v: v[0]) if nd == 1 else (lambda v: v)    # noqa: E731 - 1-D takes ints
    out = getattr(mx, f"conv_transpose{nd}d")(
        _last(x), w, stride=one(_axes(stride, nd)), padding=one(tuple(a for a, _ in pads)),
        dilation=one(_axes(dilation, nd)), output_padding=one(_axes(output_padding, nd)),
        groups=groups)
    out = out if bias is None else out + bias
    return _first(out)


def conv_transpose1d(x, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    return _np(_conv_transpose(_a(x), _a(weight), _a(bias), stride, padding, output_padding,
                               groups, dilation))


def conv_transpose1d_backward(grad_out, x, weight, bias=None, stride=1, padding=0,
                              output_padding=0, groups=1, dilation=1):
    return _vjp(lambda a, w, b: _conv_transpose(a, w, b, stride, padding, output_padding,
                                                groups, dilation), grad_out, x, weight, bias)


def conv_transpose2d(x, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    return _np(_conv_transpose(_a(x), _a(weight), _a(bias), stride, padding, output_padding,
                               groups, dilation))


def conv_transpose2d_backward(grad_out, x, weight, bias=None, stride=1, padding=0,
                              output_padding=0, groups=1, dilation=1):
    return _vjp(lambda a, w, b: _conv_transpose(a, w, b, stride, padding, output_padding,
                                                groups, dilation), grad_out, x, weight, bias)


def conv_transpose3d(x, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    return _np(_conv_transpose(_a(x), _a(weight), _a(bias), stride, padding, output_padding,
                               groups, dilation))


def conv_transpose3d_backward(grad_out, x, weight, bias=None, stride=1, padding=0,
                              output_padding=0, groups=1, dilation=1):
    return _vjp(lambda a, w, b: _conv_transpose(a, w, b, stride, padding, output_padding,
                                                groups, dilation), grad_out, x, weight, bias)


# --- pooling -----------------------------------------------------------------------------

def _pool_args(stride, padding, dilation, ceil_mode, nd=2):
    """nn.MaxPool{n}d / AvgPool{n}d take (kernel, stride, symmetric padding) and nothing
    else."""
    if ceil_mode or _axes(dilation, nd) != (1,) * nd:
        raise NotImplementedError("mlx.nn pooling has no ceil_mode or dilation")
    pads = _pads(padding, nd)
    if any(a != b for a, b in pads):
        raise NotImplementedError("mlx.nn pooling takes symmetric padding only")
    return (None if stride is None else _axes(stride, nd)), tuple(a for a, _ in pads)


def _max_pool(x, kernel_size, stride, padding, dilation, ceil_mode):
    nd = x.ndim - 2
    stride, pad = _pool_args(stride, padding, dilation, ceil_mode, nd)
    layer = getattr(nn, f"MaxPool{nd}d")(_axes(kernel_size, nd), stride, pad)
    return _first(layer(_last(x)))


def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    return _np(_max_pool(_a(x), kernel_size, stride, padding, dilation, ceil_mode))


def max_pool2d_backward(grad_out, x, kernel_size, stride=None, padding=0, dilation=1,
                        ceil_mode=False):
    return _vjp(lambda a: _max_pool(a, kernel_size, stride, padding, dilation, ceil_mode),
                grad_out, x)[0]


def max_pool1d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    return _np(_max_pool(_a(x), kernel_size, stride, padding, dilation, ceil_mode))


def max_pool1d_backward(grad_out, x, kernel_size, stride=None, padding=0, dilation=1,
                        ceil_mode=False):
    return _vjp(lambda a: _max_pool(a, kernel_size, stride, padding, dilation, ceil_mode),
                grad_out, x)[0]


def max_pool3d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    return _np(_max_pool(_a(x), kernel_size, stride, padding, dilation, ceil_mode))


def max_pool3d_backward(grad_out, x, kernel_size, stride=None, padding=0, dilation=1,
                        ceil_mode=False):
    return _vjp(lambda a: _max_pool(a, kernel_size, stride, padding, dilation, ceil_mode),
                grad_out, x)[0]


def _avg_pool(x, kernel_size, stride, padding, ceil_mode, count_include_pad,
              divisor_override, dilation):
    nd = x.ndim - 2
    if not count_include_pad or divisor_override is not None:
        raise NotImplementedError(f"mlx.nn.AvgPool{nd}d has no count_include_pad or "
                                  "divisor_override")
    stride, pad = _pool_args(stride, padding, dilation, ceil_mode, nd)
    layer = getattr(nn, f"AvgPool{nd}d")(_axes(kernel_size, nd), stride, pad)
    return _first(layer(_last(x)))


def avg_pool2d(x, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None, dilation=1):
    return _np(_avg_pool(_a(x), kernel_size, stride, padding, ceil_mode, count_include_pad,
                         divisor_override, dilation))


def avg_pool2d_backward(grad_out, x, kernel_size, stride=None, padding=0, ceil_mode=False,
                        count_include_pad=True, divisor_override=None, dilation=1):
    return _vjp(lambda a: _avg_pool(a, kernel_size, stride, padding, ceil_mode,
                                    count_include_pad, divisor_override, dilation),
                grad_out, x)[0]


def avg_pool1d(x, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, dilation=1):
    return _np(_avg_pool(_a(x), kernel_size, stride, padding, ceil_mode, count_include_pad,
                         None, dilation))


def avg_pool1d_backward(grad_out, x, kernel_size, stride=None, padding=0, ceil_mode=False,
                        count_include_pad=True, dilation=1):
    return _vjp(lambda a: _avg_pool(a, kernel_size, stride, padding, ceil_mode,
                                    count_include_pad, None, dilation), grad_out, x)[0]


def avg_pool3d(x, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None, dilation=1):
    return _np(_avg_pool(_a(x), kernel_size, stride, padding, ceil_mode, count_include_pad,
                         divisor_override, dilation))


def avg_pool3d_backward(grad_out, x, kernel_size, stride=None, padding=0, ceil_mode=False,
                        count_include_pad=True, divisor_override=None, dilation=1):
    return _vjp(lambda a: _avg_pool(a, kernel_size, stride, padding, ceil_mode,
                                    count_include_pad, divisor_override, dilation),
                grad_out, x)[0]


# --- batch norm --------------------------------------------------------------------------

def _bn_layer(running_mean, running_var, weight, bias, training, momentum, eps):
    layer = nn.BatchNorm(running_mean.shape[0], eps=eps, momentum=momentum,
                         affine=weight is not None or bias is not None)
    layer.running_mean, layer.running_var = _a(running_mean), _a(running_var)
    if weight is not None or bias is not None:
        ones = np.ones_like(running_mean)
        layer.weight = _a(ones if weight is None else weight)
        layer.bias = _a(0 * ones if bias is None else bias)
    layer.train(training)
    return layer


def _bn(layer, x):
    perm = (0,) + tuple(range(2, x.ndim)) + (1,)         # channels last
    back = (0, x.ndim - 1) + tuple(range(1, x.ndim - 1))
    return layer(x.transpose(perm)).transpose(back)


def batch_norm(x, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-05):
    layer = _bn_layer(running_mean, running_var, weight, bias, training, momentum, eps)
    y = _np(_bn(layer, _a(x)))
    if not training:
        return y
    return y, _np(layer.running_mean), _np(layer.running_var)


def batch_norm_backward(grad_out, x, running_mean, running_var, weight=None, bias=None,
                        training=False, momentum=0.1, eps=1e-05):
    def f(a, w, b):
        layer = _bn_layer(running_mean, running_var, weight, bias, training, momentum, eps)
        if w is not None:
            layer.weight = w
        if b is not None:
            layer.bias = b
        return _bn(layer, a)
    return _vjp(f, grad_out, x, weight, bias)


# --- layer, group and instance norm ------------------------------------------------------

def _layer_norm(x, normalized_shape, weight, bias, eps):
    """mx.fast.layer_norm normalises the last axis: the normalized axes are flattened into
    one (and weight, bias with them) and the result reshaped back."""
    k = len(normalized_shape) if np.ndim(normalized_shape) else 1
    flat = x.reshape(*x.shape[:x.ndim - k], -1)
    w = None if weight is None else weight.reshape(-1)
    b = None if bias is None else bias.reshape(-1)
    return mx.fast.layer_norm(flat, w, b, eps).reshape(x.shape)


def layer_norm(x, normalized_shape, weight=None, bias=None, eps=1e-05):
    return _np(_layer_norm(_a(x), normalized_shape, _a(weight), _a(bias), eps))


def layer_norm_backward(grad_out, x, normalized_shape, weight=None, bias=None, eps=1e-05):
    return _vjp(lambda a, w, b: _layer_norm(a, normalized_shape, w, b, eps), grad_out, x,
                weight, bias)


def _affine(layer, weight, bias, c):
    """A layer's weight and bias (ones, zeros where only the other is given), or neither."""
    if weight is None and bias is None:
        return layer
    layer.weight = mx.ones((c,), dtype=(weight if bias is None else bias).dtype) \
        if weight is None else weight
    layer.bias = mx.zeros((c,), dtype=layer.weight.dtype) if bias is None else bias
    return layer


def _group_norm(x, num_groups, weight, bias, eps):
    """nn.GroupNorm channels-last with pytorch_compatible=True: its default groups
    interleaved channels (channel c in group c % num_groups), torch contiguous ones."""
    c = x.shape[1]
    layer = nn.GroupNorm(num_groups, c, eps=eps, affine=weight is not None or bias is not None,
                         pytorch_compatible=True)
    return _first(_affine(layer, weight, bias, c)(_last(x)))


def group_norm(x, num_groups, weight=None, bias=None, eps=1e-05):
    return _np(_group_norm(_a(x), num_groups, _a(weight), _a(bias), eps))


def group_norm_backward(grad_out, x, num_groups, weight=None, bias=None, eps=1e-05):
    return _vjp(lambda a, w, b: _group_norm(a, num_groups, w, b, eps), grad_out, x, weight,
                bias)


def _instance_norm(x, weight, bias, use_input_stats, eps):
    """nn.InstanceNorm channels-last; it keeps no running statistics, so the input's are
    the only ones it can use."""
    if not use_input_stats:
        raise NotImplementedError("mlx.nn.InstanceNorm keeps no running statistics "
                                  "(use_input_stats=False)")
    c = x.shape[1]
    layer = nn.InstanceNorm(c, eps=eps, affine=weight is not None or bias is not None)
    return _first(_affine(layer, weight, bias, c)(_last(x)))


def instance_norm(x, running_mean=None, running_var=None, weight=None, bias=None,
                  use_input_stats=True, momentum=0.1, eps=1e-05):
    return _np(_instance_norm(_a(x), _a(weight), _a(bias), use_input_stats, eps))


def instance_norm_backward(grad_out, x, running_mean=None, running_var=None, weight=None,
                           bias=None, use_input_stats=True, momentum=0.1, eps=1e-05):
    return _vjp(lambda a, w, b: _instance_norm(a, w, b, use_input_stats, eps), grad_out, x,
                weight, bias)


# --- activations, losses, dense ----------------------------------------------------------

def _unary(f, x):
    return _np(f(_a(x)))


def relu(x):
    return _unary(nn.relu, x)


def relu_backward(grad_out, x):
    return _vjp(nn.relu, grad_out, x)[0]


def leaky_relu(x, negative_slope=0.01):
    return _unary(lambda a: nn.leaky_relu(a, negative_slope), x)


def leaky_relu_backward(grad_out, x, negative_slope=0.01):
    return _vjp(lambda a: nn.leaky_relu(a, negative_slope), grad_out, x)[0]


def sigmoid(x):
    return _unary(mx.sigmoid, x)


def sigmoid_backward(grad_out, x):
    return _vjp(mx.sigmoid, grad_out, x)[0]


def tanh(x):
    return _unary(mx.tanh, x)


def tanh_backward(grad_out, x):
    return _vjp(mx.tanh, grad_out, x)[0]


def softmax(x, dim):
    return _unary(lambda a: mx.softmax(a, axis=dim), x)


def softmax_backward(grad_out, x, dim):
    return _vjp(lambda a: mx.softmax(a, axis=dim), grad_out, x)[0]


def log_softmax(x, dim):
    return _unary(lambda a: nn.log_softmax(a, axis=dim), x)


def log_softmax_backward(grad_out, x, dim):
    return _vjp(lambda a: nn.log_softmax(a, axis=dim), grad_out, x)[0]


def _classes(target):
    """Class indices as an int64 MLX array; probabilities (float) as _a does."""
    target = np.asarray(target)
    return _a(target) if target.dtype.kind == "f" else mx.array(target.astype(np.int64))


def cross_entropy(logits, target, reduction="mean", label_smoothing=0.0):
    """nn.losses.cross_entropy(logits, target, axis=1, label_smoothing, reduction): its
    `weights` are per target, not per class, and it has no ignore_index, so neither is
    accepted."""
    return _np(nn.losses.cross_entropy(_a(logits), _classes(target), axis=1,
                                       label_smoothing=label_smoothing, reduction=reduction))


def cross_entropy_backward(grad_out, logits, target, reduction="mean", label_smoothing=0.0):
    t = _classes(target)
    return _vjp(lambda z: nn.losses.cross_entropy(z, t, axis=1, label_smoothing=label_smoothing,
                                                  reduction=reduction), grad_out, logits)[0]


def nll_loss(input, target, reduction="mean"):
    """nn.losses.nll_loss(input, target, axis=1, reduction): no class weights, no
    ignore_index."""
    return _np(nn.losses.nll_loss(_a(input), _classes(target), axis=1, reduction=reduction))


def nll_loss_backward(grad_out, input, target, reduction="mean"):
    t = _classes(target)
    return _vjp(lambda z: nn.losses.nll_loss(z, t, axis=1, reduction=reduction), grad_out,
                input)[0]


def _dense(x, weight, bias):
    out = x @ weight.T
    return out if bias is None else out + bias


def dense(x, weight, bias=None):
    return _np(_dense(_a(x), _a(weight), _a(bias)))


def dense_backward(grad_out, x, weight, bias=None):
    return _vjp(_dense, grad_out, x, weight, bias)
