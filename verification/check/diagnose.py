"""Explain a failure: which classic mistake (verification/mutants/conv.py) reproduces the user's
wrong output, and a copy-paste snippet that reproduces the failing call.

A mutant matches an output when it has the user's shape and |user - mutant| <= 2 * the
allowed error of the case (max over the tensor): the user's result and the mutant's are
both within one allowed error of the same exact value, so of each other within two. The
float32 mutant uses the float32 bound, since both sides then round in float32.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from cnnref.verification.check.protocol import Outcome
from cnnref.verification.core.cases import Case, as64
from cnnref.verification.mutants.conv import FLOAT32
from cnnref.verification.operators.op import Op
from cnnref.verification.operators.registry import allowed_errors, reference_outputs


def _mutant_outputs(spec: Op, mutant, case: Case) -> dict:
    args = [as64(v) for v in case.args.values()]
    out = mutant(*args, **case.kwargs)
    if isinstance(out, dict):
        return out
    return dict(zip(spec.outputs, out)) if len(spec.outputs) > 1 else {spec.outputs[0]: out}


ROUNDED = "parameter rounded to float32 (a float argument such as negative_slope or eps " \
          "stored in float32)"


ROUNDED_COMPLEMENT = "parameter rounded to float32 as its complement (1 - momentum stored " \
                     "in float32, the convention of a momentum that weighs the old value)"


def _f32(v):
    return v.astype(np.float32) if isinstance(v, np.ndarray) and v.dtype.kind == "f" else v


def generic_mutants(spec: Op, case: Case) -> dict:
    """Mistakes any operator can make: float64 inputs computed in float32 (the reference
    run in float32), and float arguments stored in float32 (the reference with them
    rounded). Only where they differ from the case itself."""
    out = {}
    if FLOAT32 not in (spec.mutants or {}) and case.dtype == "float64":
        out[FLOAT32] = lambda *a, **kw: spec.reference(*[_f32(v) for v in a], **kw)
    floats = {k: v for k, v in {**spec.defaults, **case.kwargs}.items()
              if isinstance(v, float) and float(np.float32(v)) != v}
    if floats:
        rounded = {k: float(np.float32(v)) for k, v in floats.items()}
        complement = {k: 1 - float(np.float32(1 - v)) if 0 < v < 1 else float(np.float32(v))
                      for k, v in floats.items()}
        # every output, batch norm's running statistics too (the ground truth's own path)
        out[ROUNDED] = lambda *a, **kw: reference_outputs(
            spec, replace(case, kwargs={**kw, **rounded}))
        out[ROUNDED_COMPLEMENT] = lambda *a, **kw: reference_outputs(
            spec, replace(case, kwargs={**kw, **complement}))
    return out


def _tolerance(spec, case, outcome, name, mutant_name) -> float:
    if mutant_name == FLOAT32:
        allowed = allowed_errors(spec, case, outcome.truth, np.float32)[name]
    else:
        allowed = outcome.allowed[name]
    return 2 * float(np.max(allowed))


def _matches(user, mine, truth, tol, must_change: bool = True) -> bool:
    """Is the user's output the mutant's, within tol? A mutant that changes nothing here
    explains nothing, except the float32 one, whose claim is "within float32 accuracy of
    the truth" (float32(ln 3) may give softmax's 3/4 exactly, while another float32
    exp gives 0.74999999)."""
    if mine is None:
        return False
    mine = np.asarray(mine, dtype=np.float64)
    if mine.shape != user.shape:
        return False
    if must_change and mine.shape == np.shape(truth) and \
            np.array_equal(mine, np.asarray(truth)):
        return False
    user = user.astype(np.float64)
    with np.errstate(invalid="ignore"):
        # NaN and inf where the mutant has them too (softmax overflowing) count as a match
        same = (user == mine) | (np.isnan(user) & np.isnan(mine))
        return bool(np.all(same | (np.abs(user - mine) <= tol)))


def diagnose(spec: Op, outcome: Outcome) -> list[dict]:
    """[{'mistake': description, 'explains': [outputs], 'complete': bool}], complete
    explanations (every wrong output matched) first."""
    failure = outcome.failure
    if failure is None or failure.kind in ("raised", "timeout", "crashed"):
        return []
    if failure.kind == "missing" and failure.tensor == "grad_bias":
        return [{"mistake": "bias gradient missing", "explains": ["grad_bias"],
                 "complete": outcome.wrong == ["grad_bias"]}]
    skip = {FLOAT32} if outcome.case.dtype == "float32" else set()
    found = []
    for name, mutant in {**(spec.mutants or {}), **generic_mutants(spec, outcome.case)}.items():
        if name in skip:
            continue
        try:
            mine = _mutant_outputs(spec, mutant, outcome.case)
        except Exception:      # the mutant does not apply to this case
            continue
        explains = [t for t in outcome.wrong if t in outcome.outputs and
                    _matches(outcome.outputs[t], mine.get(t), outcome.truth[t],
                             _tolerance(spec, outcome.case, outcome, t, name),
                             name != FLOAT32)]
        if explains:
            found.append({"mistake": name, "explains": explains,
                          "complete": set(explains) == set(outcome.wrong)})
    # complete explanations first; "computed in float32" last among equals, since its
    # float32 bound also covers any smaller mistake (a parameter rounded to float32)
    return sorted(found, key=lambda d: (not d["complete"], d["mistake"] == FLOAT32))


def _literal(v) -> str:
    if isinstance(v, np.ndarray):
        return f"np.array({v.tolist()!r}, dtype=np.{v.dtype})"
    return repr(v)


def repro_snippet(impl: str, spec: Op, case: Case, supported: set) -> str:
    """Python that reproduces the failing call and prints the largest difference."""
    lines = ["import numpy as np", "from cnnref import reference as ref",
             "from cnnref.verification.check.protocol import load_impl", f"impl = load_impl({impl!r})"]
    names = []
    for k, v in case.args.items():
        if k in spec.optional and k not in supported:
            continue
        lines.append(f"{k} = {_literal(v)}")
        names.append(k)
    kwargs = {k: v for k, v in case.kwargs.items() if k in supported}
    call_args = ", ".join(names + [f"{k}={v!r}" for k, v in kwargs.items()])
    lines += [f"got = impl.{spec.name}({call_args})",
              f"want = ref.{spec.name}({call_args})"]
    if len(spec.outputs) > 1:
        lines += [f"for name, g, w in zip({spec.outputs!r}, got, want):",
                  "    if w is not None:",
                  "        print(name, np.max(np.abs(np.asarray(g, dtype=np.float64) - w)))"]
    else:
        lines.append("print(np.max(np.abs(np.asarray(got, dtype=np.float64) - want)))")
    return "\n".join(lines)
