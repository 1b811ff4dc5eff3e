"""Number formats: their names, their widths and the grammar that parses them.

This module is the single definition of the formats E-PUR's datapath can use
(README, "The datapath, exactly"). The timing model only needs their widths; the arithmetic
on these same objects lives in ``epur.numerics.quantize`` (rounding to a format)
and ``epur.numerics.activations`` (the MFU's sigmoid and tanh).

Grammar (case-insensitive, surrounding blanks ignored):

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
``qM.N:<rounding>:<overflow>``
    Fixed point with an explicit rounding mode (``:rne``, round to nearest, ties
    to even, the default; ``:rna``, round to nearest, ties away from zero;
    ``:trunc``, toward minus infinity, i.e. dropping the low bits of a two's
    complement number) and/or overflow mode (``:sat``, saturate to the extreme
    codes, the default; ``:wrap``, two's complement wrap-around), at most one of
    each, in either order: ``q8.8:trunc:wrap`` = ``q8.8:wrap:trunc``.

The canonical ``name`` omits the defaults and puts the rounding first:
``q8.8``, ``q8.8:trunc``, ``q8.8:wrap``, ``q8.8:trunc:wrap``. Floating-point
formats always round to nearest, ties to even, and overflow to infinity
(IEEE 754); they take no suffix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "ALLOWED",
    "SUFFIXES",
    "FormatKind",
    "NumberFormat",
    "Overflow",
    "Rounding",
    "parse_format",
]


class FormatKind(StrEnum):
    """The family a number format belongs to."""

    FLOAT = "float"
    FIXED = "fixed"
    INT = "int"


class Rounding(StrEnum):
    """How a fixed-point conversion drops the bits below the format's resolution."""

    NEAREST_EVEN = "rne"
    """Round to nearest; a tie goes to the even code."""
    NEAREST_AWAY = "rna"
    """Round to nearest; a tie goes away from zero."""
    TRUNCATE = "trunc"
    """Round toward minus infinity (drop the low bits of a two's complement number)."""


class Overflow(StrEnum):
    """What a fixed-point conversion does with a value outside the format's range."""

    SATURATE = "sat"
    """Clip to the most negative or the most positive code."""
    WRAP = "wrap"
    """Keep the low ``M + N`` bits of the two's complement code (modulo 2**(M+N))."""


@dataclass(frozen=True, slots=True)
class NumberFormat:
    """A number format, identified by its canonical ``name``.

    ``bits`` is the storage width. For ``FLOAT`` formats ``exponent_bits`` and
    ``mantissa_bits`` (stored fraction bits) are set; for ``FIXED`` formats
    ``int_bits`` (sign included), ``frac_bits``, ``rounding`` and ``overflow``;
    ``INT`` is int8 with a scale. ``rounding`` and ``overflow`` mean something for
    ``FIXED`` formats only (floats round to nearest even and overflow to infinity).
    """

    name: str
    kind: FormatKind
    bits: int
    exponent_bits: int = 0
    mantissa_bits: int = 0
    int_bits: int = 0
    frac_bits: int = 0
    rounding: Rounding = Rounding.NEAREST_EVEN
    overflow: Overflow = Overflow.SATURATE

    def __str__(self) -> str:
        return self.name


_FLOATS = {
    "fp32": NumberFormat("fp32", FormatKind.FLOAT, 32, exponent_bits=8, mantissa_bits=23),
    "fp16": NumberFormat("fp16", FormatKind.FLOAT, 16, exponent_bits=5, mantissa_bits=10),
    "bf16": NumberFormat("bf16", FormatKind.FLOAT, 16, exponent_bits=8, mantissa_bits=7),
    "int8": NumberFormat("int8", FormatKind.INT, 8, int_bits=8),
}
_FIXED_RE = re.compile(r"^q(\d+)\.(\d+)$")
_ROUNDINGS = {mode.value: mode for mode in Rounding}
_OVERFLOWS = {mode.value: mode for mode in Overflow}
ALLOWED = (
    "fp32, fp16, bf16, int8 or qM.N[:rne|:rna|:trunc][:sat|:wrap] "
    "(fixed point, M integer bits with the sign, N fraction)"
)
SUFFIXES = ":rne, :rna, :trunc, :sat or :wrap"


def parse_format(text: str) -> NumberFormat:
    """Parse a format name such as ``"fp16"``, ``"q8.8"`` or ``"q8.8:trunc:wrap"``.

    Raises
    ------
    ValueError
        If the base name is not one of :data:`ALLOWED`, or a suffix is unknown,
        repeated, or given to a format other than fixed point.
    """
    base, *suffixes = text.strip().lower().split(":")
    if base in _FLOATS:
        if suffixes:
            raise ValueError(
                f"number format suffixes are for qM.N (fixed point) only, not {text!r}"
            )
        return _FLOATS[base]
    match = _FIXED_RE.match(base)
    if match is None or not 1 <= int(match.group(1)) <= 64 - int(match.group(2)):
        raise ValueError(f"number format must be {ALLOWED}, not {text!r}")
    int_bits, frac_bits = int(match.group(1)), int(match.group(2))
    rounding, overflow = _parse_suffixes(suffixes, text)
    name = f"q{int_bits}.{frac_bits}"
    name += "" if rounding is Rounding.NEAREST_EVEN else f":{rounding.value}"
    name += "" if overflow is Overflow.SATURATE else f":{overflow.value}"
    return NumberFormat(
        name,
        FormatKind.FIXED,
        int_bits + frac_bits,
        int_bits=int_bits,
        frac_bits=frac_bits,
        rounding=rounding,
        overflow=overflow,
    )


def _parse_suffixes(suffixes: list[str], text: str) -> tuple[Rounding, Overflow]:
    """The rounding and overflow modes named by ``suffixes`` (split at the colons)."""
    roundings = [_ROUNDINGS[raw] for raw in suffixes if raw in _ROUNDINGS]
    overflows = [_OVERFLOWS[raw] for raw in suffixes if raw in _OVERFLOWS]
    for raw in suffixes:
        if raw not in _ROUNDINGS and raw not in _OVERFLOWS:
            raise ValueError(
                f"number format suffix must be {SUFFIXES}, not {':' + raw!r} in {text!r}"
            )
    if len(roundings) > 1 or len(overflows) > 1:
        raise ValueError(
            "number format suffixes must be at most one rounding (:rne, :rna, :trunc) "
            f"and at most one overflow (:sat, :wrap), not {text!r}"
        )
    rounding = roundings[0] if roundings else Rounding.NEAREST_EVEN
    overflow = overflows[0] if overflows else Overflow.SATURATE
    return rounding, overflow
