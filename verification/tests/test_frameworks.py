"""Each built-in adapter (cnnref.verification.frameworks), where its framework is
installed: its translation is right wherever the framework follows torch's semantics.

Every function the adapter defines runs the matrix's cases (the worked examples, the
corners and a few draws of every family) in a worker process, and every cell that differs
must be one of the framework's documented or reported differences below, each found by
`cnnref matrix` and reproduced by calling the framework directly (see reports/matrix.md).
Any other difference is a translation bug of the adapter, or a new finding to add here
with its evidence. Refusals are the framework's own errors and are not asserted.
"""
from __future__ import annotations

import importlib

import numpy as np
import pytest

from cnnref.verification.frameworks import FRAMEWORKS
from cnnref.verification.matrix.cases import matrix_cases
from cnnref.verification.matrix.cells import function_cells
from cnnref.verification.matrix.run import Settings, run_framework
from cnnref.verification.operators.pooling import DIVISOR_WINS
from cnnref.verification.operators.registry import CHECKABLE, REGISTRY

_ONNX_COMMON = {
    # ONNX's attributes are float32 (onnx.proto: AttributeProto `optional float f`):
    # epsilon, momentum (as 1 - momentum) and LeakyRelu's alpha
    ("batch_norm", "float parameters"), ("leaky_relu", "float parameters"),
    # BatchNormalization: "ReduceVar refers to the population variance" (the biased one,
    # https://onnx.ai/onnx/operators/onnx__BatchNormalization.html)
    ("batch_norm", "running_var compared"),
    # MaxPool scans with `val > max` from the window's first tap: a NaN after it is skipped
    # (the same scan in 1-D and 3-D: MaxPool over [-inf, NaN] gives -inf, [1, NaN] 1)
    ("max_pool2d", "NaN"), ("max_pool1d", "NaN"), ("max_pool3d", "NaN"),
    # epsilon is a float32 attribute too (LayerNormalization, GroupNormalization,
    # InstanceNormalization); ORT's InstanceNormalization runs in float32 anyway
    ("layer_norm", "float parameters"), ("group_norm", "float parameters"),
}
_FLOAT32_MATHS = {(op, "float64") for op in (
    "conv2d", "conv2d_backward", "sigmoid", "sigmoid_backward", "tanh", "tanh_backward",
    "softmax", "softmax_backward", "log_softmax", "log_softmax_backward", "cross_entropy",
    "cross_entropy_backward", "avg_pool2d_backward")}

