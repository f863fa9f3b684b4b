"""tinygrad adapter (tested with tinygrad 0.14.0 on its CPU backend, DEV=CPU).

What maps onto what (tinygrad is NCHW like the reference, so no layout change):
  conv2d          Tensor.conv2d(weight, bias, groups, stride, dilation, padding); padding
                  'same' goes to nn.Conv2d(padding='same'), the only place tinygrad names it;
                  'valid' and 'full' (no named form in tinygrad) and ((top, bottom),
                  (left, right)) become tinygrad's explicit (left, right, top, bottom) pads
  max_pool2d      Tensor.max_pool2d(kernel_size, stride, dilation, padding, ceil_mode)
  avg_pool2d      Tensor.avg_pool2d(kernel_size, stride, dilation, padding, ceil_mode,
                  count_include_pad); tinygrad has no divisor_override
  batch_norm      nn.BatchNorm (its calc_stats, its running-statistics update under
                  Context(TRAINING=1)), which calls Tensor.batchnorm(weight, bias, mean,
                  invstd)
  relu, leaky_relu, sigmoid, tanh, softmax(axis), log_softmax(axis): the Tensor methods
  dense           Tensor.linear(weight.T, bias), as nn.Linear calls it (tinygrad's linear
                  takes weight as (in, out))
  conv1d, conv3d  Tensor.conv2d, which takes the weight's number of spatial axes; padding
                  in its flat form (before, after per axis, last axis first), 'same'
                  through nn.Conv2d with the N-D kernel
  conv_transpose1d/2d/3d  Tensor.conv_transpose2d (N-D, torch's weight layout), flat pads
  max_pool1d/3d, avg_pool1d/3d  Tensor.max_pool2d / avg_pool2d with one kernel entry per
                  axis (an int kernel means 2-D to tinygrad)
  max_unpool1d/2d/3d  Tensor.max_unpool2d (N-D, flat indices per plane as torch's)
  layer_norm, group_norm, instance_norm  nn.LayerNorm / GroupNorm / InstanceNorm with the
                  weight and bias set (a missing one as ones / zeros: the layers apply
                  neither unless both are set); InstanceNorm has no running statistics
                  (use_input_stats=False: NotImplementedError)
  nll_loss        Tensor.nll_loss(target, weight, ignore_index, reduction)
  cross_entropy   class indices: Tensor.sparse_categorical_crossentropy(ignore_index,
                  label_smoothing, reduction) with the class axis moved last; probabilities:
                  Tensor.cross_entropy(reduction, label_smoothing); no class weights
Not defined (tinygrad has no such operation): unfold / fold (Tensor.unfold is torch's
Tensor.unfold, a different operation), adaptive pooling, lp pooling.
Gradients: tinygrad's autodiff, out.backward(gradient=grad_out), read from `.grad` of the
inputs. tinygrad 0.14 has no requires_grad flag: backward fills .grad for every floating
tensor in the graph. float64 runs natively on the CPU backend (dtypes.float64).

Backend: tinygrad's CPU device compiles every kernel with clang (`clang -c -x c
--target=x86_64-none-unknown-elf ...`, or $CC); gcc rejects --target, so clang must be
installed (Debian: apt-get install clang). DEV=CPU selects the device; tinygrad reads it
when it is imported, so it is set (unless already set) before the import.
"""
from __future__ import annotations

import os
import shutil

os.environ.setdefault("DEV", "CPU")   # read by tinygrad.helpers at import time
# without the compiler every kernel fails with FileNotFoundError: say so once, at import
if os.environ["DEV"] == "CPU" and shutil.which(os.environ.get("CC", "clang")) is None:
    raise ImportError("tinygrad's CPU backend compiles its kernels with clang, which is "
                      "not installed (Debian: apt-get install clang)")

import numpy as np  # noqa: E402
from tinygrad import Context, Tensor, dtypes, nn  # noqa: E402

DOCS = "https://docs.tinygrad.org/tensor/ops/"

