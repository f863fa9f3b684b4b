"""PyTorch on the CPU (torch.nn.functional, float64 as given), the adapter the others are
read against: the reference follows torch's semantics, so every cell should agree except
the reference's documented deliberate difference (a dilated max-pool window lying wholly
in the padding) and what torch refuses (asymmetric pooling pads, mean-pool dilation,
pads beyond half the kernel: ONNX defines them, torch does not).

Translation: conv1d/2d/3d take int, per-axis, 'same' and 'valid' padding themselves;
'full' and one (before, after) pair per axis with unequal sides become F.pad + padding 0,
exactly the zero padding they mean. conv_transpose1d/2d/3d with unequal (before, after)
pairs (ONNX ConvTranspose's pads, which the reference follows) crop the unpadded result.
Pooling pads in the nested form with equal sides become one int per axis; unequal ones
go to torch as they are (it refuses them). max_unpool's indices become int64 tensors,
class targets int64, probability targets stay floating. Gradients: autograd with the
given upstream gradient. batch_norm hands torch tensors that share memory with the
running statistics it was given, so torch's own in-place update is what is compared;
instance_norm hands it copies (the reference does not update them).
Tested with torch 2.13.0 (CPU build).
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

NOTES = {f"avg_pool{nd}d": f"torch's avg_pool{nd}d has no dilation argument: dilation > 1 "
                           f"raises NotImplementedError (docs: "
                           f"torch.nn.functional.avg_pool{nd}d)" for nd in (1, 2, 3)}
NOTES["instance_norm"] = ("F.instance_norm updates the running statistics in place; it is "
                          "handed copies, as the reference updates none")


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
    """(padding for F.conv{1,2,3}d, pads for F.pad or None), over weight.ndim - 2 axes."""
    if isinstance(padding, str) and padding in ("same", "valid"):
        return padding, None
    nd = weight.ndim - 2
    d = (dilation,) * nd if isinstance(dilation, int) else tuple(dilation)
    if padding == "full":
        padding = tuple((di * (k - 1),) * 2 for di, k in zip(d, weight.shape[2:]))
    if isinstance(padding, (tuple, list)) and isinstance(padding[0], (tuple, list)):
        if all(a == b for a, b in padding):
            return tuple(a for a, _ in padding), None
        return 0, tuple(p for a, b in reversed(padding) for p in (a, b))  # last axis first
    return padding, None


def _conv(x, weight, bias, stride, padding, dilation, groups):
    padding, pads = _conv_padding(padding, weight, dilation)
    x = x if pads is None else F.pad(x, pads)
    conv = {3: F.conv1d, 4: F.conv2d, 5: F.conv3d}[weight.ndim]
    return conv(x, weight, bias, stride, padding, dilation, groups)


def _conv_forward(x, weight, bias, stride, padding, dilation, groups):
    return _n(_conv(_t(x), _t(weight), _t(bias), stride, padding, dilation, groups))


def _conv_backward(grad_out, x, weight, bias, stride, padding, dilation, groups):
    ts = (_t(x, True), _t(weight, True), _t(bias, bias is not None))
    return _vjp(_conv(*ts, stride, padding, dilation, groups), ts, grad_out)


def conv1d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    return _conv_forward(x, weight, bias, stride, padding, dilation, groups)


def conv1d_backward(grad_out, x, weight, bias=None, stride=1, padding=0, dilation=1,
                    groups=1):
    return _conv_backward(grad_out, x, weight, bias, stride, padding, dilation, groups)


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    return _conv_forward(x, weight, bias, stride, padding, dilation, groups)


def conv2d_backward(grad_out, x, weight, bias=None, stride=1, padding=0, dilation=1,
                    groups=1):
    return _conv_backward(grad_out, x, weight, bias, stride, padding, dilation, groups)


def conv3d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    return _conv_forward(x, weight, bias, stride, padding, dilation, groups)


def conv3d_backward(grad_out, x, weight, bias=None, stride=1, padding=0, dilation=1,
                    groups=1):
    return _conv_backward(grad_out, x, weight, bias, stride, padding, dilation, groups)


def _conv_transpose(x, weight, bias, stride, padding, output_padding, groups, dilation):
    """F.conv_transpose{1,2,3}d; one (before, after) pair per axis (ONNX ConvTranspose's
    pads) crops the unpadded result, as the reference defines it."""
    f = {3: F.conv_transpose1d, 4: F.conv_transpose2d, 5: F.conv_transpose3d}[weight.ndim]
    if not (isinstance(padding, (tuple, list)) and isinstance(padding[0], (tuple, list))):
        return f(x, weight, bias, stride, padding, output_padding, groups, dilation)
    if all(a == b for a, b in padding):
        return f(x, weight, bias, stride, tuple(a for a, _ in padding), output_padding,
                 groups, dilation)
    out = f(x, weight, bias, stride, 0, output_padding, groups, dilation)
    crop = tuple(slice(a, n - b) for (a, b), n in zip(padding, out.shape[2:]))
    return out[(Ellipsis,) + crop]


def _conv_transpose_forward(x, weight, bias, *args):
    return _n(_conv_transpose(_t(x), _t(weight), _t(bias), *args))


def _conv_transpose_backward(grad_out, x, weight, bias, *args):
    ts = (_t(x, True), _t(weight, True), _t(bias, bias is not None))
    return _vjp(_conv_transpose(*ts, *args), ts, grad_out)


def conv_transpose1d(x, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    return _conv_transpose_forward(x, weight, bias, stride, padding, output_padding, groups,
                                   dilation)


def conv_transpose1d_backward(grad_out, x, weight, bias=None, stride=1, padding=0,
                              output_padding=0, groups=1, dilation=1):
    return _conv_transpose_backward(grad_out, x, weight, bias, stride, padding,
                                    output_padding, groups, dilation)


def conv_transpose2d(x, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    return _conv_transpose_forward(x, weight, bias, stride, padding, output_padding, groups,
                                   dilation)


def conv_transpose2d_backward(grad_out, x, weight, bias=None, stride=1, padding=0,
                              output_padding=0, groups=1, dilation=1):
    return _conv_transpose_backward(grad_out, x, weight, bias, stride, padding,
                                    output_padding, groups, dilation)


def conv_transpose3d(x, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    return _conv_transpose_forward(x, weight, bias, stride, padding, output_padding, groups,
                                   dilation)


def conv_transpose3d_backward(grad_out, x, weight, bias=None, stride=1, padding=0,
                              output_padding=0, groups=1, dilation=1):
    return _conv_transpose_backward(grad_out, x, weight, bias, stride, padding,
                                    output_padding, groups, dilation)


# --- pooling -----------------------------------------------------------------------------

def _pool_padding(padding):
    """One (before, after) pair per axis with equal sides -> one int per axis; unequal
    sides go to torch as they are (it refuses them)."""
    if isinstance(padding, (tuple, list)) and isinstance(padding[0], (tuple, list)):
        return tuple(a for a, _ in padding) if all(a == b for a, b in padding) else padding
    return padding


def _max_pool(x, kernel_size, stride, padding, dilation, ceil_mode, return_indices):
    f = {3: F.max_pool1d, 4: F.max_pool2d, 5: F.max_pool3d}[x.ndim]
    return f(x, kernel_size, stride, _pool_padding(padding), dilation, ceil_mode,
             return_indices)


def _max_pool_forward(x, *args):
    out = _max_pool(_t(x), *args)
    return tuple(_n(o) for o in out) if isinstance(out, tuple) else _n(out)


def _max_pool_backward(grad_out, x, *args):
    xt = _t(x, True)
    return _vjp(_max_pool(xt, *args, False), (xt,), grad_out)[0]


def max_pool1d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    return _max_pool_forward(x, kernel_size, stride, padding, dilation, ceil_mode,
                             return_indices)


def max_pool1d_backward(grad_out, x, kernel_size, stride=None, padding=0, dilation=1,
                        ceil_mode=False):
    return _max_pool_backward(grad_out, x, kernel_size, stride, padding, dilation, ceil_mode)


def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    return _max_pool_forward(x, kernel_size, stride, padding, dilation, ceil_mode,
                             return_indices)


def max_pool2d_backward(grad_out, x, kernel_size, stride=None, padding=0, dilation=1,
                        ceil_mode=False):
    return _max_pool_backward(grad_out, x, kernel_size, stride, padding, dilation, ceil_mode)


def max_pool3d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    return _max_pool_forward(x, kernel_size, stride, padding, dilation, ceil_mode,
                             return_indices)


def max_pool3d_backward(grad_out, x, kernel_size, stride=None, padding=0, dilation=1,
                        ceil_mode=False):
    return _max_pool_backward(grad_out, x, kernel_size, stride, padding, dilation, ceil_mode)


def _avg(x, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override,
         dilation):
    if any(d != 1 for d in np.atleast_1d(dilation)):
        raise NotImplementedError(f"torch avg_pool{x.ndim - 2}d: dilation unsupported (the "
                                  f"function has no dilation argument: "
                                  f"torch.nn.functional.avg_pool{x.ndim - 2}d)")
    args = (x, kernel_size, stride, _pool_padding(padding), ceil_mode, count_include_pad)
    if x.ndim == 3:        # avg_pool1d has no divisor_override
        return F.avg_pool1d(*args)
    return {4: F.avg_pool2d, 5: F.avg_pool3d}[x.ndim](*args, divisor_override)


def _avg_forward(x, *args):
    return _n(_avg(_t(x), *args))


def _avg_backward(grad_out, x, *args):
    xt = _t(x, True)
    return _vjp(_avg(xt, *args), (xt,), grad_out)[0]


def avg_pool1d(x, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, dilation=1):
    return _avg_forward(x, kernel_size, stride, padding, ceil_mode, count_include_pad, None,
                        dilation)


def avg_pool1d_backward(grad_out, x, kernel_size, stride=None, padding=0, ceil_mode=False,
                        count_include_pad=True, dilation=1):
    return _avg_backward(grad_out, x, kernel_size, stride, padding, ceil_mode,
                         count_include_pad, None, dilation)


def avg_pool2d(x, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None, dilation=1):
    return _avg_forward(x, kernel_size, stride, padding, ceil_mode, count_include_pad,
                        divisor_override, dilation)


def avg_pool2d_backward(grad_out, x, kernel_size, stride=None, padding=0, ceil_mode=False,
                        count_include_pad=True, divisor_override=None, dilation=1):
    return _avg_backward(grad_out, x, kernel_size, stride, padding, ceil_mode,
                         count_include_pad, divisor_override, dilation)


def avg_pool3d(x, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None, dilation=1):
    return _avg_forward(x, kernel_size, stride, padding, ceil_mode, count_include_pad,
                        divisor_override, dilation)


def avg_pool3d_backward(grad_out, x, kernel_size, stride=None, padding=0, ceil_mode=False,
                        count_include_pad=True, divisor_override=None, dilation=1):
    return _avg_backward(grad_out, x, kernel_size, stride, padding, ceil_mode,
                         count_include_pad, divisor_override, dilation)


def _x_only(f, x, *args):
    """f(x tensor, *args) as NumPy; a tuple (values, indices) element by element."""
    out = f(_t(x), *args)
    return tuple(_n(o) for o in out) if isinstance(out, tuple) else _n(out)


def _x_only_backward(f, grad_out, x, *args):
    xt = _t(x, True)
    return _vjp(f(xt, *args), (xt,), grad_out)[0]


def unfold(x, kernel_size, dilation=1, padding=0, stride=1):
    return _x_only(F.unfold, x, kernel_size, dilation, padding, stride)


def unfold_backward(grad_out, x, kernel_size, dilation=1, padding=0, stride=1):
    return _x_only_backward(F.unfold, grad_out, x, kernel_size, dilation, padding, stride)


def fold(x, output_size, kernel_size, dilation=1, padding=0, stride=1):
    return _x_only(F.fold, x, output_size, kernel_size, dilation, padding, stride)


def fold_backward(grad_out, x, output_size, kernel_size, dilation=1, padding=0, stride=1):
    return _x_only_backward(F.fold, grad_out, x, output_size, kernel_size, dilation,
                            padding, stride)


def adaptive_avg_pool1d(x, output_size):
    return _x_only(F.adaptive_avg_pool1d, x, output_size)


def adaptive_avg_pool1d_backward(grad_out, x, output_size):
    return _x_only_backward(F.adaptive_avg_pool1d, grad_out, x, output_size)


def adaptive_avg_pool2d(x, output_size):
    return _x_only(F.adaptive_avg_pool2d, x, output_size)


def adaptive_avg_pool2d_backward(grad_out, x, output_size):
    return _x_only_backward(F.adaptive_avg_pool2d, grad_out, x, output_size)


def adaptive_avg_pool3d(x, output_size):
    return _x_only(F.adaptive_avg_pool3d, x, output_size)


def adaptive_avg_pool3d_backward(grad_out, x, output_size):
    return _x_only_backward(F.adaptive_avg_pool3d, grad_out, x, output_size)


def adaptive_max_pool1d(x, output_size, return_indices=False):
    return _x_only(F.adaptive_max_pool1d, x, output_size, return_indices)


def adaptive_max_pool1d_backward(grad_out, x, output_size):
    return _x_only_backward(F.adaptive_max_pool1d, grad_out, x, output_size)


def adaptive_max_pool2d(x, output_size, return_indices=False):
    return _x_only(F.adaptive_max_pool2d, x, output_size, return_indices)


def adaptive_max_pool2d_backward(grad_out, x, output_size):
    return _x_only_backward(F.adaptive_max_pool2d, grad_out, x, output_size)


def adaptive_max_pool3d(x, output_size, return_indices=False):
    return _x_only(F.adaptive_max_pool3d, x, output_size, return_indices)


def adaptive_max_pool3d_backward(grad_out, x, output_size):
    return _x_only_backward(F.adaptive_max_pool3d, grad_out, x, output_size)


def lp_pool1d(x, norm_type, kernel_size, stride=None, ceil_mode=False):
    return _x_only(F.lp_pool1d, x, norm_type, kernel_size, stride, ceil_mode)


def lp_pool1d_backward(grad_out, x, norm_type, kernel_size, stride=None, ceil_mode=False):
    return _x_only_backward(F.lp_pool1d, grad_out, x, norm_type, kernel_size, stride,
                            ceil_mode)


def lp_pool2d(x, norm_type, kernel_size, stride=None, ceil_mode=False):
    return _x_only(F.lp_pool2d, x, norm_type, kernel_size, stride, ceil_mode)


def lp_pool2d_backward(grad_out, x, norm_type, kernel_size, stride=None, ceil_mode=False):
    return _x_only_backward(F.lp_pool2d, grad_out, x, norm_type, kernel_size, stride,
                            ceil_mode)


def lp_pool3d(x, norm_type, kernel_size, stride=None, ceil_mode=False):
    return _x_only(F.lp_pool3d, x, norm_type, kernel_size, stride, ceil_mode)


def lp_pool3d_backward(grad_out, x, norm_type, kernel_size, stride=None, ceil_mode=False):
    return _x_only_backward(F.lp_pool3d, grad_out, x, norm_type, kernel_size, stride,
                            ceil_mode)


def _unpool(x, indices, kernel_size, stride, padding, output_size):
    f = {3: F.max_unpool1d, 4: F.max_unpool2d, 5: F.max_unpool3d}[x.ndim]
    return f(x, _t(indices).long(), kernel_size, stride, padding, output_size)


def max_unpool1d(x, indices, kernel_size, stride=None, padding=0, output_size=None):
    return _x_only(_unpool, x, indices, kernel_size, stride, padding, output_size)


def max_unpool1d_backward(grad_out, x, indices, kernel_size, stride=None, padding=0,
                          output_size=None):
    return _x_only_backward(_unpool, grad_out, x, indices, kernel_size, stride, padding,
                            output_size)


def max_unpool2d(x, indices, kernel_size, stride=None, padding=0, output_size=None):
    return _x_only(_unpool, x, indices, kernel_size, stride, padding, output_size)


def max_unpool2d_backward(grad_out, x, indices, kernel_size, stride=None, padding=0,
                          output_size=None):
    return _x_only_backward(_unpool, grad_out, x, indices, kernel_size, stride, padding,
                            output_size)


def max_unpool3d(x, indices, kernel_size, stride=None, padding=0, output_size=None):
    return _x_only(_unpool, x, indices, kernel_size, stride, padding, output_size)


def max_unpool3d_backward(grad_out, x, indices, kernel_size, stride=None, padding=0,
                          output_size=None):
    return _x_only_backward(_unpool, grad_out, x, indices, kernel_size, stride, padding,
                            output_size)


# --- normalisation -----------------------------------------------------------------------

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


def _affine_inputs(x, weight, bias):
    """(x, weight, bias) tensors that take gradients: (grad_x, grad_weight, grad_bias)."""
    return _t(x, True), _t(weight, weight is not None), _t(bias, bias is not None)


def layer_norm(x, normalized_shape, weight=None, bias=None, eps=1e-05):
    return _n(F.layer_norm(_t(x), normalized_shape, _t(weight), _t(bias), eps))


def layer_norm_backward(grad_out, x, normalized_shape, weight=None, bias=None, eps=1e-05):
    ts = _affine_inputs(x, weight, bias)
    return _vjp(F.layer_norm(ts[0], normalized_shape, ts[1], ts[2], eps), ts,
                            grad_out)


def group_norm(x, num_groups, weight=None, bias=None, eps=1e-05):
    return _n(F.group_norm(_t(x), num_groups, _t(weight), _t(bias), eps))


def group_norm_backward(grad_out, x, num_groups, weight=None, bias=None, eps=1e-05):
    ts = _affine_inputs(x, weight, bias)
    return _vjp(F.group_norm(ts[0], num_groups, ts[1], ts[2], eps), ts,
                            grad_out)


def _instance(x, running_mean, running_var, weight, bias, use_input_stats, momentum, eps):
    """F.instance_norm updates the running statistics in place (with input statistics);
    the reference does not, so torch gets copies and the caller's arrays stay as given."""
    copies = [None if v is None else _t(np.array(v)) for v in (running_mean, running_var)]
    return F.instance_norm(x, *copies, weight, bias, use_input_stats, momentum, eps)


