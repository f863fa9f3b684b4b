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

from dataclasses import dataclass
from typing import Callable

import numpy as np

from cnnref import reference as ref
from cnnref.reference._validate import pair
from cnnref.verification.core.tolerances import bounds_for

# Worst |error| / allowed seen per (op, tensor, candidate, dtype): read by the report.
RECORD: dict[tuple[str, str, str, str], float] = {}


@dataclass(frozen=True)
class OpSpec:
    """How to call one op on both sides.

    arg_names: the array arguments, in the reference's positional order (None allowed).
    grad_names: names of the reference backward's outputs, one per differentiable input.
    torch_forward(*tensors, **kwargs) mirrors forward(*arrays, **kwargs).
    """
    name: str
    forward: Callable
    torch_forward: Callable
    arg_names: tuple[str, ...]
    backward: Callable | None = None
    grad_names: tuple[str, ...] = ()
    differentiable: tuple[str, ...] = ()


def _torch_conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """F.conv2d, with asymmetric or 'full' padding applied by F.pad (torch has neither);
    'same' and 'valid' go to torch as strings so that its own rule is what is tested."""
    import torch.nn.functional as F
    if padding in ("same", "valid"):
        return F.conv2d(x, weight, bias, stride, padding, dilation, groups)
    sp, dp = pair(stride, "stride", "conv2d", 1), pair(dilation, "dilation", "conv2d", 1)
    (t, b), (l, r) = ref.normalize_padding(padding, tuple(weight.shape[-2:]), dp, sp, "conv2d")
    if t == b and l == r:
        return F.conv2d(x, weight, bias, stride, (t, l), dilation, groups)
    return F.conv2d(F.pad(x, (l, r, t, b)), weight, bias, stride, 0, dilation, groups)


def _torch_fn(path: str):
    """'F.max_pool2d' -> torch.nn.functional.max_pool2d, imported on first use."""
    def call(*tensors, **kw):
        import torch
        import torch.nn.functional as F
        fn = eval(path, {"torch": torch, "F": F})   # noqa: S307 - fixed strings below
        return fn(*tensors, **kw)
    return call


def _torch_lenet_subsample(x, coefficient, bias, kernel_size=2):
    """Block sums as a depthwise conv with a ones kernel (exact sums), then * beta + b."""
    import torch
    import torch.nn.functional as F
    c = x.shape[1]
    ones = torch.ones((c, 1, kernel_size, kernel_size), dtype=x.dtype, device=x.device)
    sums = F.conv2d(x, ones, stride=kernel_size, groups=c)
    return sums * coefficient[:, None, None] + bias[:, None, None]


def _spec(name, torch_forward, args, grads, differentiable=None):
    return OpSpec(name, getattr(ref, name), torch_forward, args,
                  getattr(ref, name + "_backward"), grads,
                  differentiable if differentiable is not None else args)


SPECS: dict[str, OpSpec] = {
    "conv2d": OpSpec("conv2d", ref.conv2d, _torch_conv2d, ("x", "weight", "bias"),
                     ref.conv2d_backward, ("grad_x", "grad_weight", "grad_bias"),
                     ("x", "weight", "bias")),
    "max_pool2d": _spec("max_pool2d", _torch_fn("F.max_pool2d"), ("x",), ("grad_x",)),
    "avg_pool2d": _spec("avg_pool2d", _torch_fn("F.avg_pool2d"), ("x",), ("grad_x",)),
    "lenet_subsample": _spec("lenet_subsample", _torch_lenet_subsample,
                             ("x", "coefficient", "bias"),
                             ("grad_x", "grad_coefficient", "grad_bias")),
    "batch_norm": _spec("batch_norm", _torch_fn("F.batch_norm"),
                        ("x", "running_mean", "running_var", "weight", "bias"),
                        ("grad_x", "grad_weight", "grad_bias"), ("x", "weight", "bias")),
    "relu": _spec("relu", _torch_fn("F.relu"), ("x",), ("grad_x",)),
    "leaky_relu": _spec("leaky_relu", _torch_fn("F.leaky_relu"), ("x",), ("grad_x",)),
    "sigmoid": _spec("sigmoid", _torch_fn("torch.sigmoid"), ("x",), ("grad_x",)),
    "tanh": _spec("tanh", _torch_fn("torch.tanh"), ("x",), ("grad_x",)),
    "softmax": _spec("softmax", _torch_fn("F.softmax"), ("x",), ("grad_x",)),
    "log_softmax": _spec("log_softmax", _torch_fn("F.log_softmax"), ("x",), ("grad_x",)),
    "cross_entropy": _spec("cross_entropy", _torch_fn("F.cross_entropy"),
                           ("logits", "target"), ("grad_x",), ("logits",)),
    "dense": _spec("dense", _torch_fn("F.linear"), ("x", "weight", "bias"),
                   ("grad_x", "grad_weight", "grad_bias")),
}


def call_repr(func: str, arrays: dict, kwargs: dict) -> str:
    """`conv2d(x=(2, 3, 5, 5), weight=(4, 3, 3, 3), stride=2)`: shapes for arrays."""
    parts = [f"{k}={None if v is None else tuple(np.shape(v))}" for k, v in arrays.items()]
    parts += [f"{k}={v!r}" for k, v in kwargs.items()]
    return f"{func}({', '.join(parts)})"


