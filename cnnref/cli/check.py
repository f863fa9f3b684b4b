"""`cnnref check IMPL`: verify your own implementation against the reference.

IMPL is a .py file, a package directory, a dotted module name, or a built-in framework
adapter by its short name (torch, jax, tensorflow, onnxruntime, onnx-reference, tinygrad,
mlx, paddle), defining any of the reference's public functions (conv2d, conv2d_backward, conv_output_size, ...) with the same
names and signatures. Exit status: 0 all agree, 1 any disagreement, 2 usage or import error.
"""
from __future__ import annotations

import argparse
import ast
import json
import sys

from cnnref.verification.check.report import exit_status, render
from cnnref.verification.check.runner import RunOptions, run_check
from cnnref.verification.operators.registry import CHECKABLE


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "check", help="check your own implementation against the reference",
        description=__doc__.split("\n\n", 1)[1])
    # IMPL is optional to argparse only so that `--ops conv2d IMPL` works: --ops takes
    # several values, and argparse would hand it IMPL too; split_ops takes it back.
    p.add_argument("impl", metavar="IMPL", nargs="?", help="module: file path or dotted name")
    p.add_argument("--ops", nargs="+", metavar="OP", action="extend",
                   help="functions to check, by name, space- or comma-separated "
                        "(default: every checkable function)")
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
    p.add_argument("--assume", action="append", metavar="KEY=VALUE", default=[],
                   help="declare what the implementation does not support, as the keyword's "
                        "default it always uses (padding=0, ceil_mode=False, bias=None): "
                        "those cases are not run and are listed as not covered (repeatable)")
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


def split_ops(impl: str | None, ops: list[str] | None) -> tuple[str | None, list[str]]:
    """(IMPL, the function names) from the parsed arguments: `--ops conv2d my_conv.py`
    leaves IMPL None and my_conv.py the last of the ops, which is taken back as IMPL."""
    wanted = [n for op in ops or [] for n in op.split(",") if n]
    if impl is None and wanted and wanted[-1] not in CHECKABLE:
        impl = wanted.pop()
    return impl, wanted


def parse_assume(items: list) -> dict:
    """['padding=0', 'ceil_mode=False'] -> {'padding': 0, 'ceil_mode': False}."""
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"--assume {item!r}: expected KEY=VALUE, e.g. padding=0")
        try:
            out[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            raise ValueError(f"--assume {item!r}: {value!r} is not a Python literal") from None
    return out


def _options(args) -> RunOptions | None:
    """The run's options from the arguments; None (said on stderr) when they are wrong."""
    if args.max_examples < 1 or args.timeout <= 0:
        print("cnnref check: --max-examples and --timeout must be positive", file=sys.stderr)
        return None
    try:
        assume = parse_assume(args.assume)
    except ValueError as exc:
        print(f"cnnref check: {exc}", file=sys.stderr)
        return None
    opts = RunOptions(args.max_examples, args.seed, args.timeout, args.budget, assume=assume)
    if args.max_memory is not None:
        opts.max_memory = args.max_memory
    return opts


def run(args) -> int:
    names = list(CHECKABLE)
    args.impl, wanted = split_ops(args.impl, args.ops)
    if args.impl is None:
        print("cnnref check: IMPL is required: a .py file, a package directory or a dotted "
              "module name (cnnref check --help)", file=sys.stderr)
        return 2
    if args.ops:
        unknown = sorted(set(wanted) - set(names))
        if unknown or not wanted:
            print(f"cnnref check: unknown function(s) {unknown}; checkable: {names}",
                  file=sys.stderr)
            return 2
        names = [n for n in names if n in wanted]
    opts = _options(args)
    if opts is None:
        return 2
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
