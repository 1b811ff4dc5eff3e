"""The ``epur`` command line: thin subcommands over the library.

Every user mistake ends in one line on stderr and exit code 2; outputs are written
through a temporary file and a rename, so a failed run leaves nothing partial. Each
subcommand lives in its own module, imported only when it runs: ``epur --help``
loads no numerical library.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from importlib import import_module

__all__ = ["main"]

COMMANDS = ("simulate", "reproduce", "size", "run", "networks")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``epur`` command line; returns the exit code."""
    from epur import __version__
    from epur.cli._parser import build_parser

    args = build_parser(__version__).parse_args(argv)
    args.__dict__.pop("_given", None)
    from epur.errors import EpurError

    command = import_module(f"epur.cli.{args.command}")
    try:
        command.main(args)
    except EpurError as exc:
        print(f"epur {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"epur {args.command}: interrupted", file=sys.stderr)
        return 130
    return 0
