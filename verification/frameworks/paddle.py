"""PaddlePaddle adapter (tested with paddlepaddle 3.3.1, CPU build, float64 as given).

What maps onto what (paddle.nn.functional is NCHW with torch's weight layout):
  conv2d          F.conv2d(x, weight, bias, stride, padding, dilation, groups); 'same' /
                  'valid' -> Paddle's 'SAME' / 'VALID', 'full' and numbers -> explicit
                  [[0, 0], [0, 0], [top, bottom], [left, right]]
  max_pool2d      F.max_pool2d(x, kernel_size, stride, padding, ceil_mode=ceil_mode): no
                  dilation argument (NotImplementedError for dilation > 1)
  avg_pool2d      F.avg_pool2d(..., ceil_mode, exclusive=not count_include_pad,
                  divisor_override): no dilation argument (NotImplementedError)
  batch_norm      F.batch_norm(x, running_mean, running_var, weight, bias, training,
                  momentum=1 - momentum, epsilon=eps): Paddle's momentum weighs the old
                  running value (running = momentum * running + (1 - momentum) * batch),
                  torch's the new one; the running statistics are Paddle tensors updated
                  in place and returned as (y, running_mean, running_var) in training
  relu, leaky_relu, sigmoid, tanh, softmax(axis), log_softmax(axis): F.*
  cross_entropy   F.cross_entropy(logits, target, reduction='mean')
  dense           F.linear(x, weight.T, bias) (Paddle's weight is (in, out))
Gradients: paddle.grad(out, inputs, grad_outputs=grad_out).
Docs: https://www.paddlepaddle.org.cn/documentation/docs/en/api/paddle/nn/functional/
"""
from __future__ import annotations

import numpy as np
import paddle
import paddle.nn.functional as F

paddle.set_device("cpu")

NOTES = {
    "max_pool2d": "F.max_pool2d has no dilation argument (NotImplementedError).",
    "avg_pool2d": "F.avg_pool2d has no dilation argument (NotImplementedError); "
                  "count_include_pad is Paddle's exclusive=False.",
    "batch_norm": "F.batch_norm with momentum = 1 - torch's momentum (Paddle's weighs the "
                  "old running value).",
    "dense": "F.linear(x, weight.T, bias): Paddle's linear weight is (in, out).",
}


def _t(a, grad=False):
    if a is None:
        return None
    t = paddle.to_tensor(np.asarray(a))
    t.stop_gradient = not grad
    return t


def _n(t):
    return None if t is None else t.numpy()


def _vjp(out, inputs, grad_out):
    """Gradients of `out` with the upstream gradient, None for an input that is None."""
    live = [t for t in inputs if t is not None]
    g = paddle.to_tensor(np.asarray(grad_out, dtype=out.numpy().dtype))
    grads = iter(paddle.grad([out], live, grad_outputs=[g], allow_unused=True))
    return tuple(None if t is None else _n(next(grads)) for t in inputs)


def _pair(v):
    return (int(v), int(v)) if np.ndim(v) == 0 else tuple(int(a) for a in v)


def _explicit(padding):
    """An int, (h, w) or ((top, bottom), (left, right)) -> Paddle's NCHW pad list."""
    if np.ndim(padding) == 2:
        (t, b), (l, r) = (_pair(p) for p in padding)
    else:
        (t, l) = _pair(padding)
        b, r = t, l
    return [[0, 0], [0, 0], [t, b], [l, r]]


# --- convolution -------------------------------------------------------------------------

def _conv_padding(padding, weight, dilation):
    if isinstance(padding, str) and padding in ("same", "valid"):
        return padding.upper()
    if padding == "full":
        (dh, dw), (kh, kw) = _pair(dilation), weight.shape[2:]
        return _explicit(((dh * (kh - 1),) * 2, (dw * (kw - 1),) * 2))
    return _explicit(padding)


def _conv(x, weight, bias, stride, padding, dilation, groups):
    return F.conv2d(x, weight, bias, stride, _conv_padding(padding, weight, dilation),
                    dilation, groups)


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    return _n(_conv(_t(x), _t(weight), _t(bias), stride, padding, dilation, groups))


def conv2d_backward(grad_out, x, weight, bias=None, stride=1, padding=0, dilation=1,
                    groups=1):
    ts = (_t(x, True), _t(weight, True), _t(bias, bias is not None))
    return _vjp(_conv(*ts, stride, padding, dilation, groups), ts, grad_out)


# --- pooling -----------------------------------------------------------------------------

def _no_dilation(dilation):
    if _pair(dilation) != (1, 1):
        raise NotImplementedError("paddle.nn.functional pooling has no dilation argument")


