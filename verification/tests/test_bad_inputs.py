"""The bad-input table: every public function of cnnref.reference, every argument, at least
one bad value each. Each call must raise a ValueError or TypeError (MemoryError for the
memory limit) at once whose message names the function and the argument, never a NumPy
traceback from deep inside (IndexError, AttributeError, ZeroDivisionError, ...), a
RecursionError, a wrong result or a hang. A second test checks that the table covers
every public function and every parameter of each."""
from __future__ import annotations

import inspect

import numpy as np
import pytest

from cnnref import reference as ref

F64 = np.float64
X4 = np.zeros((2, 3, 6, 6))
W4 = np.zeros((4, 3, 3, 3))
G4 = np.zeros((2, 4, 4, 4))
V3 = np.zeros(3)
M2 = np.zeros((2, 3))
T2 = np.array([0, 2])
NET = ref.parse_network("INPUT 1x8x8 -> CONV 2@3x3 -> RELU -> POOL 2 -> FC 4")
RF = ref.INPUT_FIELD
INT_ARRAY = np.zeros((2, 3, 6, 6), dtype=np.int64)
F32_4 = X4.astype(np.float32)

# Bad values by kind of argument: (value, why).
ARRAY = [(INT_ARRAY, "integer array"), ("abc", "a string"), (None, "None")]
ELEMENTWISE = [(INT_ARRAY, "integer array"), ("abc", "a string"), (None, "None")]
POSITIVE_INT = [(0, "zero"), (1.5, "a float"), (True, "a bool"), ("3", "a string")]
NONNEG_INT = [(-1, "negative"), (1.5, "a float"), (True, "a bool")]
BOOL = [("no", "a string"), (1, "an int"), (None, "None")]
REAL = [(None, "None"), ("1e-5", "a string"), (True, "a bool")]
NETWORK = [("INPUT 1x8x8", "a string"), (None, "None")]
SHAPE = [("abc", "a string"), ((0, 8, 8), "a zero size"), (None, "None")]

