"""`cnnref check examples/layers/check_numpy_ml_style.py`: channels-last layer objects
with lazily created weights and a gradients dict."""
from cnnref.verification.check.layers import LayerSpec, functions

from numpy_ml_style import Conv2D, Pool2D

INTS = lambda v: isinstance(v, int)            # noqa: E731

CONV = LayerSpec(
    "conv2d", Conv2D,
    init={"out_ch": "out_channels", "kernel_shape": "kernel_hw", "pad": "padding",
          "stride": "stride"},
    lazy=True, weight="parameters['W']", weight_layout="HWIO", bias="parameters['b']",
    data="NHWC", grad_weight="gradients['W']", grad_bias="gradients['b']",
    supports={"stride": INTS, "padding": lambda p: INTS(p) or p == "same"})
POOL = LayerSpec(
    "max_pool2d", Pool2D,
    init={"kernel_shape": "kernel_hw", "stride": "stride", "pad": "padding"},
    data="NHWC", supports={"stride": INTS, "padding": INTS})

conv2d, conv2d_backward = functions(CONV)
max_pool2d, max_pool2d_backward = functions(POOL)
