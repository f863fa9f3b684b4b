"""Layer objects in the style of a NumPy machine-learning library: channels-last data
(N, H, W, C), weights (kH, kW, C_in, C_out) created on the first forward call, a
`parameters` and a `gradients` dict, `forward(X)` caching its input and
`backward(dLdY)` returning dLdX. Written for cnnref's examples: int stride, int or
'same' padding; max pooling with int padding.
"""
import numpy as np


def same_pads(size, k, s):
    """'same' padding as (before, after): the output is ceil(size / s), extra after."""
    total = max((-(-size // s) - 1) * s + k - size, 0)
    return total // 2, total - total // 2


class Conv2D:
    def __init__(self, out_ch, kernel_shape, pad=0, stride=1):
        self.out_ch, self.kernel_shape, self.pad, self.stride = out_ch, kernel_shape, pad, stride
        self.parameters = {"W": None, "b": None}
        self.gradients = {}
        self.is_initialized = False

    def _init_params(self, in_ch):
        fr, fc = self.kernel_shape
        rng = np.random.default_rng(0)
        self.parameters = {"W": rng.normal(0, 0.1, (fr, fc, in_ch, self.out_ch)),
                           "b": np.zeros((1, 1, 1, self.out_ch))}
        self.is_initialized = True

    def _pads(self, X):
        fr, fc = self.kernel_shape
        if self.pad == "same":
            return same_pads(X.shape[1], fr, self.stride), same_pads(X.shape[2], fc, self.stride)
        return (self.pad, self.pad), (self.pad, self.pad)

    def forward(self, X):
        if not self.is_initialized:
            self._init_params(X.shape[3])
        W, b, s = self.parameters["W"], self.parameters["b"], self.stride
        (pt, pb), (pl, pr) = self._pads(X)
        Xp = np.pad(X, ((0, 0), (pt, pb), (pl, pr), (0, 0)))
        fr, fc = self.kernel_shape
        Ho = (Xp.shape[1] - fr) // s + 1
        Wo = (Xp.shape[2] - fc) // s + 1
        Y = np.zeros((X.shape[0], Ho, Wo, self.out_ch))
        for i in range(Ho):
            for j in range(Wo):
                patch = Xp[:, i * s:i * s + fr, j * s:j * s + fc, :]
                Y[:, i, j, :] = np.tensordot(patch, W, axes=([1, 2, 3], [0, 1, 2]))
        self.X = X
        return Y + b

    def backward(self, dLdY):
        X, W, s = self.X, self.parameters["W"], self.stride
        (pt, pb), (pl, pr) = self._pads(X)
        Xp = np.pad(X, ((0, 0), (pt, pb), (pl, pr), (0, 0)))
        fr, fc = self.kernel_shape
        dXp, dW = np.zeros_like(Xp), np.zeros_like(W)
        for i in range(dLdY.shape[1]):
            for j in range(dLdY.shape[2]):
                patch = Xp[:, i * s:i * s + fr, j * s:j * s + fc, :]
                dW += np.tensordot(patch, dLdY[:, i, j, :], axes=([0], [0]))
                dXp[:, i * s:i * s + fr, j * s:j * s + fc, :] += np.tensordot(
                    dLdY[:, i, j, :], W, axes=([1], [3]))
        self.gradients = {"W": dW, "b": dLdY.sum(axis=(0, 1, 2)).reshape(1, 1, 1, -1)}
        return dXp[:, pt:pt + X.shape[1], pl:pl + X.shape[2], :]


class Pool2D:
    """Max pooling; padding with -inf (padding never wins)."""

    def __init__(self, kernel_shape, stride=1, pad=0):
        self.kernel_shape, self.stride, self.pad = kernel_shape, stride, pad

    def _padded(self, X, fill):
        p = self.pad
        return np.pad(X, ((0, 0), (p, p), (p, p), (0, 0)), constant_values=fill)

    def forward(self, X):
        (fr, fc), s = self.kernel_shape, self.stride
        Xp = self._padded(X, -np.inf)
        Ho, Wo = (Xp.shape[1] - fr) // s + 1, (Xp.shape[2] - fc) // s + 1
        Y = np.zeros((X.shape[0], Ho, Wo, X.shape[3]))
        for i in range(Ho):
            for j in range(Wo):
                Y[:, i, j, :] = Xp[:, i * s:i * s + fr, j * s:j * s + fc, :].max(axis=(1, 2))
        self.X = X
        return Y

    def argmax_input(self):
        """The input as the backward's argmax sees it."""
        return self._padded(self.X, -np.inf)

    def backward(self, dLdY):
        (fr, fc), s, p = self.kernel_shape, self.stride, self.pad
        Xp = self.argmax_input()
        dXp = np.zeros(Xp.shape)
        for n in range(Xp.shape[0]):
            for c in range(Xp.shape[3]):
                for i in range(dLdY.shape[1]):
                    for j in range(dLdY.shape[2]):
                        win = Xp[n, i * s:i * s + fr, j * s:j * s + fc, c]
                        r, q = np.unravel_index(np.argmax(win), win.shape)
                        dXp[n, i * s + r, j * s + q, c] += dLdY[n, i, j, c]
        return dXp[:, p:p + self.X.shape[1], p:p + self.X.shape[2], :]
