"""Unit tests for ``epur.numerics.quantize`` against exact ``Fraction`` oracles and numpy."""

from __future__ import annotations

import math
import re
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from epur.numerics import strategies as nst
from epur.numerics.formats import FormatKind, NumberFormat, Overflow, Rounding, parse_format
from epur.numerics.quantize import (
    fixed_code_range,
    float_limits,
    from_fixed_int,
    int8_codes,
    int8_scale,
    quantize_int8,
    round_to_format,
    to_fixed_int,
)

FP32, FP16, BF16 = (parse_format(name) for name in ("fp32", "fp16", "bf16"))
SETTINGS = settings(derandomize=True, max_examples=150, deadline=None)


# ---- exact oracles ---------------------------------------------------------------------------
def oracle_float(x: float | Fraction, fmt: NumberFormat) -> float:
    """IEEE 754 round-to-nearest-even of ``x`` (float64 or exact) into ``fmt``, exactly."""
    if (isinstance(x, float) and (math.isnan(x) or math.isinf(x))) or x == 0:
        return float(x)
    m, emax = fmt.mantissa_bits, 2 ** (fmt.exponent_bits - 1) - 1
    emin = 1 - emax
    value = abs(Fraction(x))
    exponent = value.numerator.bit_length() - value.denominator.bit_length()
    if Fraction(2) ** exponent > value:
        exponent -= 1  # now 2**exponent <= value < 2**(exponent + 1)
    quantum = Fraction(2) ** (max(exponent, emin) - m)  # gradual underflow below 2**emin
    rounded = round(value / quantum) * quantum  # Fraction.__round__: ties to even
    if rounded > (2 - Fraction(1, 2**m)) * Fraction(2) ** emax:
        return math.copysign(math.inf, x)
    return math.copysign(float(rounded), x)  # a zero result keeps the sign of x


def oracle_code(x: Fraction, fmt: NumberFormat) -> int:
    """The fixed-point code of exact ``x``: round per mode, then saturate or wrap."""
    scaled = x * 2**fmt.frac_bits
    if fmt.rounding is Rounding.NEAREST_EVEN:
        code = round(scaled)
    elif fmt.rounding is Rounding.TRUNCATE:
        code = math.floor(scaled)
    else:
        half = Fraction(1, 2)
        code = math.floor(scaled + half) if scaled >= 0 else math.ceil(scaled - half)
    lowest, highest = -(2 ** (fmt.bits - 1)), 2 ** (fmt.bits - 1) - 1
    if fmt.overflow is Overflow.WRAP:
        return (code - lowest) % 2**fmt.bits + lowest
    return min(max(code, lowest), highest)


def oracle_fixed(x: float | Fraction, fmt: NumberFormat) -> float:
    infinite = isinstance(x, float) and math.isinf(x)
    code = fixed_code_range(fmt)[x > 0] if infinite else oracle_code(Fraction(x), fmt)
    return float(Fraction(code, 2**fmt.frac_bits))


def oracle(x: float | Fraction, fmt: NumberFormat) -> float:
    """``x`` rounded once to ``fmt`` (float or fixed point) in exact arithmetic."""
    return oracle_float(x, fmt) if fmt.kind is FormatKind.FLOAT else oracle_fixed(x, fmt)


def same(a: np.ndarray, b: np.ndarray) -> bool:
    """Bitwise-equal float64 arrays (so -0.0 differs from 0.0 and NaN equals NaN)."""
    return bool(np.array_equal(np.asarray(a).view(np.int64), np.asarray(b).view(np.int64)))


def ties(fmt: NumberFormat) -> st.SearchStrategy[float]:
    """Exact midpoints between neighbouring values of a float format (float64-exact)."""
    limits = float_limits(fmt)
    m = fmt.mantissa_bits
    normal = st.builds(
        lambda s, e: math.ldexp(s + 0.5, e - m),
        st.integers(2**m, 2 ** (m + 1) - 1),
        st.integers(limits.emin, limits.emax),
    )
    subnormal = st.builds(lambda s: math.ldexp(s + 0.5, limits.emin - m), st.integers(0, 2**m - 1))
    return st.builds(lambda t, neg: -t if neg else t, st.one_of(normal, subnormal), st.booleans())


