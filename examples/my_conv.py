"""A small, correct conv layer in vectorised NumPy, written without the reference: check
it with `cnnref check examples/my_conv.py`.

conv2d is a cross-correlation (as in PyTorch): out[n, k, i, j] = b[k] +
sum_{c, m, q} x_pad[n, c, i*s + m, j*s + q] * w[k, c, m, q]. Stride and zero padding are
ints or (h, w) pairs; no dilation, no groups (the checker then tests without them).
max_pool2d and its backward follow PyTorch: -inf padding, ceil_mode, first maximum on ties.
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


def _pool_size(n, k, s, p, ceil_mode):
    """floor((n + 2p - k) / s) + 1, or ceil, minus a last window that would start in the
    right padding (PyTorch's ceil_mode rule)."""
    num = n + 2 * p - k
    out = (-(-num // s) if ceil_mode else num // s) + 1
    return out - 1 if ceil_mode and (out - 1) * s >= n + p else out


def _pool_windows(x, kernel_size, stride, padding, ceil_mode):
    (kh, kw), (ph, pw) = _pair(kernel_size), _pair(padding)
    (sh, sw) = _pair(stride if stride is not None else kernel_size)
    ho = _pool_size(x.shape[2], kh, sh, ph, ceil_mode)
    wo = _pool_size(x.shape[3], kw, sw, pw, ceil_mode)
    eh = max(0, (ho - 1) * sh + kh - x.shape[2] - 2 * ph)    # ceil_mode overhang
    ew = max(0, (wo - 1) * sw + kw - x.shape[3] - 2 * pw)
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph + eh), (pw, pw + ew)), constant_values=-np.inf)
    win = sliding_window_view(xp, (kh, kw), axis=(2, 3))[:, :, ::sh, ::sw][:, :, :ho, :wo]
    return xp, win                                   # win: (N, C, Ho, Wo, kh, kw)


def max_pool2d(x, kernel_size, stride=None, padding=0, ceil_mode=False):
    """Max over each window; padding counts as -inf (never the maximum)."""
    return _pool_windows(x, kernel_size, stride, padding, ceil_mode)[1].max(axis=(-2, -1))


def max_pool2d_backward(grad_out, x, kernel_size, stride=None, padding=0, ceil_mode=False):
    """Each window's gradient goes to its first maximum (row-major, as PyTorch); windows
    that share a maximum add their gradients (+=)."""
    (kh, kw), (ph, pw) = _pair(kernel_size), _pair(padding)
    (sh, sw) = _pair(stride if stride is not None else kernel_size)
    xp, win = _pool_windows(x, kernel_size, stride, padding, ceil_mode)
    flat = win.reshape(win.shape[:4] + (kh * kw,))
    onehot = np.zeros_like(flat)
    np.put_along_axis(onehot, np.argmax(flat, axis=-1)[..., None], grad_out[..., None], -1)
    onehot = onehot.reshape(win.shape)
    ho, wo = grad_out.shape[2:]
    grad_xp = np.zeros_like(xp)
    for i in range(kh):
        for j in range(kw):
            grad_xp[:, :, i:i + (ho - 1) * sh + 1:sh, j:j + (wo - 1) * sw + 1:sw] += \
                onehot[..., i, j]
    return grad_xp[:, :, ph:ph + x.shape[2], pw:pw + x.shape[3]]