def assert_close(got, truth, allowed, what: str, call: str) -> float:
    """Raise AssertionError unless |got - truth| <= allowed element-wise (NaN and inf must
    match exactly). Returns the worst |error| / allowed (0 when both are 0)."""
    got, truth = np.asarray(got), np.asarray(truth)
    if got.shape != truth.shape:
        raise AssertionError(f"shape of {what}={got.shape}, but should be {truth.shape} [{call}]")
    g64, t64 = got.astype(np.float64), truth.astype(np.float64)
    bad_special = (np.isnan(g64) != np.isnan(t64)) | (np.isinf(t64) & (g64 != t64))
    if bad_special.any():
        idx = tuple(int(i) for i in np.argwhere(bad_special)[0])
        raise AssertionError(f"{what}[{idx}]={g64[idx]}, but should be {t64[idx]} [{call}]")
    finite = np.isfinite(t64)
    with np.errstate(invalid="ignore"):
        err = np.where(finite, np.abs(g64 - t64), 0.0)
    allowed = np.broadcast_to(np.asarray(allowed, dtype=np.float64), err.shape)
    if np.isnan(allowed[finite]).any():      # err > NaN is False: it would pass anything
        idx = tuple(int(i) for i in np.argwhere(np.isnan(allowed) & finite)[0])
        raise AssertionError(f"the allowed error of {what}[{idx}] is NaN (a tolerance "
                             f"rule fed an inf?) [{call}]")
    over = err > allowed
    if over.any():
        idx = tuple(int(i) for i in np.unravel_index(np.argmax(np.where(over, err, -1)),
                                                     err.shape))
        raise AssertionError(
            f"{what}[{idx}]={g64[idx]!r}, but should be {t64[idx]!r} [{call}]: |error| "
            f"{err[idx]:.3g} > allowed {allowed[idx]:.3g} ({int(over.sum())} of {err.size} "
            f"elements out of bound)")
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(allowed > 0, err / allowed, np.where(err > 0, np.inf, 0.0))
    return float(ratio.max(initial=0.0))


def _record(op, tensor, candidate, dtype, ratio):
    key = (op, tensor, candidate, np.dtype(dtype).name)
    RECORD[key] = max(RECORD.get(key, 0.0), ratio)


def _as_dtype(v, dtype) -> np.ndarray:
    """Floating arrays take the test dtype; integer ones (class targets) stay integers."""
    v = np.asarray(v)
    return v if v.dtype.kind in "iub" else v.astype(dtype)


def _read_only(a: np.ndarray) -> np.ndarray:
    a = a.copy()
    a.setflags(write=False)
    return a


def _as_tuple(v):
    return v if isinstance(v, tuple) else (v,)


def run_torch(spec: OpSpec, arrays: dict, kwargs: dict, grad_out, device: str):
    """Forward and autograd backward in torch; returns (out, {grad name: grad or None})."""
    import torch
    tensors = {k: None if v is None else
               torch.tensor(v, device=device, requires_grad=k in spec.differentiable)
               for k, v in arrays.items()}
    out = spec.torch_forward(*tensors.values(), **kwargs)
    grads = {}
    if spec.backward is not None and grad_out is not None:
        out.backward(torch.tensor(grad_out, device=device))
        for arg, gname in zip(spec.differentiable, spec.grad_names):
            t = tensors[arg]
            grads[gname] = None if t is None else t.grad.detach().cpu().numpy()
    return out.detach().cpu().numpy(), grads


def check_against_torch(spec: OpSpec | str, arrays: dict, kwargs: dict | None = None,
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
    spec = SPECS[spec] if isinstance(spec, str) else spec
    kwargs, ref_kwargs = dict(kwargs or {}), dict(ref_kwargs or {})
    ref_backward_kwargs = dict(ref_backward_kwargs or {})
    cast = {k: None if v is None else _read_only(_as_dtype(v, dtype)) for k, v in arrays.items()}
    exact_in = {k: None if v is None else _as_dtype(v, np.float64) for k, v in cast.items()}
    call = call_repr(spec.name, cast, {**kwargs, **ref_kwargs}) + f" dtype={np.dtype(dtype).name}"
    truth = spec.forward(*exact_in.values(), **kwargs)
    fwd_bound = bounds_for(spec.name, *exact_in.values(), **kwargs)["out"]
    candidates = {"reference": lambda: spec.forward(*cast.values(), **kwargs, **ref_kwargs)}
    ratios = {}
    rng = np.random.default_rng(seed + 1)
    grad_out = None
    if spec.backward is not None:
        grad_out = (rng.integers(-4, 5, np.shape(truth)) if exact else
                    rng.standard_normal(np.shape(truth))).astype(dtype)
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
    g64 = grad_out.astype(np.float64)
    truth = dict(zip(spec.grad_names, _as_tuple(spec.backward(g64, *truth_in.values(), **kwargs))))
    bounds = bounds_for(spec.name + "_backward", g64, *truth_in.values(), **kwargs)
    mine = dict(zip(spec.grad_names, _as_tuple(
        spec.backward(grad_out, *cast.values(), **kwargs, **bwd_kwargs))))
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
    import torch
    if not torch.cuda.is_available():
        return ["cpu"]
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    return ["cpu", "cuda"]