# function -> (good arguments, {argument: bad values}); every call replaces one argument.
TABLE = {
    "conv2d": ({"x": X4, "weight": W4, "bias": np.zeros(4)}, {
        "x": ARRAY + [(np.zeros((3, 6, 6)), "rank 3"), (F32_4, "float32 with float64 weight")],
        "weight": ARRAY + [(np.zeros((4, 2, 3, 3)), "channel mismatch")],
        "bias": [(np.zeros(5), "wrong length"), (INT_ARRAY[0, 0, 0, :4], "integer")],
        "stride": POSITIVE_INT, "padding": NONNEG_INT + [("half", "unknown string")],
        "dilation": POSITIVE_INT, "groups": POSITIVE_INT + [(2, "does not divide")],
        "algorithm": [("strassen", "unknown"), (None, "None")],
        "workspace_bytes": [(0, "zero"), (-1, "negative"), ("big", "a string"),
                            (True, "a bool")]}),
    "choose_algorithm": ({"x": X4, "weight": W4}, {
        "x": ARRAY + [(np.zeros((3, 6, 6)), "rank 3")],
        "weight": ARRAY + [(np.zeros((4, 2, 3, 3)), "channel mismatch")],
        "stride": POSITIVE_INT, "padding": NONNEG_INT + [("half", "unknown string")],
        "dilation": POSITIVE_INT, "groups": POSITIVE_INT}),
    "conv2d_backward": ({"grad_out": G4, "x": X4, "weight": W4, "bias": np.zeros(4)}, {
        "grad_out": ARRAY + [(np.zeros((2, 4, 3, 3)), "wrong shape"),
                             (G4.astype(np.float32), "float32")],
        "x": ARRAY + [(F32_4, "float32")], "weight": ARRAY,
        "bias": [(np.zeros(5), "wrong length")], "stride": POSITIVE_INT,
        "padding": NONNEG_INT, "dilation": POSITIVE_INT, "groups": POSITIVE_INT,
        "method": [("magic", "unknown"), (None, "None")],
        "workspace_bytes": [(0, "zero"), ("big", "a string")]}),
    "conv_output_shape": ({"input_hw": (6, 6), "kernel_hw": (3, 3), "stride_hw": (1, 1),
                           "pads": ((0, 0), (0, 0)), "dilation_hw": (1, 1),
                           "func": "conv_output_shape"}, {
        "input_hw": [((6,), "one entry"), ("ab", "a string"), ((0, 6), "zero")],
        "kernel_hw": [((0, 3), "zero"), ((1.5, 3), "a float")],
        "stride_hw": [((0, 1), "zero"), (None, "None")],
        "pads": [(((-1, 0), (0, 0)), "negative"), (1, "an int")],
        "dilation_hw": [((0, 1), "zero"), ("x", "a string")],
        "func": [(3, "not a string")]}),
    "conv_output_size": ({"input_size": 6, "kernel_size": 3}, {
        "input_size": POSITIVE_INT, "kernel_size": POSITIVE_INT + [(7, "larger than input")],
        "stride": POSITIVE_INT, "padding": NONNEG_INT + [("half", "unknown string")],
        "dilation": POSITIVE_INT}),
    "normalize_padding": ({"padding": 1, "kernel_hw": (3, 3), "dilation_hw": (1, 1),
                           "stride_hw": (1, 1), "func": "normalize_padding"}, {
        "padding": NONNEG_INT + [("half", "unknown string")],
        "kernel_hw": [((0, 3), "zero"), (None, "None")],
        "dilation_hw": [((0, 1), "zero"), (None, "None")],
        "stride_hw": [((0, 1), "zero"), (None, "None")],
        "func": [(3, "not a string")]}),
    "pool_output_size": ({"input_size": 6, "kernel_size": 2, "stride": 2, "pad_before": 0,
                          "pad_after": 0}, {
        "input_size": POSITIVE_INT, "kernel_size": POSITIVE_INT + [(9, "larger than input")],
        "stride": POSITIVE_INT, "pad_before": NONNEG_INT, "pad_after": NONNEG_INT,
        "dilation": POSITIVE_INT, "ceil_mode": BOOL}),
    "convolve1d": ({"x": np.zeros(5), "w": np.zeros(3)}, {
        "x": ARRAY + [(np.zeros((2, 2)), "rank 2")], "w": ARRAY,
        "mode": [("circular", "unknown"), (None, "None")]}),
    "convolve2d": ({"a": np.zeros((4, 4)), "b": np.zeros((2, 2))}, {
        "a": ARRAY, "b": ARRAY,
        "mode": [("circular", "unknown"), (None, "None")], "_func": [(3, "not a string")]}),
    "correlate2d": ({"a": np.zeros((4, 4)), "b": np.zeros((2, 2))}, {
        "a": ARRAY, "b": ARRAY, "mode": [("circular", "unknown"), (None, "None")]}),
    "rot180": ({"kernel": np.zeros((3, 3))}, {
        "kernel": [(np.zeros(3), "rank 1"), ("abc", "a string"), (None, "None")]}),
    "max_pool2d": ({"x": X4, "kernel_size": 2}, {
        "x": ARRAY + [(np.zeros((6, 6)), "rank 2")], "kernel_size": POSITIVE_INT,
        "stride": POSITIVE_INT, "padding": NONNEG_INT + [("same", "a string")],
        "dilation": POSITIVE_INT, "ceil_mode": BOOL, "return_indices": BOOL}),
    "max_pool2d_backward": ({"grad_out": np.zeros((2, 3, 3, 3)), "x": X4, "kernel_size": 2}, {
        "grad_out": ARRAY + [(np.zeros((2, 3, 2, 2)), "wrong shape"),
                             (np.zeros((2, 3, 3, 3), np.float32), "float32")],
        "x": ARRAY, "kernel_size": POSITIVE_INT, "stride": POSITIVE_INT,
        "padding": NONNEG_INT, "dilation": POSITIVE_INT, "ceil_mode": BOOL}),
    "avg_pool2d": ({"x": X4, "kernel_size": 2}, {
        "x": ARRAY, "kernel_size": POSITIVE_INT, "stride": POSITIVE_INT,
        "padding": NONNEG_INT, "ceil_mode": BOOL, "count_include_pad": BOOL,
        "divisor_override": [(0, "zero"), (1.5, "a float"), (True, "a bool")],
        "dilation": POSITIVE_INT}),
    "avg_pool2d_backward": ({"grad_out": np.zeros((2, 3, 3, 3)), "x": X4, "kernel_size": 2}, {
        "grad_out": ARRAY + [(np.zeros((2, 3, 2, 2)), "wrong shape"),
                             (np.zeros((2, 3, 3, 3), np.float32), "float32")],
        "x": ARRAY, "kernel_size": POSITIVE_INT, "stride": POSITIVE_INT,
        "padding": NONNEG_INT, "ceil_mode": BOOL, "count_include_pad": BOOL,
        "divisor_override": [(0, "zero"), ("2", "a string")], "dilation": POSITIVE_INT}),
    "global_avg_pool2d": ({"x": X4}, {"x": ARRAY + [(M2, "rank 2")]}),
    "global_max_pool2d": ({"x": X4}, {"x": ARRAY + [(M2, "rank 2")]}),
    "global_avg_pool2d_backward": ({"grad_out": np.zeros((2, 3, 1, 1)), "x": X4}, {
        "grad_out": ARRAY + [(np.zeros((2, 3, 2, 2)), "wrong shape")], "x": ARRAY}),
    "global_max_pool2d_backward": ({"grad_out": np.zeros((2, 3, 1, 1)), "x": X4}, {
        "grad_out": ARRAY + [(np.zeros((2, 3, 1, 1), np.float32), "float32")], "x": ARRAY}),
    "max_pool2d_backward_documents": ({"grad_out": np.zeros((2, 3, 3, 3)), "x": X4,
                                       "kernel_size": 2}, {
        "grad_out": ARRAY + [(np.zeros((2, 3, 2, 2)), "wrong shape"),
                             (np.zeros((2, 3, 3, 3), np.float32), "float32")],
        "x": ARRAY, "kernel_size": POSITIVE_INT + [(7, "larger than x")]}),
    "avg_pool2d_backward_kronecker": ({"grad_out": np.zeros((2, 3, 3, 3)), "x": X4,
                                       "kernel_size": 2}, {
        "grad_out": ARRAY + [(np.zeros((2, 3, 2, 2)), "wrong shape")],
        "x": ARRAY, "kernel_size": POSITIVE_INT}),
    "lenet_subsample": ({"x": X4, "coefficient": V3, "bias": V3}, {
        "x": ARRAY, "coefficient": ARRAY + [(np.zeros(4), "wrong length")],
        "bias": ARRAY + [(np.zeros(3, np.float32), "float32")],
        "kernel_size": POSITIVE_INT}),
    "lenet_subsample_backward": ({"grad_out": np.zeros((2, 3, 3, 3)), "x": X4,
                                  "coefficient": V3, "bias": V3}, {
        "grad_out": ARRAY + [(np.zeros((2, 3, 2, 2)), "wrong shape")], "x": ARRAY,
        "coefficient": ARRAY, "bias": ARRAY, "kernel_size": POSITIVE_INT}),
    "batch_norm": ({"x": X4, "running_mean": V3, "running_var": np.ones(3)}, {
        "x": ARRAY + [(np.zeros(3), "rank 1")],
        "running_mean": [(np.zeros(4), "wrong length"), (INT_ARRAY[0, 0, 0, :3], "integer")],
        "running_var": [(np.zeros(4), "wrong length"), (np.ones(3, np.float32), "float32")],
        "weight": [(np.zeros(4), "wrong length")], "bias": [(np.zeros((3, 1)), "rank 2")],
        "training": BOOL, "momentum": REAL, "eps": REAL + [(-1.0, "negative")]}),
    "batch_norm_backward": ({"grad_out": X4, "x": X4, "running_mean": V3,
                             "running_var": np.ones(3)}, {
        "grad_out": ARRAY + [(M2, "wrong shape"), (F32_4, "float32")],
        "x": ARRAY, "running_mean": [(np.zeros(4), "wrong length")],
        "running_var": [(np.zeros(2), "wrong length")],
        "weight": [(np.zeros(4), "wrong length")], "bias": [(np.zeros(4), "wrong length")],
        "training": BOOL, "momentum": REAL, "eps": REAL + [(-1.0, "negative")]}),
    "batch_norm_running_stats": ({"x": X4, "running_mean": V3, "running_var": np.ones(3)}, {
        "x": ARRAY, "running_mean": [(None, "None"), (np.zeros(4), "wrong length")],
        "running_var": [(None, "None"), (np.zeros(4), "wrong length")], "momentum": REAL}),
    "relu": ({"x": X4}, {"x": ELEMENTWISE}),
    "sigmoid": ({"x": X4}, {"x": ELEMENTWISE}),
    "tanh": ({"x": X4}, {"x": ELEMENTWISE}),
    "leaky_relu": ({"x": X4}, {"x": ELEMENTWISE, "negative_slope": REAL}),
    "relu_backward": ({"grad_out": X4, "x": X4}, {
        "grad_out": ELEMENTWISE + [(F32_4, "float32"), (M2, "wrong shape")], "x": ELEMENTWISE}),
    "sigmoid_backward": ({"grad_out": X4, "x": X4}, {
        "grad_out": ELEMENTWISE + [(F32_4, "float32")], "x": ELEMENTWISE}),
    "tanh_backward": ({"grad_out": X4, "x": X4}, {
        "grad_out": ELEMENTWISE + [(F32_4, "float32")], "x": ELEMENTWISE}),
    "leaky_relu_backward": ({"grad_out": X4, "x": X4}, {
        "grad_out": ELEMENTWISE + [(F32_4, "float32")], "x": ELEMENTWISE,
        "negative_slope": REAL}),
    "softmax": ({"x": M2, "dim": 1}, {
        "x": ELEMENTWISE, "dim": [(1.5, "a float"), (True, "a bool"), (2, "out of range"),
                                  (-3, "out of range"), (None, "None")]}),
    "log_softmax": ({"x": M2, "dim": 1}, {
        "x": ELEMENTWISE, "dim": [(1.5, "a float"), (2, "out of range")]}),
    "softmax_backward": ({"grad_out": M2, "x": M2, "dim": 1}, {
        "grad_out": ELEMENTWISE + [(M2.astype(np.float32), "float32")], "x": ELEMENTWISE,
        "dim": [(1.5, "a float"), (5, "out of range")]}),
    "log_softmax_backward": ({"grad_out": M2, "x": M2, "dim": 1}, {
        "grad_out": ELEMENTWISE + [(np.zeros((3, 2)), "wrong shape")], "x": ELEMENTWISE,
        "dim": [("1", "a string"), (-3, "out of range")]}),
    "quadratic_loss": ({"a": M2, "y": M2}, {
        "a": ARRAY + [(np.zeros(()), "a scalar")],
        "y": ARRAY + [(np.zeros((2, 4)), "wrong shape"), (M2.astype(np.float32), "float32")]}),
    "quadratic_loss_backward": ({"grad_out": 1.0, "a": M2, "y": M2}, {
        "grad_out": REAL + [(np.ones(2), "not a scalar")], "a": ARRAY, "y": ARRAY}),
    "binary_cross_entropy": ({"a": M2, "y": M2}, {
        "a": ARRAY + [(M2 + 2, "not probabilities")], "y": ARRAY}),
    "binary_cross_entropy_backward": ({"grad_out": 1.0, "a": M2, "y": M2}, {
        "grad_out": REAL, "a": ARRAY, "y": ARRAY + [(np.zeros(2), "wrong shape")]}),
    "cross_entropy": ({"logits": M2, "target": T2}, {
        "logits": ARRAY + [(np.zeros(3), "rank 1")],
        "target": [(np.array([0.0, 1.0]), "floats"), (np.array([0, 3]), "out of range"),
                   (np.array([0]), "wrong length"), (None, "None")]}),
    "cross_entropy_backward": ({"grad_out": 1.0, "logits": M2, "target": T2}, {
        "grad_out": REAL, "logits": ARRAY, "target": [(np.array([-1, 0]), "negative")]}),
    "one_hot": ({"target": T2, "classes": 3}, {
        "target": [(np.array([0, 5]), "out of range"), (np.array([0.5]), "floats"),
                   (np.array([-1]), "negative"), (None, "None")],
        "classes": [(0, "zero"), (2.5, "a float"), (True, "a bool")],
        "dtype": [(np.int64, "an integer dtype"), ("big", "not a dtype")]}),
    "output_error_quadratic": ({"a": M2, "y": M2, "z": M2,
                                "activation_derivative": np.ones_like}, {
        "a": ARRAY, "y": ARRAY + [(np.zeros(2), "wrong shape")],
        "z": ARRAY + [(np.zeros((4, 4)), "wrong shape")],
        "activation_derivative": [(None, "None"), (3, "not a function")]}),
    "output_error_cross_entropy": ({"a": M2, "y": M2}, {
        "a": ARRAY, "y": ARRAY + [(np.zeros(2), "wrong shape")]}),
    "dense": ({"x": M2, "weight": np.zeros((4, 3)), "bias": np.zeros(4)}, {
        "x": ARRAY + [(np.zeros((2, 5)), "wrong features")],
        "weight": ARRAY + [(np.zeros(3), "rank 1")],
        "bias": [(np.zeros(5), "wrong length"), (np.zeros(4, np.float32), "float32")]}),
    "dense_backward": ({"grad_out": np.zeros((2, 4)), "x": M2, "weight": np.zeros((4, 3))}, {
        "grad_out": ARRAY + [(np.zeros((2, 5)), "wrong shape"),
                             (np.zeros((2, 4), np.float32), "float32")],
        "x": ARRAY, "weight": ARRAY, "bias": [(np.zeros(5), "wrong length")]}),
    "backprop_error": ({"delta_next": np.zeros((2, 4)), "weight_next": np.zeros((4, 3)),
                        "z": M2, "activation_derivative": np.ones_like}, {
        "delta_next": ARRAY + [(np.zeros((2, 5)), "does not chain")],
        "weight_next": ARRAY + [(np.zeros((4, 3), np.float32), "float32")],
        "z": ARRAY + [(np.zeros((2, 4)), "does not chain")],
        "activation_derivative": [(None, "None")]}),
    "sgd_step": ({"params": [V3], "grads": [V3], "lr": 0.1}, {
        "params": [(np.zeros((2, 3)), "an array"), ([V3, V3], "wrong count"),
                   ([np.zeros(4)], "wrong shape"), (None, "None")],
        "grads": [(V3, "an array"), ([np.zeros(3, np.float32)], "float32"),
                  ([np.zeros(3, np.int64)], "integer")],
        "lr": REAL + [(-0.1, "negative")]}),
    "activation_bytes": ({"shape": (3, 8, 8)}, {
        "shape": SHAPE, "dtype": [("big", "not a dtype")], "batch": POSITIVE_INT}),
    "activation_counts": ({"input_shape": (3, 8, 8), "kind": "relu"}, {
        "input_shape": SHAPE, "kind": [("swish", "unknown"), (None, "None")],
        "batch": POSITIVE_INT, "input_grad": BOOL}),
    "batchnorm_counts": ({"input_shape": (3, 8, 8)}, {
        "input_shape": SHAPE, "batch": POSITIVE_INT, "input_grad": BOOL}),
    "conv2d_counts": ({"input_shape": (3, 8, 8), "out_channels": 4, "kernel_size": 3}, {
        "input_shape": SHAPE, "out_channels": POSITIVE_INT, "kernel_size": POSITIVE_INT,
        "stride": POSITIVE_INT, "padding": NONNEG_INT, "dilation": POSITIVE_INT,
        "groups": POSITIVE_INT + [(2, "does not divide")], "bias": BOOL,
        "connection_table": [("abc", "a string"), (((0, 9),) * 4, "channel out of range")],
        "batch": POSITIVE_INT, "input_grad": BOOL}),
    "linear_counts": ({"in_features": 3, "out_features": 4}, {
        "in_features": POSITIVE_INT, "out_features": POSITIVE_INT, "bias": BOOL,
        "batch": POSITIVE_INT, "input_grad": BOOL}),
    "pool2d_counts": ({"input_shape": (3, 8, 8), "kernel_size": 2}, {
        "input_shape": SHAPE, "kernel_size": POSITIVE_INT + [(9, "larger than input")],
        "stride": POSITIVE_INT, "padding": NONNEG_INT, "mode": [("median", "unknown")],
        "batch": POSITIVE_INT, "input_grad": BOOL}),
    "conv_transpose2d_counts": ({"input_shape": (2, 4, 4), "out_channels": 4,
                                 "kernel_size": 3, "stride": 2}, {
        "input_shape": SHAPE, "out_channels": POSITIVE_INT, "kernel_size": POSITIVE_INT,
        "stride": POSITIVE_INT, "padding": NONNEG_INT + [(9, "empty output")],
        "output_padding": NONNEG_INT + [(2, "not below the stride")],
        "dilation": POSITIVE_INT, "groups": POSITIVE_INT + [(3, "does not divide")],
        "bias": BOOL, "batch": POSITIVE_INT, "input_grad": BOOL}),
    "norm_counts": ({"input_shape": (4, 3, 3), "kind": "group", "num_groups": 2}, {
        "input_shape": SHAPE, "kind": [("batch", "unknown"), (None, "None")],
        "num_groups": POSITIVE_INT + [(3, "does not divide")], "batch": POSITIVE_INT,
        "input_grad": BOOL}),
    "adaptive_pool2d_counts": ({"input_shape": (3, 8, 8), "output_size": 2}, {
        "input_shape": SHAPE, "output_size": POSITIVE_INT, "mode": [("median", "unknown")],
        "batch": POSITIVE_INT, "input_grad": BOOL}),
    "lp_pool2d_counts": ({"input_shape": (3, 8, 8), "norm_type": 2, "kernel_size": 2}, {
        "input_shape": SHAPE, "norm_type": [(0, "zero"), ("2", "a string"),
                                            (float("inf"), "infinite"), (True, "a bool")],
        "kernel_size": POSITIVE_INT, "stride": POSITIVE_INT, "batch": POSITIVE_INT,
        "input_grad": BOOL}),
    "subsample2d_counts": ({"input_shape": (3, 8, 8), "kernel_size": 2}, {
        "input_shape": SHAPE, "kernel_size": POSITIVE_INT, "stride": POSITIVE_INT,
        "batch": POSITIVE_INT, "input_grad": BOOL}),
    "weight_sharing": ({"input_shape": (3, 8, 8), "out_shape": (4, 6, 6), "kernel_size": 3}, {
        "input_shape": SHAPE, "out_shape": SHAPE, "kernel_size": POSITIVE_INT,
        "groups": POSITIVE_INT + [(2, "does not divide")],
        "connection_table": [("abc", "a string")]}),
    "coverage_map": ({"input_hw": (6, 6), "kernel_size": 3}, {
        "input_hw": [((0, 6), "zero"), ("ab", "a string"), (None, "None")],
        "kernel_size": POSITIVE_INT + [(7, "larger than input")], "stride": POSITIVE_INT,
        "padding": NONNEG_INT, "dilation": POSITIVE_INT}),
    "receptive_field_step": ({"rf": RF, "kernel_size": 3}, {
        "rf": [(None, "None"), ((1, 1), "a tuple")], "kernel_size": POSITIVE_INT,
        "stride": POSITIVE_INT, "padding": NONNEG_INT, "dilation": POSITIVE_INT}),
    "architecture_pattern": ({"n": 1, "m": 2, "k": 2}, {
        "n": POSITIVE_INT, "m": POSITIVE_INT, "k": NONNEG_INT,
        "input": [(None, "None"), ("32", "not CxHxW")], "conv": [(None, "None")],
        "pool": [(3, "not a string")], "fc": [(None, "None")]}),
    "format_layer": ({"layer": NET.layers[0]}, {"layer": [("CONV", "a string"), (None, "None")]}),
    "format_network": ({"net": NET}, {"net": NETWORK}),
    "parse_network": ({"text": "INPUT 1x8x8 -> FC 10"}, {
        "text": [(None, "None"), (b"INPUT 1x8x8", "bytes"), ("INPUT 1x8x8 -> CONV 4@9x9", "too large a kernel"),
                 ("INPUT 1x8x8 -> " + "[" * 500 + "RELU" + "]*2" * 500, "deep nesting"),
                 ("INPUT 1x8x8 -> [RELU]*" + "9" * 30, "a huge repeat count"),
                 ("INPUT 1x8x8 -> BOGUS", "unknown layer")],
        "name": [(3, "not a string")]}),
    "pattern_of": ({"net": NET}, {"net": NETWORK}),
    "get_network": ({"name_or_spec": "lenet5"}, {
        "name_or_spec": [(None, "None"), ("resnet", "unknown"), (5, "an int")]}),
    "layer_counts": ({"layer": NET.layers[0], "in_shape": (1, 8, 8)}, {
        "layer": [("CONV", "a string"), (None, "None")],
        "in_shape": SHAPE + [((8,), "no map for a conv")], "batch": POSITIVE_INT,
        "input_grad": BOOL}),
    "layer_names": ({"net": NET}, {"net": NETWORK}),
    "network_counts": ({"net": NET}, {"net": NETWORK, "batch": POSITIVE_INT}),
    "output_shapes": ({"net": NET}, {"net": NETWORK}),
    "receptive_fields": ({"net": NET}, {"net": NETWORK}),
    "summarize": ({"net": NET}, {"net": NETWORK, "batch": POSITIVE_INT,
                                 "dtype": [("big", "not a dtype"), ("int8", "an integer dtype")]}),
}

