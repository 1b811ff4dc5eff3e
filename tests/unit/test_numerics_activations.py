"""Unit tests for ``epur.numerics.activations``: the MFU's exact, LUT and PWL sigmoid and tanh.

Error bounds (inside ``[-R, R]``, before any rounding to a format):

- LUT: ``x`` lies in bin ``k``, whose centre ``c_k`` is at most ``D/2`` away, so by the
  mean value theorem ``|f(x) - f(c_k)| <= max|f'| * D/2``. ``max|sigmoid'| = 1/4``
  (at 0) and ``max|tanh'| = 1`` (at 0): ``D/8`` and ``D/2``.
- PWL: the interpolation error of the chord on ``[x_k, x_k + D]`` is
  ``f''(xi)/2 * (x - x_k)(x_k + D - x)``, and the product is at most ``D**2/4``, so
  ``|err| <= max|f''| * D**2/8``. ``max|sigmoid''| = 1/(6*sqrt(3))`` (where
  ``sigmoid = (3 -+ sqrt(3))/6``) and ``max|tanh''| = 4/(3*sqrt(3))`` (where
  ``tanh = -+1/sqrt(3)``).

Both bounds get a 1e-12 allowance for the float64 evaluation.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from epur.numerics import strategies as nst
from epur.numerics.activations import (
    ActivationFunction,
    ActivationKind,
    ActivationSpec,
    activation,
    activation_table,
    parse_activation,
    sigmoid,
    tanh,
)
from epur.numerics.formats import FormatKind, NumberFormat, Overflow, Rounding, parse_format
from epur.numerics.quantize import round_to_format
from tests.unit.test_numerics_quantize import oracle

SIGMOID, TANH = ActivationFunction.SIGMOID, ActivationFunction.TANH
EXACT = parse_activation("exact")
SLACK = 1e-12
# function -> (max|f'|, max|f''|)
DERIVATIVE_BOUNDS = {SIGMOID: (0.25, 1 / (6 * math.sqrt(3))), TANH: (1.0, 4 / (3 * math.sqrt(3)))}
SETTINGS = settings(derandomize=True, max_examples=40, deadline=None)
FORMATS = [parse_format(name) for name in ("fp32", "fp16", "bf16", "q8.8", "q4.12", "q8.8:trunc")]


def logistic(x: float) -> float:
    return 1 / (1 + math.exp(-x)) if x >= 0 else math.exp(x) / (1 + math.exp(x))


def grid(r: float) -> np.ndarray:
    """200001 evenly spaced points over [-1.25 R, 1.25 R]."""
    return np.linspace(-1.25 * r, 1.25 * r, 200_001)


# ---- grammar ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "kind", "n", "name"),
    [
        ("exact", ActivationKind.EXACT, 0, "exact"),
        (" EXACT ", ActivationKind.EXACT, 0, "exact"),
        ("pwl16", ActivationKind.PWL, 16, "pwl16"),
        ("PWL2", ActivationKind.PWL, 2, "pwl2"),
        ("lut256", ActivationKind.LUT, 256, "lut256"),
        ("Lut065536", ActivationKind.LUT, 65536, "lut65536"),
        ("lut100", ActivationKind.LUT, 100, "lut100"),
    ],
)
def test_parse_activation(text: str, kind: ActivationKind, n: int, name: str) -> None:
    spec = parse_activation(text)
    assert (spec.kind, spec.n, spec.name, str(spec)) == (kind, n, name, name)
    assert (spec.sigmoid_range, spec.tanh_range) == (8.0, 4.0)
    assert parse_activation(name) == spec


@pytest.mark.parametrize(
    "text", ["pwl1", "lut0", "lut65537", "pwl", "lut", "exact1", "pwl-4", "pwl 4", "spline8", ""]
)
def test_parse_activation_rejects(text: str) -> None:
    message = (
        r"^activation must be exact, pwlN or lutN \(N segments or entries, 2 to 65536\), "
        rf"not {re.escape(repr(text))}$"
    )
    with pytest.raises(ValueError, match=message):
        parse_activation(text)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"kind": ActivationKind.EXACT, "n": 4}, r"an exact activation has n = 0, not 4"),
        ({"kind": ActivationKind.PWL, "n": 1}, r"pwl n must be 2 to 65536, not 1"),
        ({"kind": ActivationKind.LUT, "n": 8, "tanh_range": 0.0}, r"tanh_range must be finite"),
        ({"kind": ActivationKind.LUT, "n": 8, "sigmoid_range": math.inf}, r"sigmoid_range must"),
    ],
)
def test_spec_validation(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=f"^{message}"):
        ActivationSpec(**kwargs)  # type: ignore[arg-type]


# ---- exact -----------------------------------------------------------------------------------
def test_exact_matches_the_float64_formulas() -> None:
    x = np.concatenate([np.linspace(-40, 40, 4001), [-800.0, 800.0, 0.0, -0.0, 1e-300]])
    assert np.array_equal(tanh(x, EXACT), np.tanh(x))
    expected = np.array([logistic(v) for v in x])
    assert np.allclose(sigmoid(x, EXACT), expected, rtol=1e-15, atol=0)
    moderate = np.linspace(-30, 30, 601)
    assert np.allclose(sigmoid(moderate, EXACT), 1 / (1 + np.exp(-moderate)), rtol=1e-15, atol=0)


def test_exact_specials() -> None:
    x = np.array([-np.inf, np.inf, np.nan])
    out = sigmoid(x, EXACT)
    assert out[:2].tolist() == [0.0, 1.0] and np.isnan(out[2])
    out = tanh(x, EXACT)
    assert out[:2].tolist() == [-1.0, 1.0] and np.isnan(out[2])


@pytest.mark.parametrize("fmt", FORMATS)
def test_exact_with_a_format_rounds_input_and_output(fmt: NumberFormat) -> None:
    x = np.linspace(-9, 9, 1001)
    inside = round_to_format(x, fmt)
    assert np.array_equal(sigmoid(x, EXACT, fmt), round_to_format(sigmoid(inside, EXACT), fmt))
    assert np.array_equal(tanh(x, EXACT, fmt), round_to_format(np.tanh(inside), fmt))


def test_exact_with_q4_4_by_hand() -> None:
    # x' = rnd(0.3) = 5/16 (0.3 * 16 = 4.8); sigmoid(5/16) = 0.5775 = 9.24/16 -> 9/16
    assert sigmoid(np.array([0.3]), EXACT, parse_format("q4.4")).tolist() == [9 / 16]


# ---- LUT -------------------------------------------------------------------------------------
def test_lut_by_hand() -> None:
    spec = parse_activation("lut4")  # R = 8, D = 4: centres -6, -2, 2, 6
    table = activation_table(SIGMOID, spec)
    assert table.breakpoints.tolist() == [-8, -4, 0, 4, 8]
    assert table.values.tolist() == pytest.approx([logistic(c) for c in (-6, -2, 2, 6)], rel=1e-15)
    x = np.array([-np.inf, -9, -8, -4.0001, -4, -1e-300, 0, 3.999, 4, 7.99, 8, 100, np.inf])
    expected = table.values[[0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 3, 3, 3]]
    assert np.array_equal(sigmoid(x, spec), expected)
    # in q4.4 the entries are rnd(0.0025, 0.1192, 0.8808, 0.9975) = (0, 2, 14, 16) / 16
    q44 = activation_table(SIGMOID, spec, parse_format("q4.4"))
    assert (q44.values * 16).tolist() == [0, 2, 14, 16]


@pytest.mark.parametrize("function", [SIGMOID, TANH])
@pytest.mark.parametrize("n", [2, 3, 16, 100, 256, 4096])
def test_lut_error_bound(function: ActivationFunction, n: int) -> None:
    spec = parse_activation(f"lut{n}")
    r = spec.range_of(function)
    x = grid(r)
    inside = np.abs(x) <= r
    err = np.abs(activation(function, x, spec) - activation(function, x, EXACT))[inside]
    assert err.max() <= DERIVATIVE_BOUNDS[function][0] * (2 * r / n) / 2 + SLACK


# ---- PWL -------------------------------------------------------------------------------------
@pytest.mark.parametrize("function", [SIGMOID, TANH])
@pytest.mark.parametrize("n", [2, 3, 16, 100, 256, 4096])
def test_pwl_error_bound(function: ActivationFunction, n: int) -> None:
    spec = parse_activation(f"pwl{n}")
    r = spec.range_of(function)
    x = grid(r)
    inside = np.abs(x) <= r
    err = np.abs(activation(function, x, spec) - activation(function, x, EXACT))[inside]
    assert err.max() <= DERIVATIVE_BOUNDS[function][1] * (2 * r / n) ** 2 / 8 + SLACK


def test_pwl_interpolates_between_breakpoints() -> None:
    spec = parse_activation("pwl4")  # tanh: R = 4, D = 2, breakpoints -4, -2, 0, 2, 4
    table = activation_table(TANH, spec)
    assert table.values.tolist() == np.tanh([-4, -2, 0, 2, 4]).tolist()
    assert np.array_equal(tanh(table.breakpoints, spec), table.values)  # exact at breakpoints
    mid = tanh(np.array([-3.0, 1.0]), spec)
    expected = [(math.tanh(-4) + math.tanh(-2)) / 2, math.tanh(2) / 2]
    assert mid.tolist() == pytest.approx(expected, rel=1e-15)


def test_pwl_with_q4_4_rounds_at_each_documented_point() -> None:
    # tanh pwl4 (D = 2) in q4.4: Y_1 = rnd(tanh(-2) = -15.42/16) = -15/16 and
    # S_1 = rnd((tanh(0) - tanh(-2))/2 = 7.71/16) = 8/16. x = -1.92 -> x' = rnd(-30.72/16)
    # = -31/16; d = rnd(x' - (-2)) = 1/16; rnd(S_1 * d = 0.5/16) = 0 (a tie, to even);
    # y = rnd(-15/16 + 0) = -15/16. Rounding only the sum would give rnd(-14.5/16) = -14/16.
    fmt, spec = parse_format("q4.4"), parse_activation("pwl4")
    table = activation_table(TANH, spec, fmt)
    assert (table.values[1] * 16, table.slopes[1] * 16) == (-15, 8)
    assert tanh(np.array([-1.92, -1.9375]), spec, fmt).tolist() == [-15 / 16, -15 / 16]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("function", [SIGMOID, TANH])
def test_pwl_with_a_format_follows_the_contract(
    fmt: NumberFormat, function: ActivationFunction
) -> None:
    spec = parse_activation("pwl64")
    table = activation_table(function, spec, fmt)
    x = round_to_format(grid(spec.range_of(function)), fmt)
    d = table.breakpoints[1] - table.breakpoints[0]  # a power of two: the index is exact
    k = np.clip(np.floor((x - table.breakpoints[0]) / d), 0, 63).astype(int)

    def rnd(v: np.ndarray) -> np.ndarray:
        return round_to_format(v, fmt)

    y = rnd(table.values[k] + rnd(table.slopes[k] * rnd(x - table.breakpoints[k])))
    y = np.where(x < table.breakpoints[0], table.values[0], y)
    y = np.where(x >= table.breakpoints[-1], table.values[-1], y)
    assert np.array_equal(activation(function, x, spec, fmt), y)
    assert np.array_equal(round_to_format(table.values, fmt), table.values)
    assert np.array_equal(round_to_format(table.slopes, fmt), table.slopes)


@st.composite
def mfu_formats(draw: st.DrawFn) -> NumberFormat:
    """Float formats, and fixed point fine enough for breakpoints 2**-5 apart."""
    if draw(st.booleans()):
        return draw(nst.float_formats())
    m, n = draw(st.integers(1, 8)), draw(st.integers(5, 16))
    rounding, overflow = (
        draw(st.sampled_from(list(Rounding))),
        draw(st.sampled_from(list(Overflow))),
    )
    return parse_format(f"q{m}.{n}:{rounding}:{overflow}")


@SETTINGS
@given(
    data=st.data(),
    fmt=mfu_formats(),
    n_log2=st.integers(1, 8),
    function=st.sampled_from([SIGMOID, TANH]),
)
def test_pwl_in_a_format_rounds_each_exact_result_once(
    data: st.DataObject, fmt: NumberFormat, n_log2: int, function: ActivationFunction
) -> None:
    # The oracle evaluates y = rnd(Y_k + rnd(S_k * rnd(x - x_k))) in exact rational
    # arithmetic, rounding each exact result once (Fraction oracle of the quantize tests).
    spec = parse_activation(f"pwl{2**n_log2}")
    table = activation_table(function, spec, fmt)
    xs = data.draw(st.lists(nst.values(fmt), min_size=1, max_size=20))
    got = activation(function, np.array(xs), spec, fmt)
    edges = [Fraction(e) for e in table.breakpoints]
    for x, y in zip(xs, got, strict=True):
        if x < edges[0] or x >= edges[-1]:
            expected = table.values[0] if x < edges[0] else table.values[-1]
        else:
            k = sum(1 for e in edges[1:-1] if e <= x)
            offset = oracle(Fraction(x) - edges[k], fmt)
            product = oracle(Fraction(table.slopes[k]) * Fraction(offset), fmt)
            expected = oracle(Fraction(table.values[k]) + Fraction(product), fmt)
        assert y == expected


# ---- properties of both approximations --------------------------------------------------------
SPECS = ["lut2", "lut7", "lut64", "lut1000", "pwl2", "pwl7", "pwl64", "pwl1000", "exact"]


@pytest.mark.parametrize("function", [SIGMOID, TANH])
@pytest.mark.parametrize("text", SPECS)
def test_monotone_without_a_format(function: ActivationFunction, text: str) -> None:
    spec = parse_activation(text)
    out = activation(function, grid(spec.range_of(function) * 2), spec)
    assert np.all(np.diff(out) >= 0)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("function", [SIGMOID, TANH])
def test_lut_monotone_in_every_format(fmt: NumberFormat, function: ActivationFunction) -> None:
    spec = parse_activation("lut256")
    out = activation(function, grid(spec.range_of(function) * 2), spec, fmt)
    assert np.all(np.diff(out) >= 0)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("function", [SIGMOID, TANH])
def test_pwl_in_a_format_is_monotone_per_segment(
    fmt: NumberFormat, function: ActivationFunction
) -> None:
    # Rounded slopes may overshoot the next sample: across a breakpoint the output can step
    # down, by at most |S_k - s_k| * D + |Y_k - y_k| + |Y_{k+1} - y_{k+1}| + the rounding of
    # the three operations: under 2 * D + 5 of the format's rounding errors near the output.
    spec = parse_activation("pwl256")
    table = activation_table(function, spec, fmt)
    x = np.unique(round_to_format(grid(spec.range_of(function) * 2), fmt))
    out = activation(function, x, spec, fmt)
    segment = np.searchsorted(table.breakpoints, x, side="right")
    step = np.diff(out)
    same_segment = np.diff(segment) == 0
    assert np.all(step[same_segment] >= 0)
    unit = 2.0**-fmt.frac_bits if fmt.kind is FormatKind.FIXED else 2.0**-fmt.mantissa_bits
    d = table.breakpoints[1] - table.breakpoints[0]
    assert np.all(step >= -(2 * d + 5) * unit)


@pytest.mark.parametrize("function", [SIGMOID, TANH])
@pytest.mark.parametrize("text", ["lut16", "pwl16", "lut5", "pwl5"])
def test_saturation_outside_the_range(function: ActivationFunction, text: str) -> None:
    spec = parse_activation(text)
    table = activation_table(function, spec)
    r = spec.range_of(function)
    below = np.array([-np.inf, -1e300, -100 * r, -r - 1e-9])
    above = np.array([r, r + 1e-9, 100 * r, 1e300, np.inf])
    assert np.all(activation(function, below, spec) == table.values[0])
    assert np.all(activation(function, above, spec) == table.values[-1])


@SETTINGS
@given(
    fmt=nst.float_formats(),
    n_log2=st.integers(1, 10),
    kind=st.sampled_from(["lut", "pwl"]),
    xs=st.lists(nst.reals(max_exponent=8), min_size=1, max_size=50),
)
def test_bounded_and_rounded_in_float_formats(
    fmt: NumberFormat, n_log2: int, kind: str, xs: list[float]
) -> None:
    spec = parse_activation(f"{kind}{2**n_log2}")
    assume(not (kind == "pwl" and fmt.name == "bf16" and n_log2 > 9))  # see the refusals
    for function, low in ((SIGMOID, 0.0), (TANH, -1.0)):
        out = activation(function, np.array(xs), spec, fmt)
        assert np.all((out >= low) & (out <= 1.0))
        assert np.array_equal(round_to_format(out, fmt), out)


def test_shape_is_kept_and_nan_propagates() -> None:
    x = np.array([[0.0, np.nan], [1.0, -2.0]])
    for text in ("exact", "lut8", "pwl8"):
        out = sigmoid(x, parse_activation(text), parse_format("fp16"))
        assert out.shape == (2, 2)
        assert np.isnan(out[0, 1]) and not np.isnan(out[[0, 1, 1], [0, 0, 1]]).any()


# ---- tables and refusals ---------------------------------------------------------------------
def test_tables_are_cached_and_read_only() -> None:
    spec, fmt = parse_activation("pwl32"), parse_format("fp16")
    table = activation_table(TANH, spec, fmt)
    assert activation_table(TANH, spec, fmt) is table
    assert (table.breakpoints.size, table.values.size, table.slopes.size) == (33, 33, 32)
    with pytest.raises(ValueError, match="read-only"):
        table.values[0] = 0.0
    lut = activation_table(SIGMOID, parse_activation("lut32"))
    assert (lut.breakpoints.size, lut.values.size, lut.slopes.size) == (33, 32, 0)


@pytest.mark.parametrize(
    ("text", "fmt", "message"),
    [
        ("pwl3", "fp32", r"PWL breakpoints -R \+ k \* 2R/N must be values of fp32"),
        ("pwl1024", "bf16", r"PWL breakpoints -R \+ k \* 2R/N must be values of bf16"),
        ("pwl8192", "q8.8", r"PWL breakpoints -R \+ k \* 2R/N must be values of q8\.8"),
        ("pwl16", "q32.32", r"a PWL activation cannot be evaluated exactly in q32\.32"),
        ("pwl16", "int8", r"activations cannot round to int8"),
    ],
)
def test_pwl_refuses_inexact_formats(text: str, fmt: str, message: str) -> None:
    with pytest.raises(ValueError, match=f"^{message}"):
        sigmoid(np.zeros(1), parse_activation(text), parse_format(fmt))


def test_refusals() -> None:
    with pytest.raises(ValueError, match=r"^an exact activation has no table$"):
        activation_table(SIGMOID, EXACT)
    with pytest.raises(ValueError, match=r"^cannot convert NaN to fixed point q8\.8$"):
        tanh(np.array([np.nan]), parse_activation("lut8"), parse_format("q8.8"))
    # without a format, or in a float format, non-power-of-two N is fine
    assert sigmoid(np.zeros(1), parse_activation("pwl3")).shape == (1,)
    assert sigmoid(np.zeros(1), parse_activation("lut3"), parse_format("bf16")).shape == (1,)


def test_custom_ranges() -> None:
    spec = ActivationSpec(ActivationKind.LUT, 4, sigmoid_range=2.0, tanh_range=1.0)
    assert activation_table(TANH, spec).breakpoints.tolist() == [-1, -0.5, 0, 0.5, 1]
    assert activation_table(SIGMOID, spec).breakpoints.tolist() == [-2, -1, 0, 1, 2]
    assert tanh(np.array([5.0]), spec).tolist() == [math.tanh(0.75)]
