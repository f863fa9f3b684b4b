"""A small, correct conv layer in vectorised NumPy, written without the reference: check
it with `cnnref check examples/my_conv.py`.

conv2d is a cross-correlation (as in PyTorch): out[n, k, i, j] = b[k] +
sum_{c, m, q} x_pad[n, c, i*s + m, j*s + q] * w[k, c, m, q]. Stride and zero padding are
ints or (h, w) pairs; no dilation, no groups (the checker then tests without them).
"""
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def _windows(x, kh, kw, stride, padding):
    (sh, sw), (ph, pw) = _pair(stride), _pair(padding)
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    win = sliding_window_view(xp, (kh, kw), axis=(2, 3))[:, :, ::sh, ::sw]
    return xp, win                                   # win: (N, C, Ho, Wo, kh, kw)


def conv2d(x, weight, bias=None, stride=1, padding=0):
    _, win = _windows(x, *weight.shape[2:], stride, padding)
    out = np.einsum("nchwij,kcij->nkhw", win, weight)
    return out if bias is None else out + bias[None, :, None, None]


def conv2d_backward(grad_out, x, weight, bias=None, stride=1, padding=0):
    """(grad_x, grad_weight, grad_bias): every window gives its share back (+=)."""
    (sh, sw), (ph, pw) = _pair(stride), _pair(padding)
    kh, kw = weight.shape[2:]
    xp, win = _windows(x, kh, kw, stride, padding)
    grad_w = np.einsum("nkhw,nchwij->kcij", grad_out, win)
    cols = np.einsum("nkhw,kcij->nchwij", grad_out, weight)
    ho, wo = grad_out.shape[2:]
    grad_xp = np.zeros_like(xp)
    for i in range(kh):
        for j in range(kw):
            grad_xp[:, :, i:i + (ho - 1) * sh + 1:sh, j:j + (wo - 1) * sw + 1:sw] += \
                cols[..., i, j]
    grad_x = grad_xp[:, :, ph:ph + x.shape[2], pw:pw + x.shape[3]]
    grad_b = None if bias is None else grad_out.sum(axis=(0, 2, 3))
    return grad_x, grad_w, grad_b


def max_pool2d(x, kernel_size, stride=None, padding=0):
    """Max over each window; padding counts as -inf (never the maximum)."""
    (kh, kw) = _pair(kernel_size)
    (sh, sw), (ph, pw) = _pair(stride if stride is not None else kernel_size), _pair(padding)
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=-np.inf)
    win = sliding_window_view(xp, (kh, kw), axis=(2, 3))[:, :, ::sh, ::sw]
    return win.max(axis=(-2, -1))