# --- the operators beyond the documents: 1-D and 3-D, transposed, unfold / fold, adaptive,
# Lp, unpooling, layer / group / instance norm, nll_loss and cross_entropy's full signature

def _x(nd):
    return np.zeros((2, 3) + (6,) * nd)


def _conv_nd_rows(nd):
    x, w = _x(nd), np.zeros((4, 3) + (3,) * nd)
    g = np.zeros((2, 4) + (4,) * nd)
    common = {"stride": POSITIVE_INT, "padding": NONNEG_INT + [("half", "unknown string")],
              "dilation": POSITIVE_INT, "groups": POSITIVE_INT + [(2, "does not divide")],
              "workspace_bytes": [(0, "zero"), ("big", "a string")]}
    return {f"conv{nd}d": ({"x": x, "weight": w, "bias": np.zeros(4)}, {
                "x": ARRAY + [(np.zeros((2, 3, 6, 6, 6, 6)), "rank 6")], "weight": ARRAY,
                "bias": [(np.zeros(5), "wrong length")],
                "algorithm": [("winograd", "2-D only"), (None, "None")], **common}),
            f"conv{nd}d_backward": ({"grad_out": g, "x": x, "weight": w, "bias": np.zeros(4)}, {
                "grad_out": ARRAY + [(np.zeros((2, 4) + (3,) * nd), "wrong shape")],
                "x": ARRAY, "weight": ARRAY, "bias": [(np.zeros(5), "wrong length")],
                "method": [("magic", "unknown")], **common})}


