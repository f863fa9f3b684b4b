"""The worked examples of the operators beyond the documents' 2-D set (the first cases
`cnnref check` and the matrix run, verification/operators/generic.py): each states its
result, with the arithmetic in its label, and the reference must give exactly that
(within the operator's float64 rounding bound); every checkable entry's fixed cases
build and run on the reference."""
from __future__ import annotations

import numpy as np
import pytest

from cnnref import reference as ref
from cnnref.verification.core.cases import as64
from cnnref.verification.core.compare import compare
from cnnref.verification.operators.registry import CHECKABLE, REGISTRY, bounds_for

STATED = [(name, i) for name, op in REGISTRY.items() if op.checkable
          and not name.endswith("_backward") and hasattr(op.examples, "rows")
          for i, row in enumerate(op.examples.rows) if row[3] is not None]


@pytest.mark.parametrize("name, i", STATED, ids=[f"{n}-{i}" for n, i in STATED])
def test_worked_example_gives_the_stated_result(name, i):
    op = REGISTRY[name]
    values, kwargs, label, expected = op.examples.rows[i]
    args = [np.asarray(values[k]) if isinstance(values.get(k), list) else values.get(k)
            for k in op.examples.positional]
    got = getattr(ref, name)(*args, **kwargs)
    allowed = bounds_for(name, *[as64(a) for a in args], **kwargs)[op.outputs[0]] \
        if op.rule else None
    tol = 0.0 if allowed is None else allowed.allowed(np.float64)
    failure = compare(op.outputs[0], np.asarray(got, dtype=np.float64),
                      np.asarray(expected, dtype=np.float64), tol)
    assert failure is None, f"{name} example {label!r}: {failure}"


def test_every_new_operator_has_a_stated_example():
    """Each forward entry built by generic.checkable states at least one result."""
    generic = [n for n in CHECKABLE if hasattr(REGISTRY[n].examples, "rows")
               and not n.endswith("_backward")]
    stated = {n for n, _ in STATED}
    assert generic and set(generic) <= stated, sorted(set(generic) - stated)


@pytest.mark.parametrize("name", CHECKABLE)
def test_fixed_cases_build_and_run_on_the_reference(name):
    """Examples and corners are valid calls: the reference accepts each one, and every
    case is labelled and carries its features."""
    op = REGISTRY[name]
    cases = list(op.examples()) + list(op.corners())
    assert cases, f"{name}: no fixed cases"
    for case in cases:
        assert case.label and case.op == name, (name, case.label)
        out = op.ground_truth(*[as64(v) for v in case.args.values()], **case.kwargs)
        assert out is not None, f"{name}: {case.describe()} gave None"
