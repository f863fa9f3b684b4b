"""`cnnref check examples/layers/check_cs231n_style.py`: functions passing a cache."""
from cnnref.verification.check.layers import LayerSpec, functions

from cs231n_style import (conv_backward_naive, conv_forward_naive, max_pool_backward_naive,
                          max_pool_forward_naive)

INTS = lambda v: isinstance(v, int)            # noqa: E731 -- int stride and pad only

CONV = LayerSpec(
    "conv2d", None, forward=conv_forward_naive, backward=conv_backward_naive,
    forward_args=("x", "weight", "bias", {"stride": "stride", "pad": "padding"}),
    output="return[0]", grad_input="return[0]", grad_weight="return[1]",
    grad_bias="return[2]", supports={"stride": INTS, "padding": INTS})
POOL = LayerSpec(
    "max_pool2d", None, forward=max_pool_forward_naive, backward=max_pool_backward_naive,
    forward_args=("x", {"pool_height": "kernel_h", "pool_width": "kernel_w",
                        "stride": "stride"}),
    output="return[0]", grad_input="return", supports={"stride": INTS})

conv2d, conv2d_backward = functions(CONV)
max_pool2d, max_pool2d_backward = functions(POOL)
