"""`cnnref check examples/layers/check_mlfs_style.py`: layers that apply their own
updates through an optimizer; 'same' / 'valid' padding only."""
from cnnref.verification.check.layers import LayerSpec, functions

from mlfs_style import Conv2D, MaxPooling2D

INTS = lambda v: isinstance(v, int)            # noqa: E731

CONV = LayerSpec(
    "conv2d", Conv2D,
    init={"n_filters": "out_channels", "filter_shape": "kernel_hw",
          "input_shape": "input_chw", "stride": "stride",
          "padding": lambda c: "valid" if c["padding"] == 0 else c["padding"]},
    setup="initialize", weight="W", bias="w0", forward="forward_pass",
    backward="backward_pass", forward_kwargs={"training": True},
    grad_weight="optimizer:W_opt", grad_bias="optimizer:w0_opt",
    supports={"stride": INTS, "padding": (0, "same", "valid")})
POOL = LayerSpec(
    "max_pool2d", MaxPooling2D, init={"pool_shape": "kernel_hw", "stride": "stride"},
    forward="forward_pass", backward="backward_pass", supports={"stride": INTS})

conv2d, conv2d_backward = functions(CONV)
max_pool2d, max_pool2d_backward = functions(POOL)
