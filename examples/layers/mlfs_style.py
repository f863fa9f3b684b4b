"""Layers in the style of a from-scratch deep-learning collection: the layer is told its
input shape, `initialize(optimizer)` creates the weights and gives each parameter its own
copy of the optimizer, `forward_pass(X, training)` caches its input, and
`backward_pass(accum_grad)` applies the updates itself (W = W_opt.update(W, grad_W))
and returns the gradient for the layer below. Data (N, C, H, W), weights
(n_filters, C, fh, fw), bias (n_filters, 1). Written for cnnref's examples: padding
'same' or 'valid' only; max pooling without padding.
"""
import copy

import numpy as np


def determine_padding(filter_shape, output_shape="same"):
    """((top, bottom), (left, right)): 'valid' none, 'same' (k - 1) split, extra after."""
    if output_shape == "valid":
        return (0, 0), (0, 0)
    fh, fw = filter_shape
    return ((fh - 1) // 2, fh - 1 - (fh - 1) // 2), ((fw - 1) // 2, fw - 1 - (fw - 1) // 2)


def windows(X, fh, fw, stride, pads):
    """(N, C, Ho, Wo, fh, fw) views of the padded input, and the padded input."""
    Xp = np.pad(X, ((0, 0), (0, 0), *pads))
    v = np.lib.stride_tricks.sliding_window_view(Xp, (fh, fw), axis=(2, 3))
    return v[:, :, ::stride, ::stride], Xp


class Conv2D:
    def __init__(self, n_filters, filter_shape, input_shape, padding="same", stride=1):
        self.n_filters, self.filter_shape = n_filters, filter_shape
        self.input_shape, self.padding, self.stride = input_shape, padding, stride
        self.trainable = True

    def initialize(self, optimizer):
        fh, fw = self.filter_shape
        limit = 1 / np.sqrt(np.prod(self.filter_shape))
        self.W = np.random.uniform(-limit, limit, (self.n_filters, self.input_shape[0], fh, fw))
        self.w0 = np.zeros((self.n_filters, 1))
        self.W_opt, self.w0_opt = copy.copy(optimizer), copy.copy(optimizer)

    def forward_pass(self, X, training=True):
        self.layer_input = X
        fh, fw = self.filter_shape
        win, _ = windows(X, fh, fw, self.stride, determine_padding(self.filter_shape,
                                                                   self.padding))
        return np.einsum("nchwij,fcij->nfhw", win, self.W) + self.w0[None, :, :, None]

    def grad_input(self, accum_grad, W):
        """Each output's gradient spread back over its window (+= where windows overlap)."""
        fh, fw = self.filter_shape
        pads = determine_padding(self.filter_shape, self.padding)
        _, Xp = windows(self.layer_input, fh, fw, self.stride, pads)
        dXp, s = np.zeros_like(Xp), self.stride
        for i in range(accum_grad.shape[2]):
            for j in range(accum_grad.shape[3]):
                dXp[:, :, i * s:i * s + fh, j * s:j * s + fw] += np.einsum(
                    "nf,fcij->ncij", accum_grad[:, :, i, j], W)
        (t, _), (l, _) = pads
        H, Wd = self.layer_input.shape[2:]
        return dXp[:, :, t:t + H, l:l + Wd]

    def backward_pass(self, accum_grad):
        W = self.W
        fh, fw = self.filter_shape
        pads = determine_padding(self.filter_shape, self.padding)
        win, _ = windows(self.layer_input, fh, fw, self.stride, pads)
        if self.trainable:
            grad_w = np.einsum("nchwij,nfhw->fcij", win, accum_grad)
            grad_w0 = accum_grad.sum(axis=(0, 2, 3)).reshape(self.w0.shape)
            self.W = self.W_opt.update(self.W, grad_w)
            self.w0 = self.w0_opt.update(self.w0, grad_w0)
        return self.grad_input(accum_grad, W)


class MaxPooling2D:
    def __init__(self, pool_shape=(2, 2), stride=None):
        self.pool_shape = pool_shape
        self.stride = stride or pool_shape[0]
        self.trainable = True

    def forward_pass(self, X, training=True):
        self.layer_input = X
        win, _ = windows(X, *self.pool_shape, self.stride, ((0, 0), (0, 0)))
        return win.max(axis=(4, 5))

    def backward_pass(self, accum_grad):
        ph, pw = self.pool_shape
        win, _ = windows(self.layer_input, ph, pw, self.stride, ((0, 0), (0, 0)))
        flat = win.reshape(win.shape[:4] + (-1,))
        first = np.argmax(flat, axis=-1)            # the first maximum, as in the forward
        dX, s = np.zeros(self.layer_input.shape), self.stride
        n, c, i, j = np.indices(first.shape)
        np.add.at(dX, (n, c, i * s + first // pw, j * s + first % pw), accum_grad)
        return dX
