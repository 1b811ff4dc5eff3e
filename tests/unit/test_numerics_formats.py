"""Unit tests for ``epur.numerics.formats``: the number-format grammar and widths."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import numpy as np
import pytest

from epur.numerics.formats import FormatKind, NumberFormat, Overflow, Rounding, parse_format
from epur.numerics.quantize import fixed_code_range, round_to_format

ALLOWED = re.escape(
    "fp32, fp16, bf16, int8 or qM.N[:rne|:rna|:trunc][:sat|:wrap] "
    "(fixed point, M integer bits with the sign, N fraction)"
)


@pytest.mark.parametrize(
    ("text", "bits", "exponent", "mantissa"),
    [
        ("fp32", 32, 8, 23),  # IEEE 754 binary32
        ("fp16", 16, 5, 10),  # IEEE 754 binary16
        ("bf16", 16, 8, 7),  # bfloat16
    ],
)
def test_float_formats(text: str, bits: int, exponent: int, mantissa: int) -> None:
    fmt = parse_format(text)
    assert fmt.name == text
    assert fmt.kind is FormatKind.FLOAT
    assert (fmt.bits, fmt.exponent_bits, fmt.mantissa_bits) == (bits, exponent, mantissa)
    assert fmt.bits == 1 + fmt.exponent_bits + fmt.mantissa_bits  # sign + exponent + fraction


def test_int8() -> None:
    fmt = parse_format("int8")
    assert (fmt.name, fmt.kind, fmt.bits) == ("int8", FormatKind.INT, 8)


@pytest.mark.parametrize(
    ("m", "n"), [(8, 8), (1, 15), (4, 4), (16, 16), (1, 0), (64, 0), (1, 63), (32, 32), (3, 5)]
)
def test_fixed_point(m: int, n: int) -> None:
    fmt = parse_format(f"q{m}.{n}")
    assert fmt.kind is FormatKind.FIXED
    assert fmt.name == f"q{m}.{n}"
    assert (fmt.int_bits, fmt.frac_bits, fmt.bits) == (m, n, m + n)
    assert str(fmt) == fmt.name


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("FP16", "fp16"),
        ("Fp32", "fp32"),
        ("BF16", "bf16"),
        ("INT8", "int8"),
        ("Q8.8", "q8.8"),
        ("  fp16 ", "fp16"),
        ("q08.008", "q8.8"),
    ],
)
def test_canonical_names(text: str, canonical: str) -> None:
    fmt = parse_format(text)
    assert fmt.name == canonical
    assert fmt == parse_format(canonical)


@pytest.mark.parametrize(
    "text",
    [
        "fp8",
        "fp64",
        "int16",
        "float16",
        "fp 16",
        "q8",
        "q8.",
        "q.8",
        "q-1.8",
        "q8.8.8",
        "q8,8",
        "garbage",
        "",
    ],
)
def test_rejects(text: str) -> None:
    message = rf"^number format must be {ALLOWED}, not {re.escape(repr(text))}$"
    with pytest.raises(ValueError, match=message):
        parse_format(text)


@pytest.mark.parametrize(
    "text",
    [
        "q0.8",  # no integer bits: the sign needs one
        "q40.40",  # 80 bits > 64
        "q65.0",
        "q1.64",
        "q0.8:trunc",
        "q40.40:wrap",
        "Q99999999999999999999.0",
    ],
)
def test_fixed_point_beyond_the_limits_names_them(text: str) -> None:
    """A well-formed qM.N too wide (or without a sign bit) is told the limits, not the
    grammar it already follows."""
    message = (
        r"^fixed-point formats qM\.N need M >= 1 \(the sign bit\) and M \+ N <= 64 "
        rf"\(two's complement codes are int64\), not {re.escape(repr(text))}$"
    )
    with pytest.raises(ValueError, match=message):
        parse_format(text)


def test_formats_are_frozen() -> None:
    fmt = parse_format("fp16")
    assert isinstance(fmt, NumberFormat)
    with pytest.raises(dataclasses.FrozenInstanceError):
        fmt.bits = 8  # type: ignore[misc]


def test_fixed_point_defaults_are_nearest_even_and_saturate() -> None:
    fmt = parse_format("q8.8")
    assert (fmt.rounding, fmt.overflow) == (Rounding.NEAREST_EVEN, Overflow.SATURATE)
    assert parse_format("fp16").rounding is Rounding.NEAREST_EVEN  # floats: IEEE RNE


@pytest.mark.parametrize(
    ("text", "canonical", "rounding", "overflow"),
    [
        ("q8.8", "q8.8", Rounding.NEAREST_EVEN, Overflow.SATURATE),
        ("q8.8:rne", "q8.8", Rounding.NEAREST_EVEN, Overflow.SATURATE),
        ("q8.8:sat", "q8.8", Rounding.NEAREST_EVEN, Overflow.SATURATE),
        ("q8.8:sat:rne", "q8.8", Rounding.NEAREST_EVEN, Overflow.SATURATE),
        ("q8.8:rna", "q8.8:rna", Rounding.NEAREST_AWAY, Overflow.SATURATE),
        ("q8.8:trunc", "q8.8:trunc", Rounding.TRUNCATE, Overflow.SATURATE),
        ("q8.8:wrap", "q8.8:wrap", Rounding.NEAREST_EVEN, Overflow.WRAP),
        ("q8.8:trunc:wrap", "q8.8:trunc:wrap", Rounding.TRUNCATE, Overflow.WRAP),
        ("q8.8:wrap:trunc", "q8.8:trunc:wrap", Rounding.TRUNCATE, Overflow.WRAP),
        ("Q4.12:WRAP:RNA", "q4.12:rna:wrap", Rounding.NEAREST_AWAY, Overflow.WRAP),
        (" q08.008:rne:wrap ", "q8.8:wrap", Rounding.NEAREST_EVEN, Overflow.WRAP),
        ("q1.63:trunc", "q1.63:trunc", Rounding.TRUNCATE, Overflow.SATURATE),
    ],
)
def test_fixed_point_modes(
    text: str, canonical: str, rounding: Rounding, overflow: Overflow
) -> None:
    fmt = parse_format(text)
    assert (fmt.name, fmt.rounding, fmt.overflow) == (canonical, rounding, overflow)
    assert fmt.bits == fmt.int_bits + fmt.frac_bits  # the modes do not change the width
    assert parse_format(canonical) == fmt  # the canonical name round-trips


def test_modes_distinguish_formats() -> None:
    names = ["q8.8", "q8.8:rna", "q8.8:trunc", "q8.8:wrap", "q8.8:rna:wrap", "q8.8:trunc:wrap"]
    assert len({parse_format(name) for name in names}) == len(names)


@pytest.mark.parametrize(
    ("text", "suffix"),
    [("q8.8:foo", ":foo"), ("q8.8:", ":"), ("q8.8:trunc:round", ":round"), ("q8.8::wrap", ":")],
)
def test_rejects_unknown_suffix(text: str, suffix: str) -> None:
    message = (
        r"^number format suffix must be :rne, :rna, :trunc, :sat or :wrap, "
        rf"not {re.escape(repr(suffix))} in {re.escape(repr(text))}$"
    )
    with pytest.raises(ValueError, match=message):
        parse_format(text)


@pytest.mark.parametrize("text", ["q8.8:rne:trunc", "q8.8:wrap:sat", "q8.8:wrap:wrap"])
def test_rejects_two_modes_of_a_kind(text: str) -> None:
    message = (
        r"^number format suffixes must be at most one rounding \(:rne, :rna, :trunc\) "
        rf"and at most one overflow \(:sat, :wrap\), not {re.escape(repr(text))}$"
    )
    with pytest.raises(ValueError, match=message):
        parse_format(text)


@pytest.mark.parametrize("text", ["fp16:trunc", "bf16:wrap", "int8:sat", "FP32:RNE"])
def test_rejects_suffix_on_other_kinds(text: str) -> None:
    message = (
        rf"^number format suffixes are for qM.N \(fixed point\) only, not {re.escape(repr(text))}$"
    )
    with pytest.raises(ValueError, match=message):
        parse_format(text)


@pytest.mark.parametrize("text", ["q8:trunc", "q8.8 :wrap", "q8.-8:sat"])
def test_rejects_bad_base_with_suffix(text: str) -> None:
    message = rf"^number format must be {ALLOWED}, not {re.escape(repr(text))}$"
    with pytest.raises(ValueError, match=message):
        parse_format(text)


# ---- which formats hold which ----------------------------------------------------------------


def _every_value(text: str) -> np.ndarray[Any, Any]:
    """Every finite value of a format of at most 16 bits; a spread of fp32's."""
    fmt = parse_format(text)
    if fmt.kind is FormatKind.FIXED:
        low, high = fixed_code_range(fmt)
        return np.ldexp(np.arange(low, high + 1, dtype=np.float64), -fmt.frac_bits)
    patterns = np.arange(2**16, dtype=np.uint32)
    if text == "fp16":
        values = patterns.astype(np.uint16).view(np.float16).astype(np.float64)
    else:  # bf16: every pattern; fp32: the extremes and a spread of patterns
        bits = patterns << 16 if text == "bf16" else np.concatenate(
            [patterns << 15, [0x7F7FFFFF, 0x00800000, 0x00000001]]
        ).astype(np.uint32)  # fmt: skip
        wide = bits.view(np.float32)
        values = wide[np.isfinite(wide)].astype(np.float64)
    return values[np.isfinite(values)]


