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
  cross_entropy   nn.losses.cross_entropy(logits, target, reduction='mean')
  dense           x @ weight.T + bias (nn.Linear's addmm)
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
}

_NHWC, _NCHW = (0, 2, 3, 1), (0, 3, 1, 2)


def _a(v):
    """A NumPy array (or None) as an MLX array of the same dtype."""
    if v is None:
        return None
    v = np.asarray(v)
    return mx.array(v, dtype=mx.float64 if v.dtype == np.float64 else mx.float32) \
        if v.dtype.kind == "f" else mx.array(v)


def _np(a):
    return None if a is None else np.array(a)


def _pair(v):
    return (int(v), int(v)) if np.ndim(v) == 0 else tuple(int(a) for a in v)


def _pads(padding):
    """An int, (h, w) or ((top, bottom), (left, right)) -> ((top, bottom), (left, right))."""
    if np.ndim(padding) == 2:
        return tuple(_pair(p) for p in padding)
    ph, pw = _pair(padding)
    return ((ph, ph), (pw, pw))


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
    """((top, bottom), (left, right)) of any padding form."""
    d, k = _pair(dilation), weight.shape[2:]
    if padding == "valid":
        return ((0, 0), (0, 0))
    if padding == "full":
        return tuple((di * (ki - 1),) * 2 for di, ki in zip(d, k))
    if padding == "same":
        total = [di * (ki - 1) for di, ki in zip(d, k)]
        return tuple((t // 2, t - t // 2) for t in total)
    return _pads(padding)


def _conv(x, weight, bias, stride, padding, dilation, groups):
    (t, b), (l, r) = _conv_pads(padding, weight, dilation)
    out = mx.conv_general(x.transpose(_NHWC), weight.transpose(_NHWC), _pair(stride),
                          ([t, l], [b, r]), kernel_dilation=_pair(dilation), groups=groups)
    out = out if bias is None else out + bias
    return out.transpose(_NCHW)


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    return _np(_conv(_a(x), _a(weight), _a(bias), stride, padding, dilation, groups))


def conv2d_backward(grad_out, x, weight, bias=None, stride=1, padding=0, dilation=1,
                    groups=1):
    return _vjp(lambda a, w, b: _conv(a, w, b, stride, padding, dilation, groups),
                grad_out, x, weight, bias)


# --- pooling -----------------------------------------------------------------------------

def _pool_args(stride, padding, dilation, ceil_mode):
    """nn.MaxPool2d / AvgPool2d take (kernel, stride, symmetric padding) and nothing else."""
    if ceil_mode or _pair(dilation) != (1, 1):
        raise NotImplementedError("mlx.nn pooling has no ceil_mode or dilation")
    (t, b), (l, r) = _pads(padding)
    if t != b or l != r:
        raise NotImplementedError("mlx.nn pooling takes symmetric padding only")
    return (None if stride is None else _pair(stride)), (t, l)


def _max_pool(x, kernel_size, stride, padding, dilation, ceil_mode):
    stride, pad = _pool_args(stride, padding, dilation, ceil_mode)
    layer = nn.MaxPool2d(_pair(kernel_size), stride, pad)
    return layer(x.transpose(_NHWC)).transpose(_NCHW)


def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    return _np(_max_pool(_a(x), kernel_size, stride, padding, dilation, ceil_mode))


def max_pool2d_backward(grad_out, x, kernel_size, stride=None, padding=0, dilation=1,
                        ceil_mode=False):
    return _vjp(lambda a: _max_pool(a, kernel_size, stride, padding, dilation, ceil_mode),
                grad_out, x)[0]


def _avg_pool(x, kernel_size, stride, padding, ceil_mode, count_include_pad,
              divisor_override, dilation):
    if not count_include_pad or divisor_override is not None:
        raise NotImplementedError("mlx.nn.AvgPool2d has no count_include_pad or "
                                  "divisor_override")
    stride, pad = _pool_args(stride, padding, dilation, ceil_mode)
    layer = nn.AvgPool2d(_pair(kernel_size), stride, pad)
    return layer(x.transpose(_NHWC)).transpose(_NCHW)


def avg_pool2d(x, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None, dilation=1):
    return _np(_avg_pool(_a(x), kernel_size, stride, padding, ceil_mode, count_include_pad,
                         divisor_override, dilation))


def avg_pool2d_backward(grad_out, x, kernel_size, stride=None, padding=0, ceil_mode=False,
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


def cross_entropy(logits, target):
    t = mx.array(np.asarray(target, dtype=np.int64))
    return _np(nn.losses.cross_entropy(_a(logits), t, reduction="mean"))


def cross_entropy_backward(grad_out, logits, target):
    t = mx.array(np.asarray(target, dtype=np.int64))
    return _vjp(lambda z: nn.losses.cross_entropy(z, t, reduction="mean"), grad_out,
                logits)[0]


def _dense(x, weight, bias):
    out = x @ weight.T
    return out if bias is None else out + bias


def dense(x, weight, bias=None):
    return _np(_dense(_a(x), _a(weight), _a(bias)))


def dense_backward(grad_out, x, weight, bias=None):
    return _vjp(_dense, grad_out, x, weight, bias)