def _transpose_rows(nd):
    x, w = np.zeros((2, 4) + (3,) * nd), np.zeros((4, 3) + (2,) * nd)
    g = np.zeros((2, 3) + (4,) * nd)
    common = {"stride": POSITIVE_INT, "padding": NONNEG_INT + [("same", "a string")],
              "output_padding": NONNEG_INT + [(1, "not below stride or dilation")],
              "groups": POSITIVE_INT + [(3, "does not divide")], "dilation": POSITIVE_INT,
              "workspace_bytes": [(0, "zero"), ("big", "a string")]}
    return {f"conv_transpose{nd}d": ({"x": x, "weight": w, "bias": np.zeros(3)}, {
                "x": ARRAY, "weight": ARRAY + [(np.zeros((3, 3) + (2,) * nd), "channels")],
                "bias": [(np.zeros(5), "wrong length")],
                "method": [("fft", "unknown"), (None, "None")], **common}),
            f"conv_transpose{nd}d_backward": (
                {"grad_out": g, "x": x, "weight": w, "bias": np.zeros(3)}, {
                    "grad_out": ARRAY + [(np.zeros((2, 3) + (5,) * nd), "wrong shape")],
                    "x": ARRAY, "weight": ARRAY, "bias": [(np.zeros(5), "wrong length")],
                    **common})}


