"""Layers written the way a course assignment asks for them: functions that return
(out, cache), and backward functions that take (dout, cache). Written for cnnref's
examples; int stride and padding only, max pooling without padding.

    out, cache = conv_forward_naive(x, w, b, {"stride": 1, "pad": 1})
    dx, dw, db = conv_backward_naive(dout, cache)
"""
import numpy as np


def conv_forward_naive(x, w, b, conv_param):
    """x (N, C, H, W), w (F, C, HH, WW), b (F,) -> out (N, F, H', W'), cache."""
    stride, pad = conv_param["stride"], conv_param["pad"]
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    Ho = 1 + (H + 2 * pad - HH) // stride
    Wo = 1 + (W + 2 * pad - WW) // stride
    out = np.zeros((N, F, Ho, Wo))
    for n in range(N):
        for i in range(Ho):
            for j in range(Wo):
                window = xp[n, :, i * stride:i * stride + HH, j * stride:j * stride + WW]
                out[n, :, i, j] = np.sum(window * w, axis=(1, 2, 3)) + b
    return out, (x, w, b, conv_param)


def conv_backward_naive(dout, cache):
    x, w, b, conv_param = cache
    stride, pad = conv_param["stride"], conv_param["pad"]
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dxp, dw = np.zeros_like(xp), np.zeros_like(w)
    db = dout.sum(axis=(0, 2, 3))
    for n in range(N):
        for i in range(dout.shape[2]):
            for j in range(dout.shape[3]):
                rows = slice(i * stride, i * stride + HH)
                cols = slice(j * stride, j * stride + WW)
                dxp[n, :, rows, cols] += np.tensordot(dout[n, :, i, j], w, axes=1)
                dw += dout[n, :, i, j][:, None, None, None] * xp[n, :, rows, cols]
    return dxp[:, :, pad:pad + H, pad:pad + W], dw, db


def max_pool_forward_naive(x, pool_param):
    """x (N, C, H, W) -> out (N, C, H', W'), cache; no padding."""
    ph, pw, s = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    N, C, H, W = x.shape
    Ho, Wo = 1 + (H - ph) // s, 1 + (W - pw) // s
    out = np.zeros((N, C, Ho, Wo))
    for i in range(Ho):
        for j in range(Wo):
            out[:, :, i, j] = x[:, :, i * s:i * s + ph, j * s:j * s + pw].max(axis=(2, 3))
    return out, (x, pool_param)


def max_pool_backward_naive(dout, cache):
    x, pool_param = cache
    ph, pw, s = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    N, C, H, W = x.shape
    dx = np.zeros_like(x)
    for n in range(N):
        for c in range(C):
            for i in range(dout.shape[2]):
                for j in range(dout.shape[3]):
                    window = x[n, c, i * s:i * s + ph, j * s:j * s + pw]
                    r, q = np.unravel_index(np.argmax(window), window.shape)
                    dx[n, c, i * s + r, j * s + q] += dout[n, c, i, j]
    return dx