def _max_pool(x, kernel_size, stride, padding, dilation, ceil_mode):
    _no_dilation(dilation)
    return F.max_pool2d(x, kernel_size, stride, _explicit(padding), ceil_mode=ceil_mode)


def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    return _n(_max_pool(_t(x), kernel_size, stride, padding, dilation, ceil_mode))


def max_pool2d_backward(grad_out, x, kernel_size, stride=None, padding=0, dilation=1,
                        ceil_mode=False):
    xt = _t(x, True)
    return _vjp(_max_pool(xt, kernel_size, stride, padding, dilation, ceil_mode), (xt,),
                grad_out)[0]


def _avg_pool(x, kernel_size, stride, padding, ceil_mode, count_include_pad,
              divisor_override, dilation):
    _no_dilation(dilation)
    return F.avg_pool2d(x, kernel_size, stride, _explicit(padding), ceil_mode=ceil_mode,
                        exclusive=not count_include_pad, divisor_override=divisor_override)


def avg_pool2d(x, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None, dilation=1):
    return _n(_avg_pool(_t(x), kernel_size, stride, padding, ceil_mode, count_include_pad,
                        divisor_override, dilation))


def avg_pool2d_backward(grad_out, x, kernel_size, stride=None, padding=0, ceil_mode=False,
                        count_include_pad=True, divisor_override=None, dilation=1):
    xt = _t(x, True)
    out = _avg_pool(xt, kernel_size, stride, padding, ceil_mode, count_include_pad,
                    divisor_override, dilation)
    return _vjp(out, (xt,), grad_out)[0]


# --- batch norm --------------------------------------------------------------------------

def _bn(x, rm, rv, weight, bias, training, momentum, eps):
    return F.batch_norm(x, rm, rv, weight, bias, training=training, momentum=1 - momentum,
                        epsilon=eps)


def batch_norm(x, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-05):
    rm, rv = _t(running_mean), _t(running_var)
    y = _n(_bn(_t(x), rm, rv, _t(weight), _t(bias), training, momentum, eps))
    return (y, _n(rm), _n(rv)) if training else y


def batch_norm_backward(grad_out, x, running_mean, running_var, weight=None, bias=None,
                        training=False, momentum=0.1, eps=1e-05):
    ts = (_t(x, True), _t(weight, weight is not None), _t(bias, bias is not None))
    out = _bn(ts[0], _t(running_mean), _t(running_var), ts[1], ts[2], training, momentum,
              eps)
    return _vjp(out, ts, grad_out)


# --- activations, losses, dense ----------------------------------------------------------

def _unary(f, x):
    return _n(f(_t(x)))


def _unary_backward(f, grad_out, x):
    xt = _t(x, True)
    return _vjp(f(xt), (xt,), grad_out)[0]


def relu(x):
    return _unary(F.relu, x)


def relu_backward(grad_out, x):
    return _unary_backward(F.relu, grad_out, x)


def leaky_relu(x, negative_slope=0.01):
    return _unary(lambda t: F.leaky_relu(t, negative_slope), x)


def leaky_relu_backward(grad_out, x, negative_slope=0.01):
    return _unary_backward(lambda t: F.leaky_relu(t, negative_slope), grad_out, x)


def sigmoid(x):
    return _unary(F.sigmoid, x)


def sigmoid_backward(grad_out, x):
    return _unary_backward(F.sigmoid, grad_out, x)


def tanh(x):
    return _unary(F.tanh, x)


def tanh_backward(grad_out, x):
    return _unary_backward(F.tanh, grad_out, x)


def softmax(x, dim):
    return _unary(lambda t: F.softmax(t, axis=dim), x)


def softmax_backward(grad_out, x, dim):
    return _unary_backward(lambda t: F.softmax(t, axis=dim), grad_out, x)


def log_softmax(x, dim):
    return _unary(lambda t: F.log_softmax(t, axis=dim), x)


def log_softmax_backward(grad_out, x, dim):
    return _unary_backward(lambda t: F.log_softmax(t, axis=dim), grad_out, x)


def cross_entropy(logits, target):
    return _n(F.cross_entropy(_t(logits), _t(np.asarray(target, dtype=np.int64))))


def cross_entropy_backward(grad_out, logits, target):
    zt = _t(logits, True)
    out = F.cross_entropy(zt, _t(np.asarray(target, dtype=np.int64)))
    return _vjp(out, (zt,), grad_out)[0]


def _dense(x, weight, bias):
    return F.linear(x, weight.T, bias)


def dense(x, weight, bias=None):
    return _n(_dense(_t(x), _t(weight), _t(bias)))


def dense_backward(grad_out, x, weight, bias=None):
    ts = (_t(x, True), _t(weight, True), _t(bias, bias is not None))
    return _vjp(_dense(*ts), ts, grad_out)
