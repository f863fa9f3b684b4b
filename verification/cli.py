"""The `cnnref` command: a thin layer over the verification, benchmark and report modules.

Each subcommand lives in its own module, which defines `register(subparsers)` (adding its
parser, with `set_defaults(run=<function taking the parsed args, returning an exit code>)`).
Modules are imported lazily, so `cnnref --help` does not import torch.
"""
from __future__ import annotations

import argparse
import importlib
import sys

import reference

# subcommand name -> module defining register(subparsers)
COMMANDS: dict[str, str] = {
    "summary": "verification.summary_cli",
    "train": "verification.train_cli",
    "report": "verification.report_cli",
    "check": "verification.check_cli",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cnnref",
        description="Reference implementations of the mathematics of CNNs, verified "
                    "against PyTorch. See README.md.")
    parser.add_argument("--version", action="version",
                        version=f"cnnref {reference.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module in COMMANDS.items():
        importlib.import_module(module).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "run", None) is None:
        parser.print_help()
        return 0 if args.command is None else 2
    return int(args.run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
