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
  dense           F.linear(x, weight.T, bias) (Paddle's weight is (in, out))
  conv1d, conv3d  F.conv1d / F.conv3d as conv2d (pads [[0, 0], [0, 0], [before, after],
                  ...])
  conv_transpose1d/2d/3d  F.conv{n}d_transpose(x, weight, bias, stride, padding,
                  output_padding, groups, dilation), by keyword (2-D's positional order
                  differs); padding as the explicit pad list, asymmetric pairs included
  max_pool1d/3d, avg_pool1d/3d  F.*_pool{n}d as in 2-D (no dilation; avg_pool1d has no
                  divisor_override, like torch's)
  unfold, fold    F.unfold(x, kernel_sizes, strides, paddings, dilations), F.fold(x,
                  output_sizes, kernel_sizes, strides, paddings, dilations): the order differs
  adaptive_avg_pool1d/2d/3d, adaptive_max_pool1d/2d/3d  F.adaptive_*(x, output_size)
  lp_pool1d/2d    F.lp_pool{n}d(x, norm_type, kernel_size, stride, ceil_mode=...);
                  Paddle has no lp_pool3d
  max_unpool1d/2d/3d  F.max_unpool{n}d(x, indices, kernel_size, stride, padding,
                  output_size=(N, C, *output_size)) (see _unpool)
  layer_norm      F.layer_norm(x, normalized_shape, weight, bias, epsilon) with weight and
                  bias flattened (Paddle's are 1-D)
  group_norm      F.group_norm(x, num_groups, epsilon, weight, bias)
  instance_norm   F.instance_norm(x, running_mean, running_var, weight, bias, True,
                  1 - momentum, eps); use_input_stats=False is NotImplementedError (Paddle's
                  docstring: "Obsolete (that is, no longer usable)")
  nll_loss        F.nll_loss(input, target, weight, ignore_index, reduction)
  cross_entropy   F.cross_entropy(logits, target, weight, ignore_index, reduction,
                  soft_label=<float target>, label_smoothing) with the class axis moved last
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
    "lp_pool3d": "not defined: paddle.nn.functional has lp_pool1d and lp_pool2d only.",
    "max_unpool1d": "output_size is passed as the full (N, C, L): F.max_unpool1d inserts its "
                    "dummy axis at position 2 of output_size, which breaks the spatial-only "
                    "form ('invalid output_size \"[4, 1]\"' for the default size 4).",
    "instance_norm": "use_input_stats=False: NotImplementedError (Paddle's docstring calls it "
                     "obsolete; F.instance_norm always normalises with the input's "
                     "statistics).",
    "cross_entropy": "class axis moved last (Paddle's default axis): with axis=1 its "
                     "label_smoothing and weighted soft labels work along the last axis "
                     "anyway; soft_label=True for probability targets.",
    "nll_loss": "F.nll_loss as given. Known: with spatial axes and an ignored target it "
                "never returns (F.nll_loss(zeros((3, 2, 3)), [[0, -100, 0]] * 3, "
                "reduction='sum') hangs in paddlepaddle 3.3.1).",
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


def _axes(v, nd):
    """An int or one value per axis -> a tuple of nd ints."""
    return (int(v),) * nd if np.ndim(v) == 0 else tuple(int(a) for a in v)


def _pair(v):
    return _axes(v, 2)


def _explicit(padding, nd=2):
    """An int, one per axis, or ((before, after), ...) per axis -> Paddle's pad list
    [[0, 0], [0, 0], [before, after], ...] (batch and channel axes unpadded)."""
    if np.ndim(padding) == 2:
        pairs = [list(_axes(p, 2)) for p in padding]
    else:
        pairs = [[p, p] for p in _axes(padding, nd)]
    return [[0, 0], [0, 0]] + pairs


# --- convolution -------------------------------------------------------------------------

def _conv_padding(padding, weight, dilation):
    nd = weight.ndim - 2
    if isinstance(padding, str) and padding in ("same", "valid"):
        return padding.upper()
    if padding == "full":
        spans = [d * (k - 1) for d, k in zip(_axes(dilation, nd), weight.shape[2:])]
        return _explicit([(s, s) for s in spans], nd)
    return _explicit(padding, nd)


def _conv(x, weight, bias, stride, padding, dilation, groups):
    """F.conv1d / conv2d / conv3d by the weight's rank (all NC* with torch's weight)."""
    conv = getattr(F, f"conv{weight.ndim - 2}d")
    return conv(x, weight, bias, stride, _conv_padding(padding, weight, dilation), dilation,
                groups)


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    return _n(_conv(_t(x), _t(weight), _t(bias), stride, padding, dilation, groups))


def conv2d_backward(grad_out, x, weight, bias=None, stride=1, padding=0, dilation=1,
                    groups=1):
    ts = (_t(x, True), _t(weight, True), _t(bias, bias is not None))
    return _vjp(_conv(*ts, stride, padding, dilation, groups), ts, grad_out)


def conv1d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    return _n(_conv(_t(x), _t(weight), _t(bias), stride, padding, dilation, groups))


def conv3d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    return _n(_conv(_t(x), _t(weight), _t(bias), stride, padding, dilation, groups))


def conv1d_backward(grad_out, x, weight, bias=None, stride=1, padding=0, dilation=1,
                    groups=1):
    ts = (_t(x, True), _t(weight, True), _t(bias, bias is not None))
    return _vjp(_conv(*ts, stride, padding, dilation, groups), ts, grad_out)


def conv3d_backward(grad_out, x, weight, bias=None, stride=1, padding=0, dilation=1,
                    groups=1):
    ts = (_t(x, True), _t(weight, True), _t(bias, bias is not None))
    return _vjp(_conv(*ts, stride, padding, dilation, groups), ts, grad_out)


def _conv_transpose(x, weight, bias, stride, padding, output_padding, groups, dilation):
    """F.conv{1,2,3}d_transpose (torch's (C_in, C_out/g, k...) weight); their positional
    orders differ (2-D: dilation before groups), so everything by keyword."""
    nd = weight.ndim - 2
    return getattr(F, f"conv{nd}d_transpose")(
        x, weight, bias, stride=stride, padding=_explicit(padding, nd),
        output_padding=output_padding, groups=groups, dilation=dilation)


def conv_transpose2d(x, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    return _n(_conv_transpose(_t(x), _t(weight), _t(bias), stride, padding, output_padding,
                              groups, dilation))


def conv_transpose2d_backward(grad_out, x, weight, bias=None, stride=1, padding=0,
                              output_padding=0, groups=1, dilation=1):
    ts = (_t(x, True), _t(weight, True), _t(bias, bias is not None))
    out = _conv_transpose(*ts, stride, padding, output_padding, groups, dilation)
    return _vjp(out, ts, grad_out)


def conv_transpose1d(x, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    return _n(_conv_transpose(_t(x), _t(weight), _t(bias), stride, padding, output_padding,
                              groups, dilation))


def conv_transpose3d(x, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    return _n(_conv_transpose(_t(x), _t(weight), _t(bias), stride, padding, output_padding,
                              groups, dilation))


def conv_transpose1d_backward(grad_out, x, weight, bias=None, stride=1, padding=0,
                              output_padding=0, groups=1, dilation=1):
    ts = (_t(x, True), _t(weight, True), _t(bias, bias is not None))
    out = _conv_transpose(*ts, stride, padding, output_padding, groups, dilation)
    return _vjp(out, ts, grad_out)


def conv_transpose3d_backward(grad_out, x, weight, bias=None, stride=1, padding=0,
                              output_padding=0, groups=1, dilation=1):
    ts = (_t(x, True), _t(weight, True), _t(bias, bias is not None))
    out = _conv_transpose(*ts, stride, padding, output_padding, groups, dilation)
    return _vjp(out, ts, grad_out)


def _unfold(x, kernel_size, dilation, padding, stride):
    return F.unfold(x, list(_pair(kernel_size)), list(_pair(stride)), list(_pair(padding)),
                    list(_pair(dilation)))


def unfold(x, kernel_size, dilation=1, padding=0, stride=1):
    return _n(_unfold(_t(x), kernel_size, dilation, padding, stride))


def unfold_backward(grad_out, x, kernel_size, dilation=1, padding=0, stride=1):
    xt = _t(x, True)
    return _vjp(_unfold(xt, kernel_size, dilation, padding, stride), (xt,), grad_out)[0]


def _fold(x, output_size, kernel_size, dilation, padding, stride):
    return F.fold(x, list(_pair(output_size)), list(_pair(kernel_size)), list(_pair(stride)),
                  list(_pair(padding)), list(_pair(dilation)))


def fold(x, output_size, kernel_size, dilation=1, padding=0, stride=1):
    return _n(_fold(_t(x), output_size, kernel_size, dilation, padding, stride))


def fold_backward(grad_out, x, output_size, kernel_size, dilation=1, padding=0, stride=1):
    xt = _t(x, True)
    out = _fold(xt, output_size, kernel_size, dilation, padding, stride)
    return _vjp(out, (xt,), grad_out)[0]


# --- pooling -----------------------------------------------------------------------------

def _no_dilation(dilation, nd=2):
    if _axes(dilation, nd) != (1,) * nd:
        raise NotImplementedError("paddle.nn.functional pooling has no dilation argument")


def _max_pool(x, kernel_size, stride, padding, dilation, ceil_mode):
    nd = x.ndim - 2
    _no_dilation(dilation, nd)
    return getattr(F, f"max_pool{nd}d")(x, kernel_size, stride, _explicit(padding, nd),
                                        ceil_mode=ceil_mode)


def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    return _n(_max_pool(_t(x), kernel_size, stride, padding, dilation, ceil_mode))


def max_pool2d_backward(grad_out, x, kernel_size, stride=None, padding=0, dilation=1,
                        ceil_mode=False):
    xt = _t(x, True)
    return _vjp(_max_pool(xt, kernel_size, stride, padding, dilation, ceil_mode), (xt,),
                grad_out)[0]


def max_pool1d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    return _n(_max_pool(_t(x), kernel_size, stride, padding, dilation, ceil_mode))


def max_pool3d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    return _n(_max_pool(_t(x), kernel_size, stride, padding, dilation, ceil_mode))


def max_pool1d_backward(grad_out, x, kernel_size, stride=None, padding=0, dilation=1,
                        ceil_mode=False):
    xt = _t(x, True)
    return _vjp(_max_pool(xt, kernel_size, stride, padding, dilation, ceil_mode), (xt,),
                grad_out)[0]


def max_pool3d_backward(grad_out, x, kernel_size, stride=None, padding=0, dilation=1,
                        ceil_mode=False):
    xt = _t(x, True)
    return _vjp(_max_pool(xt, kernel_size, stride, padding, dilation, ceil_mode), (xt,),
                grad_out)[0]


def _avg_pool(x, kernel_size, stride, padding, ceil_mode, count_include_pad,
              divisor_override, dilation):
    nd = x.ndim - 2
    _no_dilation(dilation, nd)
    # F.avg_pool1d has no divisor_override (nor has torch's avg_pool1d)
    extra = {} if nd == 1 else {"divisor_override": divisor_override}
    return getattr(F, f"avg_pool{nd}d")(x, kernel_size, stride, _explicit(padding, nd),
                                        ceil_mode=ceil_mode,
                                        exclusive=not count_include_pad, **extra)


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


def avg_pool3d(x, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None, dilation=1):
    return _n(_avg_pool(_t(x), kernel_size, stride, padding, ceil_mode, count_include_pad,
                        divisor_override, dilation))


def avg_pool3d_backward(grad_out, x, kernel_size, stride=None, padding=0, ceil_mode=False,
                        count_include_pad=True, divisor_override=None, dilation=1):
    xt = _t(x, True)
    out = _avg_pool(xt, kernel_size, stride, padding, ceil_mode, count_include_pad,
                    divisor_override, dilation)
    return _vjp(out, (xt,), grad_out)[0]


def avg_pool1d(x, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, dilation=1):
    return avg_pool2d(x, kernel_size, stride, padding, ceil_mode, count_include_pad, None,
                      dilation)


def avg_pool1d_backward(grad_out, x, kernel_size, stride=None, padding=0, ceil_mode=False,
                        count_include_pad=True, dilation=1):
    return avg_pool2d_backward(grad_out, x, kernel_size, stride, padding, ceil_mode,
                               count_include_pad, None, dilation)


def _adaptive(kind, x, output_size):
    """F.adaptive_{avg,max}_pool{nd}d; a None entry of output_size keeps that axis (as in
    torch and Paddle)."""
    return getattr(F, f"adaptive_{kind}_pool{x.ndim - 2}d")(x, output_size)


def adaptive_avg_pool2d(x, output_size):
    return _n(_adaptive("avg", _t(x), output_size))


def adaptive_avg_pool2d_backward(grad_out, x, output_size):
    xt = _t(x, True)
    return _vjp(_adaptive("avg", xt, output_size), (xt,), grad_out)[0]


def adaptive_max_pool2d(x, output_size):
    return _n(_adaptive("max", _t(x), output_size))


def adaptive_max_pool2d_backward(grad_out, x, output_size):
    xt = _t(x, True)
    return _vjp(_adaptive("max", xt, output_size), (xt,), grad_out)[0]


def adaptive_avg_pool1d(x, output_size):
    return _n(_adaptive("avg", _t(x), output_size))


def adaptive_avg_pool3d(x, output_size):
    return _n(_adaptive("avg", _t(x), output_size))


def adaptive_avg_pool1d_backward(grad_out, x, output_size):
    xt = _t(x, True)
    return _vjp(_adaptive("avg", xt, output_size), (xt,), grad_out)[0]


def adaptive_avg_pool3d_backward(grad_out, x, output_size):
    xt = _t(x, True)
    return _vjp(_adaptive("avg", xt, output_size), (xt,), grad_out)[0]


def adaptive_max_pool1d(x, output_size):
    return _n(_adaptive("max", _t(x), output_size))


def adaptive_max_pool3d(x, output_size):
    return _n(_adaptive("max", _t(x), output_size))


def adaptive_max_pool1d_backward(grad_out, x, output_size):
    xt = _t(x, True)
    return _vjp(_adaptive("max", xt, output_size), (xt,), grad_out)[0]


def adaptive_max_pool3d_backward(grad_out, x, output_size):
    xt = _t(x, True)
    return _vjp(_adaptive("max", xt, output_size), (xt,), grad_out)[0]


def _lp_pool(x, norm_type, kernel_size, stride, ceil_mode):
    return getattr(F, f"lp_pool{x.ndim - 2}d")(x, norm_type, kernel_size, stride,
                                               ceil_mode=ceil_mode)


def lp_pool2d(x, norm_type, kernel_size, stride=None, ceil_mode=False):
    return _n(_lp_pool(_t(x), norm_type, kernel_size, stride, ceil_mode))


def lp_pool2d_backward(grad_out, x, norm_type, kernel_size, stride=None, ceil_mode=False):
    xt = _t(x, True)
    return _vjp(_lp_pool(xt, norm_type, kernel_size, stride, ceil_mode), (xt,), grad_out)[0]


def lp_pool1d(x, norm_type, kernel_size, stride=None, ceil_mode=False):
    return _n(_lp_pool(_t(x), norm_type, kernel_size, stride, ceil_mode))


def lp_pool1d_backward(grad_out, x, norm_type, kernel_size, stride=None, ceil_mode=False):
    xt = _t(x, True)
    return _vjp(_lp_pool(xt, norm_type, kernel_size, stride, ceil_mode), (xt,), grad_out)[0]


def _unpool(x, indices, kernel_size, stride, padding, output_size):
    """F.max_unpool{nd}d with output_size as the full (N, C, *spatial) shape: max_unpool1d
    inserts its dummy axis at position 2 of output_size, so only the full form (which
    torch accepts too) reaches the 1-D kernel intact."""
    nd = x.ndim - 2
    full = None if output_size is None else list(x.shape[:2]) + list(output_size)
    return getattr(F, f"max_unpool{nd}d")(x, indices, kernel_size, stride,
                                          list(_axes(padding, nd)), output_size=full)


def max_unpool2d(x, indices, kernel_size, stride=None, padding=0, output_size=None):
    return _n(_unpool(_t(x), _t(indices), kernel_size, stride, padding, output_size))


def max_unpool2d_backward(grad_out, x, indices, kernel_size, stride=None, padding=0,
                          output_size=None):
    xt = _t(x, True)
    out = _unpool(xt, _t(indices), kernel_size, stride, padding, output_size)
    return _vjp(out, (xt,), grad_out)[0]


def max_unpool1d(x, indices, kernel_size, stride=None, padding=0, output_size=None):
    return _n(_unpool(_t(x), _t(indices), kernel_size, stride, padding, output_size))


def max_unpool3d(x, indices, kernel_size, stride=None, padding=0, output_size=None):
    return _n(_unpool(_t(x), _t(indices), kernel_size, stride, padding, output_size))


def max_unpool1d_backward(grad_out, x, indices, kernel_size, stride=None, padding=0,
                          output_size=None):
    xt = _t(x, True)
    out = _unpool(xt, _t(indices), kernel_size, stride, padding, output_size)
    return _vjp(out, (xt,), grad_out)[0]


def max_unpool3d_backward(grad_out, x, indices, kernel_size, stride=None, padding=0,
                          output_size=None):
    xt = _t(x, True)
    out = _unpool(xt, _t(indices), kernel_size, stride, padding, output_size)
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


# --- layer, group and instance norm ------------------------------------------------------

def _layer_norm(x, normalized_shape, weight, bias, eps):
    """F.layer_norm takes weight and bias flattened to one axis (its infermeta: "Expected
    scale.dims().size() == 1"); reshaped inside, so their gradients keep their shapes."""
    flat = [-1]
    return F.layer_norm(x, normalized_shape, None if weight is None else weight.reshape(flat),
                        None if bias is None else bias.reshape(flat), epsilon=eps)


def layer_norm(x, normalized_shape, weight=None, bias=None, eps=1e-05):
    return _n(_layer_norm(_t(x), normalized_shape, _t(weight), _t(bias), eps))


def layer_norm_backward(grad_out, x, normalized_shape, weight=None, bias=None, eps=1e-05):
    ts = (_t(x, True), _t(weight, weight is not None), _t(bias, bias is not None))
    return _vjp(_layer_norm(ts[0], normalized_shape, ts[1], ts[2], eps), ts, grad_out)


def group_norm(x, num_groups, weight=None, bias=None, eps=1e-05):
    return _n(F.group_norm(_t(x), num_groups, eps, _t(weight), _t(bias)))


def group_norm_backward(grad_out, x, num_groups, weight=None, bias=None, eps=1e-05):
    ts = (_t(x, True), _t(weight, weight is not None), _t(bias, bias is not None))
    return _vjp(F.group_norm(ts[0], num_groups, eps, ts[1], ts[2]), ts, grad_out)


def _instance_norm(x, running_mean, running_var, weight, bias, use_input_stats, momentum,
                   eps):
    """F.instance_norm; momentum as 1 - torch's (Paddle's weighs the old running value, as
    in batch_norm). The running statistics are fresh Paddle tensors: the NumPy inputs are
    never written."""
    if not use_input_stats:
        raise NotImplementedError("paddle.nn.functional.instance_norm: use_input_stats is "
                                  '"Obsolete (that is, no longer usable)" (its docstring)')
    return F.instance_norm(x, running_mean, running_var, weight, bias, use_input_stats,
                           1 - momentum, eps)


def instance_norm(x, running_mean=None, running_var=None, weight=None, bias=None,
                  use_input_stats=True, momentum=0.1, eps=1e-05):
    return _n(_instance_norm(_t(x), _t(running_mean), _t(running_var), _t(weight), _t(bias),
                             use_input_stats, momentum, eps))


def instance_norm_backward(grad_out, x, running_mean=None, running_var=None, weight=None,
                           bias=None, use_input_stats=True, momentum=0.1, eps=1e-05):
    ts = (_t(x, True), _t(weight, weight is not None), _t(bias, bias is not None))
    out = _instance_norm(ts[0], _t(running_mean), _t(running_var), ts[1], ts[2],
                         use_input_stats, momentum, eps)
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


def _ce(logits, target, weight, ignore_index, reduction, label_smoothing):
    """F.cross_entropy with the class axis moved last, Paddle's default axis (its
    label_smoothing takes the depth of its one-hot from the last axis, and its weighted
    soft labels multiply along it, whatever `axis` says); probability targets (a float
    target of the logits' shape, moved alike) are Paddle's soft_label=True, whose
    reduction='none' keeps a trailing axis of 1."""
    soft = target.dtype != paddle.int64
    last = lambda t: t if t.ndim == 2 else paddle.moveaxis(t, 1, -1)   # noqa: E731
    out = F.cross_entropy(last(logits), last(target) if soft else target, weight,
                          ignore_index, reduction, soft_label=soft,
                          label_smoothing=label_smoothing)
    return out.squeeze(-1) if soft and reduction == "none" else out


def _target(target):
    """Class indices as int64, probabilities as given."""
    target = np.asarray(target)
    return _t(target if target.dtype.kind == "f" else target.astype(np.int64))


def cross_entropy(logits, target, weight=None, ignore_index=-100, reduction="mean",
                  label_smoothing=0.0):
    return _n(_ce(_t(logits), _target(target), _t(weight), ignore_index, reduction,
                  label_smoothing))


def cross_entropy_backward(grad_out, logits, target, weight=None, ignore_index=-100,
                           reduction="mean", label_smoothing=0.0):
    zt = _t(logits, True)
    out = _ce(zt, _target(target), _t(weight), ignore_index, reduction, label_smoothing)
    return _vjp(out, (zt,), grad_out)[0]


def nll_loss(input, target, weight=None, ignore_index=-100, reduction="mean"):
    return _n(F.nll_loss(_t(input), _target(target), _t(weight), ignore_index, reduction))


def nll_loss_backward(grad_out, input, target, weight=None, ignore_index=-100,
                      reduction="mean"):
    xt = _t(input, True)
    out = F.nll_loss(xt, _target(target), _t(weight), ignore_index, reduction)
    return _vjp(out, (xt,), grad_out)[0]


def _dense(x, weight, bias):
    return F.linear(x, weight.T, bias)


def dense(x, weight, bias=None):
    return _n(_dense(_t(x), _t(weight), _t(bias)))


def dense_backward(grad_out, x, weight, bias=None):
    ts = (_t(x, True), _t(weight, True), _t(bias, bias is not None))
    return _vjp(_dense(*ts), ts, grad_out)