def _pool_nd_rows(nd):
    x, g = _x(nd), np.zeros((2, 3) + (3,) * nd)
    window = {"kernel_size": POSITIVE_INT + [(9, "larger than input")],
              "stride": POSITIVE_INT, "padding": NONNEG_INT + [("same", "a string")],
              "dilation": POSITIVE_INT, "ceil_mode": BOOL}
    avg = {**window, "count_include_pad": BOOL, "divisor_override": POSITIVE_INT}
    if nd == 1:
        avg.pop("divisor_override")
    rows = {}
    for kind, bad in (("max", {**window, "return_indices": BOOL}), ("avg", avg)):
        name = f"{kind}_pool{nd}d"
        back = {k: v for k, v in bad.items() if k != "return_indices"}
        rows[name] = ({"x": x, "kernel_size": 2}, {"x": ARRAY, **bad})
        rows[name + "_backward"] = ({"grad_out": g, "x": x, "kernel_size": 2}, {
            "grad_out": ARRAY + [(np.zeros((2, 3) + (4,) * nd), "wrong shape")],
            "x": ARRAY, **back})
    return rows


def _adaptive_rows(nd):
    x, g = _x(nd), np.zeros((2, 3) + (4,) * nd)
    size = [(0, "zero"), (1.5, "a float"), ("ab", "a string")]
    rows = {}
    for kind in ("avg", "max"):
        name = f"adaptive_{kind}_pool{nd}d"
        extra = {"return_indices": BOOL} if kind == "max" else {}
        rows[name] = ({"x": x, "output_size": 4}, {"x": ARRAY, "output_size": size, **extra})
        rows[name + "_backward"] = ({"grad_out": g, "x": x, "output_size": 4}, {
            "grad_out": ARRAY + [(np.zeros((2, 3) + (3,) * nd), "wrong shape")],
            "x": ARRAY, "output_size": size})
    return rows


