"""Element functions the compiled recurrences apply across neurons, written so that
LLVM vectorises the loops that call them (no library calls, no branches it cannot
turn into selects).

``sigmoid64`` and ``tanh64`` evaluate the exact activations in float64 with a
polynomial ``exp``: Cody-Waite reduction by ``ln 2`` (a ``ln 2`` split so that
``k * LN2_HI`` is exact) and the degree-13 Taylor polynomial of ``expm1`` on ``|r| <=
ln(2) / 2``, whose truncation error is below ``2**-52``. Their relative error against
numpy's float64 functions is a few float64 units in the last place
(``benchmarks/check_activations.py`` measures it on every float32 input), far inside
the ``2**-48`` margin within which a compiled recurrence hands a value to numpy
(``unsure``), so every value it keeps rounds to the same fp32 value as numpy's.

``round_float`` rounds a float64 value to a float format of ``m`` fraction bits and
minimum exponent ``emin`` (``quantize._round_float``: nearest even, an infinity
beyond ``vmax``) with integer operations on the exponent instead of ``frexp`` and
``ldexp`` calls.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from llvmlite import ir  # type: ignore[import-untyped]
from numba import njit, types
from numba.extending import intrinsic
from numpy.typing import NDArray

__all__ = [
    "exponent", "pow2", "round_float", "round_float_array", "sigmoid64", "tanh64", "unsure",
]  # fmt: skip

MARGIN = 2.0**-48  # relative distance to an fp32 rounding boundary that is "sure"
_LN2_HI = float.fromhex("0x1.62e42fee00000p-1")  # 32 significant bits: k * _LN2_HI exact
_LN2_LO = float.fromhex("0x1.a39ef35793c76p-33")  # ln 2 - _LN2_HI
_INV_LN2 = 1.4426950408889634
_C = tuple(1.0 / math.factorial(n) for n in range(14))  # Taylor coefficients 1/n!
_EXP_FLOOR = -200.0  # exp(-200) < 2**-288: below every fp32 value's rounding reach
_TANH_ONE = 20.0  # tanh(20) rounds to 1.0 in float64


def _bitcast(source: Any, target: Any, llvm_type: Any) -> Any:
    """A compiled reinterpretation of a 64-bit value's bits (LLVM ``bitcast``)."""

    def typer(typingctx: Any, x: Any) -> Any:  # pragma: no cover - compiled
        def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
            return builder.bitcast(args[0], llvm_type)

        return target(source), codegen

    return intrinsic(typer)


_f64_to_bits = _bitcast(types.float64, types.int64, ir.IntType(64))
_bits_to_f64 = _bitcast(types.int64, types.float64, ir.DoubleType())


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def pow2(k: int) -> float:  # pragma: no cover - compiled
    """``2.0**k`` for an integer ``-1022 <= k <= 1023`` (the exponent field)."""
    return _bits_to_f64((k + 1023) << 52)  # type: ignore[no-any-return]


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def exponent(v: float) -> int:  # pragma: no cover - compiled
    """``E`` with ``2**E <= |v| < 2**(E+1)`` for a normal float64 ``v`` (-1023 for 0)."""
    return ((_f64_to_bits(v) >> 52) & 0x7FF) - 1023  # type: ignore[no-any-return]


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _exp_parts(y: float) -> tuple[float, float]:  # pragma: no cover - compiled
    """``(s, p)`` with ``exp(y) = s * (1 + p)``, ``s`` a power of two, for ``-1000 < y <= 0``."""
    k = np.rint(y * _INV_LN2)
    r = (y - k * _LN2_HI) - k * _LN2_LO
    p = _C[12] + r * _C[13]
    p = _C[11] + r * p
    p = _C[10] + r * p
    p = _C[9] + r * p
    p = _C[8] + r * p
    p = _C[7] + r * p
    p = _C[6] + r * p
    p = _C[5] + r * p
    p = _C[4] + r * p
    p = _C[3] + r * p
    p = _C[2] + r * p
    p = r * (1.0 + r * p)
    return pow2(int(k)), p


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def sigmoid64(x: float) -> float:  # pragma: no cover - compiled
    """The exact sigmoid in float64 (``activations``: ``1/(1+exp(-x))`` for ``x >= 0``,
    ``exp(x)/(1+exp(x))`` below), with the polynomial ``exp``; NaN stays NaN."""
    s, p = _exp_parts(max(-abs(x), _EXP_FLOOR))
    z = s + s * p
    out = 1.0 / (1.0 + z) if x >= 0 else z / (1.0 + z)
    return out if x == x else x


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def tanh64(x: float) -> float:  # pragma: no cover - compiled
    """``tanh`` in float64 as ``-expm1(-2|x|) / (2 + expm1(-2|x|))`` with the sign of ``x``
    (``-0.0`` stays ``-0.0``); ``expm1`` from the same reduction, exact for ``k = 0``."""
    s, p = _exp_parts(-2.0 * min(abs(x), _TANH_ONE))
    em = s * p + (s - 1.0)
    out = math.copysign(-em / (2.0 + em), x)
    return out if x == x else x


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def unsure(v: float) -> bool:  # pragma: no cover - compiled
    """Whether a float64 value within ``MARGIN`` of ``v`` may round to another fp32."""
    a = abs(v) * MARGIN
    return bool(np.float32(v + a) != np.float32(v - a)) and v == v


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def round_float(v: float, m: int, emin: int, vmax: float) -> float:  # pragma: no cover
    """``v`` rounded to nearest even in a float format of ``m`` fraction bits (``m < 52``)
    and minimum exponent ``emin``; beyond ``vmax`` an infinity; NaN and infinities kept."""
    shift = max(exponent(v), emin) - m  # the quantum is 2**shift
    r = np.rint(v * pow2(-shift)) * pow2(shift)
    r = math.copysign(math.inf, v) if abs(r) > vmax else r
    return r if abs(v) < math.inf else v


@njit(cache=True, nogil=True, error_model="numpy")
def round_float_array(
    x: NDArray[np.float64], m: int, emin: int, vmax: float, out: NDArray[Any]
) -> None:  # pragma: no cover - compiled
    """``out`` = ``round_float`` of every element of ``x`` (any shape; ``out`` of its size,
    float64, or float32 for a format that fp32 holds), in one vectorised pass."""
    flat, into = x.ravel(), out.ravel()
    for j in range(flat.size):
        into[j] = round_float(flat[j], m, emin, vmax)
