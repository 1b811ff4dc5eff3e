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
    "MAX_FIXED_BITS",
    "SUFFIXES",
    "FormatKind",
    "NumberFormat",
    "Overflow",
    "Rounding",
    "holds_every_value",
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
MAX_FIXED_BITS = 64
"""The widest fixed-point format: its codes are int64 (``epur.numerics.quantize``)."""


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
    if match is None:
        raise ValueError(f"number format must be {ALLOWED}, not {text!r}")
    int_bits, frac_bits = int(match.group(1)), int(match.group(2))
    if int_bits < 1 or int_bits + frac_bits > MAX_FIXED_BITS:
        raise ValueError(
            f"fixed-point formats qM.N need M >= 1 (the sign bit) and M + N <= "
            f"{MAX_FIXED_BITS} (two's complement codes are int64), not {text!r}"
        )
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


def holds_every_value(outer: NumberFormat, inner: NumberFormat) -> bool:
    """Whether every finite value of ``inner`` is exactly a value of ``outer``.

    Floats in floats: at least as many exponent and fraction bits. Fixed point in
    fixed point: at least as many integer and fraction bits. ``qM.N`` (``B = M + N``
    bits) in a float of ``m`` fraction bits: the ``B - 1`` magnitude bits of a code
    fit its ``m + 1``-bit significand, ``2**(M-1)`` its largest binade and ``2**-N``
    its smallest subnormal. A float of ``m`` fraction bits in ``qM.N``: its largest
    value below ``2**(M-1)`` (``M >= emax + 2``) and its smallest subnormal
    ``2**(emin - m)`` on the grid (``N >= m - emin``): q17.24 holds fp16. int8, whose
    values depend on a per-tensor scale, neither holds nor is held by anything but int8.
    """
    if outer.kind is FormatKind.INT or inner.kind is FormatKind.INT:
        return outer.kind is inner.kind
    if inner.kind is FormatKind.FLOAT:
        emax = (1 << (inner.exponent_bits - 1)) - 1
        if outer.kind is FormatKind.FIXED:
            return outer.int_bits >= emax + 2 and outer.frac_bits >= inner.mantissa_bits + emax - 1
        return (
            outer.exponent_bits >= inner.exponent_bits
            and outer.mantissa_bits >= inner.mantissa_bits
        )
    if outer.kind is FormatKind.FIXED:
        return outer.int_bits >= inner.int_bits and outer.frac_bits >= inner.frac_bits
    emax = (1 << (outer.exponent_bits - 1)) - 1
    return (
        inner.bits - 1 <= outer.mantissa_bits + 1
        and inner.int_bits - 1 <= emax
        and inner.frac_bits <= outer.mantissa_bits + emax - 1
    )