# framework -> {(function, feature)} that may differ; each reproduced by calling the
# framework directly (reports/matrix.md keeps the reproductions)
KNOWN: dict[str, set] = {
    "torch": set(),
    "onnxruntime": _ONNX_COMMON | {
        # LpPool with ceil_mode: ORT's is the p-norm of the in-bounds taps of a window cut
        # by the border; torch's lp_pool is avg_pool(x^p) (that window's mean) times the
        # full kernel size, so the cut window is scaled by kernel / taps
        # (torch/nn/functional.py lp_pool1d/2d/3d). The drawn ceil_mode cases are also
        # blamed on their other features.
        ("lp_pool1d", "ceil_mode"), ("lp_pool2d", "ceil_mode"), ("lp_pool3d", "ceil_mode"),
        ("lp_pool2d", "norm_type>2"), ("lp_pool2d", "stride=None (kernel)"),
    },
    "onnx-reference": _ONNX_COMMON | {
        # log(softmax(x)): underflows to -inf (fixed upstream: github.com/onnx/onnx/pull/8423)
        ("log_softmax", "|x| >= 30"), ("cross_entropy", "|x| >= 30"),
        # AveragePool with ceil_mode puts extra_pad // 2 of the ceil padding at the head
        ("avg_pool2d", "stride=None (kernel)"), ("avg_pool2d", "ceil_mode"),
        # MaxPool's stride-1 path reads pads as [top, bottom, left, right]
        ("max_pool2d", "padding=asymmetric"), ("max_pool2d", "ceil_mode"),
        # the same ceil_mode head padding in 3-D (blamed on float32 or
        # count_include_pad=False: the other draws' windows were not cut by the border)
        ("avg_pool3d", "float32"), ("avg_pool3d", "count_include_pad=False"),
        # the pools pad with NaN (MaxPool, and AveragePool with count_include_pad=0) and
        # drop every NaN of a window as padding, the input's own NaN too: AveragePool of
        # [1, NaN] is 1, of [-inf, NaN] -inf (github.com/onnx/onnx/issues/1384: NaN "for
        # locating pads exactly by using np.isnan")
        ("max_pool1d", "+-inf"), ("avg_pool1d", "+-inf"), ("avg_pool3d", "+-inf"),
        ("instance_norm", "float parameters"),
        # ConvTranspose with group > 1 runs each group with the whole bias (B[c] for the
        # group's c = 0 .. M/group - 1, the first group's) and writes each group's output
        # into one channel slot, which raises for M/group > 1 (that slot fixed upstream:
        # github.com/onnx/onnx/pull/8446); the grouped cases are blamed on their features
        ("conv_transpose1d", "groups>1"), ("conv_transpose1d", "bias"),
        ("conv_transpose2d", "groups>1"), ("conv_transpose2d", "bias"),
        ("conv_transpose2d", "dilation=tuple"), ("conv_transpose2d", "dilation>1"),
        ("conv_transpose2d", "output_padding=tuple"),
        # MaxUnpool with output_shape scatters the indices into the default shape
        # ((i - 1) s + k - pads) and zero-pads that at the end, as the spec's own
        # with_output_shape example does; torch (and ORT) index the output_shape itself
        # (github.com/onnx/onnx/issues/2726: the definition is ambiguous)
        ("max_unpool1d", "output_size not the default"),
        ("max_unpool2d", "output_size not the default"),
        ("max_unpool3d", "output_size not the default"),
    },
    "jax": {
        # jax.nn.leaky_relu is jnp.where(x >= 0, x, negative_slope * x): slope 1 at 0
        ("leaky_relu_backward", "x == 0"),
        # reduce_window max's gradient (select_and_scatter with >=) passes over a NaN
        ("max_pool2d_backward", "NaN"), ("max_pool1d_backward", "NaN"),
        ("max_pool3d_backward", "NaN"),
        # the same in 3-D at the matrix's default draws: the one NaN case a window holds
        # is blamed on its rarer features
        ("max_pool3d_backward", "padding=tuple"), ("max_pool3d_backward", "stride=tuple"),
        # every target ignored, 'mean': the loss is 0 / 0 = NaN in both, and jax.vjp of
        # sum(w[t] * nll) / sum(w[t]) is NaN where torch's kernel returns 0 (autodiff
        # multiplies the 1 / 0 of the division by the zero weights: the JAX FAQ's
        # "gradients contain NaN where using where", docs.jax.dev/en/latest/faq.html)
        ("cross_entropy_backward", "every target ignored"),
        ("nll_loss_backward", "every target ignored"),
        # XLA's CPU algebraic simplifier aborts the process (Check failed: "Window
        # dimensions do not match RHS shape") compiling a convolution with lhs_dilation 2
        # where an axis of kernel 2 has no padding beside a padded axis; jax's own
        # lax.conv_transpose(ones((1, 2, 4, 2)), ones((1, 2, 2, 3)), (2, 2),
        # ((0, 0), (1, 1)), dimension_numbers=('NCHW', 'OIHW', 'NCHW')) aborts the same way
        ("conv_transpose3d", "padding>0"), ("conv_transpose3d_backward", "padding>0"),
    },
    "tensorflow": {
        # CPU MaxPool: a window of NaN or -inf gives the lowest finite value
        # (github.com/tensorflow/tensorflow/issues/2501), NaN dropped or kept by the vectorised
        # path (github.com/tensorflow/tensorflow/issues/125965)
        ("max_pool2d", "+-inf"), ("max_pool2d", "NaN"), ("max_pool2d_backward", "NaN"),
        # the same lowest finite value for a window of -inf from max_pool1d and MaxPool3D
        ("max_pool1d", "+-inf"), ("max_pool3d", "+-inf"), ("max_pool1d", "NaN"),
        # LeakyRelu's alpha is a float attribute
        ("leaky_relu", "float parameters"), ("leaky_relu_backward", "float parameters"),
        # CPU MaxPool3DGrad masks the window with tensor_in == tensor_out: every tied
        # maximum gets the whole gradient (tensorflow/core/kernels/pooling_ops_3d.cc);
        # the 2-D kernel routes it to one (the integer cases' ties, blamed on their features)
        ("max_pool3d_backward", "batch>1"), ("max_pool3d_backward", "kernel_size=tuple"),
        ("max_pool3d_backward", "overlapping windows"),
        # Keras's masked 'sum_over_batch_size' weighs the kept positions by
        # divide_no_nan(total, valid): every target ignored gives 0, torch's mean 0/0 = NaN
        # (keras/src/losses/loss.py apply_mask)
        ("cross_entropy", "every target ignored"),
    },
    "tinygrad": {
        # max lowered to (a < b) ? b : a (github.com/tinygrad/tinygrad/issues/862); the reduce-max gradient
        # splits among ties; leaky_relu is (x < 0).where(slope * x, x)
        ("max_pool2d", "NaN"), ("max_pool2d_backward", "ties"),
        ("max_pool2d_backward", "NaN"), ("leaky_relu_backward", "x == 0"),
        # nn.Conv2d(padding='same') pairs each axis's dilation with the other's kernel
        # size (fixed upstream: github.com/tinygrad/tinygrad/pull/17805)
        ("conv2d", "padding=same"),
        # 1-D and 3-D max pooling as in 2-D: the reduce-max gradient splits among ties
        # (these integer cases are full of them), a NaN wins only as a window's first tap
        ("max_pool1d_backward", "batch>1"), ("max_pool1d_backward", "padding>0"),
        ("max_pool3d", "NaN"), ("max_pool3d_backward", "batch>1"),
        ("max_pool3d_backward", "kernel_size=tuple"),
        ("max_pool3d_backward", "overlapping windows"), ("max_pool3d_backward", "stride>1"),
        ("max_pool3d_backward", "ceil_mode"), ("max_pool3d_backward", "ceil_mode drop rule"),
        ("max_pool3d_backward", "float64"), ("max_pool3d_backward", "NaN"),
        # every target ignored, 'mean': the loss is 0 / 0 = NaN in both, and
        # sparse_categorical_crossentropy's gradient is NaN too (torch's: zeros)
        ("cross_entropy_backward", "every target ignored"),
    },
    "mlx": _FLOAT32_MATHS | {
        # "Simply mx.maximum(negative_slope * x, x)" (mlx.nn.leaky_relu's docs)
        ("leaky_relu", "negative_slope != 0.01"), ("leaky_relu_backward",
                                                   "negative_slope != 0.01"),
        ("leaky_relu_backward", "x == 0"), ("leaky_relu", "negative_slope > 1"),
        ("leaky_relu_backward", "negative_slope > 1"),
        ("max_pool2d_backward", "ties"), ("max_pool2d_backward", "NaN"),
        # nn.log_softmax (mx.compile, shapeless) dies with SIGSEGV on an axis of length 1
        ("log_softmax", "dim of length 1"),
        # float64 in, float32 maths: mx.conv_general / conv_transpose*, mx.fast.layer_norm
        # (nn.GroupNorm's torch-compatible path and nn.InstanceNorm normalise with it) and
        # cross_entropy's logsumexp; mx.fast.layer_norm([[0.1, 0.2, 0.7]] float64) is 7e-8
        # from float64 arithmetic
        *{(op + suffix, "float64") for op in (
            "conv1d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d",
            "layer_norm", "group_norm", "instance_norm") for suffix in ("", "_backward")},
        # the vjp of mx.conv_transpose1d/2d with stride > 1 and output_padding > 0 returns
        # grad_x of the wrong shape: conv_transpose1d(x (1, 4, 1), w (1, 1, 1), stride=3,
        # output_padding=2) has grad_x (1, 2, 1) (stride 1 or output_padding 0: right)
        ("conv_transpose1d_backward", "output_padding>0"),
        ("conv_transpose1d_backward", "dilation>1"),
        ("conv_transpose2d_backward", "output_padding>0"),
        ("conv_transpose2d_backward", "batch>1"), ("conv_transpose2d_backward", "bias"),
        ("conv_transpose2d_backward", "dilation=tuple"),
        # the max-pool gradient splits among tied maxima in 1-D and 3-D as in 2-D: the
        # window [1, 1, 0] of nn.MaxPool1d(3) with upstream 6 gets [3, 3, 0] (torch
        # [6, 0, 0]); these integer cases are full of ties
        ("max_pool1d_backward", "stride=tuple"), ("max_pool1d_backward", "stride>1"),
        ("max_pool3d_backward", "batch>1"), ("max_pool3d_backward", "kernel_size=tuple"),
        ("max_pool3d_backward", "overlapping windows"),
    },
    "paddle": _FLOAT32_MATHS | {
        # x - max clipped at -64 (github.com/PaddlePaddle/Paddle/issues/4366, /pull/21165)
        ("softmax", "|x| >= 30"), ("log_softmax", "|x| >= 30"), ("cross_entropy", "|x| >= 30"),
        ("softmax_backward", "|x| >= 30"), ("log_softmax_backward", "|x| >= 30"),
        ("cross_entropy_backward", "|x| >= 30"),
        # padding='SAME' computes its pads without the dilation
        ("conv2d", "padding=same"), ("conv2d_backward", "padding=same"),
        # max pooling starts at -FLT_MAX and has no ceil_mode drop rule
        ("max_pool2d", "+-inf"), ("max_pool2d", "NaN"), ("max_pool2d", "ceil_mode drop rule"),
        ("max_pool2d_backward", "NaN"), ("max_pool2d_backward", "ceil_mode drop rule"),
        ("max_pool2d_backward", "+-inf"),
        # divisor_override as a rescaled mean: mean * k*k / divisor
        ("avg_pool2d", DIVISOR_WINS), ("avg_pool2d_backward", DIVISOR_WINS),
        # ceil_mode with pads as wide as the kernel (ONNX's, which Paddle accepts): a
        # window torch drops is kept, its gradient wrong (up to 4e31 in reports/matrix.md)
        ("avg_pool2d", "ceil_mode drop rule"), ("avg_pool2d_backward", "ceil_mode drop rule"),
        ("batch_norm", "float parameters"), ("batch_norm", "running_var compared"),
        ("batch_norm_backward", "float parameters"),
        ("batch_norm_backward", "weight or bias alone"),
        ("leaky_relu_backward", "x == 0"),
        # 1-D and 3-D pooling as in 2-D: max from -FLT_MAX, no ceil_mode drop rule
        ("max_pool1d", "+-inf"), ("max_pool1d", "ceil_mode drop rule"),
        ("max_pool3d", "+-inf"), ("max_pool3d", "ceil_mode drop rule"),
        ("max_pool3d_backward", "ceil_mode drop rule"), ("avg_pool1d", "ceil_mode drop rule"),
        ("avg_pool3d", "ceil_mode drop rule"), ("avg_pool3d_backward", "ceil_mode drop rule"),
        # float64 in, float32 maths: the average-pool gradients (the forward is float64;
        # F.avg_pool3d(x, 3, 3) on float64 has grad_x 8e-10 from g / 27) and lp_pool in
        # both directions (lp_pool1d([[[0.123456789012345678]]], 1, 1) returns the float32
        # rounding 0.12345679104328156)
        *{(op, "float64") for op in (
            "avg_pool1d_backward", "avg_pool3d_backward", "adaptive_avg_pool1d_backward",
            "adaptive_avg_pool2d_backward", "adaptive_avg_pool3d_backward", "lp_pool1d",
            "lp_pool1d_backward", "lp_pool2d", "lp_pool2d_backward")},
        # lp_pool with ceil_mode: the p-norm of the window the border cuts; torch's is the
        # mean of x^p over the cut window times the whole kernel size (lp_pool1d([1, 1, 1,
        # 1, 3], 2, 2, ceil_mode=True): Paddle's last value 3, torch's sqrt(18)); the
        # failing case of the norm_type>2 cell is such a window
        ("lp_pool1d", "norm_type>2"), ("lp_pool1d_backward", "norm_type>2"),
        ("lp_pool2d", "ceil_mode"), ("lp_pool2d_backward", "ceil_mode"),
        # epsilon is a float32 attribute (layer_norm(x, 2, epsilon=1e-3) equals the float64
        # formula with eps = float32(1e-3))
        ("layer_norm", "float parameters"), ("layer_norm_backward", "float parameters"),
        ("instance_norm", "float parameters"), ("instance_norm_backward", "float parameters"),
        ("instance_norm_backward", "eps != 1e-5"),
        # group_norm's grad_x is wrong when the weight is None or has a zero entry
        # (num_groups 1 on (2, 2, 3): off by 2.4; weight [2, -2, 0, -3]: by 2.0; weight
        # [2, -2, 0.5, -3]: 2e-15)
        ("group_norm_backward", "1 < num_groups < C"), ("group_norm_backward", "num_groups=1"),
        ("group_norm_backward", "variance 0 (a constant sample)"),
        ("group_norm_backward", "float parameters"), ("group_norm_backward", "float64"),
        # cross_entropy: 'mean' divides by every target, ignored ones included
        # (cross_entropy([[0, ln 3], [5, 5]], [1, -100]) is ln(4/3) / 2, torch ln(4/3)),
        # and is 0, not NaN, when all are ignored; with label_smoothing the ignored
        # targets get the smoothing term; weighted probability targets scale each sample
        # by (target . weight) instead of weighing each class term (soft+weight 'none':
        # [2.570, 3.688] vs torch's [2.012, 4.013])
        ("cross_entropy", "every target ignored"), ("cross_entropy", "ignore_index hit"),
        ("cross_entropy_backward", "ignore_index hit"),
        ("cross_entropy", "label smoothing with ignored targets"),
        ("cross_entropy_backward", "label smoothing with ignored targets"),
        ("cross_entropy", "probability targets"),
        ("cross_entropy_backward", "probability targets"),
    },
}

