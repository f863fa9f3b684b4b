"""`cnnref check examples/layers/check_learn_dl_style.py`: one sample at a time, a
Filter object per output channel, results left in attributes."""
from cnnref.verification.check.layers import LayerSpec, functions

from learn_dl_style import ConvLayer, MaxPoolingLayer

INTS = lambda v: isinstance(v, int)            # noqa: E731

CONV = LayerSpec(
    "conv2d", ConvLayer,
    init={"input_width": lambda c: c["input_chw"][2], "input_height": lambda c:
          c["input_chw"][1], "channel_number": "in_channels", "filter_width": "kernel_w",
          "filter_height": "kernel_h", "filter_number": "out_channels",
          "zero_padding": "padding", "stride": "stride"},
    weight="filters[*].weights", bias="filters[*].bias", data="CHW",
    output="output_array", backward_args=("x", "grad"), grad_input="delta_array",
    grad_weight="filters[*].weights_grad", grad_bias="filters[*].bias_grad",
    supports={"stride": INTS, "padding": INTS})
POOL = LayerSpec(
    "max_pool2d", MaxPoolingLayer,
    init={"input_width": lambda c: c["input_chw"][2], "input_height": lambda c:
          c["input_chw"][1], "channel_number": "in_channels", "filter_width": "kernel_w",
          "filter_height": "kernel_h", "stride": "stride"},
    data="CHW", output="output_array", backward_args=("x", "grad"),
    grad_input="delta_array", supports={"stride": INTS})

conv2d, conv2d_backward = functions(CONV)
max_pool2d, max_pool2d_backward = functions(POOL)
