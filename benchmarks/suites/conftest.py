"""Fixtures of the benchmark suites.

`pytest benchmarks --benchmark-disable` (CI) runs every benchmark once on reduced shapes
(batch 2, at most 12x12 pixels; see cases.ConvCase.small) as a correctness test: each
benchmark asserts its result against the float64 reference under the tolerance table.
Timed runs (`pytest benchmarks`) use the full shapes unless CI or CNNREF_BENCH_SMALL=1 is
set. NumPy and torch share this process here; side-by-side ratios come from
`cnnref report`, which times each framework in its own process (benchmarks/runner.py).
"""
from __future__ import annotations

import numpy as np
import pytest

from cnnref.benchmarks import loops
from cnnref.benchmarks.cases import small_shapes_wanted

SLOW = {"naive", "loops", "numba"}    # one round: a pure-Python call takes seconds


@pytest.fixture
def shrink(benchmark) -> bool:
    return small_shapes_wanted(benchmark.disabled)


def time_it(benchmark, algorithm: str, fn):
    """benchmark(fn), or a single round for the slow loop algorithms."""
    if algorithm in SLOW:
        return benchmark.pedantic(fn, rounds=1, iterations=1, warmup_rounds=0)
    return benchmark(fn)


def describe(benchmark, case, op: str, dtype: str, algorithm: str, small: bool) -> None:
    item = np.dtype(dtype).itemsize
    benchmark.group = f"{op} {dtype}"
    benchmark.extra_info.update(
        op=op, case=case.name, dtype=dtype, algorithm=algorithm, small=small,
        flops=case.flops(op), bytes=case.bytes(op, item), shape=str(case))


@pytest.fixture(scope="session", autouse=True)
def _numba_compiled():
    """numba compiles on first call: do it once, outside every timing."""
    if loops.HAVE_NUMBA:
        loops.warm_up_numba()
