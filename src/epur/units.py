"""Unit helpers shared by every part: SI inside, byte sizes parsed at the edges."""

from __future__ import annotations

import re
from fractions import Fraction

__all__ = ["GIB", "KIB", "MIB", "ceil_div", "parse_bytes", "si"]

KIB = 1024
MIB = 1024 * KIB
GIB = 1024 * MIB

_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMG]i?B|B)?\s*$", re.IGNORECASE)
_FACTORS = {
    "b": 1,
    "kib": KIB,
    "mib": MIB,
    "gib": GIB,
    "kb": 1000,
    "mb": 1000**2,
    "gb": 1000**3,
}


def ceil_div(a: int, b: int) -> int:
    """``ceil(a / b)`` for integers ``a >= 0`` and ``b > 0``, exactly."""
    return -(-a // b)


def parse_bytes(value: int | str) -> int:
    """Parse a byte count: an int, or a string such as ``"2MiB"``, ``"8 KiB"``, ``"6291456"``.

    Binary suffixes (KiB, MiB, GiB) are powers of 1024, decimal ones (kB, MB, GB) of 1000.
    Raises ``ValueError`` for anything else, or for a size that is not a whole number of bytes.
    """
    if isinstance(value, bool):
        raise ValueError(f"expected a byte count, not {value!r}")
    if isinstance(value, int):
        return value
    match = _SIZE_RE.match(value)
    if match is None:
        raise ValueError(f"expected a byte count such as 8192, '8KiB' or '2MiB', not {value!r}")
    number, suffix = match.groups()
    total = Fraction(number) * _FACTORS[(suffix or "B").lower()]  # exact: 4.1GB is whole
    if total.denominator != 1:
        raise ValueError(f"{value!r} is not a whole number of bytes")
    return int(total)


_SI_PREFIXES = ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"), (1.0, ""),
                (1e-3, "m"), (1e-6, "µ"), (1e-9, "n"))  # fmt: skip


def si(value: float | None, unit: str) -> str:
    """``value`` with an SI prefix and 3 significant figures (``172 GB/s``, ``9.96 ms``,
    ``767 µs``); ``n/a`` for ``None``; below a nano unit, plain ``%g``."""
    if value is None:
        return "n/a"
    for scale, prefix in _SI_PREFIXES:
        if abs(value) >= scale:
            return f"{value / scale:.3g} {prefix}{unit}"
    return f"{value:.3g} {unit}"
