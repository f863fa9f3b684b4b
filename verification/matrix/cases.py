"""The matrix's cases: the same list for every framework, drawn once per operator.

Order: the worked examples and corners first, then the drawn families interleaved
(exact, random float64, float32, and the operator's matrix draws), so that a function
cut short by its deadline still meets every family. Every case is tagged with its
dtype feature: "float64" or "float32" (exact integers too: a sigmoid of integers computed
in float32 is no more exact than one of random floats).

Example: matrix_cases(REGISTRY["relu"], draws=2) is relu's examples and corners, then
two exact, two random float64 and two float32 draws, alternating.
"""
from __future__ import annotations

import itertools
from dataclasses import replace

import numpy as np
from hypothesis import HealthCheck, Phase, Verbosity, given, seed as hyp_seed, settings

from cnnref.verification.core.cases import Case
from cnnref.verification.operators.op import Op


def _families(op: Op, beyond: bool = True) -> list:
    """(family, strategy, build, dtype, fit) of every drawn family of `op`; fit: pass
    the draw through the op's fit to torch's argument space (not for the matrix draws,
    which lie beyond it on purpose; beyond=False leaves them out)."""
    out = [("exact", op.strategy(True), op.build, "float64", True)]
    if op.random:
        out += [("random", op.strategy(False), op.build, "float64", True),
                ("float32", op.strategy(False), op.build, "float32", True)]
    for family, strategy, build in (op.matrix_draws() if op.matrix_draws and beyond
                                    else []):
        out.append((family, strategy, build, "float64", False))
    return out


def _draw(op: Op, family: tuple, seed: int, n: int) -> list:
    """n built cases of one family, deterministic for a seed (hypothesis, generation only,
    no database)."""
    name, strategy, build, dtype, fit = family
    full = set(op.defaults) | set(op.optional)
    cases: list = []

    def collect(raw):
        if len(cases) < n:
            cases.append(build(op.restrict(raw, full, {}) if fit else raw, dtype, name))
    test = settings(max_examples=n, deadline=None, database=None, phases=[Phase.generate],
                    suppress_health_check=list(HealthCheck), verbosity=Verbosity.quiet,
                    print_blob=False)(given(strategy)(collect))
    hyp_seed(seed)(test)()
    return cases


FLOAT_PARAMETERS = "float parameters"


def tagged(op: Op, case: Case) -> Case:
    """The case with its dtype feature, and "float parameters" when a float argument
    (given or by default: eps, momentum, negative_slope) is not a float32 number."""
    dtype = "float32" if case.dtype == "float32" else "float64"
    floats = [v for v in {**op.defaults, **case.kwargs}.values() if isinstance(v, float)]
    rounded = any(float(np.float32(v)) != v for v in floats)
    extra = {dtype} | ({FLOAT_PARAMETERS} if rounded else set())
    return replace(case, features=case.features | extra)


def matrix_cases(op: Op, seed: int = 0, draws: int = 8, beyond: bool = True) -> list[Case]:
    """Every case of `op` the matrix runs (see the module docstring); cases outside the
    semantics the reference holds (op.applicable) are left out; beyond=False: only the
    checker's own argument space (no matrix draws)."""
    fixed = list(op.examples()) + list(op.corners())
    drawn = [_draw(op, family, seed * 7919 + i, draws)
             for i, family in enumerate(_families(op, beyond))]
    interleaved = [c for group in itertools.zip_longest(*drawn) for c in group if c]
    cases, seen = [], set()
    for case in fixed + interleaved:
        key = (case.label, case.dtype, case.family)
        if key in seen or (op.applicable is not None and not op.applicable(case)):
            continue
        seen.add(key)
        cases.append(tagged(op, case))
    return cases
