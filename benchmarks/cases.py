"""Benchmark shapes, their operation counts, and the correctness check every timing carries.

Shared by the pytest-benchmark suites (bench_*.py) and the report runner (runner.py), so a
shape, its FLOP count and its tolerance check are written once.

FLOPs count a multiply-add as 2 (the convention of GEMM GFLOP/s, so a figure divided by
the measured GEMM throughput is a fraction of the im2col ceiling):
    conv forward   2 * N * K * Ho * Wo * (C / groups) * kH * kW
    conv backward  twice that: grad_x and grad_weight are one such product each
Bytes are the compulsory traffic: every input read once and every output written once.
Example: the documents' shape 64x3x28x28, 4 filters 3x3, no padding -> Ho = Wo = 26,
forward FLOPs = 2 * 64 * 4 * 26 * 26 * 3 * 9 = 9,345,024.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, replace

import numpy as np

from cnnref import reference as ref
from cnnref.verification.core.compare import assert_close
from cnnref.verification.core.cases import call_repr
from cnnref.verification.operators.registry import REGISTRY, bounds_for


@dataclass(frozen=True)
class ConvCase:
    """One conv layer: x (n, c, h, w), weight (k, c // groups, kh, kw)."""
    name: str
    title: str
    n: int
    c: int
    hw: tuple[int, int]
    k: int
    kernel: tuple[int, int]
    stride: int = 1
    padding: int = 0
    groups: int = 1
    naive_ok: bool = False       # pure-Python loops finish in seconds on this shape

    @property
    def kwargs(self) -> dict:
        return {"stride": self.stride, "padding": self.padding, "groups": self.groups}

    @property
    def x_shape(self):
        return (self.n, self.c) + self.hw

    @property
    def w_shape(self):
        return (self.k, self.c // self.groups) + self.kernel

    @property
    def out_hw(self) -> tuple[int, int]:
        return tuple(ref.conv_output_size(i, k, self.stride, self.padding)
                     for i, k in zip(self.hw, self.kernel))

    def flops(self, op: str) -> int:
        ho, wo = self.out_hw
        fwd = 2 * self.n * self.k * ho * wo * (self.c // self.groups) * self.kernel[0] \
            * self.kernel[1]
        return fwd if op == "conv_forward" else 2 * fwd

    def bytes(self, op: str, itemsize: int) -> int:
        x, w = np.prod(self.x_shape), np.prod(self.w_shape)
        out = self.n * self.k * np.prod(self.out_hw)
        moved = x + w + out if op == "conv_forward" else 2 * (x + w + out)
        return int(moved) * itemsize

    def workspace_bytes(self, itemsize: int) -> int:
        """im2col's column buffer for the whole batch (D2): C*kH*kW*Ho*Wo per sample."""
        return self.n * self.c * self.kernel[0] * self.kernel[1] * int(
            np.prod(self.out_hw)) * itemsize

    def auto_algorithm(self, op: str, dtype: str) -> str:
        """What the reference's 'auto' runs here: the forward's pick (choose_algorithm); for
        the backward, grad_x's: at stride 1 a conv of grad_out with the rotated kernel
        (the same rule picks), else 'col2im'. grad_weight is always a direct sum."""
        x, w, pad = (1, self.c, *self.hw), self.w_shape, self.padding
        if op == "conv_backward":
            pad = self.kernel[0] - 1 - self.padding
            if self.stride != 1 or self.kernel[0] != self.kernel[1] or pad < 0:
                return "col2im"
            x, w = (1, self.k, *self.out_hw), (self.c, self.k // self.groups, *self.kernel)
        return ref.choose_algorithm(np.empty(x, dtype), np.empty(w, dtype),
                                    stride=self.stride, padding=pad, groups=self.groups)

    def small(self) -> "ConvCase":
        """The same layer on a batch of 2 and at most 12x12 pixels (16 for 7x7 kernels):
        what `pytest benchmarks --benchmark-disable` runs, so CI checks every
        (operation, algorithm, shape, dtype) once in seconds."""
        side = 16 if max(self.kernel) > 5 else 12
        return replace(self, n=min(self.n, 2), hw=tuple(min(s, side) for s in self.hw))


CONV_CASES = (
    ConvCase("documents_p0", "documents 64x3x28x28, 4 filters 3x3 (D1)", 64, 3, (28, 28), 4,
             (3, 3), naive_ok=True),
    ConvCase("documents_p1", "documents, padding 1", 64, 3, (28, 28), 4, (3, 3), padding=1,
             naive_ok=True),
    ConvCase("mnist", "MNIST conv1 64x1x28x28, 8 filters 5x5", 64, 1, (28, 28), 8, (5, 5),
             naive_ok=True),
    ConvCase("cifar", "CIFAR 32x32x32x32, 32 filters 3x3", 32, 32, (32, 32), 32, (3, 3),
             padding=1),
    ConvCase("resnet3x3", "ResNet 3x3 8x64x56x56, 64 filters", 8, 64, (56, 56), 64, (3, 3),
             padding=1),
    ConvCase("resnet_stem", "ResNet stem 8x3x224x224, 64 filters 7x7 s2", 8, 3, (224, 224),
             64, (7, 7), stride=2, padding=3),
    ConvCase("pointwise", "1x1 8x256x56x56 -> 64", 8, 256, (56, 56), 64, (1, 1)),
    ConvCase("depthwise", "depthwise 8x64x56x56 3x3", 8, 64, (56, 56), 64, (3, 3),
             padding=1, groups=64),
)
CASES_BY_NAME = {c.name: c for c in CONV_CASES}
DTYPES = ("float64", "float32")


def small_shapes_wanted(benchmark_disabled: bool) -> bool:
    """Reduced shapes when timing is off (`--benchmark-disable`), on CI (`CI` set, as
    GitHub Actions does) or when CNNREF_BENCH_SMALL=1."""
    return benchmark_disabled or bool(os.environ.get("CI")) or \
        os.environ.get("CNNREF_BENCH_SMALL") == "1"


def conv_inputs(case: ConvCase, dtype: str, seed: int = 0):
    """(x, weight, grad_out) in `dtype`, standard normal, reproducible."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(case.x_shape).astype(dtype)
    w = rng.standard_normal(case.w_shape).astype(dtype)
    g = rng.standard_normal((case.n, case.k) + case.out_hw).astype(dtype)
    return x, w, g


class ConvCheck:
    """The float64 truth and the tolerance-table bounds of one (case, dtype), computed
    once; `check(op, got, algorithm)` raises AssertionError when `got` is out of bound."""

    def __init__(self, case: ConvCase, dtype: str, seed: int = 0):
        self.case, self.dtype = case, np.dtype(dtype)
        x, w, g = conv_inputs(case, dtype, seed)
        self.x64, self.w64, self.g64 = (a.astype(np.float64) for a in (x, w, g))
        self._cache: dict[str, tuple] = {}

    def _truth(self, op: str):
        if op not in self._cache:
            kw = self.case.kwargs
            if op == "conv_forward":
                truth = {"out": REGISTRY["conv2d"].ground_truth(self.x64, self.w64, None, **kw)}
                bounds = bounds_for("conv2d", self.x64, self.w64, None, **kw)
            else:
                gx, gw, _ = REGISTRY["conv2d_backward"].ground_truth(self.g64, self.x64,
                                                                     self.w64, None, **kw)
                truth = {"grad_x": gx, "grad_weight": gw}
                bounds = bounds_for("conv2d_backward", self.g64, self.x64, self.w64, None,
                                    **kw)
            self._cache[op] = (truth, bounds)
        return self._cache[op]

    def error_model(self, op: str, algorithm: str) -> str:
        """The tolerance model of a timed algorithm: 'auto' is what it picks here (for the
        backward, what grad_x's convolution picks); FFT and Winograd their own; else direct."""
        if algorithm == "auto":
            algorithm = self.case.auto_algorithm(op, self.dtype.name)
        return algorithm if algorithm == "fft" or algorithm in ref.WINOGRAD_TILES else "direct"

    def check(self, op: str, got: dict, algorithm: str) -> float:
        """Worst |error| / allowed over the outputs; `algorithm` picks the error model."""
        truth, bounds = self._truth(op)
        model = self.error_model(op, algorithm)
        call = call_repr(op, {"x": self.x64, "weight": self.w64}, self.case.kwargs) + \
            f" dtype={self.dtype.name} algorithm={algorithm}"
        worst = 0.0
        for name, expected in truth.items():
            allowed = bounds[name].allowed(self.dtype, model)
            worst = max(worst, assert_close(got[name], expected, allowed,
                                            f"{algorithm} {name}", call))
        return worst


@dataclass(frozen=True)
class PoolCase:
    """One pooling layer on x (n, c, h, w): kernel, stride, padding as in torch."""
    name: str
    title: str
    n: int
    c: int
    hw: tuple[int, int]
    kernel: int
    stride: int
    padding: int = 0

    @property
    def kwargs(self) -> dict:
        return {"kernel_size": self.kernel, "stride": self.stride, "padding": self.padding}

    @property
    def out_hw(self) -> tuple[int, int]:
        return tuple(ref.conv_output_size(i, self.kernel, self.stride, self.padding)
                     for i in self.hw)

    def flops(self, op: str) -> int:
        """One comparison or addition per window element (k*k per output)."""
        return self.n * self.c * int(np.prod(self.out_hw)) * self.kernel ** 2

    def bytes(self, op: str, itemsize: int) -> int:
        x, out = self.n * self.c * int(np.prod(self.hw)), self.n * self.c * int(
            np.prod(self.out_hw))
        return (x + out) * itemsize * (1 if op.endswith("forward") else 2)

    def small(self) -> "PoolCase":
        return replace(self, n=min(self.n, 2), hw=tuple(min(s, 12) for s in self.hw))


POOL_CASES = (
    PoolCase("documents", "documents 64x4x26x26, 2x2 s2", 64, 4, (26, 26), 2, 2),
    PoolCase("cifar", "CIFAR 32x32x32x32, 2x2 s2", 32, 32, (32, 32), 2, 2),
    PoolCase("resnet", "ResNet stem pool 8x64x112x112, 3x3 s2 p1", 8, 64, (112, 112), 3, 2,
             1),
)
POOL_OPS = {"max_pool_forward": ("max_pool2d", False), "max_pool_backward": ("max_pool2d", True),
            "avg_pool_forward": ("avg_pool2d", False), "avg_pool_backward": ("avg_pool2d", True)}


def pool_missing(op: str) -> str | None:
    """Why the pooling benchmark `op` cannot run yet (the reference function or its
    tolerance rule is not written), or None."""
    func, backward = POOL_OPS[op]
    name = func + ("_backward" if backward else "")
    if not hasattr(ref, name):
        return f"reference.{name} does not exist yet"
    if name not in REGISTRY:
        return f"the operator registry has no entry for {name!r} yet"
    return None


def pool_inputs(case: PoolCase, dtype: str, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((case.n, case.c) + case.hw).astype(dtype)
    g = rng.standard_normal((case.n, case.c) + case.out_hw).astype(dtype)
    return x, g


def first(r):
    """A backward may return grad_x alone or a tuple starting with it."""
    return r[0] if isinstance(r, tuple) else r


def check_pool(op: str, case: PoolCase, dtype: str, got: dict, algorithm: str) -> float:
    """Compare a pooling result with the float64 reference under the table's bound."""
    func, backward = POOL_OPS[op]
    x, g = (a.astype(np.float64) for a in pool_inputs(case, dtype))
    if backward:
        truth = {"grad_x": first(getattr(ref, func + "_backward")(g, x, **case.kwargs))}
        bounds = bounds_for(func + "_backward", g, x, **case.kwargs)
    else:
        truth = {"out": getattr(ref, func)(x, **case.kwargs)}
        bounds = bounds_for(func, x, **case.kwargs)
    call = call_repr(func, {"x": x}, case.kwargs) + f" dtype={dtype} algorithm={algorithm}"
    worst = 0.0
    for name, expected in truth.items():
        worst = max(worst, assert_close(got[name], expected,
                                        bounds[name].allowed(np.dtype(dtype), "direct"),
                                        f"{algorithm} {name}", call))
    return worst