NOTES = {
    "conv2d": "Tensor.conv2d; padding='same' through nn.Conv2d(padding='same') (tinygrad's "
              "only named padding; in 0.14.0 it pairs dilation (h, w) with the reversed "
              "kernel, wrong when dilation_h != dilation_w (fixed upstream: github.com/tinygrad/tinygrad/pull/17805), and "
              "refuses stride=(1, 1) because it tests `stride != 1`); 'valid' and 'full' as "
              "explicit pads (tinygrad names neither); ((t, b), (l, r)) as tinygrad's "
              "(left, right, top, bottom) form.",
    "max_pool2d": "Tensor.max_pool2d pads with -inf. Known difference: its max is lowered to "
                  "(a < b) ? b : a, so a NaN wins only as the first tap of its window "
                  "(github.com/tinygrad/tinygrad/issues/862). Its backward is the reduce-max gradient, which "
                  "splits the gradient evenly among tied maxima (torch: all to the first).",
    "leaky_relu_backward": "Tensor.leaky_relu is (x < 0).where(slope*x, x): derivative 1 at "
                           "x = 0 (torch: negative_slope).",
    "avg_pool2d": "Tensor.avg_pool2d has no divisor_override (NotImplementedError when it "
                  "is set); dilation is tinygrad's own argument.",
    "batch_norm": "nn.BatchNorm, the layer that computes the batch statistics and updates "
                  "the running ones (momentum as torch's, unbiased variance factor "
                  "numel/(numel - C)) under Context(TRAINING=1); it calls Tensor.batchnorm "
                  "with invstd = rsqrt(var + eps). Returns (y, new_running_mean, "
                  "new_running_var).",
    "cross_entropy": "Tensor.sparse_categorical_crossentropy for class indices (class axis "
                     "moved last; its ignore_index=-1 means none, so torch's "
                     "ignore_index=-1 cannot be expressed), Tensor.cross_entropy for "
                     "probabilities; no class weights.",
    "layer_norm": "nn.LayerNorm; a missing weight or bias as ones / zeros (tinygrad's norm "
                  "layers apply neither unless both are set).",
    "instance_norm": "nn.InstanceNorm keeps no running statistics: use_input_stats=False "
                     "is NotImplementedError.",
    "dense": "Tensor.linear(weight.T, bias), as tinygrad's nn.Linear calls it.",
}


# --- helpers -----------------------------------------------------------------------------

def _t(a):
    """A NumPy array (or None) as a tinygrad Tensor of the same dtype."""
    return None if a is None else Tensor(np.array(a, order="C"))   # keeps shape ()


def _np(t):
    return None if t is None else np.asarray(t.numpy())


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def _explicit_pads(padding):
    """An int, (h, w) or ((top, bottom), (left, right)) in tinygrad's padding forms: int,
    (h, w), or (left, right, top, bottom)."""
    if isinstance(padding, int):
        return padding
    if all(isinstance(p, (tuple, list)) for p in padding):
        (t, b), (l, r) = padding
        return (l, r, t, b)
    return tuple(padding)


def _axes(v, nd):
    """An int or one value per axis -> a tuple of nd ints."""
    return (int(v),) * nd if np.ndim(v) == 0 else tuple(int(a) for a in v)


def _flat_pads(padding, nd):
    """An int, one per axis, or ((before, after), ...) -> tinygrad's flat form, last axis
    first: (before_last, after_last, ..., before_first, after_first)."""
    pairs = [_axes(p, 2) for p in padding] if np.ndim(padding) == 2 else \
        [(p, p) for p in _axes(padding, nd)]
    return tuple(v for pair in reversed(pairs) for v in pair)


def _grads(out, grad_out, *inputs):
    """tinygrad's backward with grad_out as the upstream gradient; .grad of each input."""
    out.backward(gradient=_t(grad_out).cast(out.dtype))   # a Python scalar is float64
    return tuple(None if t is None else _np(t.grad) for t in inputs)