def _lp_unpool_rows(nd):
    x, g = _x(nd) + 1, np.zeros((2, 3) + (3,) * nd)
    lp = {"norm_type": [(0, "zero"), ("2", "a string"), (None, "None")],
          "kernel_size": POSITIVE_INT, "stride": POSITIVE_INT, "ceil_mode": BOOL}
    small = np.zeros((2, 3) + (3,) * nd)
    idx = np.zeros(small.shape, dtype=np.int64)
    unpool = {"indices": [(small, "floats"), (np.full(small.shape, 10**6), "out of range"),
                          (None, "None")],
              "kernel_size": POSITIVE_INT, "stride": POSITIVE_INT, "padding": NONNEG_INT,
              "output_size": [((0,) * nd, "zero"), ((99,) * nd, "beyond one stride")]}
    return {f"lp_pool{nd}d": ({"x": x, "norm_type": 2, "kernel_size": 2}, {"x": ARRAY, **lp}),
            f"lp_pool{nd}d_backward": ({"grad_out": g, "x": x, "norm_type": 2,
                                        "kernel_size": 2}, {"grad_out": ARRAY, "x": ARRAY, **lp}),
            f"max_unpool{nd}d": ({"x": small, "indices": idx, "kernel_size": 2},
                                 {"x": ARRAY, **unpool}),
            f"max_unpool{nd}d_backward": (
                {"grad_out": np.zeros((2, 3) + (6,) * nd), "x": small, "indices": idx,
                 "kernel_size": 2}, {"grad_out": ARRAY + [(g, "wrong shape")], "x": ARRAY,
                                     **unpool})}


