"""Rounding float64 values to E-PUR's number formats, bit-exactly and vectorised.

Every function here takes float64 (or int64 code) arrays of any shape and works
element by element, without Python loops. Each result is specified exactly, so
the functional model and the RTL can reproduce it bit for bit:

Floating point (``fp32``, ``fp16``, ``bf16``, any ``exponent_bits`` <= 11 and
``mantissa_bits`` <= 52)
    IEEE 754 round to nearest, ties to even, computed directly from the float64
    value (one rounding: never through an intermediate format). With ``m``
    fraction bits, ``emax = 2**(exponent_bits - 1) - 1`` and ``emin = 1 - emax``,
    a nonzero finite ``x`` with ``2**E <= |x| < 2**(E+1)`` has the quantum
    ``2**(max(E, emin) - m)`` (gradual underflow below ``2**emin``) and rounds to
    the nearest multiple of it, ties to the even multiple. A result whose
    magnitude exceeds the largest finite value ``(2 - 2**-m) * 2**emax`` becomes
    an infinity of the same sign (so ``max + half an ulp`` and above overflow,
    as in IEEE 754). ``+-0``, ``+-inf`` and NaN pass through; the sign of a zero
    result is the sign of ``x``.
Fixed point ``qM.N`` (``B = M + N`` bits)
    ``y = x * 2**N`` (exact), rounded to an integer by ``fmt.rounding``:
    ``rne`` nearest, ties to even; ``rna`` nearest, ties away from zero;
    ``trunc`` ``floor(y)`` (toward minus infinity). Then ``fmt.overflow``
    brings the integer into ``[-2**(B-1), 2**(B-1) - 1]``: ``sat`` clips to
    the nearer end, ``wrap`` keeps it modulo ``2**B`` (two's complement
    wrap-around of the rounded integer). The value is the code times
    ``2**-N``. NaN is a ``ValueError``; ``+-inf`` saturates (a ``ValueError``
    with ``wrap``). Zero results are ``+0.0``.
``int8``
    Symmetric per-tensor scale: :func:`int8_scale`, :func:`quantize_int8`,
    :func:`int8_codes`. :func:`round_to_format` refuses it.

Every value of a float format, and of a fixed format of up to 54 bits, is
exactly a float64. Wider fixed formats (up to 64 bits): :func:`to_fixed_int` is
still exact, :func:`from_fixed_int` rounds codes beyond ``2**53`` in magnitude
to the nearest float64, and :func:`round_to_format` is exact except for a
result saturated at the top code ``2**(B-1) - 1``, which is not a float64 (it
comes back as ``2**(M-1)``). Use the integer codes for bit-exact work there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from epur.numerics.formats import FormatKind, NumberFormat, Overflow, Rounding

__all__ = [
    "INT8_MAX",
    "FloatLimits",
    "fixed_code_range",
    "float_limits",
    "from_fixed_int",
    "int8_codes",
    "int8_scale",
    "quantize_int8",
    "round_to_format",
    "to_fixed_int",
]

INT8_MAX = 127
"""Largest int8 code used; codes are symmetric in [-127, 127] (-128 is unused)."""


@dataclass(frozen=True, slots=True)
class FloatLimits:
    """The extremes of a floating-point format (all exactly float64 values).

    Attributes
    ----------
    max_finite : float
        Largest finite value, ``(2 - 2**-m) * 2**emax``.
    min_normal : float
        Smallest positive normal value, ``2**emin``.
    min_subnormal : float
        Smallest positive subnormal value, ``2**(emin - m)``.
    emin, emax : int
        Exponents of the smallest and largest normal binades.
    """

    max_finite: float
    min_normal: float
    min_subnormal: float
    emin: int
    emax: int


def float_limits(fmt: NumberFormat) -> FloatLimits:
    """The limits of a ``FLOAT`` format.

    Raises
    ------
    ValueError
        For another kind of format, or a float format that does not fit float64.
    """
    if fmt.kind is not FormatKind.FLOAT:
        raise ValueError(f"float limits need a floating-point format, not {fmt.name!r}")
    e, m = fmt.exponent_bits, fmt.mantissa_bits
    if not (2 <= e <= 11 and 0 <= m <= 52):
        raise ValueError(
            f"floating-point formats must have 2..11 exponent and 0..52 fraction bits "
            f"(to fit float64), not {e} and {m} ({fmt.name!r})"
        )
    emax = 2 ** (e - 1) - 1
    emin = 1 - emax
    return FloatLimits(
        max_finite=float(np.ldexp(float(2 ** (m + 1) - 1), emax - m)),
        min_normal=float(np.ldexp(1.0, emin)),
        min_subnormal=float(np.ldexp(1.0, emin - m)),
        emin=emin,
        emax=emax,
    )


def fixed_code_range(fmt: NumberFormat) -> tuple[int, int]:
    """``(lowest, highest)`` two's complement code of a ``FIXED`` format ``qM.N``.

    That is ``(-2**(M+N-1), 2**(M+N-1) - 1)``; the values are these times ``2**-N``.
    """
    _require_fixed(fmt)
    return -(2 ** (fmt.bits - 1)), 2 ** (fmt.bits - 1) - 1


def round_to_format(x: ArrayLike, fmt: NumberFormat) -> NDArray[np.float64]:
    """The value of ``fmt`` nearest ``x`` (per the format's rounding), as float64.

    Parameters
    ----------
    x : array_like of float64
        Values to round (any shape, any unit: rounding is unit-free).
    fmt : NumberFormat
        ``FLOAT`` (IEEE round to nearest even, overflow to infinity) or ``FIXED``
        (``fmt.rounding`` then ``fmt.overflow``); see the module docstring.

    Returns
    -------
    ndarray of float64
        Same shape as ``x``; every element a value of ``fmt``.

    Raises
    ------
    ValueError
        For an ``INT`` format (use :func:`quantize_int8`), NaN in a fixed-point
        conversion, or an infinity with ``wrap``.
    """
    values = np.asarray(x, dtype=np.float64)
    if fmt.kind is FormatKind.FLOAT:
        native = _NATIVE.get((fmt.exponent_bits, fmt.mantissa_bits))
        if native is not None:  # numpy's casts from float64 are correctly rounded (RNE)
            with np.errstate(over="ignore"):
                return values.astype(native).astype(np.float64)
        return _round_float(values, fmt)
    if fmt.kind is FormatKind.FIXED:
        if _fast_fixed(fmt):
            return _round_fixed_rne_sat(values, fmt)
        return from_fixed_int(to_fixed_int(values, fmt), fmt)
    raise ValueError(
        f"{fmt.name} has a per-tensor scale: use quantize_int8(x, int8_scale(x)), "
        "not round_to_format"
    )


_NATIVE: dict[tuple[int, int], type[np.floating[Any]]] = {
    (8, 23): np.float32,
    (5, 10): np.float16,
}


def _fast_fixed(fmt: NumberFormat) -> bool:
    """Round-to-nearest-even with saturation, narrow enough to stay exact in float64."""
    return (
        fmt.rounding is Rounding.NEAREST_EVEN
        and fmt.overflow is Overflow.SATURATE
        and fmt.bits <= 53
    )


def _round_fixed_rne_sat(x: NDArray[np.float64], fmt: NumberFormat) -> NDArray[np.float64]:
    """The common fixed-point case in a few in-place array operations (same result as the
    codes: scaling by a power of two is exact, and float64 holds every code exactly)."""
    half = 2.0 ** (fmt.bits - 1)
    with np.errstate(over="ignore"):  # beyond float64: inf, which saturates
        codes = np.rint(x * 2.0**fmt.frac_bits)
    if np.isnan(codes).any():
        raise ValueError(f"cannot convert NaN to fixed point {fmt.name}")
    np.minimum(codes, half - 1, out=codes)
    np.maximum(codes, -half, out=codes)
    codes += 0.0  # -0.0 -> +0.0, as the integer code 0 gives
    codes *= 2.0**-fmt.frac_bits
    return codes


def _round_float(x: NDArray[np.float64], fmt: NumberFormat) -> NDArray[np.float64]:
    """IEEE 754 round to nearest even of float64 ``x`` into a float format (one rounding)."""
    limits = float_limits(fmt)
    _, exponent = np.frexp(x)  # |x| = f * 2**exponent, 0.5 <= f < 1: E = exponent - 1
    shift = np.maximum(exponent - 1, limits.emin) - fmt.mantissa_bits  # quantum 2**shift
    with np.errstate(over="ignore"):  # 2**1024 (an fp64-sized format's overflow) -> inf
        rounded = np.ldexp(np.rint(np.ldexp(x, -shift)), shift)  # both ldexp exact
    overflowed = np.abs(rounded) > limits.max_finite
    return np.where(overflowed, np.copysign(np.inf, x), rounded)


def to_fixed_int(x: ArrayLike, fmt: NumberFormat) -> NDArray[np.int64]:
    """The two's complement codes of ``x`` in the ``FIXED`` format ``fmt`` (int64).

    ``round(x * 2**N)`` by ``fmt.rounding``, then ``fmt.overflow`` into
    ``[-2**(B-1), 2**(B-1) - 1]`` (module docstring). Exact for all widths up
    to 64 bits.

    Raises
    ------
    ValueError
        If ``fmt`` is not fixed point, ``x`` holds NaN, or ``x`` holds an infinity
        and ``fmt`` wraps.
    """
    _require_fixed(fmt)
    values = np.asarray(x, dtype=np.float64)
    if np.isnan(values).any():
        raise ValueError(f"cannot convert NaN to fixed point {fmt.name}")
    wrap = fmt.overflow is Overflow.WRAP
    if wrap:
        if np.isinf(values).any():
            raise ValueError(f"cannot wrap an infinity into fixed point {fmt.name}")
        # x - k * 2**M for an integer k (fmod is exact): the same code modulo 2**B, and
        # the sign is kept, so every rounding mode rounds the same way.
        values = np.fmod(values, 2.0**fmt.int_bits)
    with np.errstate(over="ignore"):  # beyond float64: inf, which saturates
        scaled = np.ldexp(values, fmt.frac_bits)
    integral = _round_integral(scaled, fmt.rounding)
    return _wrap(integral, fmt.bits) if wrap else _saturate(integral, fmt.bits)


def _round_integral(y: NDArray[np.float64], rounding: Rounding) -> NDArray[np.float64]:
    """``y`` rounded to an integer (still float64, exactly) in the given mode."""
    if rounding is Rounding.NEAREST_EVEN:
        return np.rint(y)
    if rounding is Rounding.TRUNCATE:
        return np.floor(y)
    toward_zero = np.trunc(y)
    with np.errstate(invalid="ignore"):  # inf - inf: NaN, compares False, inf stays
        away = np.abs(y - toward_zero) >= 0.5  # y - trunc(y) is exact (y - floor(y) is not)
    return np.where(away, toward_zero + np.sign(y), toward_zero)


def _saturate(integral: NDArray[np.float64], bits: int) -> NDArray[np.int64]:
    """Clip integer-valued floats into the ``bits``-bit two's complement range, as int64."""
    half = 2.0 ** (bits - 1)  # exact; 2**(bits-1) - 1 may not be
    inside = (integral >= -half) & (integral < half)
    codes = np.where(inside, integral, 0.0).astype(np.int64)  # exact: |value| < 2**63
    codes = np.where(integral >= half, np.int64(2 ** (bits - 1) - 1), codes)
    return np.where(integral < -half, np.int64(-(2 ** (bits - 1))), codes)


def _wrap(integral: NDArray[np.float64], bits: int) -> NDArray[np.int64]:
    """Integer-valued floats modulo ``2**bits``, in two's complement, as int64."""
    modulus, half = 2.0**bits, 2.0 ** (bits - 1)
    residue = np.fmod(integral, modulus)  # exact, in (-2**bits, 2**bits)
    residue = np.where(residue >= half, residue - modulus, residue)  # exact (Sterbenz)
    residue = np.where(residue < -half, residue + modulus, residue)
    return residue.astype(np.int64)


def from_fixed_int(q: ArrayLike, fmt: NumberFormat) -> NDArray[np.float64]:
    """The values ``q * 2**-N`` of two's complement codes ``q`` in ``fmt`` (float64).

    Exact when ``|q| <= 2**53`` (always, for formats up to 54 bits); otherwise
    the nearest float64.

    Raises
    ------
    ValueError
        If ``fmt`` is not fixed point or a code is outside the format's range.
    """
    lowest, highest = fixed_code_range(fmt)
    codes = np.asarray(q, dtype=np.int64)
    if ((codes < lowest) | (codes > highest)).any():
        raise ValueError(f"{fmt.name} codes must be in [{lowest}, {highest}]")
    return np.ldexp(codes.astype(np.float64), -fmt.frac_bits)


def _require_fixed(fmt: NumberFormat) -> None:
    if fmt.kind is not FormatKind.FIXED:
        raise ValueError(f"this conversion needs a fixed-point format (qM.N), not {fmt.name!r}")


def int8_scale(x: ArrayLike) -> float:
    """Symmetric per-tensor int8 scale: ``max|x| / 127`` (float64 division).

    1.0 when that is zero (``x`` empty or all zeros, or ``max|x|`` so small the
    quotient underflows).

    Raises
    ------
    ValueError
        If ``x`` holds NaN or an infinity.
    """
    values = np.asarray(x, dtype=np.float64)
    if not np.isfinite(values).all():
        raise ValueError("int8 scale needs finite values (no NaN or infinity)")
    largest = float(np.max(np.abs(values))) if values.size else 0.0
    scale = largest / INT8_MAX
    return scale if scale > 0.0 else 1.0


def int8_codes(x: ArrayLike, scale: float) -> NDArray[np.int8]:
    """``clip(rint(x / scale), -127, 127)`` as int8 codes.

    ``x / scale`` is a float64 division (correctly rounded), ``rint`` rounds half
    to even; infinities saturate.

    Raises
    ------
    ValueError
        If ``scale`` is not finite and positive, or ``x`` holds NaN.
    """
    if not (np.isfinite(scale) and scale > 0):
        raise ValueError(f"int8 scale must be finite and positive, not {scale!r}")
    values = np.asarray(x, dtype=np.float64)
    if np.isnan(values).any():
        raise ValueError("cannot quantize NaN to int8")
    with np.errstate(over="ignore"):  # a huge quotient is inf, which saturates
        quotient = values / scale
    return np.clip(np.rint(quotient), -INT8_MAX, INT8_MAX).astype(np.int8)


def quantize_int8(x: ArrayLike, scale: float) -> NDArray[np.float64]:
    """``int8_codes(x, scale) * scale``: the dequantised values (float64 products).

    With a scale above ``max float64 / 127`` the largest codes stand for values beyond
    float64: those products are infinities (IEEE 754 overflow), silently.
    """
    codes = int8_codes(x, scale).astype(np.float64)
    with np.errstate(over="ignore"):
        return codes * scale