# ---- float formats ---------------------------------------------------------------------------
@SETTINGS
@given(fmt=nst.float_formats(), xs=st.lists(nst.reals(), min_size=1, max_size=40))
def test_float_rounding_matches_the_exact_oracle(fmt: NumberFormat, xs: list[float]) -> None:
    expected = np.array([oracle_float(x, fmt) for x in xs])
    assert same(round_to_format(np.array(xs), fmt), expected)


@SETTINGS
@given(data=st.data(), fmt=nst.float_formats())
def test_float_ties_and_their_neighbours(data: st.DataObject, fmt: NumberFormat) -> None:
    tie = data.draw(ties(fmt))
    near = [tie, math.nextafter(tie, math.inf), math.nextafter(tie, -math.inf)]
    expected = np.array([oracle_float(x, fmt) for x in near])
    assert same(round_to_format(np.array(near), fmt), expected)


@pytest.mark.parametrize(("fmt", "dtype"), [(FP16, np.float16), (FP32, np.float32)])
def test_float_rounding_matches_numpy_casts(fmt: NumberFormat, dtype: type) -> None:
    rng = np.random.default_rng(7)
    limits = float_limits(fmt)
    exponents = rng.integers(limits.emin - fmt.mantissa_bits - 3, limits.emax + 3, 20_000)
    x = np.ldexp(rng.uniform(-2, 2, exponents.size), exponents)
    x = np.concatenate([x, [0.0, -0.0, np.inf, -np.inf, limits.max_finite]])
    with np.errstate(over="ignore"):  # numpy's cast warns when it overflows to inf
        expected = x.astype(dtype).astype(np.float64)
    assert same(round_to_format(x, fmt), expected)


@pytest.mark.parametrize("fmt", [FP32, FP16, BF16])
def test_float_overflow_at_max_plus_half_ulp(fmt: NumberFormat) -> None:
    limits = float_limits(fmt)
    half_ulp = math.ldexp(1.0, limits.emax - fmt.mantissa_bits - 1)
    tie = limits.max_finite + half_ulp  # exact in float64; the tie goes to "even" = inf
    x = np.array([tie, math.nextafter(tie, 0), -tie, limits.max_finite, 1e300])
    assert same(round_to_format(x, fmt), [np.inf, limits.max_finite, -np.inf, *x[3:4], np.inf])


def test_float_specials_and_signed_zero() -> None:
    x = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, -1e-300, 1e-300])
    out = round_to_format(x, FP16)
    assert np.isnan(out[0])
    assert same(out[1:], [np.inf, -np.inf, 0.0, -0.0, -0.0, 0.0])


@pytest.mark.parametrize(
    ("fmt", "limits"),
    [
        (FP16, (65504.0, 2.0**-14, 2.0**-24)),
        (BF16, ((2 - 2.0**-7) * 2.0**127, 2.0**-126, 2.0**-133)),
        (FP32, ((2 - 2.0**-23) * 2.0**127, 2.0**-126, 2.0**-149)),
    ],
)
def test_float_limits(fmt: NumberFormat, limits: tuple[float, float, float]) -> None:
    got = float_limits(fmt)
    assert (got.max_finite, got.min_normal, got.min_subnormal) == limits


def test_subnormals_round_on_the_fixed_grid() -> None:
    tiny = 2.0**-24  # fp16's smallest subnormal
    x = np.array([0.5, 1.5, 2.5, 1.25, 1.75]) * tiny
    assert same(round_to_format(x, FP16), np.array([0.0, 2.0, 2.0, 1.0, 2.0]) * tiny)


def test_float64_sized_format_is_the_identity() -> None:
    fp64 = NumberFormat("fp64", FormatKind.FLOAT, 64, exponent_bits=11, mantissa_bits=52)
    x = np.array([np.finfo(np.float64).max, 5e-324, -0.1, 1e-310])
    assert same(round_to_format(x, fp64), x)


# ---- properties over every format ------------------------------------------------------------
@SETTINGS
@given(data=st.data(), fmt=nst.formats())
def test_representable_values_are_fixed_points(data: st.DataObject, fmt: NumberFormat) -> None:
    xs = np.array(data.draw(st.lists(nst.values(fmt), min_size=1, max_size=30)))
    assert same(round_to_format(xs, fmt), xs)


