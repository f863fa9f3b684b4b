"""The matrix worker: one framework's process, running every case of every function.

It reuses the checker's process isolation (check/runner.py: spawned worker, a beat before
every call, a hung or crashed call killed and the worker restarted for the units left)
and its evaluation of one case (check/battery.py: the ground truth, the call, the
comparison). A unit is one case, "<function>#<index>", so that a hang costs that case
only. The first call of each function is its warm-up (a JIT compiles there; it gets the
import timeout and starts the function's clock only when it returns); after
`deadline` seconds a function's remaining cases are recorded as not run.
"""
from __future__ import annotations

import dataclasses
import time
import numpy as np

from cnnref.verification.check.battery import State, is_default, evaluate, supported_args
from cnnref.verification.check.diagnose import diagnose
from cnnref.verification.check.protocol import Outcome, accepts_of
from cnnref.verification.check.runner import _silence, import_in_worker
from cnnref.verification.core.cases import as_float32
from cnnref.verification.core.compare import compare
from cnnref.verification.operators.registry import REGISTRY


@dataclasses.dataclass
class MatrixOptions:
    cases: dict                    # function -> [Case], the same for every framework
    timeout: float = 60.0          # seconds one call may take (warm-up: longer)
    deadline: float = 60.0         # seconds of cases per function after its warm-up


def unit(name: str, index: int) -> str:
    return f"{name}#{index}"


def record_of(outcome: Outcome, spec, seconds: float) -> dict:
    """What the matrix keeps of one case (the arrays are dropped)."""
    case, failure = outcome.case, outcome.failure
    features = sorted(case.features | outcome.features)
    out = {"label": case.label, "family": case.family, "features": features,
           "size": int(sum(np.size(v) for v in case.args.values()
                           if isinstance(v, np.ndarray))), "seconds": round(seconds, 4)}
    if outcome.unsupported or (failure is not None and failure.kind == "raised"):
        return {**out, "status": "refuses",
                "message": outcome.unsupported or failure.message.removeprefix("raised ")}
    if failure is None:
        return {**out, "status": "agrees"}
    found = diagnose(spec, outcome)
    return {**out, "status": "differs", "kind": failure.kind, "tensor": failure.tensor,
            "wrong": list(outcome.wrong),
            "message": failure.message, "max_error": failure.max_error,
            "allowed": failure.allowed,
            "conventions": [d["mistake"] for d in found if d["complete"]]
            or [d["mistake"] for d in found],
            "explains": {t: [d["mistake"] for d in found if t in d["explains"]]
                         for t in outcome.wrong},
            "errors": {t: _output_error(outcome, t) for t in outcome.wrong}}


def _output_error(outcome: Outcome, name: str) -> float | None:
    """The largest |error| of one wrong output, by the one compare (None for a wrong
    shape, a NaN or infinity in the wrong place, or a missing output)."""
    if name not in outcome.outputs or name not in outcome.truth:
        return None
    failure = compare(name, outcome.outputs[name], outcome.truth[name],
                      outcome.allowed.get(name, 0.0))
    return None if failure is None else failure.max_error


def _run_function(module, name, indices, opts, conn, float32_only):
    spec, fn = REGISTRY[name], getattr(module, name, None)
    if fn is None:
        for i in indices:
            conn.send(("result", unit(name, i), {"status": "not defined"}))
        return
    state = State(spec, fn, accepts_of(fn), lambda label: conn.send(("beat", None, label)),
                  float32_only=name in float32_only)
    state.supported = supported_args(spec, state.accepts)
    start = None
    for n, i in enumerate(indices):
        conn.send(("begin", unit(name, i)))
        case = opts.cases[name][i]
        case = as_float32(case) if state.float32_only else case
        if start is not None and time.monotonic() - start > opts.deadline:
            conn.send(("result", unit(name, i), {"status": "not run", "label": case.label,
                       "features": sorted(case.features)}))
            continue
        missing = outside_signature(state, case)
        if missing:
            conn.send(("result", unit(name, i), {
                "status": "refuses", "label": case.label, "family": case.family,
                "features": sorted(case.features),
                "message": f"the adapter's {name} has no {', '.join(missing)} argument"}))
            continue
        conn.send(("beat", None, f"warm-up {case.label}" if start is None else case.label))
        t0 = time.monotonic()
        outcome = evaluate(replace_beat(state), case)
        result = record_of(outcome, spec, time.monotonic() - t0)
        if name in float32_only:
            result["float32_only"] = True
        start = start or time.monotonic()
        conn.send(("result", unit(name, i), result))


def outside_signature(state: State, case) -> list[str]:
    """The arguments a case needs that the adapter's signature lacks: a keyword away from
    its default, an optional array given, or what a feature requires (a target equal to
    ignore_index); such a case is not run (the checker leaves it out the same way)."""
    spec = state.spec
    names = {k for k, v in case.kwargs.items()
             if k not in state.supported and not is_default(v, spec.defaults.get(k))}
    names |= {k for k in spec.optional if case.args.get(k) is not None
              and k not in state.supported}
    names |= {spec.requires[f] for f in case.features & set(spec.requires)
              if spec.requires[f] not in state.supported}
    return sorted(names)


def replace_beat(state: State) -> State:
    """evaluate() beats before its call; the worker has beaten already (with the warm-up
    label the supervisor needs), so that second beat must not shorten the limit."""
    return dataclasses.replace(state, beat=lambda label: None)


def matrix_worker(impl: str, units: list, opts: MatrixOptions, conn, quiet: bool = True):
    """The worker target of check.runner.run_check for the matrix."""
    if quiet:
        _silence()
    # no address-space limit: JAX, TensorFlow and MLX reserve far more than they use
    module = import_in_worker(impl, conn, None)
    if module is None:
        return
    float32_only = frozenset(getattr(module, "FLOAT32_ONLY", ()))
    by_function: dict = {}
    for u in units:
        name, index = u.rsplit("#", 1)
        by_function.setdefault(name, []).append(int(index))
    for name, indices in by_function.items():
        _run_function(module, name, indices, opts, conn, float32_only)
    conn.send(("end",))
