"""Max and average pooling, forward and backward: the reference against torch.

Skipped, with the reason, until reference.max_pool2d / avg_pool2d (and their _backward)
and their tolerance rules exist.
"""
from __future__ import annotations

import pytest

from cnnref.benchmarks.algorithms import POOL_ALGORITHMS, cuda_available, prepare_pool
from cnnref.benchmarks.cases import DTYPES, POOL_CASES, POOL_OPS, check_pool, pool_missing
from cnnref.benchmarks.suites.conftest import describe, time_it


@pytest.mark.parametrize("op", sorted(POOL_OPS))
@pytest.mark.parametrize("case", POOL_CASES, ids=lambda c: c.name)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("algorithm", POOL_ALGORITHMS)
def test_pool(benchmark, shrink, op, case, dtype, algorithm):
    missing = pool_missing(op)
    if missing:
        pytest.skip(f"{op}: {missing}")
    if algorithm == "torch_cuda" and not cuda_available():
        pytest.skip("torch_cuda: no CUDA device")
    case = case.small() if shrink else case
    describe(benchmark, case, op, dtype, algorithm, shrink)
    prepared = prepare_pool(op, algorithm, case, dtype)
    value = time_it(benchmark, algorithm, prepared.run)
    benchmark.extra_info["worst_error_ratio"] = check_pool(op, case, dtype,
                                                           prepared.result(value), algorithm)
