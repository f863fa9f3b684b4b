"""Time one framework group in this process and write the raw results as JSON.

    python -m benchmarks.runner --group numpy|numba|torch --profile ci|quick|full --json OUT

NumPy's OpenBLAS and torch's OpenMP/MKL thread pools slow each other down when both live
in one process (torch ran 2-4x slower next to NumPy on a 2-core machine), so
`cnnref report` starts one runner per group and merges the files. Every timed result is
checked against the float64 reference under the tolerance table after its timing; a
result out of bound aborts the run. Progress goes to stderr, one line per measurement.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import sys
import time
import tracemalloc

import numpy as np

from cnnref import reference as ref
from cnnref.benchmarks import algorithms as al
from cnnref.benchmarks import loops
from cnnref.benchmarks.cases import (CASES_BY_NAME, CONV_CASES, DTYPES, POOL_CASES, POOL_OPS,
                                     ConvCheck, check_pool, pool_missing)
from cnnref.reference.conv_args import conv_geometry
from cnnref.reference.im2col import chunk_size
from cnnref.verification.core.compare import assert_close
from cnnref.verification.core.tolerances import Bound

# profile -> (minimum seconds of timing per measurement, minimum repeats, small shapes,
#             where the pure-Python loops run: 'd1' = documents_p0 float64 only, or 'all')
PROFILES = {"ci": (0.0, 2, True, "all"), "quick": (0.25, 5, False, "d1"),
            "full": (1.0, 7, False, "all")}
WORKSPACE_CASE = "resnet3x3"
ENV_KEYS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS",
            "OMP_NUM_THREADS", "MKL_NUM_THREADS", "CNNREF_BENCH_SMALL")


def time_calls(fn, min_time: float, min_repeats: int, warm: bool = True):
    """Wall-clock seconds of at least `min_repeats` calls lasting at least `min_time` in
    all, after one untimed warm-up call when `warm` (pure-Python loops take seconds and
    have nothing to warm). Returns (times, the last call's value)."""
    value = fn() if warm else None
    times: list[float] = []
    while len(times) < min_repeats or (sum(times) < min_time and len(times) < 200):
        t0 = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - t0)
    return times, value


def time_interleaved(fns: list, min_time: float, min_repeats: int):
    """time_calls for several functions that are compared with each other, in rounds
    (one call of each per round), so a slow phase of a shared machine falls on all of
    them alike instead of on whichever ran then. Returns [(times, last value)]."""
    values = [fn() for fn in fns]
    times: list[list[float]] = [[] for _ in fns]
    while len(times[0]) < min_repeats or (min(map(sum, times)) < min_time
                                          and len(times[0]) < 200):
        for i, fn in enumerate(fns):
            t0 = time.perf_counter()
            values[i] = fn()
            times[i].append(time.perf_counter() - t0)
    return list(zip(times, values))


def peak_workspace(fn, outputs_bytes: int) -> int:
    """Bytes NumPy allocated at the peak of one call of `fn`, less its outputs: the
    algorithm's workspace (columns, tiles, transforms, padded copies). NumPy reports its
    allocations to tracemalloc; a BLAS's internal buffers are not counted."""
    tracemalloc.start()
    try:
        fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return max(0, peak - outputs_bytes)


def loops_allowed(mode: str, case, dtype: str) -> bool:
    return mode == "all" or (case.name == "documents_p0" and dtype == "float64")


def conv_measurements(group: str, profile: str):
    """(op, case, dtype, algorithm) this group times under this profile."""
    *_, small, loops_mode = PROFILES[profile]
    for op, algos in al.ALGORITHMS.items():
        for case in CONV_CASES:
            case = case.small() if small else case
            for dtype in DTYPES:
                for algorithm in algos:
                    if algorithm not in al.GROUPS[group]:
                        continue
                    if al.unavailable(op, algorithm, case):
                        continue
                    if algorithm in ("naive", "loops") and not loops_allowed(loops_mode,
                                                                            case, dtype):
                        continue
                    yield op, case, dtype, algorithm