def instance_norm(x, running_mean=None, running_var=None, weight=None, bias=None,
                  use_input_stats=True, momentum=0.1, eps=1e-05):
    return _n(_instance(_t(x), running_mean, running_var, _t(weight), _t(bias),
                        use_input_stats, momentum, eps))


def instance_norm_backward(grad_out, x, running_mean=None, running_var=None, weight=None,
                           bias=None, use_input_stats=True, momentum=0.1, eps=1e-05):
    ts = _affine_inputs(x, weight, bias)
    out = _instance(ts[0], running_mean, running_var, ts[1], ts[2], use_input_stats,
                    momentum, eps)
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


def _target(target):
    """Class indices as int64 (torch's index type); probabilities as given."""
    t = _t(target)
    return t if t.is_floating_point() else t.long()


def nll_loss(input, target, weight=None, ignore_index=-100, reduction="mean"):
    return _n(F.nll_loss(_t(input), _target(target), _t(weight), ignore_index=ignore_index,
                         reduction=reduction))


def nll_loss_backward(grad_out, input, target, weight=None, ignore_index=-100,
                      reduction="mean"):
    it = _t(input, True)
    out = F.nll_loss(it, _target(target), _t(weight), ignore_index=ignore_index,
                     reduction=reduction)
    return _vjp(out, (it,), np.asarray(grad_out))[0]


def cross_entropy(logits, target, weight=None, ignore_index=-100, reduction="mean",
                  label_smoothing=0.0):
    return _n(F.cross_entropy(_t(logits), _target(target), _t(weight),
                              ignore_index=ignore_index, reduction=reduction,
                              label_smoothing=label_smoothing))


def cross_entropy_backward(grad_out, logits, target, weight=None, ignore_index=-100,
                           reduction="mean", label_smoothing=0.0):
    zt = _t(logits, True)
    out = F.cross_entropy(zt, _target(target), _t(weight), ignore_index=ignore_index,
                          reduction=reduction, label_smoothing=label_smoothing)
    return _vjp(out, (zt,), np.asarray(grad_out))[0]


def dense(x, weight, bias=None):
    return _n(F.linear(_t(x), _t(weight), _t(bias)))


def dense_backward(grad_out, x, weight, bias=None):
    ts = (_t(x, True), _t(weight, True), _t(bias, bias is not None))
    return _vjp(F.linear(*ts), ts, grad_out)
