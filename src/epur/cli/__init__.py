"""The ``epur`` command line: thin subcommands over the library.

Every user mistake ends in one line on stderr and exit code 2; outputs are written
through a temporary file and a rename, so a failed run leaves nothing partial. Each
subcommand lives in its own module, imported only when it runs: ``epur --help``
loads no numerical library.

Exit codes: 0 success, 2 a user mistake (one line on stderr), 130 interrupted
(Ctrl-C, at any moment: one line), 1 an internal error (a bug: one line, and the
traceback with ``EPUR_DEBUG=1``).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from importlib import import_module

__all__ = ["COMMANDS", "main", "one_line"]

COMMANDS = (
    "simulate", "reproduce", "size", "run", "sweep", "networks", "rtl", "compare", "baseline",
)  # fmt: skip
MAX_MESSAGE = 600  # characters of an error line; longer messages are cut with "..."


def one_line(message: str, limit: int = MAX_MESSAGE) -> str:
    """``message`` on one line (runs of white space folded) of at most ``limit`` characters."""
    text = " ".join(message.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``epur`` command line; returns the exit code."""
    command = "epur"
    try:
        from epur import __version__
        from epur.cli._parser import build_parser

        args = build_parser(__version__).parse_args(argv)
        args.__dict__.pop("_given", None)
        command = f"epur {args.command}"
        return _run(command, args)
    except KeyboardInterrupt:
        print(f"{command}: interrupted", file=sys.stderr)
        return 130


def _run(command: str, args: argparse.Namespace) -> int:
    from epur.errors import EpurError

    try:
        import_module(f"epur.cli.{args.command}").main(args)
    except EpurError as exc:
        print(f"{command}: error: {one_line(str(exc))}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # e.g. `epur networks | head -1`: the reader has gone
        _silence_stdout()
        return 0
    except (KeyboardInterrupt, SystemExit):
        raise
    except Exception as exc:
        if os.environ.get("EPUR_DEBUG"):
            raise
        what = one_line(f"{type(exc).__name__}: {exc}", 300)
        print(
            f"{command}: internal error ({what}); this is a bug in epur: please report it, "
            "with the command; EPUR_DEBUG=1 shows the traceback",
            file=sys.stderr,
        )
        return 1
    return 0


def _silence_stdout() -> None:
    """After a broken pipe, point stdout at /dev/null so that exiting does not fail again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout is not a real file (tests capture it)
        pass
    finally:
        os.close(devnull)
