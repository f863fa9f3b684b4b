"""Every benchmarked algorithm as `prepare(op, algorithm, case, dtype) -> Prepared`.

`Prepared.run()` is the timed call (inputs are made beforehand, so only the computation is
timed); `Prepared.result(value)` turns its return value into {output name: NumPy array}
for the tolerance check. Which process may time what (NumPy and torch share no process,
their thread pools disturb each other) is `GROUPS`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from cnnref import reference as ref
from cnnref.benchmarks import loops
from cnnref.benchmarks.cases import POOL_OPS, ConvCase, conv_inputs, first, pool_inputs

FORWARD = ("naive", "loops", "numba", "im2col", "fft", "winograd4", "winograd2", "auto",
           "torch", "torch_cuda")
BACKWARD = ("loops", "numba", "auto", "col2im", "documents", "torch", "torch_cuda")
ALGORITHMS = {"conv_forward": FORWARD, "conv_backward": BACKWARD}
# process group -> algorithms it times (one process per group, see runner.py)
GROUPS = {"numpy": ("naive", "loops", "im2col", "fft", "winograd4", "winograd2", "auto",
                   "col2im", "documents"),
          "numba": ("numba",), "torch": ("torch", "torch_cuda")}
LABELS = {"naive": "reference naive loops (lists, float64 accumulation)",
          "loops": "documents' method 1: pure-Python loops",
          "numba": "documents' method 2: numba loops",
          "im2col": "reference im2col + GEMM", "fft": "reference FFT",
          "winograd4": "reference Winograd F(4x4, 3x3)",
          "winograd2": "reference Winograd F(2x2, 3x3)",
          "auto": "reference default: forward, the measured rule (im2col or Winograd "
                  "F(4x4)); backward, at stride 1 grad_x as a conv with the rot180 kernel "
                  "(the same rule), else col2im",
          "col2im": "reference col2im", "documents": "reference documents' method (C7-C11)",
          "torch": "PyTorch CPU", "torch_cuda": "PyTorch CUDA (TF32 off)"}
NUMBA_MAX_FLOPS = 1e9     # numba loops run ~1-2 GFLOP/s on one core: a second per shape


@dataclass
class Prepared:
    run: Callable[[], object]
    result: Callable[[object], dict]


def unavailable(op: str, algorithm: str, case: ConvCase) -> str | None:
    """Why `algorithm` is not benchmarked on this case, or None."""
    if algorithm in ("naive", "loops") and not case.naive_ok:
        return "pure-Python loops take minutes on this shape"
    if algorithm == "numba":
        if not loops.HAVE_NUMBA:
            return "numba is not installed (pip install -e .[numba])"
        if case.flops("conv_forward") > NUMBA_MAX_FLOPS:
            return "numba loops take many seconds on this shape"
    if algorithm == "torch_cuda" and not cuda_available():
        return "no CUDA device"
    if algorithm in ref.WINOGRAD_TILES and (case.kernel != (3, 3) or case.stride != 1):
        return "Winograd F(m x m, 3 x 3) needs a 3x3 kernel at stride 1"
    return None


def cuda_available() -> bool:
    # torch here and in the torch branches below, not at the top: the runner's NumPy
    # process imports this module and must never load torch (thread pools, see runner.py)
    import torch
    return torch.cuda.is_available()


def prepare(op: str, algorithm: str, case: ConvCase, dtype: str) -> Prepared:
    x, w, g = conv_inputs(case, dtype)
    kw = case.kwargs
    if algorithm.startswith("torch"):
        return _prepare_torch(op, "cuda" if algorithm == "torch_cuda" else "cpu", x, w, g, kw)
    if op == "conv_forward":
        if algorithm in ("loops", "numba"):
            fn = lambda: loops.conv2d_loops(x, w, **kw, jit=algorithm == "numba")  # noqa: E731
        else:
            fn = lambda: ref.conv2d(x, w, None, **kw, algorithm=algorithm)  # noqa: E731
        return Prepared(fn, lambda out: {"out": out})
    if algorithm in ("loops", "numba"):
        fn = lambda: loops.conv2d_backward_loops(g, x, w, **kw, jit=algorithm == "numba")  # noqa: E731
    else:
        fn = lambda: ref.conv2d_backward(g, x, w, None, **kw, method=algorithm)[:2]  # noqa: E731
    return Prepared(fn, lambda r: {"grad_x": r[0], "grad_weight": r[1]})


def _prepare_torch(op, device, x, w, g, kw) -> Prepared:
    import torch    # deferred: see cuda_available
    import torch.nn.functional as F
    if device == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    xt, wt, gt = (torch.tensor(a, device=device) for a in (x, w, g))
    if op == "conv_forward":
        def run():
            out = F.conv2d(xt, wt, None, **kw)
            sync()
            return out
        return Prepared(run, lambda out: {"out": out.cpu().numpy()})
    xt.requires_grad_(True)
    wt.requires_grad_(True)
    out = F.conv2d(xt, wt, None, **kw)        # the graph, built once: only backward is timed

    def run_backward():
        grads = torch.autograd.grad(out, (xt, wt), gt, retain_graph=True)
        sync()
        return grads
    return Prepared(run_backward, lambda r: {"grad_x": r[0].cpu().numpy(),
                                             "grad_weight": r[1].cpu().numpy()})


def gemm_operands(n: int, dtype: str, seed: int = 0):
    """Two n x n standard normal matrices: the GEMM throughput probe."""
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, n)).astype(dtype), rng.standard_normal((n, n)).astype(dtype)


POOL_ALGORITHMS = ("reference", "torch", "torch_cuda")


def prepare_pool(op: str, algorithm: str, case, dtype: str) -> Prepared:
    """Pooling forward (out) or backward (grad_x) by the reference or torch."""
    func, backward = POOL_OPS[op]
    x, g = pool_inputs(case, dtype)
    kw = case.kwargs
    if algorithm == "reference":
        if backward:
            fn = lambda: first(getattr(ref, func + "_backward")(g, x, **kw))  # noqa: E731
        else:
            fn = lambda: getattr(ref, func)(x, **kw)  # noqa: E731
        return Prepared(fn, lambda r: {"grad_x" if backward else "out": r})
    import torch    # deferred: see cuda_available
    import torch.nn.functional as F
    device = "cuda" if algorithm == "torch_cuda" else "cpu"
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    tf = getattr(F, func)
    xt, gt = torch.tensor(x, device=device), torch.tensor(g, device=device)
    if not backward:
        def run():
            out = tf(xt, **kw)
            sync()
            return out
        return Prepared(run, lambda out: {"out": out.cpu().numpy()})
    xt.requires_grad_(True)
    out = tf(xt, **kw)

    def run_backward():
        (gx,) = torch.autograd.grad(out, (xt,), gt, retain_graph=True)
        sync()
        return gx
    return Prepared(run_backward, lambda r: {"grad_x": r.cpu().numpy()})
