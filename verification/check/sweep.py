"""After a failure, every feature on its own: the conformance matrix's per-feature run
(matrix/cases.py: the same cases, examples, corners and a few draws of each family;
matrix/cells.py: records -> one verdict per feature) applied to the user's function, so
that the report says "crashes on non-square; wrong on ties (gradient sent to every tied
maximum); right on padding>0, stride>1, ..." instead of stopping at the first failure.

A refusal (NotImplementedError, or an argument form refused by any exception) is "not
covered"; any other exception is a crash, put down to the features of its cases that no
agreeing case shares, like a wrong value. The cases run in the checker's worker, one beat
each, so a hang is still caught by the per-call timeout.
"""
from __future__ import annotations

import time
from dataclasses import replace

from cnnref.verification.check.battery import (Options, State, evaluate, fit_signature,
                                               usable)
from cnnref.verification.matrix.cases import matrix_cases
from cnnref.verification.matrix.cells import function_cells

DRAWS = 3            # per drawn family: the fixed cases carry most features already
SECONDS = 5.0        # at most this long, and never past the check's hard deadline


def _crash_record(outcome, base: dict) -> dict:
    """A non-refusal exception as a failing record, its convention the exception's type."""
    kind = outcome.failure.message.removeprefix("raised ").split(":")[0]
    return {**base, "status": "differs", "kind": "raised", "wrong": ["out"],
            "conventions": [f"crashes ({kind})"], "explains": {"out": [f"crashes ({kind})"]},
            "errors": {}, "max_error": None}


def records_of(state: State, opts: Options) -> list:
    """One matrix record per case the user's signature can take."""
    from cnnref.verification.matrix.worker import record_of     # imports the runner
    spec = state.spec
    fresh = replace(state, covered={}, unsupported=dict(state.unsupported))
    stop = min(opts.hard_deadline, time.monotonic() + SECONDS)
    records = []
    for case in matrix_cases(spec, opts.seed, DRAWS, beyond=False):
        case = fit_signature(state, case)
        if not usable(state, case):
            continue
        if time.monotonic() > stop:
            break
        outcome = evaluate(fresh, case)
        base = {"label": case.label, "family": case.family, "size": 0,
                "features": sorted(case.features | outcome.features)}
        if outcome.failure is not None and outcome.failure.kind == "raised":
            records.append(_crash_record(outcome, base))
        else:
            records.append(record_of(outcome, spec, 0.0))
    return records


def summarize(cells: dict, records: list = ()) -> dict:
    """{'wrong': {feature: mistake}, 'crashes': {feature: exception}, 'right': [...],
    'refused': [...]} from the cells of one function; a feature is right only when none
    of its cases failed (the matrix's cell may agree while blaming a failure elsewhere)."""
    failed = {f for r in records if r["status"] == "differs" for f in r["features"]}
    out: dict = {"wrong": {}, "crashes": {}, "right": [], "refused": []}
    for feature, cell in sorted(cells.items()):
        if cell["verdict"] == "differs":
            convention = cell["convention"] or "wrong values (no known mistake explains it)"
            if convention.startswith("crashes ("):
                out["crashes"][feature] = convention[len("crashes ("):-1]
            else:
                out["wrong"][feature] = convention
        elif cell["verdict"] == "agrees" and feature not in failed:
            out["right"].append(feature)
        elif cell["verdict"] == "refuses":
            out["refused"].append(feature)
    return out


def named(records: list) -> list:
    """Every mistake the diagnosis named in some failing case, most frequent first: a
    function whose first failure is a crash may also compute wrong values elsewhere."""
    votes: dict = {}
    for r in records:
        if r["status"] == "differs" and r.get("kind") != "raised" and r.get("conventions"):
            votes[r["conventions"][0]] = votes.get(r["conventions"][0], 0) + 1
    return sorted(votes, key=lambda m: -votes[m])


def per_feature(state: State, opts: Options) -> dict:
    """The summary of every feature of the failing function (see summarize), with the
    mistakes named in any of its cases."""
    records = records_of(state, opts)
    return {**summarize(function_cells(records), records), "named": named(records)}


def sentence(summary: dict) -> str:
    """"crashes on non-square (IndexError); wrong on ties (...); right on batch>1, ..."."""
    parts = []
    by_error: dict = {}
    for feature, error in summary.get("crashes", {}).items():
        by_error.setdefault(error, []).append(feature)
    parts += [f"crashes on {', '.join(fs)} ({e})" for e, fs in by_error.items()]
    by_mistake: dict = {}
    for feature, mistake in summary.get("wrong", {}).items():
        by_mistake.setdefault(mistake, []).append(feature)
    parts += [f"wrong on {', '.join(fs)} ({m})" for m, fs in by_mistake.items()]
    if summary.get("right"):
        parts.append(f"right on {', '.join(summary['right'])}")
    if summary.get("refused"):
        parts.append(f"refuses {', '.join(summary['refused'])}")
    others = [m for m in summary.get("named", []) if m not in by_mistake]
    if others:
        parts.append("also named in its cases: " + "; ".join(others))
    return "; ".join(parts)