INNER = ["q1.0", "q2.2", "q4.4", "q3.5", "q8.8", "q1.15", "q12.4", "q6.10", "fp16", "bf16",
         "fp32"]  # fmt: skip
OUTER = ["q2.2", "q4.4", "q8.8", "q16.16", "q6.10", "q24.8", "q17.24", "q16.24", "q17.23", "q32.32",
         "fp16", "bf16", "fp32"]  # fmt: skip


@pytest.mark.parametrize("outer", OUTER)
@pytest.mark.parametrize("inner", INNER)
def test_holds_every_value_agrees_with_rounding_every_value(inner: str, outer: str) -> None:
    """The rule, checked against the rounding itself: ``outer`` holds ``inner`` exactly
    when rounding each value of ``inner`` to ``outer`` changes none of them."""
    from epur.numerics.formats import holds_every_value

    values = _every_value(inner)
    exact = bool(np.array_equal(round_to_format(values, parse_format(outer)), values))
    assert holds_every_value(parse_format(outer), parse_format(inner)) is exact


def test_int8_holds_and_is_held_by_nothing_else() -> None:
    """Its values are codes times a per-tensor scale, known only at run time."""
    from epur.numerics.formats import holds_every_value

    int8 = parse_format("int8")
    assert holds_every_value(int8, int8)
    for other in ("fp32", "q32.32", "q8.0"):
        assert not holds_every_value(parse_format(other), int8)
        assert not holds_every_value(int8, parse_format(other))
