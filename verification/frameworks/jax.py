"""JAX adapter (tested with jax 0.10.2 on the CPU, float64 enabled: jax_enable_x64).

What maps onto what (the layouts are given to XLA as NC(D)HW / OI(D)HW, so no transposes):
  conv1d/2d/3d    jax.lax.conv_general_dilated(x, w, window_strides, padding,
                  rhs_dilation=dilation, dimension_numbers=('NCHW', 'OIHW', 'NCHW') and
                  their 1-D / 3-D forms, feature_group_count=groups) + bias; padding
                  'same' / 'valid' -> XLA's 'SAME' / 'VALID', numbers, (before, after)
                  pairs and 'full' -> explicit ((lo, hi), ...)
  conv_transpose1d/2d/3d  the same call with lhs_dilation=stride, the kernel flipped and
                  its in/out channels swapped per group, pads d*(k - 1) - before and
                  d*(k - 1) - after + output_padding: what lax.conv_transpose does, which
                  has no feature_group_count (so no groups) and no output_padding
  unfold          jax.lax.conv_general_dilated_patches (channel-major patches, as torch)
  max_pool1d/2d/3d  jax.lax.reduce_window(x, -inf, lax.max, ...) with explicit pads and
                  window_dilation: the primitive flax.linen.max_pool and stax.MaxPool call
  avg_pool1d/2d/3d  jax.lax.reduce_window(x, 0, lax.add, ...) divided by the window
                  size, or, for count_include_pad=False, by the same reduce_window over
                  ones: flax.linen.avg_pool's two formulas (JAX has no average-pool
                  primitive); divisor_override divides by the given number
  layer_norm, group_norm, instance_norm  jax.nn.standardize (its default
                  algorithm='fast': var = mean(x^2) - mean(x)^2, clipped at 0) over the
                  normalised axes, then * weight + bias; group norm reshaped to
                  (N, G, C // G * spatial) as flax.linen.GroupNorm does; instance norm
                  with use_input_stats=False standardises with the running statistics
                  (mean=, variance=), which are never updated
  relu, leaky_relu, sigmoid, softmax, log_softmax: jax.nn; tanh: jax.numpy.tanh
  nll_loss        -take_along_axis(input, target) * weight[target] (0 where ignored):
                  optax's integer-label cross entropy on log-probabilities, weighted;
                  'mean' divides by the summed weights of the kept targets
  cross_entropy   the same on jax.nn.log_softmax(logits), plus label_smoothing / C times
                  -sum_c weight_c log p_c; probability targets: -sum_c weight_c q_c log p_c
                  with q = optax.smooth_labels(target, label_smoothing), 'mean' over the
                  N * spatial rows
  dense           x @ weight.T + bias (flax.linen.Dense's dot_general, torch's layout)
Gradients: jax.vjp of the same function, called with grad_out as the cotangent.

Not defined (JAX, flax.linen and optax have no such operator; writing one from jnp
slicing would be the adapter's algorithm, not JAX's): batch_norm (flax / haiku have
layers, with running statistics of their own), fold, adaptive_avg_pool1d/2d/3d,
adaptive_max_pool1d/2d/3d, lp_pool1d/2d/3d, max_unpool1d/2d/3d. ceil_mode:
reduce_window has no such argument
(https://docs.jax.dev/en/latest/_autosummary/jax.lax.reduce_window.html), so
ceil_mode=True is NotImplementedError.
"""
from __future__ import annotations

import numpy as np
import jax

jax.config.update("jax_enable_x64", True)   # float64 stays float64

import jax.numpy as jnp  # noqa: E402
from jax import lax  # noqa: E402