# --- convolution -------------------------------------------------------------------------

def _conv(x, w, b, stride, padding, dilation, groups):
    """Tensor.conv2d on tinygrad Tensors; 'same' through nn.Conv2d's own rule."""
    if isinstance(padding, str) and padding not in ("valid", "full"):
        k = tuple(w.shape[2:])
        layer = nn.Conv2d(w.shape[1] * groups, w.shape[0], k, stride=stride, padding=padding,
                          dilation=dilation, groups=groups, bias=b is not None)
        layer.weight, layer.bias = w, b
        return layer(x)
    if padding == "valid":
        padding = 0
    elif padding == "full":   # every partial overlap: d*(k-1) on both sides
        padding = tuple(d * (k - 1) for d, k in zip(_pair(dilation), w.shape[2:]))
    return x.conv2d(w, b, groups=groups, stride=stride, dilation=dilation,
                    padding=_explicit_pads(padding))


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    return _np(_conv(_t(x), _t(weight), _t(bias), stride, padding, dilation, groups))


def conv2d_backward(grad_out, x, weight, bias=None, stride=1, padding=0, dilation=1,
                    groups=1):
    tx, tw, tb = _t(x), _t(weight), _t(bias)
    out = _conv(tx, tw, tb, stride, padding, dilation, groups)
    return _grads(out, grad_out, tx, tw, tb)


def _conv_nd(x, w, b, stride, padding, dilation, groups):
    """Tensor.conv2d, which takes any number of spatial axes (the weight's); 'same' through
    nn.Conv2d with the N-D kernel (tinygrad's nn.Conv1d does the same), 'valid' and 'full'
    as explicit pads."""
    nd = w.ndim - 2
    if isinstance(padding, str) and padding not in ("valid", "full"):
        layer = nn.Conv2d(w.shape[1] * groups, w.shape[0], tuple(w.shape[2:]), stride=stride,
                          padding=padding, dilation=dilation, groups=groups, bias=b is not None)
        layer.weight, layer.bias = w, b
        return layer(x)
    if padding == "valid":
        padding = 0
    elif padding == "full":
        padding = tuple(d * (k - 1) for d, k in zip(_axes(dilation, nd), w.shape[2:]))
    return x.conv2d(w, b, groups=groups, stride=stride, dilation=dilation,
                    padding=_flat_pads(padding, nd))


def conv1d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    return _np(_conv_nd(_t(x), _t(weight), _t(bias), stride, padding, dilation, groups))


def conv1d_backward(grad_out, x, weight, bias=None, stride=1, padding=0, dilation=1,
                    groups=1):
    tx, tw, tb = _t(x), _t(weight), _t(bias)
    out = _conv_nd(tx, tw, tb, stride, padding, dilation, groups)
    return _grads(out, grad_out, tx, tw, tb)


def conv3d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    return _np(_conv_nd(_t(x), _t(weight), _t(bias), stride, padding, dilation, groups))


def conv3d_backward(grad_out, x, weight, bias=None, stride=1, padding=0, dilation=1,
                    groups=1):
    tx, tw, tb = _t(x), _t(weight), _t(bias)
    out = _conv_nd(tx, tw, tb, stride, padding, dilation, groups)
    return _grads(out, grad_out, tx, tw, tb)


def _conv_transpose(x, w, b, stride, padding, output_padding, groups, dilation):
    """Tensor.conv_transpose2d, any number of spatial axes, torch's weight layout; the
    padding in tinygrad's flat form (asymmetric pairs included)."""
    return x.conv_transpose2d(w, b, groups=groups, stride=stride, dilation=dilation,
                              padding=_flat_pads(padding, w.ndim - 2),
                              output_padding=output_padding)


