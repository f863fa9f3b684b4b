"""conv2d forward and backward, every algorithm on every shape in both dtypes.

Each benchmark checks its result against the float64 reference under the tolerance table
(a fast wrong answer fails) and stores FLOPs and bytes in extra_info.
"""
from __future__ import annotations

import pytest

from cnnref.benchmarks.algorithms import ALGORITHMS, NUMBA_MAX_FLOPS, prepare, unavailable
from cnnref.benchmarks.cases import CONV_CASES, DTYPES, ConvCheck
from cnnref.benchmarks.suites.conftest import describe, time_it


def _params(op: str):
    """Pure-Python loops only where they finish in seconds; numba within its budget."""
    out = []
    for case in CONV_CASES:
        for algorithm in ALGORITHMS[op]:
            if algorithm in ("naive", "loops") and not case.naive_ok:
                continue
            if algorithm == "numba" and case.flops("conv_forward") > NUMBA_MAX_FLOPS:
                continue
            out += [pytest.param(case, dtype, algorithm, id=f"{case.name}-{dtype}-{algorithm}")
                    for dtype in DTYPES]
    return out


def _bench(benchmark, shrink, op, case, dtype, algorithm):
    case = case.small() if shrink else case
    reason = unavailable(op, algorithm, case)
    if reason:
        pytest.skip(f"{algorithm} on {case.name}: {reason}")
    describe(benchmark, case, op, dtype, algorithm, shrink)
    prepared = prepare(op, algorithm, case, dtype)
    value = time_it(benchmark, algorithm, prepared.run)
    ratio = ConvCheck(case, dtype).check(op, prepared.result(value), algorithm)
    benchmark.extra_info["worst_error_ratio"] = ratio


@pytest.mark.parametrize("case, dtype, algorithm", _params("conv_forward"))
def test_conv_forward(benchmark, shrink, case, dtype, algorithm):
    _bench(benchmark, shrink, "conv_forward", case, dtype, algorithm)


@pytest.mark.parametrize("case, dtype, algorithm", _params("conv_backward"))
def test_conv_backward(benchmark, shrink, case, dtype, algorithm):
    _bench(benchmark, shrink, "conv_backward", case, dtype, algorithm)
