"""`cnnref matrix`: the conformance matrix, every framework's CNN operators feature by
feature against the reference.

    cnnref matrix                          every installed framework, every function
    cnnref matrix --frameworks jax onnxruntime --ops max_pool2d,avg_pool2d
    cnnref matrix --frameworks my_impl.py  your own implementation, as one more column

Each framework runs in its own worker process, all of its cases (not stopping at the
first disagreement); a cell is agrees / refuses / differs (with the named convention) /
not defined. Writes OUT/matrix.json (the data), OUT/matrix.md, and the matrix section
of OUT/index.html when a report run exists there (OUT: ./cnnref-reports/, as `cnnref
report`; `--out reports` refreshes the committed reference run); --json FILE writes the
data there too. Exit status: 0, or 2 for a usage error (differences are findings, not errors).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from cnnref.cli.report import DEFAULT_OUT, write_reports
from cnnref.report import matrix as report
from cnnref.verification.frameworks import FRAMEWORKS
from cnnref.verification.matrix.cases import matrix_cases
from cnnref.verification.matrix.run import Settings, run_matrix, targets_of
from cnnref.verification.operators.registry import CHECKABLE, REGISTRY


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "matrix", help="the conformance matrix: frameworks x operators x features",
        description=__doc__.split("\n\n", 1)[1])
    p.add_argument("--frameworks", nargs="+", metavar="NAME",
                   help=f"frameworks ({', '.join(FRAMEWORKS)}) or your own modules "
                        "(default: every installed framework)")
    p.add_argument("--ops", nargs="+", metavar="OP",
                   help="functions (default: every checkable function)")
    p.add_argument("--draws", type=int, default=10,
                   help="hypothesis cases per family and function (default 10)")
    p.add_argument("--seed", type=int, default=0, help="hypothesis seed (default 0)")
    p.add_argument("--timeout", type=float, default=60.0,
                   help="seconds one call may take (default 60; a warm-up at least 120)")
    p.add_argument("--deadline", type=float, default=60.0,
                   help="seconds of cases per function after its warm-up (default 60)")
    p.add_argument("--json", metavar="FILE", help="also write the data here")
    p.add_argument("--out", default=DEFAULT_OUT,
                   help=f"output directory (default ./{DEFAULT_OUT}/, as cnnref report)")
    p.set_defaults(run=run)


def _split(values) -> list:
    return [v for item in values or () for v in item.split(",") if v]


def _names(args):
    """(frameworks, ops) from the arguments, or an error message."""
    ops = _split(args.ops) or list(CHECKABLE)
    unknown = sorted(set(ops) - set(CHECKABLE))
    if unknown:
        return None, f"unknown function(s) {unknown}; checkable: {list(CHECKABLE)}"
    frameworks = _split(args.frameworks) or list(FRAMEWORKS)
    if args.draws < 1 or args.timeout <= 0 or args.deadline <= 0:
        return None, "--draws, --timeout and --deadline must be positive"
    return (frameworks, [op for op in CHECKABLE if op in ops]), None


class _Progress:
    """One line per function as its last case comes back (frameworks are slow to start)."""

    def __init__(self, total: dict):
        self.total, self.done = total, {}

    def __call__(self, framework: str, unit: str, result: dict) -> None:
        name = unit.rsplit("#", 1)[0]
        key = (framework, name)
        self.done.setdefault(key, []).append(result.get("status", "differs"))
        if len(self.done[key]) == self.total[name]:
            counts = {s: self.done[key].count(s) for s in dict.fromkeys(self.done[key])}
            text = ", ".join(f"{n} {s}" for s, n in counts.items())
            print(f"  {framework:<15} {name:<23} {text}", file=sys.stderr, flush=True)


def run(args) -> int:
    names, error = _names(args)
    if error:
        print(f"cnnref matrix: {error}", file=sys.stderr)
        return 2
    frameworks, ops = names
    settings = Settings(tuple(ops), args.seed, args.draws, args.timeout, args.deadline)
    total = {op: len(matrix_cases(REGISTRY[op], args.seed, args.draws)) for op in ops}
    print(f"cnnref matrix: {len(frameworks)} framework(s), {len(ops)} function(s), "
          f"{sum(total.values())} cases each", file=sys.stderr)
    data = run_matrix(targets_of(frameworks), settings, _Progress(total))
    out = Path(args.out).resolve()
    written = report.write(data, out, args.json)
    runs = sorted(p for p in (out / "runs").glob("*") if p.is_dir())
    if runs:     # the dashboard gathers every section: re-render it with the latest run
        written += write_reports(runs[-1], out, None)
    else:
        print(f"no report run under {out}/runs: `cnnref report` adds the matrix to "
              "index.html", file=sys.stderr)
    for path in written:
        print(f"wrote {path}", file=sys.stderr)
    print(report.summary(data))
    return 0
