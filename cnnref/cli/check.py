"""`cnnref check IMPL`: verify your own implementation against the reference.

IMPL is a .py file, a package directory or a dotted module name defining any of the
reference's public functions (conv2d, conv2d_backward, conv_output_size, ...) with the same
names and signatures. Exit status: 0 all agree, 1 any disagreement, 2 usage or import error.
"""
from __future__ import annotations

import argparse
import json
import sys

from cnnref.verification.check.report import exit_status, render
from cnnref.verification.check.runner import RunOptions, run_check
from cnnref.verification.operators.registry import CHECKABLE


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "check", help="check your own implementation against the reference",
        description=__doc__.split("\n\n", 1)[1])
    p.add_argument("impl", metavar="IMPL", help="module: file path or dotted name")
    p.add_argument("--ops", nargs="+", metavar="OP",
                   help="functions to check (default: every checkable function)")
    p.add_argument("--max-examples", type=int, default=30,
                   help="hypothesis examples per family (default 30)")
    p.add_argument("--seed", type=int, default=0, help="hypothesis seed (default 0)")
    p.add_argument("--timeout", type=float, default=10.0,
                   help="seconds one call may take before it counts as hung (default 10)")
    p.add_argument("--budget", type=float, default=30.0,
                   help="soft seconds for the hypothesis families of all functions "
                        "(default 30)")
    p.add_argument("--max-memory", metavar="SIZE", type=_size, default=None,
                   help="address-space limit of the process running IMPL, e.g. 2G or 512M "
                        "(default a quarter of the machine's memory; 0: none)")
    p.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    p.set_defaults(run=run)


def _size(text: str) -> int:
    """'2G' -> 2 * 2**30 bytes; K, M, G suffixes (powers of 1024) or plain bytes."""
    units = {"K": 2**10, "M": 2**20, "G": 2**30}
    t = text.strip().upper().removesuffix("B").removesuffix("I")
    try:
        value = float(t[:-1]) * units[t[-1]] if t and t[-1] in units else float(t)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (e.g. 2G, 512M)") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"a size must be >= 0, got {text!r}")
    return int(value)


def run(args) -> int:
    names = list(CHECKABLE)
    if args.ops:
        wanted = [n for op in args.ops for n in op.split(",") if n]
        unknown = sorted(set(wanted) - set(names))
        if unknown:
            print(f"cnnref check: unknown function(s) {unknown}; checkable: {names}",
                  file=sys.stderr)
            return 2
        names = [n for n in names if n in wanted]
    if args.max_examples < 1 or args.timeout <= 0:
        print("cnnref check: --max-examples and --timeout must be positive", file=sys.stderr)
        return 2
    opts = RunOptions(args.max_examples, args.seed, args.timeout, args.budget)
    if args.max_memory is not None:
        opts.max_memory = args.max_memory
    report = run_check(args.impl, names, opts)
    print(render(args.impl, report, opts))
    status = exit_status(report)
    if status == 2 and "import_error" not in report:
        print(f"cnnref check: {args.impl} defines none of {names}", file=sys.stderr)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"impl": args.impl, "exit_status": status, **report}, f, indent=1,
                      default=str)
    return status
