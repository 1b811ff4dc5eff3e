"""The compiled recurrences' element functions (``_vmath``) against numpy's definitions:
the exact sigmoid and tanh round to numpy's fp32 value wherever ``unsure`` does not
hand the value back, and ``round_float`` is ``round_to_format`` for float formats."""

from __future__ import annotations

import numpy as np
import pytest
from numba import njit

from epur.functional._vmath import (
    pow2,
    round_float,
    round_float_array,
    sigmoid64,
    tanh64,
    unsure,
)
from epur.numerics import FormatKind, NumberFormat
from epur.numerics.activations import ActivationFunction as Fn
from epur.numerics.activations import _f64
from epur.numerics.quantize import float_limits, round_to_format


@njit(error_model="numpy")
def _apply(x: np.ndarray, fn: int) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover
    e = np.empty(x.size)
    bad = np.zeros(x.size, dtype=np.bool_)
    for j in range(x.size):
        e[j] = sigmoid64(np.float64(x[j])) if fn == 0 else tanh64(np.float64(x[j]))
        bad[j] = unsure(e[j])
    return e, bad


@njit(error_model="numpy")
def _round_all(x: np.ndarray, m: int, emin: int, vmax: float) -> np.ndarray:  # pragma: no cover
    out = np.empty(x.size)
    for j in range(x.size):
        out[j] = round_float(x[j], m, emin, vmax)
    return out


_SPECIAL = np.array(
    [0.0, -0.0, np.inf, -np.inf, np.nan, 1e-45, -1e-45, 1e-38, -1e-38, 2**-24, 0.5, -0.5,
     9.01, -9.01, 19.9, 20.0, 20.5, -20.5, 88.7, -88.7, 103.9, -103.9, 104.0, -104.0,
     199.0, -200.0, -201.0, 1e4, -1e4, 3.4e38, -3.4e38],
    dtype=np.float32,
)  # fmt: skip


def _inputs(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    bits = rng.integers(0, 2**32, 400_000, dtype=np.uint64).astype(np.uint32).view(np.float32)
    scaled = [(rng.standard_normal(100_000) * s).astype(np.float32) for s in (1e-4, 0.3, 3, 30)]
    return np.concatenate([_SPECIAL, bits, *scaled])


@pytest.mark.parametrize("fn", [Fn.SIGMOID, Fn.TANH])
def test_exact_activations_round_as_numpy(fn: Fn) -> None:
    x = _inputs(0)
    e, bad = _apply(x, 0 if fn is Fn.SIGMOID else 1)
    with np.errstate(all="ignore"):
        want = _f64(fn, x.astype(np.float64)).astype(np.float32)
    got = e.astype(np.float32)
    same = (got.view(np.uint32) == want.view(np.uint32)) | (np.isnan(got) & np.isnan(want))
    assert np.all(same | bad), x[~(same | bad)][:5]
    assert bad.mean() < 1e-3  # handed back rarely
    finite = np.isfinite(want) & (np.abs(want) > 1e-300)
    rel = np.abs(e[finite] - _f64(fn, x[finite].astype(np.float64))) / np.abs(want[finite])
    assert rel.max() < 2.0**-50  # a few float64 ulps: inside the 2**-48 margin


def test_signed_zero_and_nan() -> None:
    e, _ = _apply(np.array([-0.0, 0.0, np.nan], dtype=np.float32), 1)
    assert np.signbit(e[0]) and not np.signbit(e[1]) and np.isnan(e[2])
    s, _ = _apply(np.array([np.nan, -np.inf, np.inf], dtype=np.float32), 0)
    assert np.isnan(s[0]) and np.float32(s[1]) == 0.0 and s[2] == 1.0  # fp32 values


def test_pow2_is_exact() -> None:
    for k in (-1022, -149, -1, 0, 1, 52, 1023):
        assert pow2(k) == 2.0**k


@pytest.mark.parametrize(("e", "m"), [(5, 10), (8, 7), (8, 23), (4, 3), (5, 2), (6, 1)])
def test_round_float_is_round_to_format(e: int, m: int) -> None:
    fmt = NumberFormat(f"e{e}m{m}", FormatKind.FLOAT, 1 + e + m, exponent_bits=e, mantissa_bits=m)
    lim = float_limits(fmt)
    top = lim.max_finite * (1 + 2.0 ** -(fmt.mantissa_bits + 1))  # the midpoint above max
    edges = [lim.max_finite, top, np.nextafter(top, 0.0), np.nextafter(top, np.inf)]
    doubles = np.random.default_rng(2).integers(0, 2**63, 200_000, dtype=np.uint64).view(np.float64)
    with np.errstate(invalid="ignore"):  # signalling NaN patterns among the random bits
        x = np.concatenate([_inputs(1).astype(np.float64), edges, np.negative(edges),
                            doubles, -doubles, doubles * 2.0**-1000])  # fmt: skip
    got = _round_all(x, fmt.mantissa_bits, lim.emin, lim.max_finite)
    with np.errstate(all="ignore"):
        want = round_to_format(x, fmt)
    same = (got.view(np.uint64) == want.view(np.uint64)) | (np.isnan(got) & np.isnan(want))
    assert np.all(same), (x[~same][:5], got[~same][:5], want[~same][:5])
    n = len(x) // 7 * 7  # the array version, on a 2-D array, into float64 and float32
    for dtype in (np.float64, np.float32):
        whole = np.empty((n // 7, 7), dtype=dtype)
        round_float_array(x[:n].reshape(-1, 7), fmt.mantissa_bits, lim.emin, lim.max_finite,
                          whole)  # fmt: skip
        if dtype == np.float32 and fmt.exponent_bits <= 8 and fmt.mantissa_bits <= 23:
            with np.errstate(invalid="ignore"):  # NaN patterns
                narrow = got[:n].astype(np.float32)
            assert np.array_equal(whole.ravel(), narrow, equal_nan=True)
        elif dtype == np.float64:
            assert np.array_equal(whole.ravel(), got[:n], equal_nan=True)
