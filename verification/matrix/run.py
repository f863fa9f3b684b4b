"""Run the matrix: every framework in its own worker process, one after another, and the
JSON the report renders:

  {"frameworks": {name: {"version": str | None, "installed": bool, "seconds": float,
                         "forward_only": bool, "float32_only": [functions],
                         "import_error": str (only when the adapter failed to import)}},
   "cells": [{"framework", "op", "feature", "verdict", "convention", "max_error",
              "reproduction", "case", "cases", "failing", "note"}],
   "settings": {...}}

A framework not installed gets its entry and no cells; an adapter that fails to import
is reported with its error; a hang or crash of one call is one case's record (the
worker restarts for the rest), never the end of the run.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

from cnnref.verification.check.runner import run_check
from cnnref.verification.frameworks import FRAMEWORKS, Framework
from cnnref.verification.matrix.cases import matrix_cases
from cnnref.verification.matrix.cells import function_cells
from cnnref.verification.matrix.reproduce import reproduction
from cnnref.verification.matrix.worker import MatrixOptions, matrix_worker, unit
from cnnref.verification.operators.registry import CHECKABLE, REGISTRY


@dataclass
class Settings:
    ops: tuple = CHECKABLE
    seed: int = 0
    draws: int = 10                # hypothesis cases per family and function
    timeout: float = 60.0          # per call
    deadline: float = 60.0         # per function, after its warm-up


def _lost(result: dict, case) -> dict:
    """A unit the supervisor lost (hung, crashed) as a case record."""
    failure = result["failure"]
    return {"status": "differs", "kind": failure["kind"], "message": failure["message"],
            "label": case.label, "family": case.family, "features": sorted(case.features),
            "size": 0, "max_error": None, "conventions": []}


def run_framework(impl: str, cases: dict, settings: Settings, progress=None) -> dict:
    """{function: [case records, each with its index]} or {'import_error': message}."""
    units = [unit(name, i) for name in cases for i in range(len(cases[name]))]
    opts = MatrixOptions(cases, settings.timeout, settings.deadline)
    report = run_check(impl, units, opts, target=matrix_worker, after_hang=None,
                       on_result=progress)
    if "import_error" in report:
        return report
    out: dict = {name: [] for name in cases}
    for u, result in zip(units, report["results"]):
        name, index = u.rsplit("#", 1)
        case = cases[name][int(index)]
        record = _lost(result, case) if result.get("status") == "fail" else result
        out[name].append({**record, "index": int(index)})
    return out


def _cells(framework: str, impl: str, builtin: bool, records: dict, cases: dict,
           float32_only: frozenset) -> list:
    cells = []
    for name, recs in records.items():
        for feature, cell in function_cells(recs, name in float32_only).items():
            case = cell.pop("case")
            repro = None
            if case is not None and cell["verdict"] in ("differs", "refuses"):
                repro = reproduction(impl, REGISTRY[name], cases[name][case["index"]],
                                     builtin)
                cell["case"] = {k: case.get(k) for k in ("label", "message", "family")}
            cells.append({"framework": framework, "op": name, "feature": feature, **cell,
                          "reproduction": repro})
    return cells


def run_matrix(targets: list, settings: Settings, progress=None) -> dict:
    """targets: [(name, Framework or None, impl)]: a built-in framework, or a user's
    implementation (Framework None). progress(framework, unit, result) per case."""
    cases = {name: matrix_cases(REGISTRY[name], settings.seed, settings.draws)
             for name in settings.ops}
    data: dict = {"frameworks": {}, "cells": [],
                  "settings": {**vars(settings), "ops": list(settings.ops)}}
    for name, fw, impl in targets:
        entry = _entry(fw)
        data["frameworks"][name] = entry
        if not entry["installed"]:
            continue
        t0 = time.monotonic()
        tell = None if progress is None else (lambda u, r, name=name: progress(name, u, r))
        records = run_framework(impl, cases, settings, tell)
        entry["seconds"] = round(time.monotonic() - t0, 1)
        if "import_error" in records:
            entry["import_error"] = records["import_error"]
            continue
        f32 = frozenset(n for n, recs in records.items()
                        if any(r.get("float32_only") for r in recs))
        entry["float32_only"] = sorted(f32)
        data["cells"] += _cells(name, impl, fw is not None, records, cases, f32)
    return data


def _entry(fw: Framework | None) -> dict:
    if fw is None:
        return {"version": None, "installed": True, "forward_only": False}
    return {"version": fw.version, "installed": fw.installed,
            "forward_only": fw.forward_only}


def targets_of(names: list) -> list:
    """Command-line names to targets: a framework's short name, or a user's module."""
    return [(n, FRAMEWORKS[n], FRAMEWORKS[n].module) if n in FRAMEWORKS else (n, None, n)
            for n in names]
