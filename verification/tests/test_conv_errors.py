"""Bad input to conv2d / conv2d_backward / conv_output_size raises a clear ValueError or
TypeError naming the argument and the shapes, never a NumPy traceback."""
from __future__ import annotations

import numpy as np
import pytest

from cnnref import reference as ref

X = np.zeros((2, 4, 5, 5))
W = np.zeros((6, 4, 3, 3))

BAD_CONV = [
    # (description, args, kwargs, exception, message pattern)
    ("x rank 3", (np.zeros((4, 5, 5)), W), {}, ValueError, r"x must have 4 dimensions.*\(4, 5, 5\)"),
    ("weight rank 2", (X, np.zeros((3, 3))), {}, ValueError, r"weight must have 4 dim"),
    ("channel mismatch", (X, np.zeros((6, 3, 3, 3))), {}, ValueError,
     r"x has 4 channels.*weight.shape\[1\].*\(6, 3, 3, 3\)"),
    ("groups do not divide C", (X, np.zeros((6, 1, 3, 3))), {"groups": 3}, ValueError,
     r"groups=3 must divide"),
    ("groups do not divide K", (X, np.zeros((5, 2, 3, 3))), {"groups": 2}, ValueError,
     r"groups=2 must divide"),
    ("kernel larger than padded input", (X, np.zeros((6, 4, 8, 3))), {"padding": 1},
     ValueError, r"spans 8 along H, larger than the padded input 5 \+ 1 \+ 1 = 7"),
    ("stride 0", (X, W), {"stride": 0}, ValueError, r"stride must be >= 1"),
    ("negative stride", (X, W), {"stride": (1, -2)}, ValueError, r"stride must be >= 1"),
    ("dilation 0", (X, W), {"dilation": 0}, ValueError, r"dilation must be >= 1"),
    ("negative padding", (X, W), {"padding": -1}, ValueError, r"padding must be >= 0"),
    ("negative asymmetric padding", (X, W), {"padding": ((0, -1), (0, 0))}, ValueError,
     r"padding must be >= 0"),
    ("unknown padding string", (X, W), {"padding": "half"}, ValueError, r"'valid', 'same'"),
    ("same with stride 2", (X, W), {"padding": "same", "stride": 2}, ValueError,
     r"padding='same' needs stride 1"),
    ("float stride", (X, W), {"stride": 1.5}, TypeError, r"stride must be an int"),
    ("integer x", (X.astype(int), W), {}, TypeError, r"x must be a floating array.*int"),
    ("bool weight", (X, W.astype(bool)), {}, TypeError, r"weight must be a floating"),
    ("complex x", (X.astype(complex), W), {}, TypeError, r"x must be a floating"),
    ("mixed dtypes", (X.astype(np.float32), W), {}, TypeError,
     r"share one dtype.*x.dtype=float32.*weight.dtype=float64"),
    ("bias wrong length", (X, W, np.zeros(5)), {}, ValueError, r"bias must have shape \(6,\)"),
    ("bias rank 2", (X, W, np.zeros((6, 1))), {}, ValueError, r"bias must have 1 dim"),
    ("groups 0", (X, W), {"groups": 0}, ValueError, r"groups must be >= 1"),
    ("unknown algorithm", (X, W), {"algorithm": "strassen"}, ValueError, r"algorithm must be"),
    ("winograd with a 5x5 kernel", (X, np.zeros((6, 4, 5, 5))), {"algorithm": "winograd"},
     ValueError, r"conv2d: algorithm='winograd'.*3x3 kernel.*\(6, 4, 5, 5\)"),
    ("winograd with stride 2", (X, W), {"algorithm": "winograd2", "stride": 2}, ValueError,
     r"conv2d: algorithm='winograd2'.*stride 1 \(stride=\(2, 2\)\).*\(2, 4, 5, 5\)"),
    ("winograd with dilation 2", (np.zeros((1, 4, 9, 9)), W),
     {"algorithm": "winograd4", "dilation": (1, 2)}, ValueError,
     r"conv2d: algorithm='winograd4'.*dilation 1 \(dilation=\(1, 2\)\)"),
    ("no channels", (np.zeros((2, 0, 5, 5)), np.zeros((6, 0, 3, 3))), {}, ValueError,
     r"only the batch may be empty.*\(2, 0, 5, 5\)"),
    ("no output channels", (X, np.zeros((0, 4, 3, 3))), {}, ValueError,
     r"only the batch may be empty"),
]


@pytest.mark.parametrize("desc, args, kwargs, exc, pattern", BAD_CONV,
                         ids=[c[0] for c in BAD_CONV])
def test_conv2d_rejects_bad_input(desc, args, kwargs, exc, pattern):
    with pytest.raises(exc, match=pattern):
        ref.conv2d(*args, **kwargs)


@pytest.mark.parametrize("desc, args, kwargs, exc, pattern",
                         [c for c in BAD_CONV if "algorithm" not in c[2]],
                         ids=[c[0] for c in BAD_CONV if "algorithm" not in c[2]])
def test_conv2d_backward_rejects_the_same_input(desc, args, kwargs, exc, pattern):
    with pytest.raises(exc, match=pattern):
        ref.conv2d_backward(np.zeros((2, 6, 3, 3)), *args, **kwargs)


def test_backward_rejects_wrong_grad_out_shape_and_method():
    with pytest.raises(ValueError, match=r"grad_out must have the forward output's shape "
                                         r"\(2, 6, 3, 3\), got \(2, 6, 4, 4\)"):
        ref.conv2d_backward(np.zeros((2, 6, 4, 4)), X, W)
    with pytest.raises(TypeError, match=r"grad_out.dtype=float32 differs"):
        ref.conv2d_backward(np.zeros((2, 6, 3, 3), np.float32), X, W)
    with pytest.raises(ValueError, match=r"method must be one of"):
        ref.conv2d_backward(np.zeros((2, 6, 3, 3)), X, W, method="magic")


@pytest.mark.parametrize("kwargs, exc, pattern", [
    ({"input_size": 0, "kernel_size": 3}, ValueError, r"input_size must be >= 1"),
    ({"input_size": 5, "kernel_size": 7}, ValueError, r"kernel span 7 .* larger than the padded input 5"),
    ({"input_size": 5, "kernel_size": 3, "stride": 0}, ValueError, r"stride must be >= 1"),
    ({"input_size": 5, "kernel_size": 3, "padding": -1}, ValueError, r"padding must be >= 0"),
    ({"input_size": 5.0, "kernel_size": 3}, TypeError, r"input_size must be an int"),
])
def test_conv_output_size_rejects_bad_input(kwargs, exc, pattern):
    with pytest.raises(exc, match=pattern):
        ref.conv_output_size(**kwargs)