@SETTINGS
@given(fmt=nst.formats(), xs=st.lists(nst.reals(), min_size=1, max_size=30))
def test_rounding_is_idempotent_and_matches_the_oracle(fmt: NumberFormat, xs: list[float]) -> None:
    once = round_to_format(np.array(xs), fmt)
    assert same(once, np.array([oracle(x, fmt) for x in xs]))
    assert same(round_to_format(once, fmt), once)


@SETTINGS
@given(fmt=nst.formats(), xs=st.lists(nst.reals(), min_size=2, max_size=30))
def test_rounding_is_monotone(fmt: NumberFormat, xs: list[float]) -> None:
    if fmt.kind is FormatKind.FIXED and fmt.overflow is Overflow.WRAP:
        x = np.sort(np.ldexp(np.clip(xs, -1, 1), fmt.int_bits - 3))  # rounds inside the range
    else:
        x = np.sort(np.array(xs))
    out = round_to_format(x, fmt)
    assert np.all(out[1:] >= out[:-1])


# ---- fixed point -----------------------------------------------------------------------------
@SETTINGS
@given(data=st.data(), fmt=nst.fixed_formats())
def test_fixed_ties_and_their_neighbours(data: st.DataObject, fmt: NumberFormat) -> None:
    lowest, highest = fixed_code_range(fmt)
    code = data.draw(st.integers(2 * lowest - 2, 2 * highest + 2))  # overflow included
    tie = math.ldexp(code + 0.5, -fmt.frac_bits)
    near = [tie, math.nextafter(tie, math.inf), math.nextafter(tie, -math.inf)]
    expected = np.array([oracle_fixed(x, fmt) for x in near])
    assert same(round_to_format(np.array(near), fmt), expected)


ULPS = [-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 0.25, -0.75]


@pytest.mark.parametrize(
    ("suffix", "expected"),
    [
        ("", [-2, -2, 0, 0, 2, 2, 0, -1]),  # ties to even
        (":rna", [-3, -2, -1, 1, 2, 3, 0, -1]),  # ties away from zero
        (":trunc", [-3, -2, -1, 0, 1, 2, 0, -1]),  # toward minus infinity
    ],
)
def test_fixed_rounding_modes_on_ties(suffix: str, expected: list[int]) -> None:
    fmt = parse_format(f"q8.8{suffix}")
    x = np.array(ULPS) * 2.0**-8
    assert to_fixed_int(x, fmt).tolist() == expected
    assert same(round_to_format(x, fmt), np.array(expected) * 2.0**-8)


@pytest.mark.parametrize(
    ("text", "x", "codes"),
    [
        ("q4.4", [7.9375, 7.97, 8.0, 1e9, np.inf], [127, 127, 127, 127, 127]),  # rne: 7.97 -> 8
        ("q4.4", [-8.0, -8.03, -8.04, -1e9, -np.inf], [-128, -128, -128, -128, -128]),
        ("q4.4:trunc", [7.99, -8.001], [127, -128]),
        ("q4.4:wrap", [7.97, 8.0, 8.0625, -8.0625, -9.0, 16.0, 24.5, -1e9], []),
    ],
)
def test_fixed_overflow_at_the_boundaries(text: str, x: list[float], codes: list[int]) -> None:
    fmt = parse_format(text)
    if fmt.overflow is Overflow.WRAP:  # two's complement of the rounded code, modulo 2**8
        codes = [(round(v * 16) + 128) % 256 - 128 for v in x]
        assert codes[:6] == [-128, -128, -127, 127, 112, 0]
    assert to_fixed_int(np.array(x), fmt).tolist() == codes
    assert same(round_to_format(np.array(x), fmt), np.array(codes) / 16.0)


@pytest.mark.parametrize("text", ["q64.0", "q64.0:wrap", "q1.63:rna", "q32.32:trunc:wrap"])
def test_fixed_64_bit_codes_are_exact(text: str) -> None:
    fmt = parse_format(text)
    x = [2.0**62 * 3, -(2.0**63) - 2**11, 1e300, -1e300, 0.75, -0.3, 2.0**-70, 12345.678]
    expected = [oracle_code(Fraction(v), fmt) for v in x]
    assert to_fixed_int(np.array(x), fmt).tolist() == expected