_NO_OP = "not defined: JAX has no {} (nor flax.linen; flax's pools are avg, max and min)"
NOTES = {
    "batch_norm": "not defined: JAX has no batch normalisation (flax / haiku have layers)",
    "max_pool2d": "lax.reduce_window(-inf, lax.max) with explicit pads; no ceil_mode "
                  "(NotImplementedError). XLA's max propagates NaN.",
    "avg_pool2d": "lax.reduce_window(0, lax.add) / window size (or / the count of "
                  "non-pad taps, flax's count_include_pad=False); no ceil_mode.",
    "conv_transpose2d": "lax.conv_general_dilated with lhs_dilation=stride and the flipped, "
                        "per-group transposed kernel (lax.conv_transpose has no groups)",
    "unfold": "lax.conv_general_dilated_patches, flattened to (N, C * kH * kW, L)",
    "fold": "not defined: JAX has no fold / col2im operator",
    "layer_norm": "jax.nn.standardize (default algorithm='fast': mean(x^2) - mean(x)^2) "
                  "* weight + bias",
    "group_norm": "jax.nn.standardize over (N, G, C // G * spatial), flax's GroupNorm "
                  "reshape, then * weight + bias",
    "instance_norm": "jax.nn.standardize over the spatial axes, or with mean= / variance= "
                     "the running statistics (not updated)",
    "nll_loss": "-take_along_axis(input, target) * weight[target], reduced as torch "
                "documents (JAX has no loss functions; optax's formulas)",
    "cross_entropy": "jax.nn.log_softmax, then nll_loss's formula with optax.smooth_labels's "
                     "label smoothing; probability targets -sum(w * q * log p)",
}
_MISSING = {"adaptive_avg_pool": "adaptive pooling", "adaptive_max_pool": "adaptive pooling",
            "lp_pool": "Lp (power-average) pooling", "max_unpool": "max unpooling"}
NOTES |= {f"{op}{nd}d": _NO_OP.format(what) for op, what in _MISSING.items()
          for nd in (1, 2, 3)}


def _ntuple(v, nd):
    """An int -> nd copies; a sequence -> its ints."""
    return (int(v),) * nd if np.ndim(v) == 0 else tuple(int(a) for a in v)


def _pads(padding, nd):
    """An int, one int per axis or one (before, after) pair per axis -> pairs per axis."""
    if np.ndim(padding) == 2:
        return tuple(_ntuple(p, 2) for p in padding)
    return tuple((p, p) for p in _ntuple(padding, nd))


def _specs(nd):
    """dimension_numbers for NC(D)HW inputs and OI(D)HW kernels: no transposes."""
    spatial = "DHW"[3 - nd:]
    return ("NC" + spatial, "OI" + spatial, "NC" + spatial)


def _vjp(f, grad_out, *inputs):
    """Gradients of f at inputs (None for an input that is None) with grad_out."""
    live = [i for i, a in enumerate(inputs) if a is not None]

    def g(*args):
        full = list(inputs)
        for i, a in zip(live, args):
            full[i] = a
        return f(*full)
    out, pullback = jax.vjp(g, *[jnp.asarray(inputs[i]) for i in live])
    grads = iter(pullback(jnp.asarray(grad_out, dtype=out.dtype)))
    return tuple(None if a is None else np.asarray(next(grads)) for a in inputs)


def _bias(out, bias):
    return out if bias is None else out + bias.reshape((1, -1) + (1,) * (out.ndim - 2))


# --- convolution -------------------------------------------------------------------------

def _conv_padding(padding, weight, dilation):
    nd = weight.ndim - 2
    if isinstance(padding, str) and padding in ("same", "valid"):
        return padding.upper()
    if padding == "full":
        return tuple((d * (k - 1),) * 2 for d, k in zip(_ntuple(dilation, nd),
                                                        weight.shape[2:]))
    return _pads(padding, nd)


def _conv(x, weight, bias, stride, padding, dilation, groups):
    nd = weight.ndim - 2
    out = lax.conv_general_dilated(
        x, weight, _ntuple(stride, nd), _conv_padding(padding, weight, dilation),
        rhs_dilation=_ntuple(dilation, nd), dimension_numbers=_specs(nd),
        feature_group_count=groups, precision=lax.Precision.HIGHEST)
    return _bias(out, bias)


def _conv_forward(x, weight, bias, *args):
    b = None if bias is None else jnp.asarray(bias)
    return np.asarray(_conv(jnp.asarray(x), jnp.asarray(weight), b, *args))


