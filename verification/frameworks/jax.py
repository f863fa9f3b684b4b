"""JAX adapter (tested with jax 0.10.2 on the CPU, float64 enabled: jax_enable_x64).

What maps onto what (the layouts are given to XLA as NCHW / OIHW, so no transposes):
  conv2d          jax.lax.conv_general_dilated(x, w, window_strides, padding,
                  rhs_dilation=dilation, dimension_numbers=('NCHW', 'OIHW', 'NCHW'),
                  feature_group_count=groups) + bias; padding 'same' / 'valid' -> XLA's
                  'SAME' / 'VALID', numbers and 'full' -> explicit ((lo, hi), (lo, hi))
  max_pool2d      jax.lax.reduce_window(x, -inf, lax.max, ...) with explicit pads and
                  window_dilation: the primitive flax.linen.max_pool and stax.MaxPool call
  avg_pool2d      jax.lax.reduce_window(x, 0, lax.add, ...) divided by the window size,
                  or, for count_include_pad=False, by the same reduce_window over ones:
                  flax.linen.avg_pool's two formulas (JAX has no average-pool primitive);
                  divisor_override divides by the given number
  relu, leaky_relu, sigmoid, softmax, log_softmax: jax.nn; tanh: jax.numpy.tanh
  cross_entropy   -mean(take_along_axis(jax.nn.log_softmax(logits), target)): optax's
                  softmax_cross_entropy_with_integer_labels, then the mean
  dense           x @ weight.T + bias (flax.linen.Dense's dot_general, torch's layout)
Gradients: jax.vjp of the same function, called with grad_out as the cotangent.

Not defined: batch_norm (JAX itself has no batch normalisation: flax.linen.BatchNorm and
haiku's are layers of other libraries, not JAX's). ceil_mode: reduce_window has no such
argument (https://docs.jax.dev/en/latest/_autosummary/jax.lax.reduce_window.html), so
ceil_mode=True is NotImplementedError.
"""
from __future__ import annotations

import numpy as np
import jax

jax.config.update("jax_enable_x64", True)   # float64 stays float64

import jax.numpy as jnp  # noqa: E402
from jax import lax  # noqa: E402

NOTES = {
    "batch_norm": "not defined: JAX has no batch normalisation (flax / haiku have layers)",
    "max_pool2d": "lax.reduce_window(-inf, lax.max) with explicit pads; no ceil_mode "
                  "(NotImplementedError). XLA's max propagates NaN.",
    "avg_pool2d": "lax.reduce_window(0, lax.add) / window size (or / the count of "
                  "non-pad taps, flax's count_include_pad=False); no ceil_mode.",
}


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
    live = [i for i, a in enumerate(inputs) if a is not None]

    def g(*args):
        full = list(inputs)
        for i, a in zip(live, args):
            full[i] = a
        return f(*full)
    out, pullback = jax.vjp(g, *[jnp.asarray(inputs[i]) for i in live])
    grads = iter(pullback(jnp.asarray(grad_out, dtype=out.dtype)))
    return tuple(None if a is None else np.asarray(next(grads)) for a in inputs)


# --- convolution -------------------------------------------------------------------------

def _conv_padding(padding, weight, dilation):
    if isinstance(padding, str) and padding in ("same", "valid"):
        return padding.upper()
    if padding == "full":
        return tuple((d * (k - 1),) * 2 for d, k in zip(_pair(dilation), weight.shape[2:]))
    return _pads(padding)


def _conv(x, weight, bias, stride, padding, dilation, groups):
    out = lax.conv_general_dilated(
        x, weight, _pair(stride), _conv_padding(padding, weight, dilation),
        rhs_dilation=_pair(dilation), dimension_numbers=("NCHW", "OIHW", "NCHW"),
        feature_group_count=groups, precision=lax.Precision.HIGHEST)
    return out if bias is None else out + bias.reshape(1, -1, 1, 1)


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    b = None if bias is None else jnp.asarray(bias)
    return np.asarray(_conv(jnp.asarray(x), jnp.asarray(weight), b, stride, padding,
                            dilation, groups))