def test_fixed_code_range() -> None:
    assert fixed_code_range(parse_format("q8.8")) == (-32768, 32767)
    assert fixed_code_range(parse_format("q1.0")) == (-1, 0)
    assert fixed_code_range(parse_format("q64.0")) == (-(2**63), 2**63 - 1)


def test_from_fixed_int_inverts_to_fixed_int() -> None:
    fmt = parse_format("q4.12")
    codes = np.arange(-(2**15), 2**15, 7, dtype=np.int64)
    assert np.array_equal(to_fixed_int(from_fixed_int(codes, fmt), fmt), codes)
    with pytest.raises(ValueError, match=r"^q4\.12 codes must be in \[-32768, 32767\]$"):
        from_fixed_int(np.array([32768]), fmt)


@pytest.mark.parametrize(
    ("text", "x", "message"),
    [
        ("q8.8", [1.0, np.nan], "cannot convert NaN to fixed point q8.8"),
        ("q8.8:wrap", [np.inf], "cannot wrap an infinity into fixed point q8.8:wrap"),
        ("int8", [1.0], "int8 has a per-tensor scale: use quantize_int8(x, int8_scale(x)), "),
    ],
)
def test_rounding_refusals(text: str, x: list[float], message: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}"):
        round_to_format(np.array(x), parse_format(text))


@pytest.mark.parametrize("call", [to_fixed_int, from_fixed_int])
def test_fixed_helpers_refuse_other_kinds(call: object) -> None:
    with pytest.raises(ValueError, match=r"^this conversion needs a fixed-point format \(qM\.N\)"):
        call(np.zeros(1), FP16)  # type: ignore[operator]


def test_float_limits_refuse_other_formats() -> None:
    with pytest.raises(ValueError, match=r"^float limits need a floating-point format"):
        float_limits(parse_format("q8.8"))
    wide = NumberFormat("fp80", FormatKind.FLOAT, 80, exponent_bits=15, mantissa_bits=64)
    with pytest.raises(ValueError, match=r"^floating-point formats must have 2\.\.11 exponent"):
        round_to_format(np.zeros(1), wide)


# ---- int8 ------------------------------------------------------------------------------------
def test_int8_scale_and_codes() -> None:
    x = np.array([0.0, -2.54, 1.0, 0.01, 0.03, -0.03, 0.05])
    scale = int8_scale(x)
    assert scale == 2.54 / 127
    codes = int8_codes(x, scale)
    assert codes.dtype == np.int8
    expected = np.clip(np.rint(x / scale), -127, 127)
    assert codes.tolist() == expected.tolist()
    assert codes[1] == -127  # the largest magnitude maps to the symmetric extreme
    assert same(quantize_int8(x, scale), expected * scale)


def test_int8_rounds_half_to_even_and_saturates() -> None:
    x = np.array([0.5, 1.5, 2.5, -0.5, -1.5, 126.5, 127.5, 1e6, -1e6, np.inf, -np.inf])
    assert int8_codes(x, 1.0).tolist() == [0, 2, 2, 0, -2, 126, 127, 127, -127, 127, -127]


def test_int8_scale_edge_cases() -> None:
    assert int8_scale(np.zeros(5)) == 1.0
    assert int8_scale(np.zeros(0)) == 1.0
    assert int8_scale(np.array([5e-324])) == 1.0  # the quotient underflows
    with pytest.raises(ValueError, match=r"^int8 scale needs finite values"):
        int8_scale(np.array([1.0, np.nan]))
    with pytest.raises(ValueError, match=r"^int8 scale must be finite and positive, not 0\.0$"):
        int8_codes(np.ones(2), 0.0)
    with pytest.raises(ValueError, match=r"^cannot quantize NaN to int8$"):
        quantize_int8(np.array([np.nan]), 1.0)


@SETTINGS
@given(xs=st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=40))
def test_int8_codes_are_symmetric_and_within_half_a_step(xs: list[float]) -> None:
    x = np.array(xs)
    scale = int8_scale(x)
    codes = int8_codes(x, scale)
    assert np.array_equal(int8_codes(-x, scale), -codes)
    assert np.all(np.abs(quantize_int8(x, scale) - x) <= scale / 2 * (1 + 1e-12))
