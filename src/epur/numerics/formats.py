"""Number formats: their names, their widths and the grammar that parses them.

This module is the single definition of the formats E-PUR's datapath can use
(DESIGN.md section 3). The timing model only needs their widths; the functional
model adds their arithmetic on top of these same objects.

Grammar (case-insensitive):

``fp32``
    IEEE 754 binary32 (8 exponent bits, 23 fraction bits).
``fp16``
    IEEE 754 binary16 (5 exponent bits, 10 fraction bits).
``bf16``
    bfloat16 (8 exponent bits, 7 fraction bits).
``int8``
    8-bit two's complement integers with a per-tensor scale.
``qM.N``
    Two's complement fixed point with ``M`` integer bits (the sign bit included)
    and ``N`` fraction bits: ``M + N`` bits in all, ``M >= 1``, ``N >= 0``,
    ``M + N <= 64``. ``q8.8`` is a 16-bit format with a resolution of 2**-8.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

__all__ = ["FormatKind", "NumberFormat", "parse_format"]


class FormatKind(StrEnum):
    """The family a number format belongs to."""

    FLOAT = "float"
    FIXED = "fixed"
    INT = "int"


@dataclass(frozen=True, slots=True)
class NumberFormat:
    """A number format, identified by its canonical ``name``.

    ``bits`` is the storage width. For ``FLOAT`` formats ``exponent_bits`` and
    ``mantissa_bits`` (stored fraction bits) are set; for ``FIXED`` formats
    ``int_bits`` (sign included) and ``frac_bits``; ``INT`` is int8 with a scale.
    """

    name: str
    kind: FormatKind
    bits: int
    exponent_bits: int = 0
    mantissa_bits: int = 0
    int_bits: int = 0
    frac_bits: int = 0

    def __str__(self) -> str:
        return self.name


_FLOATS = {
    "fp32": NumberFormat("fp32", FormatKind.FLOAT, 32, exponent_bits=8, mantissa_bits=23),
    "fp16": NumberFormat("fp16", FormatKind.FLOAT, 16, exponent_bits=5, mantissa_bits=10),
    "bf16": NumberFormat("bf16", FormatKind.FLOAT, 16, exponent_bits=8, mantissa_bits=7),
    "int8": NumberFormat("int8", FormatKind.INT, 8, int_bits=8),
}
_FIXED_RE = re.compile(r"^q(\d+)\.(\d+)$")
ALLOWED = "fp32, fp16, bf16, int8 or qM.N (fixed point, M integer bits with the sign, N fraction)"


def parse_format(text: str) -> NumberFormat:
    """Parse a format name such as ``"fp16"`` or ``"q8.8"``; ``ValueError`` if unknown."""
    key = text.strip().lower()
    if key in _FLOATS:
        return _FLOATS[key]
    match = _FIXED_RE.match(key)
    if match is not None:
        int_bits, frac_bits = int(match.group(1)), int(match.group(2))
        if int_bits >= 1 and int_bits + frac_bits <= 64:
            return NumberFormat(
                f"q{int_bits}.{frac_bits}",
                FormatKind.FIXED,
                int_bits + frac_bits,
                int_bits=int_bits,
                frac_bits=frac_bits,
            )
    raise ValueError(f"number format must be {ALLOWED}, not {text!r}")