def _norm_loss_rows():
    x, v = np.zeros((2, 4, 3)), np.zeros(4)
    eps = [(-1.0, "negative"), ("1e-5", "a string"), (None, "None")]
    affine = {"weight": [(np.zeros(5), "wrong length"), ("w", "a string")],
              "bias": [(np.zeros(5), "wrong length")], "eps": eps}
    inst = {"running_mean": [(np.zeros(5), "wrong length")],
            "running_var": [(np.zeros(5), "wrong length")], **affine,
            "use_input_stats": BOOL, "momentum": REAL}
    cols, t3 = np.zeros((1, 4, 4)), np.array([0, 2])
    loss = {"weight": [(np.zeros(2), "wrong length"), ("w", "a string")],
            "ignore_index": [(1.5, "a float"), (None, "None")],
            "reduction": [("avg", "unknown"), (None, "None")]}
    smooth = {**loss, "label_smoothing": [(1.5, "above 1"), ("0.1", "a string")]}
    win = {"kernel_size": POSITIVE_INT, "dilation": POSITIVE_INT, "padding": NONNEG_INT,
           "stride": POSITIVE_INT}
    return {
        "layer_norm": ({"x": x, "normalized_shape": (3,)}, {
            "x": ARRAY, "normalized_shape": [((4,), "not the last axes"), (0, "zero")],
            **affine}),
        "layer_norm_backward": ({"grad_out": x, "x": x, "normalized_shape": (3,)}, {
            "grad_out": ARRAY + [(M2, "wrong shape")], "x": ARRAY,
            "normalized_shape": [((4,), "not the last axes")], **affine}),
        "group_norm": ({"x": x, "num_groups": 2}, {
            "x": ARRAY, "num_groups": POSITIVE_INT + [(3, "does not divide")], **affine}),
        "group_norm_backward": ({"grad_out": x, "x": x, "num_groups": 2}, {
            "grad_out": ARRAY + [(M2, "wrong shape")], "x": ARRAY,
            "num_groups": POSITIVE_INT, **affine}),
        "instance_norm": ({"x": x, "running_mean": v, "running_var": v + 1}, {
            "x": ARRAY, **inst}),
        "instance_norm_backward": ({"grad_out": x, "x": x}, {
            "grad_out": ARRAY + [(M2, "wrong shape")], "x": ARRAY, **inst}),
        "nll_loss": ({"input": M2, "target": T2}, {
            "input": ARRAY, "target": [(np.array([0, 5]), "out of range"), (None, "None")],
            **loss}),
        "nll_loss_backward": ({"grad_out": 1.0, "input": M2, "target": T2}, {
            "grad_out": REAL, "input": ARRAY, "target": [(np.array([0, 5]), "out of range")],
            **loss}),
        "unfold": ({"x": X4, "kernel_size": 2}, {"x": ARRAY, **win}),
        "unfold_backward": ({"grad_out": np.zeros((2, 12, 25)), "x": X4, "kernel_size": 2}, {
            "grad_out": ARRAY + [(M2, "wrong shape")], "x": ARRAY, **win}),
        "fold": ({"x": cols, "output_size": (3, 3), "kernel_size": 2}, {
            "x": ARRAY + [(np.zeros((1, 4, 5)), "wrong L")],
            "output_size": [((0, 3), "zero"), (None, "None")], **win}),
        "fold_backward": ({"grad_out": np.zeros((1, 1, 3, 3)), "x": cols,
                           "output_size": (3, 3), "kernel_size": 2}, {
            "grad_out": ARRAY + [(M2, "wrong shape")], "x": ARRAY,
            "output_size": [((0, 3), "zero")], **win}),
        "adaptive_bins": ({"n": 5, "m": 3}, {"n": POSITIVE_INT, "m": POSITIVE_INT}),
        "_smooth": ({}, smooth),
    }


