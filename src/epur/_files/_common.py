"""What reading and writing share: how paths, sizes and OS errors are shown."""

from __future__ import annotations

import contextlib
import os
import signal
import stat
from collections.abc import Iterator

__all__ = ["Pathish", "held_signals", "kind", "one_line", "reason", "shown", "size_text"]

Pathish = str | os.PathLike[str]


def shown(path: Pathish) -> str:
    """``path`` as an error message shows it: as is, or quoted (``repr``) when it holds a
    newline, another control character or bytes that are not text (or is empty), so every
    message is one line and says where the path starts and ends."""
    text = os.fspath(path)
    return text if text and text.isprintable() else repr(text)


def size_text(n: int) -> str:
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= scale:
            return f"{n / scale:.4g} {unit}"
    return f"{n} bytes"


def kind(mode: int) -> str:
    kinds = {stat.S_ISFIFO: "a FIFO (named pipe)", stat.S_ISCHR: "a character device",
             stat.S_ISBLK: "a block device", stat.S_ISSOCK: "a socket"}  # fmt: skip
    return next((name for test, name in kinds.items() if test(mode)), "a special file")


def reason(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."


@contextlib.contextmanager
def held_signals() -> Iterator[None]:
    """Hold Ctrl-C (and SIGTERM, SIGHUP) until the block is done: its steps happen all
    together or, on an error, not at all."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    held = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}
    before = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, before)
