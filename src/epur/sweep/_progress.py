"""A sweep's progress bar with its rate and ETA, on stderr."""

from __future__ import annotations

import time
from typing import TextIO

__all__ = ["Progress"]


def _clock(seconds: float) -> str:
    s = int(seconds + 0.5)
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"


class Progress:
    """``done/total`` points, a bar, points per second and the time left. On a terminal
    the line is redrawn (at most ten times a second); elsewhere a line is written every
    tenth of the way."""

    def __init__(self, total: int, stream: TextIO | None, width: int = 30) -> None:
        self.total, self.stream, self.width = total, stream, width
        self.done = 0
        self.start = self._last = time.monotonic()
        self._tty = stream is not None and stream.isatty()
        self._step = 0

    def add(self, n: int = 1) -> None:
        self.done += n
        if self.stream is None:
            return
        now = time.monotonic()
        step = self.done * 10 // max(1, self.total)
        if self._tty and (now - self._last >= 0.1 or self.done == self.total):
            self._last = now
            self.stream.write("\r" + self.line(now))
            self.stream.flush()
        elif not self._tty and (step > self._step or self.done == self.total):
            self._step = step
            self.stream.write(self.line(now) + "\n")
            self.stream.flush()

    def line(self, now: float) -> str:
        elapsed = max(now - self.start, 1e-9)
        rate = self.done / elapsed
        filled = self.width * self.done // max(1, self.total)
        bar = "#" * filled + "-" * (self.width - filled)
        left = (self.total - self.done) / rate if rate > 0 else 0.0
        pct = 100 * self.done // max(1, self.total)
        return (
            f"[{bar}] {self.done}/{self.total} points ({pct}%) {rate:.1f}/s "
            f"elapsed {_clock(elapsed)} ETA {_clock(left)}"
        )

    def close(self) -> None:
        if self.stream is not None and self._tty and self.total:
            self.stream.write("\n")
            self.stream.flush()
