"""PyTorch on the CPU (torch.nn.functional, float64 as given), the adapter the others are
read against: the reference follows torch's semantics, so every cell should agree except
the reference's documented deliberate difference (a dilated max-pool window lying wholly
in the padding) and what torch refuses (asymmetric pooling pads, mean-pool dilation,
pads beyond half the kernel: ONNX defines them, torch does not).

Translation: conv2d takes int, pair, 'same' and 'valid' padding itself; 'full' and
((top, bottom), (left, right)) with unequal sides become F.pad + padding 0, exactly the
zero padding they mean. Pooling pads in the nested form with equal sides become a pair;
unequal ones go to torch as they are (it refuses them). Gradients: autograd with the
given upstream gradient. batch_norm hands torch tensors that share memory with the
running statistics it was given, so torch's own in-place update is what is compared.
Tested with torch 2.13.0 (CPU build).
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

NOTES = {"avg_pool2d": "torch's avg_pool2d has no dilation argument: dilation > 1 raises "
                       "NotImplementedError (docs: torch.nn.functional.avg_pool2d)"}


def _t(a, grad=False):
    if a is None:
        return None
    t = torch.as_tensor(np.asarray(a))      # shares memory (the running statistics)
    return t.requires_grad_(True) if grad else t


def _n(t):
    return None if t is None else t.detach().numpy()


def _vjp(out, inputs, grad_out):
    """Gradients of `out` with the upstream gradient, None for an input that is None."""
    live = [t for t in inputs if t is not None]
    grads = iter(torch.autograd.grad(out, live, _t(grad_out), allow_unused=True))
    return tuple(None if t is None else _n(next(grads)) for t in inputs)


def _conv_padding(padding, weight, dilation):
    """(padding for F.conv2d, pads for F.pad or None)."""
    if isinstance(padding, str) and padding in ("same", "valid"):
        return padding, None
    d = (dilation, dilation) if isinstance(dilation, int) else tuple(dilation)
    if padding == "full":
        padding = tuple((di * (k - 1),) * 2 for di, k in zip(d, weight.shape[-2:]))
    if isinstance(padding, (tuple, list)) and isinstance(padding[0], (tuple, list)):
        (t, b), (l, r) = padding
        if t == b and l == r:
            return (t, l), None
        return 0, (l, r, t, b)
    return padding, None


def _conv(x, weight, bias, stride, padding, dilation, groups):
    padding, pads = _conv_padding(padding, weight, dilation)
    x = x if pads is None else F.pad(x, pads)
    return F.conv2d(x, weight, bias, stride, padding, dilation, groups)


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    return _n(_conv(_t(x), _t(weight), _t(bias), stride, padding, dilation, groups))


def conv2d_backward(grad_out, x, weight, bias=None, stride=1, padding=0, dilation=1,
                    groups=1):
    ts = (_t(x, True), _t(weight, True), _t(bias, bias is not None))
    return _vjp(_conv(*ts, stride, padding, dilation, groups), ts, grad_out)


def _pool_padding(padding):
    if isinstance(padding, (tuple, list)) and isinstance(padding[0], (tuple, list)):
        (t, b), (l, r) = padding
        return (t, l) if t == b and l == r else padding
    return padding


def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    return _n(F.max_pool2d(_t(x), kernel_size, stride, _pool_padding(padding), dilation,
                           ceil_mode))


def max_pool2d_backward(grad_out, x, kernel_size, stride=None, padding=0, dilation=1,
                        ceil_mode=False):
    xt = _t(x, True)
    out = F.max_pool2d(xt, kernel_size, stride, _pool_padding(padding), dilation, ceil_mode)
    return _vjp(out, (xt,), grad_out)[0]


def _avg(x, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override,
         dilation):
    if dilation not in (1, (1, 1), [1, 1]):
        raise NotImplementedError("torch avg_pool2d: dilation unsupported (the function has "
                                  "no dilation argument: torch.nn.functional.avg_pool2d)")
    return F.avg_pool2d(x, kernel_size, stride, _pool_padding(padding), ceil_mode,
                        count_include_pad, divisor_override)


def avg_pool2d(x, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None, dilation=1):
    return _n(_avg(_t(x), kernel_size, stride, padding, ceil_mode, count_include_pad,
                   divisor_override, dilation))


def avg_pool2d_backward(grad_out, x, kernel_size, stride=None, padding=0, ceil_mode=False,
                        count_include_pad=True, divisor_override=None, dilation=1):
    xt = _t(x, True)
    out = _avg(xt, kernel_size, stride, padding, ceil_mode, count_include_pad,
               divisor_override, dilation)
    return _vjp(out, (xt,), grad_out)[0]


def batch_norm(x, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-05):
    return _n(F.batch_norm(_t(x), _t(running_mean), _t(running_var), _t(weight), _t(bias),
                           training, momentum, eps))


def batch_norm_backward(grad_out, x, running_mean, running_var, weight=None, bias=None,
                        training=False, momentum=0.1, eps=1e-05):
    ts = (_t(x, True), _t(weight, weight is not None), _t(bias, bias is not None))
    out = F.batch_norm(ts[0], _t(running_mean.copy()), _t(running_var.copy()), ts[1],
                       ts[2], training, momentum, eps)
    return _vjp(out, ts, grad_out)


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
    return _n(F.leaky_relu(_t(x), negative_slope))


def leaky_relu_backward(grad_out, x, negative_slope=0.01):
    xt = _t(x, True)
    return _vjp(F.leaky_relu(xt, negative_slope), (xt,), grad_out)[0]


def sigmoid(x):
    return _unary(torch.sigmoid, x)


def sigmoid_backward(grad_out, x):
    return _unary_backward(torch.sigmoid, grad_out, x)


def tanh(x):
    return _unary(torch.tanh, x)


def tanh_backward(grad_out, x):
    return _unary_backward(torch.tanh, grad_out, x)


def softmax(x, dim):
    return _n(F.softmax(_t(x), dim))


def softmax_backward(grad_out, x, dim):
    xt = _t(x, True)
    return _vjp(F.softmax(xt, dim), (xt,), grad_out)[0]


def log_softmax(x, dim):
    return _n(F.log_softmax(_t(x), dim))


def log_softmax_backward(grad_out, x, dim):
    xt = _t(x, True)
    return _vjp(F.log_softmax(xt, dim), (xt,), grad_out)[0]


def cross_entropy(logits, target):
    return _n(F.cross_entropy(_t(logits), _t(target).long()))


def cross_entropy_backward(grad_out, logits, target):
    zt = _t(logits, True)
    return _vjp(F.cross_entropy(zt, _t(target).long()), (zt,), np.asarray(grad_out))[0]


def dense(x, weight, bias=None):
    return _n(F.linear(_t(x), _t(weight), _t(bias)))


def dense_backward(grad_out, x, weight, bias=None):
    ts = (_t(x, True), _t(weight, True), _t(bias, bias is not None))
    return _vjp(F.linear(*ts), ts, grad_out)
