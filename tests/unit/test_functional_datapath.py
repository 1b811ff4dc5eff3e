"""The DPU's documented reduction order and rounding points (functional/datapath.py)."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from epur.functional.datapath import Datapath, Operand, _round
from epur.numerics import parse_activation, parse_format, round_to_format


def dp(storage: str, acc: str, lanes: int, psum: str | None = None) -> Datapath:
    return Datapath(parse_format(storage), parse_format(acc), parse_format(psum or acc), lanes,
                    parse_activation("exact"))  # fmt: skip


TINY = 2.0**-11  # half an ulp of 1.0 in fp16


@pytest.mark.parametrize(
    ("lanes", "expected"),
    [
        # one lane: the accumulator adds 1, 0, 2^-11, 2^-11 in turn; each 1 + 2^-11 is a
        # tie that rounds to even (1.0), so the small terms vanish
        (1, 1.0),
        # four lanes: the tree adds (1 + 0) and (2^-11 + 2^-11) = 2^-10 first, then
        # 1 + 2^-10 is exact
        (4, 1.0 + 2.0**-10),
        # two lanes: chunk sums 1 and 2^-10, accumulated exactly
        (2, 1.0 + 2.0**-10),
    ],
)
def test_the_reduction_order_is_lanes_tree_then_accumulator(lanes: int, expected: float) -> None:
    d = dp("fp16", "fp16", lanes)
    w = Operand(np.ones((1, 4)))
    v = np.array([[1.0, 0.0, TINY, TINY]])
    assert d.dot(w, v, bias=np.zeros(1))[0, 0] == expected


def test_the_last_chunk_is_zero_padded() -> None:
    d = dp("fp32", "fp32", 4)
    w = Operand(np.arange(1.0, 7.0)[None, :])
    assert d.dot(w, np.ones((1, 6)), bias=np.array([0.5]))[0, 0] == 21.5


def test_fp16_products_are_exact_in_an_fp32_accumulator() -> None:
    d = dp("fp16", "fp32", 1)
    a = np.float16(1.0009765625)  # 1 + 2^-10
    w = Operand(np.array([[float(a)]]))
    assert d.dot(w, np.array([[float(a)]]), bias=np.zeros(1))[0, 0] == (1 + 2.0**-10) ** 2


grid = st.integers(-(2**15), 2**15 - 1).map(lambda k: k / 256)  # q8.8 values


@settings(derandomize=True, max_examples=60, deadline=None)
@given(st.lists(grid, min_size=1, max_size=40), st.data())
def test_fixed_point_sums_are_exact_in_any_order(ws: list[float], data: st.DataObject) -> None:
    """q8.8 operands in a q16.16 accumulator with guard bits: the exact sum, rounded once."""
    vs = data.draw(st.lists(grid, min_size=len(ws), max_size=len(ws)))
    bias = data.draw(st.integers(-(2**20), 2**20).map(lambda k: k / 65536))
    exact = sum((Fraction(w) * Fraction(v) for w, v in zip(ws, vs, strict=True)), Fraction(bias))
    limit = Fraction(2**31 - 1, 65536)
    expected = float(max(-limit - Fraction(1, 65536), min(limit, exact)))  # saturate
    for lanes in (1, 3, 16):
        d = dp("q8.8", "q16.16", lanes)
        got = d.dot(Operand(np.array([ws])), np.array([vs]), bias=np.array([bias]))[0, 0]
        assert got == expected


def test_int8_sums_integer_codes_and_dequantises_once() -> None:
    d = dp("int8", "fp32", 16)
    w = Operand(np.array([[0.5, -0.25, 1.0]]), scale=1 / 127)
    w = Operand(d.store(w.values, w.scale), w.scale)
    v = d.store(np.array([[1.0, 2.0, -3.0]]), 3 / 127)
    codes_w = np.rint(w.values[0] * 127)
    codes_v = np.rint(v[0] / (3 / 127))
    expected = np.float32(codes_w @ codes_v * (1 / 127) * (3 / 127))
    assert d.dot(w, v, bias=None, v_scale=3 / 127)[0, 0] == expected


def test_operands_are_blocked_without_changing_results() -> None:
    d = dp("fp16", "fp32", 4)
    rng = np.random.default_rng(0)
    w = Operand(d.store(rng.standard_normal((64, 50))))
    v = d.store(rng.standard_normal((300, 2, 50)))
    whole = d.dot(w, v, bias=np.zeros(64))
    parts = np.concatenate([d.dot(w, v[k : k + 7], bias=np.zeros(64)) for k in range(0, 300, 7)])
    assert np.array_equal(whole, parts)


@pytest.mark.parametrize("storage", ["fp32", "fp16", "bf16", "q8.8"])
@pytest.mark.parametrize("lanes", [1, 3, 4, 6, 16])
def test_native_fp32_path_equals_the_generic_rounding(storage: str, lanes: int) -> None:
    """The float32 fast path must give exactly the bits of rounding every operation."""
    d = dp(storage, "fp32", lanes)
    rng = np.random.default_rng(lanes)
    w = Operand(d.store(rng.standard_normal((24, 37)) * 3))
    v = d.store(rng.standard_normal((5, 2, 37)) * 1e-2)
    bias = d.rnd_acc(rng.standard_normal(24))
    assert d._native_fp32()
    fast = d.dot(w, v, bias=bias)
    slow = d._dot_float(w.values, v, np.broadcast_to(bias, (5, 2, 24)))
    assert np.array_equal(fast, slow)


@pytest.mark.parametrize("acc", ["fp32", "fp16", "bf16", "q16.16", "q8.24"])
def test_exact_activations_of_accumulator_values_match_the_numerics_definition(acc: str) -> None:
    from epur.numerics import activations as act

    d = dp("fp16", acc, 16)
    x = d.rnd_acc(np.random.default_rng(0).standard_normal(2000) * 6)
    assert np.array_equal(d.sigmoid(x), act.sigmoid(x, d.activation, d.acc))
    assert np.array_equal(d.tanh(x), act.tanh(x, d.activation, d.acc))


@pytest.mark.parametrize("k", [100, 1040, 1041, 3000])  # float32 codes up to 1040 terms
def test_int8_sums_are_exact_integers_at_any_length(k: int) -> None:
    d = dp("int8", "fp32", 16)
    rng = np.random.default_rng(k)
    w_codes = rng.integers(-127, 128, size=(8, k))
    v_codes = np.full((1, k), 127)
    v_codes[0, ::2] = -127
    w = Operand(w_codes / 127.0, scale=1 / 127)
    z = d.dot(w, v_codes * 0.5, v_scale=0.5)
    exact = (w_codes.astype(np.int64) @ v_codes[0].astype(np.int64)).astype(np.float64)
    assert np.array_equal(z[0], d.rnd_acc(exact * (0.5 / 127)))


# ---- extreme values: IEEE 754 and saturation, never a numpy warning (issue 9) ----------
# (pytest turns warnings into errors, so each of these failed with a RuntimeWarning)


def test_mfu_float_operations_follow_ieee_754() -> None:
    d = dp("fp16", "fp32", 4)
    assert np.isnan(d.mul(np.array([0.0]), np.array([np.inf])))[0]  # 0 * inf
    assert np.isnan(d.add(np.array([np.inf]), np.array([-np.inf])))[0]  # inf - inf
    assert d.mul(np.array([3e38]), np.array([10.0]))[0] == np.inf  # beyond fp32: inf


def test_dpu_float_reduction_follows_ieee_754() -> None:
    d = dp("fp16", "fp16", 2)  # an fp16 accumulator: the element-by-element reduction
    w = Operand(np.array([[np.inf, 1.0], [np.inf, -np.inf]]))  # fp16 weights that overflowed
    z = d.dot(w, np.array([[0.0, 1.0], [1.0, 1.0]]), bias=np.zeros(2))  # [vectors, rows]
    assert np.isnan(z[0, 0]) and np.isnan(z[1, 1])  # inf * 0; inf + (-inf)
    assert z[1, 0] == np.inf


def test_int8_store_saturates_when_the_quotient_overflows() -> None:
    d = dp("int8", "fp32", 4)
    got = d.store(np.array([1.0, -1.0, 0.0]), scale=1e-320)  # 1 / 1e-320 is beyond float64
    assert np.array_equal(got, np.array([127.0, -127.0, 0.0]) * 1e-320)


def test_int8_products_below_float64_leave_the_bias() -> None:
    # s_w * s_x = 1e-400 underflows to 0: the sum 127 * 127 + 127 codes dequantises to
    # about 1.6e-396, which vanishes against the bias
    d = dp("int8", "fp32", 4)
    w = Operand(np.array([[127.0, 1.0]]) * 1e-200, scale=1e-200)
    z = d.dot(w, np.array([[127e-200, 127e-200]]), bias=np.array([0.5]), v_scale=1e-200)
    assert z.tolist() == [[0.5]]


def test_int8_products_beyond_float64_overflow_and_zero_sums_stay_zero() -> None:
    # s_w * s_x = 1e400 overflows: a zero sum of codes is still 0 (+ the bias), a nonzero
    # one is beyond fp32 (and float64): an infinity
    d = dp("int8", "fp32", 4)
    w = Operand(np.array([[1.0, -1.0], [1.0, 1.0]]) * 1e200, scale=1e200)
    z = d.dot(w, np.array([[1e200, 1e200]]), bias=np.array([0.25, 0.25]), v_scale=1e200)
    assert z.tolist() == [[0.25, np.inf]]


def test_int8_dequantised_values_beyond_float64_are_infinite() -> None:
    from epur.numerics.quantize import quantize_int8

    got = quantize_int8(np.array([np.inf, 1e308, 0.0]), 1e307)  # codes 127, 10, 0
    assert got.tolist() == [np.inf, 1e308, 0.0]


@pytest.mark.parametrize(
    "name", ["q8.8", "q8.8:trunc:wrap", "q4.4:rna", "q16.16:wrap", "q1.15:trunc", "q26.26:rna:wrap"]
)
def test_compiled_rounding_is_round_to_format(name: str) -> None:
    """``datapath._round`` (one compiled pass) gives ``round_to_format``'s values: ties,
    values beyond the range (saturating or wrapping), tiny and huge values; an array
    with a non-finite value goes to ``round_to_format`` itself."""
    fmt = parse_format(name)
    rng = np.random.default_rng(3)
    ties = (rng.integers(-(2**20), 2**20, 20_000) + 0.5) * 2.0**-fmt.frac_bits
    x = np.concatenate([ties, rng.standard_normal(50_000) * 2.0 ** rng.integers(-30, 60, 50_000),
                        [0.0, -0.0, 1e300, -1e300, 5e-324]])  # fmt: skip
    got, want = _round(x.reshape(-1, 5), fmt), round_to_format(x.reshape(-1, 5), fmt)
    assert got.shape == want.shape and np.array_equal(got.view(np.uint64), want.view(np.uint64))
    with pytest.raises(ValueError):
        _round(np.array([1.0, np.nan]), fmt)  # NaN in a fixed-point conversion: as numpy


def test_int8_store_is_numpys_clip_of_rint() -> None:
    """``Datapath.store`` for int8 (one compiled pass): ``clip(rint(x / s), -127, 127) *
    s``, ties to even, saturation of anything beyond (infinities included), NaN kept."""
    f32 = parse_format("fp32")
    dp = Datapath(parse_format("int8"), f32, f32, 16, parse_activation("exact"))
    scale = 0.37
    x = np.array([0.5, 1.5, -0.5, -2.5, 126.5, 127.5, -127.5, 1e300, -1e300, np.inf, -np.inf,
                  np.nan, 0.0, -0.0]) * scale  # fmt: skip
    x = np.concatenate([x, np.random.default_rng(0).standard_normal(10_000) * 60])
    with np.errstate(over="ignore", invalid="ignore"):
        want = np.clip(np.rint(x / scale), -127, 127) * scale
    got = dp.store(x.reshape(2, -1), scale).ravel()
    same = (got.view(np.uint64) == want.view(np.uint64)) | (np.isnan(got) & np.isnan(want))
    assert np.all(same), (x[~same][:5], got[~same][:5], want[~same][:5])
    codes = dp.codes(x, scale)  # the same pass without the multiply: store / scale
    finite = np.isfinite(codes)
    assert np.array_equal(codes[finite] * scale, got[finite])
    assert np.all(np.abs(codes[finite]) <= 127) and np.all(codes[finite] == np.rint(codes[finite]))
    op = Operand.from_codes(codes[finite], scale)
    assert np.array_equal(op.codes.values, np.rint(op.values / scale))