def conv_transpose1d(x, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    return _np(_conv_transpose(_t(x), _t(weight), _t(bias), stride, padding, output_padding,
                               groups, dilation))


def conv_transpose1d_backward(grad_out, x, weight, bias=None, stride=1, padding=0,
                              output_padding=0, groups=1, dilation=1):
    tx, tw, tb = _t(x), _t(weight), _t(bias)
    out = _conv_transpose(tx, tw, tb, stride, padding, output_padding, groups, dilation)
    return _grads(out, grad_out, tx, tw, tb)


def conv_transpose2d(x, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    return _np(_conv_transpose(_t(x), _t(weight), _t(bias), stride, padding, output_padding,
                               groups, dilation))


def conv_transpose2d_backward(grad_out, x, weight, bias=None, stride=1, padding=0,
                              output_padding=0, groups=1, dilation=1):
    tx, tw, tb = _t(x), _t(weight), _t(bias)
    out = _conv_transpose(tx, tw, tb, stride, padding, output_padding, groups, dilation)
    return _grads(out, grad_out, tx, tw, tb)


def conv_transpose3d(x, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    return _np(_conv_transpose(_t(x), _t(weight), _t(bias), stride, padding, output_padding,
                               groups, dilation))


def conv_transpose3d_backward(grad_out, x, weight, bias=None, stride=1, padding=0,
                              output_padding=0, groups=1, dilation=1):
    tx, tw, tb = _t(x), _t(weight), _t(bias)
    out = _conv_transpose(tx, tw, tb, stride, padding, output_padding, groups, dilation)
    return _grads(out, grad_out, tx, tw, tb)


# --- pooling -----------------------------------------------------------------------------

def _max_pool(x, kernel_size, stride, padding, dilation, ceil_mode):
    return x.max_pool2d(_pair(kernel_size), stride=stride, dilation=dilation,
                        padding=_explicit_pads(padding), ceil_mode=ceil_mode)


def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    return _np(_max_pool(_t(x), kernel_size, stride, padding, dilation, ceil_mode))


def max_pool2d_backward(grad_out, x, kernel_size, stride=None, padding=0, dilation=1,
                        ceil_mode=False):
    tx = _t(x)
    out = _max_pool(tx, kernel_size, stride, padding, dilation, ceil_mode)
    return _grads(out, grad_out, tx)[0]


def _avg_pool(x, kernel_size, stride, padding, ceil_mode, count_include_pad,
              divisor_override, dilation):
    if divisor_override is not None:
        raise NotImplementedError("tinygrad avg_pool2d: divisor_override unsupported (Tensor."
                                  f"avg_pool2d has no such argument, {DOCS})")
    return x.avg_pool2d(_pair(kernel_size), stride=stride, dilation=dilation,
                        padding=_explicit_pads(padding), ceil_mode=ceil_mode,
                        count_include_pad=count_include_pad)


def avg_pool2d(x, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None, dilation=1):
    return _np(_avg_pool(_t(x), kernel_size, stride, padding, ceil_mode, count_include_pad,
                         divisor_override, dilation))


def avg_pool2d_backward(grad_out, x, kernel_size, stride=None, padding=0, ceil_mode=False,
                        count_include_pad=True, divisor_override=None, dilation=1):
    tx = _t(x)
    out = _avg_pool(tx, kernel_size, stride, padding, ceil_mode, count_include_pad,
                    divisor_override, dilation)
    return _grads(out, grad_out, tx)[0]


def _max_pool_nd(x, kernel_size, stride, padding, dilation, ceil_mode):
    """Tensor.max_pool2d with one kernel entry per spatial axis (an int kernel means 2-D
    to tinygrad) and the flat padding form."""
    nd = x.ndim - 2
    return x.max_pool2d(_axes(kernel_size, nd), stride=stride, dilation=dilation,
                        padding=_flat_pads(padding, nd), ceil_mode=ceil_mode)


def max_pool1d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    return _np(_max_pool_nd(_t(x), kernel_size, stride, padding, dilation, ceil_mode))


def max_pool1d_backward(grad_out, x, kernel_size, stride=None, padding=0, dilation=1,
                        ceil_mode=False):
    tx = _t(x)
    return _grads(_max_pool_nd(tx, kernel_size, stride, padding, dilation, ceil_mode),
                  grad_out, tx)[0]


def max_pool3d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    return _np(_max_pool_nd(_t(x), kernel_size, stride, padding, dilation, ceil_mode))


def max_pool3d_backward(grad_out, x, kernel_size, stride=None, padding=0, dilation=1,
                        ceil_mode=False):
    tx = _t(x)
    return _grads(_max_pool_nd(tx, kernel_size, stride, padding, dilation, ceil_mode),
                  grad_out, tx)[0]


def _avg_pool_nd(x, kernel_size, stride, padding, ceil_mode, count_include_pad,
                 divisor_override, dilation):
    nd = x.ndim - 2
    if divisor_override is not None:
        raise NotImplementedError("tinygrad avg_pool2d: divisor_override unsupported (Tensor."
                                  f"avg_pool2d has no such argument, {DOCS})")
    return x.avg_pool2d(_axes(kernel_size, nd), stride=stride, dilation=dilation,
                        padding=_flat_pads(padding, nd), ceil_mode=ceil_mode,
                        count_include_pad=count_include_pad)


def avg_pool1d(x, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, dilation=1):
    return _np(_avg_pool_nd(_t(x), kernel_size, stride, padding, ceil_mode,
                            count_include_pad, None, dilation))


def avg_pool1d_backward(grad_out, x, kernel_size, stride=None, padding=0, ceil_mode=False,
                        count_include_pad=True, dilation=1):
    tx = _t(x)
    out = _avg_pool_nd(tx, kernel_size, stride, padding, ceil_mode, count_include_pad, None,
                       dilation)
    return _grads(out, grad_out, tx)[0]


def avg_pool3d(x, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None, dilation=1):
    return _np(_avg_pool_nd(_t(x), kernel_size, stride, padding, ceil_mode,
                            count_include_pad, divisor_override, dilation))


def avg_pool3d_backward(grad_out, x, kernel_size, stride=None, padding=0, ceil_mode=False,
                        count_include_pad=True, divisor_override=None, dilation=1):
    tx = _t(x)
    out = _avg_pool_nd(tx, kernel_size, stride, padding, ceil_mode, count_include_pad,
                       divisor_override, dilation)
    return _grads(out, grad_out, tx)[0]


def _unpool(x, indices, kernel_size, stride, padding, output_size):
    """Tensor.max_unpool2d (any number of spatial axes; flat indices per (N, C) plane, as
    torch's)."""
    nd = x.ndim - 2
    return x.max_unpool2d(indices, _axes(kernel_size, nd), stride=stride,
                          padding=_flat_pads(padding, nd), output_size=output_size)


def max_unpool1d(x, indices, kernel_size, stride=None, padding=0, output_size=None):
    return _np(_unpool(_t(x), _t(indices), kernel_size, stride, padding, output_size))


def max_unpool1d_backward(grad_out, x, indices, kernel_size, stride=None, padding=0,
                          output_size=None):
    tx = _t(x)
    out = _unpool(tx, _t(indices), kernel_size, stride, padding, output_size)
    return _grads(out, grad_out, tx)[0]


def max_unpool2d(x, indices, kernel_size, stride=None, padding=0, output_size=None):
    return _np(_unpool(_t(x), _t(indices), kernel_size, stride, padding, output_size))


def max_unpool2d_backward(grad_out, x, indices, kernel_size, stride=None, padding=0,
                          output_size=None):
    tx = _t(x)
    out = _unpool(tx, _t(indices), kernel_size, stride, padding, output_size)
    return _grads(out, grad_out, tx)[0]


def max_unpool3d(x, indices, kernel_size, stride=None, padding=0, output_size=None):
    return _np(_unpool(_t(x), _t(indices), kernel_size, stride, padding, output_size))


def max_unpool3d_backward(grad_out, x, indices, kernel_size, stride=None, padding=0,
                          output_size=None):
    tx = _t(x)
    out = _unpool(tx, _t(indices), kernel_size, stride, padding, output_size)
    return _grads(out, grad_out, tx)[0]


# --- batch normalisation -----------------------------------------------------------------

def _batch_norm(x, running_mean, running_var, weight, bias, training, momentum, eps):
    """tinygrad's nn.BatchNorm with the given parameters and running statistics; returns
    (y, layer). Context(TRAINING=1) is how tinygrad selects batch statistics and the
    running-statistics update."""
    track = running_mean is not None and running_var is not None
    layer = nn.BatchNorm(x.shape[1], eps=eps, affine=False, track_running_stats=track,
                         momentum=momentum)
    layer.weight, layer.bias = weight, bias
    if track:
        layer.running_mean, layer.running_var = running_mean, running_var
    with Context(TRAINING=int(bool(training))):
        y = layer(x)
    return y, layer


def batch_norm(x, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-05):
    y, layer = _batch_norm(_t(x), _t(running_mean), _t(running_var), _t(weight), _t(bias),
                           training, momentum, eps)
    if running_mean is None or running_var is None:
        return _np(y)
    return _np(y), _np(layer.running_mean), _np(layer.running_var)


def batch_norm_backward(grad_out, x, running_mean, running_var, weight=None, bias=None,
                        training=False, momentum=0.1, eps=1e-05):
    tx, tw, tb = _t(x), _t(weight), _t(bias)
    y, _ = _batch_norm(tx, _t(running_mean), _t(running_var), tw, tb, training, momentum,
                       eps)
    return _grads(y, grad_out, tx, tw, tb)


# --- layer, group and instance norm ------------------------------------------------------

def _affine(layer, weight, bias):
    """A norm layer's weight and bias: tinygrad's layers apply neither unless both are set,
    so a missing one is its identity (ones, zeros), as torch's None means."""
    if weight is None and bias is None:
        layer.weight = layer.bias = None
    else:
        given = weight if weight is not None else bias
        layer.weight = given.ones_like() if weight is None else weight
        layer.bias = given.zeros_like() if bias is None else bias
    return layer


def _layer_norm(x, normalized_shape, weight, bias, eps):
    layer = nn.LayerNorm(tuple(np.atleast_1d(normalized_shape).tolist()), eps=eps)
    return _affine(layer, weight, bias)(x)


def layer_norm(x, normalized_shape, weight=None, bias=None, eps=1e-05):
    return _np(_layer_norm(_t(x), normalized_shape, _t(weight), _t(bias), eps))


def layer_norm_backward(grad_out, x, normalized_shape, weight=None, bias=None, eps=1e-05):
    tx, tw, tb = _t(x), _t(weight), _t(bias)
    return _grads(_layer_norm(tx, normalized_shape, tw, tb, eps), grad_out, tx, tw, tb)


def _group_norm(x, num_groups, weight, bias, eps):
    return _affine(nn.GroupNorm(num_groups, x.shape[1], eps=eps), weight, bias)(x)


def group_norm(x, num_groups, weight=None, bias=None, eps=1e-05):
    return _np(_group_norm(_t(x), num_groups, _t(weight), _t(bias), eps))


def group_norm_backward(grad_out, x, num_groups, weight=None, bias=None, eps=1e-05):
    tx, tw, tb = _t(x), _t(weight), _t(bias)
    return _grads(_group_norm(tx, num_groups, tw, tb, eps), grad_out, tx, tw, tb)


def _instance_norm(x, weight, bias, use_input_stats, eps):
    """nn.InstanceNorm, which keeps no running statistics."""
    if not use_input_stats:
        raise NotImplementedError("tinygrad nn.InstanceNorm keeps no running statistics "
                                  "(use_input_stats=False)")
    return _affine(nn.InstanceNorm(x.shape[1], eps=eps), weight, bias)(x)


def instance_norm(x, running_mean=None, running_var=None, weight=None, bias=None,
                  use_input_stats=True, momentum=0.1, eps=1e-05):
    return _np(_instance_norm(_t(x), _t(weight), _t(bias), use_input_stats, eps))


def instance_norm_backward(grad_out, x, running_mean=None, running_var=None, weight=None,
                           bias=None, use_input_stats=True, momentum=0.1, eps=1e-05):
    tx, tw, tb = _t(x), _t(weight), _t(bias)
    return _grads(_instance_norm(tx, tw, tb, use_input_stats, eps), grad_out, tx, tw, tb)


# --- activations -------------------------------------------------------------------------

def relu(x):
    return _np(_t(x).relu())


def relu_backward(grad_out, x):
    tx = _t(x)
    return _grads(tx.relu(), grad_out, tx)[0]


def leaky_relu(x, negative_slope=0.01):
    return _np(_t(x).leaky_relu(neg_slope=negative_slope))


def leaky_relu_backward(grad_out, x, negative_slope=0.01):
    tx = _t(x)
    return _grads(tx.leaky_relu(neg_slope=negative_slope), grad_out, tx)[0]


def sigmoid(x):
    return _np(_t(x).sigmoid())


def sigmoid_backward(grad_out, x):
    tx = _t(x)
    return _grads(tx.sigmoid(), grad_out, tx)[0]


def tanh(x):
    return _np(_t(x).tanh())


def tanh_backward(grad_out, x):
    tx = _t(x)
    return _grads(tx.tanh(), grad_out, tx)[0]


def softmax(x, dim):
    return _np(_t(x).softmax(axis=dim))


def softmax_backward(grad_out, x, dim):
    tx = _t(x)
    return _grads(tx.softmax(axis=dim), grad_out, tx)[0]


def log_softmax(x, dim):
    return _np(_t(x).log_softmax(axis=dim))


def log_softmax_backward(grad_out, x, dim):
    tx = _t(x)
    return _grads(tx.log_softmax(axis=dim), grad_out, tx)[0]


# --- loss and dense ----------------------------------------------------------------------

def _ce(logits, target, ignore_index, reduction, label_smoothing):
    """Probabilities (a float target): Tensor.cross_entropy (class axis 1, no
    ignore_index); class indices: Tensor.sparse_categorical_crossentropy with the class
    axis moved last (its axis), which has ignore_index (its -1 means none)."""
    if dtypes.is_float(target.dtype):
        return logits.cross_entropy(target, reduction=reduction,
                                    label_smoothing=label_smoothing)
    last = logits if logits.ndim == 2 else logits.permute(0, *range(2, logits.ndim), 1)
    return last.sparse_categorical_crossentropy(target, ignore_index=ignore_index,
                                                label_smoothing=label_smoothing,
                                                reduction=reduction)


def cross_entropy(logits, target, ignore_index=-100, reduction="mean", label_smoothing=0.0):
    return _np(_ce(_t(logits), _t(target), ignore_index, reduction, label_smoothing))


def cross_entropy_backward(grad_out, logits, target, ignore_index=-100, reduction="mean",
                           label_smoothing=0.0):
    tl = _t(logits)
    out = _ce(tl, _t(target), ignore_index, reduction, label_smoothing)
    return _grads(out, grad_out, tl)[0]


def nll_loss(input, target, weight=None, ignore_index=-100, reduction="mean"):
    return _np(_t(input).nll_loss(_t(target), _t(weight), ignore_index, reduction))


def nll_loss_backward(grad_out, input, target, weight=None, ignore_index=-100,
                      reduction="mean"):
    ti = _t(input)
    return _grads(ti.nll_loss(_t(target), _t(weight), ignore_index, reduction), grad_out,
                  ti)[0]


def dense(x, weight, bias=None):
    return _np(_t(x).linear(_t(weight).transpose(), _t(bias)))


def dense_backward(grad_out, x, weight, bias=None):
    tx, tw, tb = _t(x), _t(weight), _t(bias)
    return _grads(tx.linear(tw.transpose(), tb), grad_out, tx, tw, tb)
