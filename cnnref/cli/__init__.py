"""The `cnnref` command: a thin layer over the verification, benchmark and report modules.

Each subcommand lives in its own module of this package, which defines
`register(subparsers)` (adding its parser, with `set_defaults(run=<function taking the
parsed args, returning an exit code>)`). None of them imports torch at module level, so
`cnnref --help` starts in a fraction of a second.
"""
from __future__ import annotations

import argparse
import os
import sys

import cnnref
from cnnref.cli import check, matrix, report, summary, train

# the subcommands, in the order `cnnref --help` lists them
COMMANDS = (summary, train, report, check, matrix)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cnnref",
        description="Reference implementations of the mathematics of CNNs, verified "
                    "against PyTorch. See README.md.")
    parser.add_argument("--version", action="version",
                        version=f"cnnref {cnnref.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in COMMANDS:
        command.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "run", None) is None:
        parser.print_help()
        return 0 if args.command is None else 2
    try:
        status = int(args.run(args) or 0)
        sys.stdout.flush()      # here, where a closed pipe can still be caught
        return status
    except BrokenPipeError:
        # the reader went away (`cnnref summary lenet5 --json | head`): stop quietly. stdout
        # is pointed at devnull so that the interpreter's final flush cannot fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    sys.exit(main())
