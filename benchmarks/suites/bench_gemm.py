"""Square GEMM throughput: the practical ceiling of im2col + GEMM on this machine."""
from __future__ import annotations

import numpy as np
import pytest

from cnnref.benchmarks.algorithms import gemm_operands
from cnnref.benchmarks.cases import DTYPES
from cnnref.verification.core.compare import assert_close
from cnnref.verification.core.tolerances import Bound


@pytest.mark.parametrize("dtype", DTYPES)
def test_gemm(benchmark, shrink, dtype):
    n = 64 if shrink else 1024
    a, b = gemm_operands(n, dtype)
    benchmark.group = "gemm"
    benchmark.extra_info.update(op="gemm", dtype=dtype, n=n, flops=2 * n ** 3,
                                bytes=3 * n * n * np.dtype(dtype).itemsize)
    got = benchmark(np.matmul, a, b)
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    # A GEMM entry is an n-term dot product: the table's direct-sum bound.
    allowed = Bound(n, np.abs(a64) @ np.abs(b64)).allowed(np.dtype(dtype), "direct")
    assert_close(got, a64 @ b64, allowed, "gemm out", f"np.matmul(({n}, {n}), ({n}, {n})) "
                 f"dtype={dtype}")
