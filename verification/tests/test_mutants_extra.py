"""Each classic mistake of the operators beyond the documents (verification/mutants/
extra.py) is wrong on some case the operator's strategy draws: hypothesis finds one, so
the comparisons against torch in the operators' tests would catch that mistake."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import find, settings

from cnnref import reference as ref
from cnnref.verification.core.cases import make_arrays
from cnnref.verification.core.compare import compare
from cnnref.verification.mutants import extra
from cnnref.verification.operators.nd import conv_transpose_cases
from cnnref.verification.operators.norms_losses import loss_arrays, loss_cases, norm_cases
from cnnref.verification.operators.pooling_extra import adaptive_cases
from cnnref.verification.operators.registry import bounds_for


def _calls(op: str, case):
    """(positional arrays, keyword arguments) of one drawn case."""
    if op == "cross_entropy":
        a = loss_arrays(case)
        return [a["logits"], a["target"], a["weight"]], dict(case.kwargs)
    a = make_arrays(case)
    kw = dict(case.kwargs)
    if op == "layer_norm":
        return [a["x"], kw.pop("normalized_shape"), a["weight"], a["bias"]], kw
    return list(a.values()), kw


def _wrong(op, mutant, case) -> bool:
    args, kw = _calls(op, case)
    want = getattr(ref, op)(*args, **kw)
    try:
        got = mutant(*args, **kw)
    except (ValueError, TypeError):
        return False
    allowed = bounds_for(op, *args, **kw)["out"].allowed(np.float64)
    return compare("out", got, want, np.nan_to_num(allowed)) is not None


STRATEGIES = {"conv_transpose2d": conv_transpose_cases(2),
              "adaptive_avg_pool2d": adaptive_cases(2),
              "layer_norm": norm_cases("layer"), "cross_entropy": loss_cases()}
MUTANTS = [("conv_transpose2d", extra.CONV_TRANSPOSE2D),
           ("adaptive_avg_pool2d", extra.ADAPTIVE_AVG_POOL2D),
           ("layer_norm", extra.LAYER_NORM), ("cross_entropy", extra.CROSS_ENTROPY)]


@pytest.mark.parametrize("op, name", [(op, name) for op, table in MUTANTS for name in table])
def test_the_strategy_reaches_a_case_where_the_mistake_shows(op, name):
    mutant = dict(MUTANTS)[op][name]
    case = find(STRATEGIES[op], lambda c: _wrong(op, mutant, c),
                settings=settings(max_examples=300, database=None, deadline=None))
    assert _wrong(op, mutant, case)