INSTALLED = [name for name, fw in FRAMEWORKS.items() if fw.installed]


def _differences(name: str, draws: int = 3) -> set:
    """The (function, feature) cells that differ, the framework imported only in its own
    spawned worker (a framework that crashes, as MLX's log_softmax does on an axis of
    length 1, costs a case, not the test run; two frameworks in one process can clash)."""
    cases = {op: matrix_cases(REGISTRY[op], 0, draws) for op in CHECKABLE}
    records = run_framework(FRAMEWORKS[name].module, cases,
                            Settings(CHECKABLE, draws=draws, timeout=120, deadline=300))
    assert "import_error" not in records, records
    return {(op, feature) for op, recs in records.items()
            for feature, cell in function_cells(
                recs, any(r.get("float32_only") for r in recs)).items()
            if cell["verdict"] == "differs"}


@pytest.mark.parametrize("name", list(FRAMEWORKS))
def test_adapter_differs_only_where_documented(name):
    if name not in INSTALLED:
        pytest.skip(f"{name} is not installed (pip install 'cnnref[{FRAMEWORKS[name].extra}]')")
    unexpected = _differences(name) - KNOWN.get(name, set())
    assert not unexpected, (f"{name}: cells differ beyond the documented differences "
                            f"(a translation bug, or a finding to document): "
                            f"{sorted(unexpected)}")


def test_every_framework_has_a_descriptor_and_an_adapter_file():
    import pathlib
    folder = pathlib.Path(importlib.import_module("cnnref.verification.frameworks").__file__).parent
    for fw in FRAMEWORKS.values():
        assert (folder / (fw.module.rsplit(".", 1)[-1] + ".py")).is_file(), fw.module


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_torch_adapter_passes_return_indices_through(nd):
    """return_indices is no keyword of the matrix's cases, so its pass-through is checked
    here: the torch adapter's values and flat indices equal the reference's (which follows
    torch: test_pooling_nd, test_pooling_extra) bit for bit, ties included."""
    from cnnref import reference as ref
    from cnnref.verification.frameworks import torch_cpu
    x = np.random.default_rng(nd).integers(-2, 3, (2, 3) + (5,) * nd).astype(np.float64)
    for name, args in ((f"max_pool{nd}d", (2, 1, 1)), (f"adaptive_max_pool{nd}d", (3,))):
        got = getattr(torch_cpu, name)(x, *args, return_indices=True)
        want = getattr(ref, name)(x, *args, return_indices=True)
        assert isinstance(got, tuple) and len(got) == 2, name
        assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1]), name