def measure_conv(group, profile, log):
    min_time, min_rep, *_ = PROFILES[profile]
    checks: dict = {}
    for op, case, dtype, algorithm in conv_measurements(group, profile):
        prepared = al.prepare(op, algorithm, case, dtype)
        slow = algorithm in ("naive", "loops")
        times, value = time_calls(prepared.run, min_time, 2 if slow else min_rep, not slow)
        check = checks.setdefault((case.name, dtype), ConvCheck(case, dtype))
        ratio = check.check(op, prepared.result(value), algorithm)
        item = np.dtype(dtype).itemsize
        extra = {}
        if group == "numpy" and not slow:
            outs = sum(a.nbytes for a in prepared.result(value).values())
            extra["peak_workspace"] = peak_workspace(prepared.run, outs)
        if algorithm == "auto":     # backward: grad_x's algorithm (grad_weight: im2col)
            pick = case.auto_algorithm(op, dtype)
            extra["auto_algorithm"] = pick if op == "conv_forward" or pick == "col2im" \
                else f"grad_x {pick}"
        yield log(dict(op=op, case=case.name, title=case.title, dtype=dtype,
                       algorithm=algorithm, group=group, times=times,
                       flops=case.flops(op), bytes=case.bytes(op, item),
                       workspace_bytes=case.workspace_bytes(item),
                       x_bytes=int(np.prod(case.x_shape)) * item, worst_error_ratio=ratio,
                       **extra))


def measure_pool(group, profile, log):
    min_time, min_rep, small, _ = PROFILES[profile]
    for op in POOL_OPS:
        if pool_missing(op):
            continue
        for case in POOL_CASES:
            case = case.small() if small else case
            for dtype in DTYPES:
                for algorithm in al.POOL_ALGORITHMS:
                    if algorithm not in al.GROUPS[group] and not (
                            group == "numpy" and algorithm == "reference"):
                        continue
                    if algorithm == "torch_cuda" and not al.cuda_available():
                        continue
                    prepared = al.prepare_pool(op, algorithm, case, dtype)
                    times, value = time_calls(prepared.run, min_time, min_rep, False)
                    ratio = check_pool(op, case, dtype, prepared.result(value), algorithm)
                    yield log(dict(op=op, case=case.name, title=case.title, dtype=dtype,
                                   algorithm=algorithm, group=group, times=times,
                                   flops=case.flops(op),
                                   bytes=case.bytes(op, np.dtype(dtype).itemsize),
                                   worst_error_ratio=ratio))


def measure_workspace(profile, log):
    """im2col forward on the ResNet 3x3 layer under several workspace caps (D2: the
    column buffer is kH*kW times the output planes; the cap bounds it)."""
    min_time, min_rep, small, _ = PROFILES[profile]
    case = CASES_BY_NAME[WORKSPACE_CASE]
    case = case.small() if small else case
    for dtype in DTYPES:
        x, w, _ = al.conv_inputs(case, dtype)
        geo = conv_geometry(x, w, None, case.stride, case.padding, 1, case.groups)[-1]
        per_sample = case.workspace_bytes(x.itemsize) // case.n
        check = ConvCheck(case, dtype)
        caps = [per_sample, 4 * 2**20, ref.DEFAULT_WORKSPACE_BYTES, 64 * 2**20,
                case.n * per_sample]
        caps = sorted(set(caps))
        fns = [lambda cap=cap: ref.conv2d(x, w, None, **case.kwargs, algorithm="im2col",
                                          workspace_bytes=cap) for cap in caps]
        for cap, (times, value) in zip(caps, time_interleaved(fns, min_time, min_rep)):
            check.check("conv_forward", {"out": value}, "im2col")
            used = chunk_size(geo, x.itemsize, cap) * per_sample
            yield log(dict(op="im2col_workspace", case=case.name, title=case.title,
                           dtype=dtype, algorithm="im2col", group="numpy", times=times,
                           flops=case.flops("conv_forward"), workspace_cap=cap,
                           workspace_bytes=used, default_cap=cap ==
                           ref.DEFAULT_WORKSPACE_BYTES, unlimited=cap >= case.n * per_sample))


