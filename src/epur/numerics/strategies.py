"""Hypothesis strategies for E-PUR's number formats (test helpers shipped with the package).

Importing this module needs ``hypothesis`` (a test dependency); ``epur.numerics``
does not import it.
"""

from __future__ import annotations

import math

from hypothesis import strategies as st

from epur.numerics.formats import FormatKind, NumberFormat, Overflow, Rounding, parse_format
from epur.numerics.quantize import fixed_code_range, float_limits

__all__ = ["fixed_formats", "float_formats", "formats", "reals", "values"]

MAX_FIXED_BITS = 32


def float_formats() -> st.SearchStrategy[NumberFormat]:
    """fp32, fp16 and bf16."""
    return st.sampled_from([parse_format(name) for name in ("fp32", "fp16", "bf16")])


def fixed_formats(max_bits: int = MAX_FIXED_BITS) -> st.SearchStrategy[NumberFormat]:
    """``qM.N`` with ``M + N <= max_bits`` (at most 53) and every rounding and overflow mode."""
    if not 1 <= max_bits <= 53:
        raise ValueError(f"max_bits must be 1 to 53 (float64-exact values), not {max_bits!r}")

    @st.composite
    def build(draw: st.DrawFn) -> NumberFormat:
        bits = draw(st.integers(1, max_bits))
        int_bits = draw(st.integers(1, bits))
        rounding = draw(st.sampled_from(list(Rounding)))
        overflow = draw(st.sampled_from(list(Overflow)))
        return parse_format(f"q{int_bits}.{bits - int_bits}:{rounding}:{overflow}")

    return build()


def formats() -> st.SearchStrategy[NumberFormat]:
    """Every float format and fixed point up to 32 bits (all modes); not int8."""
    return st.one_of(float_formats(), fixed_formats())


def values(fmt: NumberFormat) -> st.SearchStrategy[float]:
    """Float64 values exactly representable in ``fmt``, extremes and zeros included.

    Floats: ``+-0``, subnormals, normals up to ``+-max_finite`` (no infinity or
    NaN). Fixed point: every code from the lowest to the highest, times ``2**-N``.
    """
    if fmt.kind is FormatKind.FLOAT:
        limits = float_limits(fmt)
        m = fmt.mantissa_bits
        emax_code = 2**fmt.exponent_bits - 2  # biased exponent of the largest binade

        def from_fields(sign: int, biased: int, fraction: int) -> float:
            exponent = max(biased, 1) + limits.emin - 1  # biased 0: subnormal, no hidden 1
            significand = fraction + (2**m if biased > 0 else 0)
            return math.ldexp(significand, exponent - m) * (-1.0 if sign else 1.0)

        fields = st.builds(
            from_fields, st.integers(0, 1), st.integers(0, emax_code), st.integers(0, 2**m - 1)
        )
        extremes = [limits.max_finite, limits.min_normal, limits.min_subnormal, 0.0]
        special = st.sampled_from(extremes + [-v for v in extremes])
        return st.one_of(special, fields)
    if fmt.kind is FormatKind.FIXED:
        if fmt.bits > 53:
            raise ValueError(f"values() covers fixed point up to 53 bits, not {fmt.name}")
        lowest, highest = fixed_code_range(fmt)
        edges = sorted(q for q in {lowest, highest, 0, -1, 1} if lowest <= q <= highest)
        codes = st.one_of(st.sampled_from(edges), st.integers(lowest, highest))
        return codes.map(lambda q: math.ldexp(q, -fmt.frac_bits))
    raise ValueError(f"values() covers float and fixed-point formats, not {fmt.name}")


def reals(max_exponent: int = 1023) -> st.SearchStrategy[float]:
    """Finite float64 values over a wide range of magnitudes (subnormals included).

    Half are log-uniform over exponents ``-1074..max_exponent`` with a random
    53-bit significand, half Hypothesis's own finite floats up to ``2**max_exponent``.
    """
    bound = math.ldexp(1.0, max_exponent) if max_exponent < 1024 else math.inf
    log_uniform = st.builds(
        lambda sign, significand, exponent: (
            math.ldexp(significand, exponent - 52) * (-1.0 if sign else 1.0)
        ),
        st.integers(0, 1),
        st.integers(2**52, 2**53 - 1),
        st.integers(-1074, max_exponent - 1),
    ).filter(math.isfinite)
    plain = st.floats(-bound, bound, allow_nan=False, allow_infinity=False)
    return st.one_of(log_uniform, plain)
