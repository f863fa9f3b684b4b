"""The one operator registry: every public function of the reference that is compared
with something, by name. The entries live beside their cases, one file per operator
family; adding an operator is an `Op` entry in its family's file (or a new file listed
here) plus its cases (README: "Adding an operator").

Used by the test harness (reference vs torch), `cnnref check` and its pytest plugin
(the checkable entries), the diagnosis (each entry's mutants) and the benchmarks'
correctness checks (each entry's tolerance rule).
"""
from __future__ import annotations

import numpy as np

from cnnref.verification.core.cases import Case, as64
from cnnref.verification.core import tolerances
from cnnref.verification.core.tolerances import Bound
from cnnref.verification.operators import (batchnorm, conv, lenet, misc, nd,
                                           norms_losses, pooling, pooling_extra)
from cnnref.verification.operators.op import Op

# batch norm's running statistics: a tolerance rule only (the optional outputs of
# batch_norm in `cnnref check`), no cases of their own
_RUNNING_STATS = Op("batch_norm_running_stats", ("x", "running_mean", "running_var"),
                    defaults={"momentum": 0.1}, outputs=("running_mean", "running_var"),
                    rule=tolerances.batch_norm_running_stats_rule)

REGISTRY: dict[str, Op] = {op.name: op for op in (
    *conv.OPS, *pooling.OPS, *batchnorm.OPS, _RUNNING_STATS, *misc.OPS, *lenet.OPS,
    *nd.OPS, *pooling_extra.OPS, *norms_losses.OPS)}

# the functions `cnnref check` verifies, in the order it reports them
CHECKABLE: tuple[str, ...] = tuple(name for name, op in REGISTRY.items() if op.checkable)


def bounds_for(name: str, *args, **kwargs) -> dict[str, Bound]:
    """The error model of every output of `name` on these inputs (its entry's rule)."""
    try:
        op = REGISTRY[name]
    except KeyError:
        raise KeyError(f"bounds_for: no registry entry {name!r}; known: "
                       f"{sorted(REGISTRY)}") from None
    if op.rule is None:
        raise KeyError(f"bounds_for: {name!r} is exact (no tolerance rule)")
    return op.rule(*args, **kwargs)


def reference_outputs(op: Op, case: Case) -> dict:
    """The ground truth of a built case: the reference in float64 on the same (rounded)
    inputs, by output name."""
    if op.truth is not None:
        return op.truth(case)
    result = op.ground_truth(*[as64(v) for v in case.args.values()], **case.kwargs)
    values = result if len(op.outputs) > 1 else (result,)
    return dict(zip(op.outputs, values))


def allowed_errors(op: Op, case: Case, truth: dict, dtype=None) -> dict:
    """Per-output allowed |error| for an unknown algorithm: the 'any' model (the largest of
    the direct-sum, FFT and Winograd bounds, verification/core/tolerances.py); an exact op
    allows 0."""
    if op.rule is None:
        return {k: 0.0 for k in truth}
    args = [as64(v) for v in case.args.values()]
    bounds = op.bounds(*args, **case.kwargs)
    if op.extra_bounds is not None:
        bounds = {**bounds, **op.extra_bounds(args, case.kwargs)}
    if dtype is None:
        dtype = np.float32 if case.dtype == "float32" else np.float64
    return {k: bounds[k].allowed(dtype, "any") for k in truth if k in bounds}