_NEW = {}
for _nd in (1, 3):
    _NEW.update({**_conv_nd_rows(_nd), **_pool_nd_rows(_nd)})
for _nd in (1, 2, 3):
    _NEW.update({**_transpose_rows(_nd), **_adaptive_rows(_nd), **_lp_unpool_rows(_nd)})
_NEW.update(_norm_loss_rows())
_SMOOTH = _NEW.pop("_smooth")[1]
TABLE.update(_NEW)
TABLE["cross_entropy"][1].update(_SMOOTH)
TABLE["cross_entropy_backward"][1].update(_SMOOTH)


# Arguments whose message may spell them otherwise: a count of list entries, the kernel's
# span (the window rule shared with conv2d), the spec text quoted by the parser.
SPELLED = {("sgd_step", "params"): ("params", "parameters"),
           ("sgd_step", "grads"): ("grads", "gradients"),
           ("parse_network", "text"): ("text", "cannot read", "parse_network: 'INPUT"),
           **{(f, "kernel_size"): ("kernel_size", "kernel span")
              for f in ("conv_output_size", "pool_output_size", "pool2d_counts",
                        "coverage_map")
              + tuple(f"{k}_pool{nd}d{b}" for k in ("max", "avg") for nd in (1, 3)
                      for b in ("", "_backward"))}}

CASES = [(func, arg, value, why) for func, (_, bad) in TABLE.items()
         for arg, values in bad.items() for value, why in values]


@pytest.mark.parametrize("func, arg, value, why", CASES,
                         ids=[f"{f}-{a}-{w}" for f, a, _, w in CASES])
def test_bad_input_raises_a_clear_error(func, arg, value, why):
    good, _ = TABLE[func]
    kwargs = {**good, arg: value}
    with pytest.raises((TypeError, ValueError)) as info:
        getattr(ref, func)(**kwargs)
    assert type(info.value) in (TypeError, ValueError) or \
        isinstance(info.value, ref.memory.MemoryLimitError), \
        f"{func}({arg}={why}) raised {type(info.value).__name__}: {info.value}"
    text = str(info.value)
    names = SPELLED.get((func, arg), (arg,))
    assert func in text and any(n in text for n in names), \
        f"{func}({arg}={why}): the message names neither the function nor {arg!r}: {text}"


@pytest.mark.parametrize("func", sorted(TABLE))
def test_the_good_call_of_each_row_succeeds(func):
    """So that every error above comes from its bad argument alone."""
    good, _ = TABLE[func]
    try:
        getattr(ref, func)(**good)
        error = None
    except Exception as exc:   # noqa: BLE001 - any exception here is the table's fault
        error = exc
    assert error is None, f"{func}(**{good}) raised {type(error).__name__}: {error}"


def test_the_table_covers_every_public_function_and_argument():
    public = {n for n in ref.__all__ if inspect.isfunction(getattr(ref, n))}
    assert public - set(TABLE) == set(), f"functions without bad inputs: {public - set(TABLE)}"
    missing = {f: sorted(set(inspect.signature(getattr(ref, f)).parameters) - set(TABLE[f][1]))
               for f in TABLE}
    missing = {f: m for f, m in missing.items() if m}
    assert not missing, f"arguments without a bad value: {missing}"