def conv2d_backward(grad_out, x, weight, bias=None, stride=1, padding=0, dilation=1,
                    groups=1):
    return _vjp(lambda a, w, b: _conv(a, w, b, stride, padding, dilation, groups),
                grad_out, x, weight, bias)


# --- pooling -----------------------------------------------------------------------------

def _window(kernel_size, stride, padding, dilation, ceil_mode):
    """reduce_window's (dims, strides, padding, window_dilation) over (N, C, H, W)."""
    if ceil_mode:
        raise NotImplementedError("jax.lax.reduce_window has no ceil_mode")
    k = _pair(kernel_size)
    s = k if stride is None else _pair(stride)
    return ((1, 1) + k, (1, 1) + s, ((0, 0), (0, 0)) + _pads(padding),
            (1, 1) + _pair(dilation))


def _max_pool(x, kernel_size, stride, padding, dilation, ceil_mode):
    dims, strides, pads, wd = _window(kernel_size, stride, padding, dilation, ceil_mode)
    return lax.reduce_window(x, -jnp.inf, lax.max, dims, strides, pads,
                             window_dilation=wd)


def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    return np.asarray(_max_pool(jnp.asarray(x), kernel_size, stride, padding, dilation,
                                ceil_mode))


def max_pool2d_backward(grad_out, x, kernel_size, stride=None, padding=0, dilation=1,
                        ceil_mode=False):
    return _vjp(lambda a: _max_pool(a, kernel_size, stride, padding, dilation, ceil_mode),
                grad_out, x)[0]


def _avg_pool(x, kernel_size, stride, padding, ceil_mode, count_include_pad,
              divisor_override, dilation):
    dims, strides, pads, wd = _window(kernel_size, stride, padding, dilation, ceil_mode)
    total = lax.reduce_window(x, 0.0, lax.add, dims, strides, pads, window_dilation=wd)
    if divisor_override:
        return total / divisor_override
    if count_include_pad:
        return total / (dims[2] * dims[3])
    ones = jnp.ones(x.shape[2:], x.dtype)
    count = lax.reduce_window(ones, 0.0, lax.add, dims[2:], strides[2:], pads[2:],
                              window_dilation=wd[2:])
    return total / count


def avg_pool2d(x, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None, dilation=1):
    return np.asarray(_avg_pool(jnp.asarray(x), kernel_size, stride, padding, ceil_mode,
                                count_include_pad, divisor_override, dilation))


def avg_pool2d_backward(grad_out, x, kernel_size, stride=None, padding=0, ceil_mode=False,
                        count_include_pad=True, divisor_override=None, dilation=1):
    return _vjp(lambda a: _avg_pool(a, kernel_size, stride, padding, ceil_mode,
                                    count_include_pad, divisor_override, dilation),
                grad_out, x)[0]


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


def _cross_entropy(logits, target):
    picked = jnp.take_along_axis(jax.nn.log_softmax(logits, axis=1), target[:, None], axis=1)
    return -jnp.mean(picked)


def cross_entropy(logits, target):
    return np.asarray(_cross_entropy(jnp.asarray(logits), jnp.asarray(target, dtype=int)))


def cross_entropy_backward(grad_out, logits, target):
    t = jnp.asarray(target, dtype=int)
    return _vjp(lambda z: _cross_entropy(z, t), grad_out, logits)[0]


def _dense(x, weight, bias):
    out = jnp.matmul(x, weight.T, precision=lax.Precision.HIGHEST)
    return out if bias is None else out + bias


def dense(x, weight, bias=None):
    b = None if bias is None else jnp.asarray(bias)
    return np.asarray(_dense(jnp.asarray(x), jnp.asarray(weight), b))


def dense_backward(grad_out, x, weight, bias=None):
    return _vjp(_dense, grad_out, x, weight, bias)
