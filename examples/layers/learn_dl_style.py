"""Layers in the style of a from-scratch tutorial: one sample at a time (C, H, W), a
list of Filter objects each holding its own weights (C, fh, fw), bias and gradients, and
results left in attributes: `forward(input_array)` fills `output_array`,
`backward(input_array, sensitivity_array)` fills `delta_array` and each filter's
`weights_grad` / `bias_grad`. Written for cnnref's examples: int stride and zero padding;
max pooling without padding.
"""
import numpy as np


class Filter:
    def __init__(self, width, height, depth):
        self.weights = np.random.uniform(-1e-4, 1e-4, (depth, height, width))
        self.bias = 0.0
        self.weights_grad = np.zeros(self.weights.shape)
        self.bias_grad = 0.0


def padding(array, zp):
    """Zero padding of the two last axes of a (C, H, W) or (H, W) array."""
    pads = [(0, 0)] * (array.ndim - 2) + [(zp, zp), (zp, zp)]
    return np.pad(array, pads)


def conv(input_array, kernel, stride, bias=0.0):
    """Valid cross-correlation of (C, H, W) with (C, fh, fw) -> (Ho, Wo)."""
    fh, fw = kernel.shape[-2:]
    ho = (input_array.shape[-2] - fh) // stride + 1
    wo = (input_array.shape[-1] - fw) // stride + 1
    out = np.zeros((ho, wo))
    for i in range(ho):
        for j in range(wo):
            patch = input_array[..., i * stride:i * stride + fh, j * stride:j * stride + fw]
            out[i, j] = np.sum(patch * kernel) + bias
    return out


class ConvLayer:
    def __init__(self, input_width, input_height, channel_number, filter_width,
                 filter_height, filter_number, zero_padding, stride):
        self.channel_number, self.zero_padding, self.stride = channel_number, zero_padding, stride
        self.filter_width, self.filter_height = filter_width, filter_height
        self.filters = [Filter(filter_width, filter_height, channel_number)
                        for _ in range(filter_number)]

    def forward(self, input_array):
        self.input_array = input_array
        self.padded_input_array = padding(input_array, self.zero_padding)
        self.output_array = np.stack([conv(self.padded_input_array, f.weights, self.stride,
                                           f.bias) for f in self.filters])

    def expand_sensitivity_map(self, sensitivity_array):
        """Zeros between the rows and columns of a strided layer's sensitivity map."""
        s = self.stride
        ho, wo = sensitivity_array.shape[1:]
        expanded = np.zeros((sensitivity_array.shape[0], (ho - 1) * s + 1, (wo - 1) * s + 1))
        expanded[:, ::s, ::s] = sensitivity_array
        return expanded

    def bp_sensitivity_map(self, sensitivity_array):
        expanded = self.expand_sensitivity_map(sensitivity_array)
        fh, fw = self.filter_height, self.filter_width
        hp, wp = self.padded_input_array.shape[1:]
        # pad the expanded map so that a full correlation covers the padded input
        full = np.pad(expanded, ((0, 0), (fh - 1, hp - expanded.shape[1]),
                                 (fw - 1, wp - expanded.shape[2])))
        delta = np.zeros(self.padded_input_array.shape)
        for f, sens in zip(self.filters, full):
            flipped = f.weights[:, ::-1, ::-1]
            for c in range(self.channel_number):
                delta[c] += conv(sens, flipped[c], 1)
        return self.crop(delta)

    def crop(self, delta):
        zp = self.zero_padding
        return delta[:, zp:delta.shape[1] - zp, zp:delta.shape[2] - zp]

    def bp_gradient(self, sensitivity_array):
        expanded = self.expand_sensitivity_map(sensitivity_array)
        fh, fw = self.filter_height, self.filter_width
        for f, sens in zip(self.filters, expanded):
            padded = self.padded_input_array[:, :(sens.shape[0] + fh - 1),
                                             :(sens.shape[1] + fw - 1)]
            f.weights_grad = np.stack([conv(padded[c], sens, 1)
                                       for c in range(self.channel_number)])
            f.bias_grad = sens.sum()

    def backward(self, input_array, sensitivity_array):
        self.forward(input_array)
        self.delta_array = self.bp_sensitivity_map(sensitivity_array)
        self.bp_gradient(sensitivity_array)


class MaxPoolingLayer:
    def __init__(self, input_width, input_height, channel_number, filter_width,
                 filter_height, stride):
        self.filter_width, self.filter_height, self.stride = filter_width, filter_height, stride
        self.output_height = (input_height - filter_height) // stride + 1
        self.output_width = (input_width - filter_width) // stride + 1

    def window(self, array, c, i, j):
        s = self.stride
        return array[c, i * s:i * s + self.filter_height, j * s:j * s + self.filter_width]

    def forward(self, input_array):
        C = input_array.shape[0]
        self.output_array = np.zeros((C, self.output_height, self.output_width))
        for c in range(C):
            for i in range(self.output_height):
                for j in range(self.output_width):
                    self.output_array[c, i, j] = self.window(input_array, c, i, j).max()

    def backward(self, input_array, sensitivity_array):
        self.delta_array = np.zeros(input_array.shape)
        for c in range(input_array.shape[0]):
            for i in range(self.output_height):
                for j in range(self.output_width):
                    win = self.window(input_array, c, i, j)
                    r, q = np.unravel_index(np.argmax(win), win.shape)
                    self.delta_array[c, i * self.stride + r, j * self.stride + q] += \
                        sensitivity_array[c, i, j]
