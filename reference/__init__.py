"""cnnref reference: plain NumPy implementations of the mathematics of CNNs.

Arrays are NCHW, weights (C_out, C_in // groups, kH, kW); names and arguments follow
torch.nn.functional, gradients come from `*_backward(grad_out, <same inputs>)`.
NumPy is the only dependency. No function mutates its inputs.
"""
from .conv import ALGORITHMS, DEFAULT_WORKSPACE_BYTES, conv2d
from .conv_backward import METHODS as BACKWARD_METHODS, conv2d_backward
from .shapes import conv_output_shape, conv_output_size, normalize_padding, pool_output_size
from .signal import convolve1d, convolve2d, correlate2d, rot180

__version__ = "0.1.0"

__all__ = [
    "ALGORITHMS", "BACKWARD_METHODS", "DEFAULT_WORKSPACE_BYTES",
    "conv2d", "conv2d_backward",
    "conv_output_shape", "conv_output_size", "normalize_padding", "pool_output_size",
    "convolve1d", "convolve2d", "correlate2d", "rot180",
]
