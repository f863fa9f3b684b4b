"""One harness: run a reference op and its PyTorch twin on the same inputs, forward and
backward with a *random* upstream gradient, and compare every tensor with a derived bound.

Like tinygrad's `helper_test_op`, it checks the shape first, then the values, and says
which pass (forward / backward), which tensor and which candidate failed. Unlike it, the
upstream gradient is random (an all-ones `.sum()` gradient cannot tell a flipped or
transposed kernel from the right one) and tolerances come from verification/core/tolerances.py.

Both candidates (the reference computed in the test dtype, and torch in that dtype on the
chosen device) are compared with a float64 ground truth computed by the reference from the
same rounded inputs.
"""
from __future__ import annotations

import numpy as np
import torch

from cnnref.verification.core.cases import call_repr, upstream_gradient
from cnnref.verification.core.compare import assert_close
from cnnref.verification.operators.op import Op
from cnnref.verification.operators.registry import REGISTRY

# Worst |error| / allowed seen per (op, tensor, candidate, dtype): read by the report.
RECORD: dict[tuple[str, str, str, str], float] = {}


def _record(op, tensor, candidate, dtype, ratio):
    key = (op, tensor, candidate, np.dtype(dtype).name)
    RECORD[key] = max(RECORD.get(key, 0.0), ratio)


def _passthrough(v) -> bool:
    """A positional argument that is not an array (normalized_shape, num_groups) reaches
    both candidates unchanged."""
    return isinstance(v, (int, float, tuple))


def _as_dtype(v, dtype) -> np.ndarray:
    """Floating arrays take the test dtype; integer ones (class targets) stay integers."""
    if _passthrough(v):
        return v
    v = np.asarray(v)
    return v if v.dtype.kind in "iub" else v.astype(dtype)


def _read_only(a: np.ndarray) -> np.ndarray:
    if _passthrough(a):
        return a
    a = a.copy()
    a.setflags(write=False)
    return a


def _as_tuple(v):
    return v if isinstance(v, tuple) else (v,)


def run_torch(spec: Op, arrays: dict, kwargs: dict, grad_out, device: str):
    """Forward and autograd backward in torch; returns (out, {grad name: grad or None})."""
    tensors = {k: v if v is None or _passthrough(v) else
               torch.tensor(v, device=device, requires_grad=k in spec.differentiable)
               for k, v in arrays.items()}
    out = spec.torch(torch, *tensors.values(), **kwargs)
    grads = {}
    if spec.backward is not None and grad_out is not None:
        out.backward(torch.tensor(grad_out, device=device))
        for arg, gname in zip(spec.differentiable, REGISTRY[spec.backward].outputs):
            t = tensors[arg]
            grads[gname] = None if t is None else t.grad.detach().cpu().numpy()
    return out.detach().cpu().numpy(), grads


def check_against_torch(spec: Op | str, arrays: dict, kwargs: dict | None = None,
                        dtype=np.float64, device: str = "cpu", seed: int = 0,
                        ref_kwargs: dict | None = None, ref_backward_kwargs: dict | None = None,
                        algorithm: str = "direct", exact: bool = False,
                        torch_too: bool = True) -> dict[str, float]:
    """Check the reference (in `dtype`, with extra `ref_kwargs` for its forward such as
    algorithm='fft', and `ref_backward_kwargs` for its backward such as method=...) and
    torch against the float64 truth, forward and backward. `algorithm` names the error
    model of the reference forward ('direct', 'fft'); `exact` demands bit equality
    everywhere (small-integer inputs). Inputs reach the reference read-only, so an op
    that writes into its inputs fails loudly. Returns worst ratios per tensor."""
    spec = REGISTRY[spec] if isinstance(spec, str) else spec
    kwargs, ref_kwargs = dict(kwargs or {}), dict(ref_kwargs or {})
    ref_backward_kwargs = dict(ref_backward_kwargs or {})
    cast = {k: None if v is None else _read_only(_as_dtype(v, dtype)) for k, v in arrays.items()}
    exact_in = {k: None if v is None else _as_dtype(v, np.float64) for k, v in cast.items()}
    call = call_repr(spec.name, cast, {**kwargs, **ref_kwargs}) + f" dtype={np.dtype(dtype).name}"
    truth = spec.ground_truth(*exact_in.values(), **kwargs)
    fwd_bound = spec.bounds(*exact_in.values(), **kwargs)["out"]
    candidates = {"reference": lambda: spec.reference(*cast.values(), **kwargs, **ref_kwargs)}
    ratios = {}
    grad_out = None
    if spec.backward is not None:
        grad_out = upstream_gradient(np.shape(truth), seed, exact, dtype)
    torch_out = torch_grads = None
    if torch_too:
        torch_out, torch_grads = run_torch(spec, cast, kwargs, grad_out, device)
    for cand, get in (("reference", candidates["reference"]), ("torch", lambda: torch_out)):
        if cand == "torch" and not torch_too:
            continue
        algo = "exact" if exact else algorithm if cand == "reference" else "direct"
        r = assert_close(get(), truth, fwd_bound.allowed(dtype, algo),
                         f"{cand} forward out", call)
        _record(spec.name, "out", cand, dtype, r)
        ratios[f"{cand}:out"] = r
    if spec.backward is None:
        return ratios
    ratios.update(_check_backward(spec, exact_in, cast, kwargs, ref_backward_kwargs, grad_out,
                                  torch_grads, dtype, call, "exact" if exact else "direct"))
    return ratios


def _check_backward(spec, truth_in, cast, kwargs, bwd_kwargs, grad_out, torch_grads, dtype,
                    call, model) -> dict[str, float]:
    backward = REGISTRY[spec.backward]
    g64 = grad_out.astype(np.float64)
    truth = dict(zip(backward.outputs, _as_tuple(
        backward.ground_truth(g64, *truth_in.values(), **kwargs))))
    bounds = backward.bounds(g64, *truth_in.values(), **kwargs)
    mine = dict(zip(backward.outputs, _as_tuple(
        backward.reference(grad_out, *cast.values(), **kwargs, **bwd_kwargs))))
    ratios = {}
    for cand, grads in (("reference", mine), ("torch", torch_grads)):
        if grads is None:
            continue
        for name, expected in truth.items():
            if expected is None:
                if grads.get(name) is not None:
                    raise AssertionError(f"{cand} {name} should be None [{call}]")
                continue
            r = assert_close(grads[name], expected, bounds[name].allowed(dtype, model),
                             f"{cand} backward {name}", call + " (random upstream gradient)")
            _record(spec.name, name, cand, dtype, r)
            ratios[f"{cand}:{name}"] = r
    return ratios


def torch_devices() -> list[str]:
    """'cpu', plus 'cuda' where a GPU is present (with TF32 off: it rounds to 10 bits)."""
    if not torch.cuda.is_available():
        return ["cpu"]
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    return ["cpu", "cuda"]
