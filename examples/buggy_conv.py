"""A deliberately buggy conv layer with two classic mistakes, for the README's demo of
`cnnref check`: the kernel is flipped (a true convolution, not PyTorch's cross-correlation)
and the bias gradient is averaged instead of summed."""
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def conv2d(x, weight, bias=None, stride=1, padding=0):
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    win = sliding_window_view(xp, weight.shape[2:], axis=(2, 3))[:, :, ::stride, ::stride]
    out = np.einsum("nchwij,kcij->nkhw", win, weight[..., ::-1, ::-1])   # BUG: flipped
    return out if bias is None else out + bias[None, :, None, None]


def conv2d_backward(grad_out, x, weight, bias=None, stride=1, padding=0):
    kh, kw = weight.shape[2:]
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    win = sliding_window_view(xp, (kh, kw), axis=(2, 3))[:, :, ::stride, ::stride]
    grad_w = np.einsum("nkhw,nchwij->kcij", grad_out, win)
    cols = np.einsum("nkhw,kcij->nchwij", grad_out, weight)
    ho, wo = grad_out.shape[2:]
    grad_xp = np.zeros_like(xp)
    for i in range(kh):
        for j in range(kw):
            grad_xp[:, :, i:i + (ho - 1) * stride + 1:stride,
                    j:j + (wo - 1) * stride + 1:stride] += cols[..., i, j]
    grad_x = grad_xp[:, :, padding:padding + x.shape[2], padding:padding + x.shape[3]]
    grad_b = None if bias is None else grad_out.mean(axis=(0, 2, 3))     # BUG: mean
    return grad_x, grad_w, grad_b