def _conv_backward(grad_out, x, weight, bias, *args):
    return _vjp(lambda a, w, b: _conv(a, w, b, *args), grad_out, x, weight, bias)


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
    """lax.conv_general_dilated with lhs_dilation=stride (s - 1 zeros between the inputs),
    the kernel flipped with in/out channels swapped per group, and pads d*(k - 1) - before,
    d*(k - 1) - after + output_padding (lax.conv_transpose has no feature_group_count)."""
    nd = x.ndim - 2
    k, d = weight.shape[2:], _ntuple(dilation, nd)
    pads = tuple((di * (ki - 1) - a, di * (ki - 1) - b + e) for ki, di, (a, b), e in
                 zip(k, d, _pads(padding, nd), _ntuple(output_padding, nd)))
    cin, cout_g = weight.shape[:2]
    w = weight.reshape((groups, cin // groups, cout_g) + k).swapaxes(1, 2)
    w = jnp.flip(w.reshape((groups * cout_g, cin // groups) + k), tuple(range(2, 2 + nd)))
    out = lax.conv_general_dilated(
        x, w, (1,) * nd, pads, lhs_dilation=_ntuple(stride, nd), rhs_dilation=d,
        dimension_numbers=_specs(nd), feature_group_count=groups,
        precision=lax.Precision.HIGHEST)
    return _bias(out, bias)


def _conv_transpose_forward(x, weight, bias, *args):
    b = None if bias is None else jnp.asarray(bias)
    return np.asarray(_conv_transpose(jnp.asarray(x), jnp.asarray(weight), b, *args))


def _conv_transpose_backward(grad_out, x, weight, bias, *args):
    return _vjp(lambda a, w, b: _conv_transpose(a, w, b, *args), grad_out, x, weight, bias)


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


def _unfold(x, kernel_size, dilation, padding, stride):
    """lax.conv_general_dilated_patches: (N, C * kH * kW, Ho, Wo), channel-major like
    torch's unfold, then the two window axes flattened to L."""
    patches = lax.conv_general_dilated_patches(
        x, _ntuple(kernel_size, 2), _ntuple(stride, 2), _pads(padding, 2),
        rhs_dilation=_ntuple(dilation, 2), dimension_numbers=_specs(2),
        precision=lax.Precision.HIGHEST)
    return patches.reshape(patches.shape[:2] + (-1,))


def unfold(x, kernel_size, dilation=1, padding=0, stride=1):
    return np.asarray(_unfold(jnp.asarray(x), kernel_size, dilation, padding, stride))


def unfold_backward(grad_out, x, kernel_size, dilation=1, padding=0, stride=1):
    return _vjp(lambda a: _unfold(a, kernel_size, dilation, padding, stride), grad_out,
                x)[0]


# --- pooling -----------------------------------------------------------------------------

def _window(nd, kernel_size, stride, padding, dilation, ceil_mode):
    """reduce_window's (dims, strides, padding, window_dilation) over (N, C, *spatial)."""
    if ceil_mode:
        raise NotImplementedError("jax.lax.reduce_window has no ceil_mode")
    k = _ntuple(kernel_size, nd)
    s = k if stride is None else _ntuple(stride, nd)
    return ((1, 1) + k, (1, 1) + s, ((0, 0), (0, 0)) + _pads(padding, nd),
            (1, 1) + _ntuple(dilation, nd))


def _max_pool(x, kernel_size, stride, padding, dilation, ceil_mode):
    dims, strides, pads, wd = _window(x.ndim - 2, kernel_size, stride, padding, dilation,
                                      ceil_mode)
    return lax.reduce_window(x, -jnp.inf, lax.max, dims, strides, pads,
                             window_dilation=wd)


def _max_pool_forward(x, *args):
    return np.asarray(_max_pool(jnp.asarray(x), *args))


def _max_pool_backward(grad_out, x, *args):
    return _vjp(lambda a: _max_pool(a, *args), grad_out, x)[0]


def max_pool1d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    return _max_pool_forward(x, kernel_size, stride, padding, dilation, ceil_mode)


def max_pool1d_backward(grad_out, x, kernel_size, stride=None, padding=0, dilation=1,
                        ceil_mode=False):
    return _max_pool_backward(grad_out, x, kernel_size, stride, padding, dilation, ceil_mode)


def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    return _max_pool_forward(x, kernel_size, stride, padding, dilation, ceil_mode)


def max_pool2d_backward(grad_out, x, kernel_size, stride=None, padding=0, dilation=1,
                        ceil_mode=False):
    return _max_pool_backward(grad_out, x, kernel_size, stride, padding, dilation, ceil_mode)


def max_pool3d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    return _max_pool_forward(x, kernel_size, stride, padding, dilation, ceil_mode)


def max_pool3d_backward(grad_out, x, kernel_size, stride=None, padding=0, dilation=1,
                        ceil_mode=False):
    return _max_pool_backward(grad_out, x, kernel_size, stride, padding, dilation, ceil_mode)


def _avg_pool(x, kernel_size, stride, padding, ceil_mode, count_include_pad,
              divisor_override, dilation):
    dims, strides, pads, wd = _window(x.ndim - 2, kernel_size, stride, padding, dilation,
                                      ceil_mode)
    total = lax.reduce_window(x, 0.0, lax.add, dims, strides, pads, window_dilation=wd)
    if divisor_override:
        return total / divisor_override
    if count_include_pad:
        return total / np.prod(dims[2:])
    ones = jnp.ones(x.shape[2:], x.dtype)
    count = lax.reduce_window(ones, 0.0, lax.add, dims[2:], strides[2:], pads[2:],
                              window_dilation=wd[2:])
    return total / count


def _avg_forward(x, *args):
    return np.asarray(_avg_pool(jnp.asarray(x), *args))


def _avg_backward(grad_out, x, *args):
    return _vjp(lambda a: _avg_pool(a, *args), grad_out, x)[0]


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


# --- normalisation: jax.nn.standardize (its default, algorithm='fast') -------------------

def _affine(y, weight, bias, shape):
    y = y if weight is None else y * weight.reshape(shape)
    return y if bias is None else y + bias.reshape(shape)


def _layer_norm(x, normalized_shape, weight, bias, eps):
    k = len(_ntuple(normalized_shape, 1))
    y = jax.nn.standardize(x, axis=tuple(range(x.ndim - k, x.ndim)), epsilon=eps)
    return _affine(y, weight, bias, x.shape[x.ndim - k:])


def _group_norm(x, num_groups, weight, bias, eps):
    """flax.linen.GroupNorm's reshape: (N, G, C // G * spatial) standardised per row."""
    y = jax.nn.standardize(x.reshape(x.shape[0], num_groups, -1), axis=-1, epsilon=eps)
    return _affine(y.reshape(x.shape), weight, bias, (1, -1) + (1,) * (x.ndim - 2))


def _instance_norm(x, running_mean, running_var, weight, bias, use_input_stats, eps):
    """Over the spatial axes of each (sample, channel), or with the running statistics
    (use_input_stats=False); the running statistics are not updated."""
    shape = (1, -1) + (1,) * (x.ndim - 2)
    if use_input_stats:
        y = jax.nn.standardize(x, axis=tuple(range(2, x.ndim)), epsilon=eps)
    else:
        y = jax.nn.standardize(x, mean=running_mean.reshape(shape),
                               variance=running_var.reshape(shape), epsilon=eps)
    return _affine(y, weight, bias, shape)


def _arrays(*values):
    return tuple(None if v is None else jnp.asarray(v) for v in values)


def layer_norm(x, normalized_shape, weight=None, bias=None, eps=1e-05):
    x, weight, bias = _arrays(x, weight, bias)
    return np.asarray(_layer_norm(x, normalized_shape, weight, bias, eps))


def layer_norm_backward(grad_out, x, normalized_shape, weight=None, bias=None, eps=1e-05):
    return _vjp(lambda a, w, b: _layer_norm(a, normalized_shape, w, b, eps), grad_out, x,
                weight, bias)


def group_norm(x, num_groups, weight=None, bias=None, eps=1e-05):
    x, weight, bias = _arrays(x, weight, bias)
    return np.asarray(_group_norm(x, num_groups, weight, bias, eps))


def group_norm_backward(grad_out, x, num_groups, weight=None, bias=None, eps=1e-05):
    return _vjp(lambda a, w, b: _group_norm(a, num_groups, w, b, eps), grad_out, x, weight,
                bias)


def instance_norm(x, running_mean=None, running_var=None, weight=None, bias=None,
                  use_input_stats=True, momentum=0.1, eps=1e-05):
    args = _arrays(x, running_mean, running_var, weight, bias)
    return np.asarray(_instance_norm(*args, use_input_stats, eps))


def instance_norm_backward(grad_out, x, running_mean=None, running_var=None, weight=None,
                           bias=None, use_input_stats=True, momentum=0.1, eps=1e-05):
    rm, rv = _arrays(running_mean, running_var)
    return _vjp(lambda a, w, b: _instance_norm(a, rm, rv, w, b, use_input_stats, eps),
                grad_out, x, weight, bias)


# --- activations, losses, dense ----------------------------------------------------------

def _unary(f, x):
    return np.asarray(f(jnp.asarray(x)))


def relu(x):
    return _unary(jax.nn.relu, x)


def relu_backward(grad_out, x):
    return _vjp(jax.nn.relu, grad_out, x)[0]


def leaky_relu(x, negative_slope=0.01):
    return _unary(lambda a: jax.nn.leaky_relu(a, negative_slope), x)


def leaky_relu_backward(grad_out, x, negative_slope=0.01):
    return _vjp(lambda a: jax.nn.leaky_relu(a, negative_slope), grad_out, x)[0]


def sigmoid(x):
    return _unary(jax.nn.sigmoid, x)


def sigmoid_backward(grad_out, x):
    return _vjp(jax.nn.sigmoid, grad_out, x)[0]


def tanh(x):
    return _unary(jnp.tanh, x)


def tanh_backward(grad_out, x):
    return _vjp(jnp.tanh, grad_out, x)[0]


def softmax(x, dim):
    return _unary(lambda a: jax.nn.softmax(a, axis=dim), x)


def softmax_backward(grad_out, x, dim):
    return _vjp(lambda a: jax.nn.softmax(a, axis=dim), grad_out, x)[0]


def log_softmax(x, dim):
    return _unary(lambda a: jax.nn.log_softmax(a, axis=dim), x)


def log_softmax_backward(grad_out, x, dim):
    return _vjp(lambda a: jax.nn.log_softmax(a, axis=dim), grad_out, x)[0]


def _reduce(losses, total_weight, reduction):
    """'none': per element; 'sum'; 'mean': the sum over the summed class weights."""
    if reduction == "none":
        return losses
    return jnp.sum(losses) if reduction == "sum" else jnp.sum(losses) / total_weight


def _class_weights(logp, target, weight, ignore_index):
    """(target with ignored entries set to class 0, w[target] with 0 where ignored, the
    weights broadcast over (N, C, *spatial))."""
    keep = target != ignore_index
    t = jnp.where(keep, target, 0)
    w = jnp.ones(logp.shape[1], logp.dtype) if weight is None else weight
    return t, jnp.where(keep, w[t], 0), w.reshape((1, -1) + (1,) * (logp.ndim - 2))


def _nll(logp, target, weight, ignore_index, reduction):
    """-logp[n, target[n]] * w[target[n]] (optax's integer-label cross entropy on
    log-probabilities, weighted), reduced."""
    t, wt, _ = _class_weights(logp, target, weight, ignore_index)
    losses = -jnp.take_along_axis(logp, t[:, None], axis=1)[:, 0] * wt
    return _reduce(losses, jnp.sum(wt), reduction)


def _cross_entropy(logits, target, weight, ignore_index, reduction, label_smoothing):
    """jax.nn.log_softmax, then: probability targets -sum_c w_c q_c log p_c with
    q = optax.smooth_labels(target, label_smoothing); class targets (1 - ls) * nll +
    ls / C * (-sum_c w_c log p_c), both over the summed weights of the kept targets."""
    logp = jax.nn.log_softmax(logits, axis=1)
    c = logits.shape[1]
    if jnp.issubdtype(target.dtype, jnp.floating):
        w = 1 if weight is None else weight.reshape((1, -1) + (1,) * (logp.ndim - 2))
        q = target * (1 - label_smoothing) + label_smoothing / c
        losses = -jnp.sum(logp * q * w, axis=1)
        return _reduce(losses, losses.size, reduction)
    t, wt, w = _class_weights(logp, target, weight, ignore_index)
    nll = -jnp.take_along_axis(logp, t[:, None], axis=1)[:, 0] * wt
    smooth = -jnp.sum(logp * w, axis=1) * (target != ignore_index)
    losses = (1 - label_smoothing) * nll + label_smoothing / c * smooth
    return _reduce(losses, jnp.sum(wt), reduction)


def nll_loss(input, target, weight=None, ignore_index=-100, reduction="mean"):
    logp, t, w = _arrays(input, target, weight)
    return np.asarray(_nll(logp, t, w, ignore_index, reduction))


def nll_loss_backward(grad_out, input, target, weight=None, ignore_index=-100,
                      reduction="mean"):
    t, w = _arrays(target, weight)
    return _vjp(lambda a: _nll(a, t, w, ignore_index, reduction), grad_out, input)[0]


def cross_entropy(logits, target, weight=None, ignore_index=-100, reduction="mean",
                  label_smoothing=0.0):
    z, t, w = _arrays(logits, target, weight)
    return np.asarray(_cross_entropy(z, t, w, ignore_index, reduction, label_smoothing))


def cross_entropy_backward(grad_out, logits, target, weight=None, ignore_index=-100,
                           reduction="mean", label_smoothing=0.0):
    t, w = _arrays(target, weight)
    return _vjp(lambda z: _cross_entropy(z, t, w, ignore_index, reduction, label_smoothing),
                grad_out, logits)[0]


def _dense(x, weight, bias):
    out = jnp.matmul(x, weight.T, precision=lax.Precision.HIGHEST)
    return out if bias is None else out + bias


def dense(x, weight, bias=None):
    b = None if bias is None else jnp.asarray(bias)
    return np.asarray(_dense(jnp.asarray(x), jnp.asarray(weight), b))


def dense_backward(grad_out, x, weight, bias=None):
    return _vjp(_dense, grad_out, x, weight, bias)