def measure_gemm(profile, log):
    """Square GEMM throughput, the practical ceiling of im2col + GEMM, checked against
    float64 under the table's direct-sum bound."""
    min_time, min_rep, small, _ = PROFILES[profile]
    for dtype in DTYPES:
        for n in ((64, 128) if small else (1024, 2048)):
            a, b = al.gemm_operands(n, dtype)
            times, value = time_calls(lambda: a @ b, min_time, min_rep)
            a64, b64 = a.astype(np.float64), b.astype(np.float64)
            allowed = Bound(n, np.abs(a64) @ np.abs(b64)).allowed(np.dtype(dtype), "direct")
            assert_close(value, a64 @ b64, allowed, "gemm out", f"matmul n={n} {dtype}")
            yield log(dict(op="gemm", case=f"square{n}", title=f"{n}x{n} @ {n}x{n}",
                           dtype=dtype, algorithm="numpy_matmul", group="numpy",
                           times=times, flops=2 * n ** 3,
                           bytes=3 * n * n * np.dtype(dtype).itemsize))


def environment(group: str) -> dict:
    """Which BLAS, kernel and thread counts ran, read after the timings (libraries are
    loaded by then)."""
    # here, not at the top: read after the timings, when the libraries are loaded
    from threadpoolctl import threadpool_info
    info = {"group": group, "python": platform.python_version(), "numpy": np.__version__,
            "machine": platform.machine(), "cpu": _cpu_model(), "cpu_count": os.cpu_count(),
            "affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
            else None, "env": {k: os.environ[k] for k in ENV_KEYS if k in os.environ},
            "threadpools": threadpool_info()}
    if group == "torch":
        # here, not at the top: the NumPy group's process must never load torch (their
        # thread pools slow each other down), and this module runs every group
        import torch
        blas = re.findall(r"BLAS_INFO=(\w+)", torch.__config__.show())
        info.update(torch=torch.__version__, torch_threads=torch.get_num_threads(),
                    torch_blas=blas[0] if blas else "unknown",
                    mkldnn=bool(torch.backends.mkldnn.is_available()),
                    cuda=torch.cuda.get_device_name(0) if torch.cuda.is_available() else None)
    if group == "numba":
        import numba    # optional dependency; this group's process has it (run() checks)
        info["numba"] = numba.__version__
    return info


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def run(group: str, profile: str, log) -> dict:
    started = time.time()
    results = []
    if group == "numba":
        if not loops.HAVE_NUMBA:
            return {"group": group, "profile": profile, "skipped": "numba is not installed",
                    "results": [], "environment": environment("numpy")}
        loops.warm_up_numba()
    if group == "numpy":
        results += list(measure_gemm(profile, log))
        results += list(measure_workspace(profile, log))
    results += list(measure_conv(group, profile, log))
    if group in ("numpy", "torch"):
        results += list(measure_pool(group, profile, log))
    return {"group": group, "profile": profile, "started": started,
            "seconds": time.time() - started, "results": results,
            "environment": environment(group)}


def _logger(group):
    def log(row):
        med = sorted(row["times"])[len(row["times"]) // 2]
        extra = f" cap={row['workspace_cap'] / 2**20:.1f} MiB" if "workspace_cap" in row \
            else ""
        print(f"[{group}] {row['op']} {row['case']} {row['dtype']} {row['algorithm']}{extra}: "
              f"{med * 1e3:.3f} ms ({len(row['times'])} runs, "
              f"{row['flops'] / med / 1e9:.2f} GFLOP/s)", file=sys.stderr, flush=True)
        return row
    return log


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.runner", description=__doc__)
    p.add_argument("--group", choices=sorted(al.GROUPS), required=True)
    p.add_argument("--profile", choices=sorted(PROFILES), default="quick")
    p.add_argument("--json", required=True, help="output file")
    args = p.parse_args(argv)
    data = run(args.group, args.profile, _logger(args.group))
    with open(args.json, "w") as f:
        json.dump(data, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
