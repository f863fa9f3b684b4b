"""A classic mistake planted in the reference: the implementation the suite checks to
show that `cnnref check` catches each mutant and its diagnosis names it."""
from __future__ import annotations

import numpy as np

from cnnref import reference as ref
from cnnref.verification.operators.registry import REGISTRY


def planted(op: str, mutant):
    """(the op's registry entry, fn): fn is the reference `op` with the outputs `mutant`
    computes replaced (where it applies: a mutant raising ValueError changes nothing);
    batch_norm in training also returns its running statistics."""
    spec = REGISTRY[op]

    def fn(*args, **kwargs):
        outs = ref.batch_norm_running_stats(*args[:3], kwargs.get("momentum", 0.1)) \
            if op == "batch_norm" and kwargs.get("training") else None
        result = getattr(ref, op)(*args, **kwargs)
        values = dict(zip(spec.outputs, result if len(spec.outputs) > 1 else (result,)))
        if outs is not None:
            values.update(zip(("running_mean", "running_var"), outs))
        try:
            with np.errstate(all="ignore"):
                mine = mutant(*[a.astype(np.float64) if getattr(a, "dtype", None) is not None
                                and a.dtype.kind == "f" else a for a in args], **kwargs)
        except ValueError:
            mine = {}
        values.update(mine if isinstance(mine, dict) else {spec.outputs[0]: mine})
        return tuple(values.values()) if len(values) > 1 else values[spec.outputs[0]]
    return spec, fn
