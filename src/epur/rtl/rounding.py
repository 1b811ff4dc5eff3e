"""Conversion of an exact two's complement value to a fixed-point format, in hardware.

``rounded(x, frac, fmt)`` is the circuit of ``epur.numerics.round_to_format`` for a
``qM.N`` format on an exact input: ``x`` is a signed integer worth ``x * 2**-frac``; the
result is the format's code ``c`` (signed, ``M + N`` bits), worth ``c * 2**-N``.

* Below the format's resolution (``frac > N``), with ``s = frac - N`` dropped bits,
  ``t = x >> s`` (an arithmetic shift: the floor) and ``r`` the dropped bits (unsigned):
  ``trunc``: ``t``; ``rne``: ``t + 1`` when ``r > 2**(s-1)``, or ``r == 2**(s-1)`` and
  ``t`` is odd; ``rna``: ``t + 1`` when ``r > 2**(s-1)``, or ``r == 2**(s-1)`` and
  ``x >= 0`` (a tie goes away from zero). ``frac <= N``: ``x << (N - frac)``, exact.
* Outside ``[-2**(M+N-1), 2**(M+N-1) - 1]``: ``sat`` clips to the nearest end, ``wrap``
  keeps the low ``M + N`` bits.
"""

from __future__ import annotations

from amaranth.hdl import Const, Mux, Value

from epur.numerics import FormatKind, NumberFormat, Overflow, Rounding

__all__ = ["rounded"]


def rounded(x: Value, frac: int, fmt: NumberFormat) -> Value:
    """The code of ``x * 2**-frac`` in the fixed-point ``fmt`` (signed, ``fmt.bits`` wide)."""
    if fmt.kind != FormatKind.FIXED:
        raise ValueError(f"the RTL rounds to fixed-point formats only, not {fmt.name}")
    x = x.as_signed()
    shift = frac - fmt.frac_bits
    if shift <= 0:
        y = x << -shift
    else:
        t = x >> shift
        r = x.as_unsigned()[:shift]
        half = Const(1 << (shift - 1), shift)
        if fmt.rounding is Rounding.TRUNCATE:
            y = t
        elif fmt.rounding is Rounding.NEAREST_EVEN:
            y = t + ((r > half) | ((r == half) & t[0]))
        else:  # NEAREST_AWAY
            y = t + ((r > half) | ((r == half) & ~x[-1]))
    if fmt.overflow is Overflow.SATURATE:
        lo, hi = -(1 << (fmt.bits - 1)), (1 << (fmt.bits - 1)) - 1
        y = Mux(y > hi, hi, Mux(y < lo, lo, y))  # then within the format: its low bits
    return y.as_unsigned()[: fmt.bits].as_signed()
