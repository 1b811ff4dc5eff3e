"""The MFU's sigmoid and tanh: exact, or a lookup table, or piecewise linear.

This module is the contract the functional model and the RTL share for E-PUR's
multifunctional unit (Silfa et al., PACT 2018). ``f`` is ``sigmoid`` (logistic,
range ``R = spec.sigmoid_range``, default 8) or ``tanh`` (``R =
spec.tanh_range``, default 4); inputs and outputs are unit-free. With ``N =
spec.n`` and ``D = 2 * R / N``:

Samples and breakpoints (all float64)
    ``x_k = -R + k * D``, evaluated in float64 as ``-R + k * (2 * R / N)`` for
    ``k = 0..N``, except ``x_0 = -R`` and ``x_N = R`` exactly. (Every ``x_k`` is
    exactly ``-R + k * D`` when ``2R / N`` is a power of two, as with the
    default ranges and ``N`` a power of two.) ``f64`` is the float64
    evaluation: the numerically stable logistic ``1 / (1 + exp(-x))`` for
    ``x >= 0`` and ``exp(x) / (1 + exp(x))`` for ``x < 0`` (``exp`` of
    ``-|x|``, numpy); ``numpy.tanh``.
Segment index
    ``k(x)`` = the number of interior breakpoints ``x_1..x_{N-1}`` (the float64
    values above, never rounded to a format) that are ``<= x``, compared exactly
    (``numpy.searchsorted(x_1..x_{N-1}, x, side="right")``). For ``x`` a value of a
    fixed-point format with ``F`` fraction bits this is the number of breakpoint
    codes ``ceil(x_j * 2**F)`` that are ``<=`` the code of ``x`` (an integer
    comparison per breakpoint); for a float format, of the breakpoints rounded up
    to the format. It is not ``floor((x + R) / D)``: with lut98, ``x_49 = -2**-51``,
    so ``-2**-51`` is in segment 49 (docs/datapath.md, section 7.2). ``-0.0``
    counts as ``0.0``; ``-inf`` gives 0, ``+inf`` and NaN give ``N - 1``.
``exact``
    ``f64(x)``.
``lutN``
    ``table[k] = f64(-R + (k + 0.5) * D)`` (centres evaluated in float64 as
    ``-R + (k + 0.5) * (2 * R / N)``), ``k = 0..N-1``; output ``table[k(x)]``.
    Below ``-R`` the output is ``table[0]``, at or above ``R`` it is ``table[N-1]``.
``pwlN``
    ``y_k = f64(x_k)`` for ``k = 0..N``; slopes ``s_k = (y_{k+1} - y_k) / D``
    (float64 subtraction, then float64 division by ``D = 2 * R / N``),
    ``k = 0..N-1``. For ``x_k <= x < x_{k+1}``: ``y = y_k + s_k * (x - x_k)``,
    each operation a float64 operation in this order; ``x < -R`` gives ``y_0``,
    ``x >= R`` gives ``y_N``.

With a number format ``fmt`` (``rnd`` = :func:`~epur.numerics.quantize.round_to_format`
to ``fmt``, its rounding and overflow modes included) the MFU works in ``fmt``:

- its input is ``x' = rnd(x)`` (the identity on values of ``fmt``, which is all
  the hardware ever receives); ``k = k(x')``, and ``x'`` replaces ``x`` below;
- ``exact``: ``rnd(f64(x'))``;
- ``lutN``: the table entries are ``rnd(f64(centre_k))``;
- ``pwlN``: ``Y_k = rnd(y_k)``, ``S_k = rnd(s_k)`` (from the unrounded float64
  ``y_k`` and ``s_k`` above), and for ``x_k <= x' < x_{k+1}``::

      y = rnd(Y_k + rnd(S_k * rnd(x' - x_k)))

  where each ``rnd`` rounds the *exact* real result of its operation once
  (``x' < -R`` gives ``Y_0``, ``x' >= R`` gives ``Y_N``). The code computes
  each operation in float64 and then rounds, which equals one rounding of the
  exact result because the float64 result is exact (fixed point) or the double
  rounding is innocuous (float formats of ``p <= 26`` significant bits, as
  ``53 >= 2p + 1``; Figueroa 1995). :func:`activation_table` guarantees this by
  refusing (``ValueError``) a ``fmt`` where it might not hold: float formats
  need ``mantissa_bits <= 25`` and ``exponent_bits <= 10`` (fp32, fp16, bf16
  qualify) and must hold ``x_0..x_{N-1}`` exactly; a fixed format with ``F``
  fraction bits needs ``x_0..x_{N-1}`` to be multiples of ``2**-F`` (their
  range does not matter), at most 53 bits in all, ``D * 2**F <= 2**53`` and
  ``max|S_k| * D * 2**(2F) <= 2**53``.

  The segments are monotone, but as ``S_k`` is rounded to nearest, ``Y_k +
  S_k * D`` may exceed ``Y_{k+1}``: in ``fmt`` the output can step down by a
  few units in the last place at a breakpoint. Without ``fmt`` (and with
  ``2R / N`` a power of two) the approximation is monotone.

NaN in gives NaN out (with a fixed-point ``fmt``, ``rnd`` refuses NaN:
``ValueError``). Tables are built once per ``(function, spec, fmt)`` and cached.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

import numpy as np
from numpy.typing import ArrayLike, NDArray

from epur.numerics.formats import FormatKind, NumberFormat
from epur.numerics.quantize import round_to_format

__all__ = [
    "ActivationFunction",
    "ActivationKind",
    "ActivationSpec",
    "ActivationTable",
    "activation",
    "activation_table",
    "parse_activation",
    "sigmoid",
    "tanh",
]

MAX_ENTRIES = 65536
"""Most segments (PWL) or entries (LUT) a spec may have."""
_ALLOWED = f"exact, pwlN or lutN (N segments or entries, 2 to {MAX_ENTRIES})"
_SPEC_RE = re.compile(r"^(?:(exact)|(pwl|lut)(\d+))$")


class ActivationKind(StrEnum):
    """How the MFU evaluates sigmoid and tanh."""

    EXACT = "exact"
    PWL = "pwl"
    LUT = "lut"


class ActivationFunction(StrEnum):
    """The MFU's nonlinear functions."""

    SIGMOID = "sigmoid"
    TANH = "tanh"


@dataclass(frozen=True, slots=True)
class ActivationSpec:
    """An MFU activation implementation.

    Attributes
    ----------
    kind : ActivationKind
        Exact, piecewise linear or lookup table.
    n : int
        Segments (PWL) or entries (LUT), 2 to 65536; 0 for exact.
    sigmoid_range, tanh_range : float
        ``R``: the approximation covers ``[-R, R]`` and saturates outside.
    """

    kind: ActivationKind
    n: int = 0
    sigmoid_range: float = 8.0
    tanh_range: float = 4.0

    def __post_init__(self) -> None:
        if self.kind is ActivationKind.EXACT and self.n != 0:
            raise ValueError(f"an exact activation has n = 0, not {self.n!r}")
        if self.kind is not ActivationKind.EXACT and not 2 <= self.n <= MAX_ENTRIES:
            raise ValueError(f"{self.kind} n must be 2 to {MAX_ENTRIES}, not {self.n!r}")
        for field in ("sigmoid_range", "tanh_range"):
            value = getattr(self, field)
            if not (np.isfinite(value) and value > 0):
                raise ValueError(f"{field} must be finite and positive, not {value!r}")

    @property
    def name(self) -> str:
        """Canonical text, as :func:`parse_activation` reads it (the ranges are not part of it)."""
        return "exact" if self.kind is ActivationKind.EXACT else f"{self.kind.value}{self.n}"

    def range_of(self, function: ActivationFunction) -> float:
        """``R`` for ``function``."""
        return self.sigmoid_range if function is ActivationFunction.SIGMOID else self.tanh_range

    def __str__(self) -> str:
        return self.name


def parse_activation(text: str) -> ActivationSpec:
    """Parse ``"exact"``, ``"pwlN"`` or ``"lutN"`` (case-insensitive); ``ValueError`` otherwise."""
    match = _SPEC_RE.match(text.strip().lower())
    if match is None or (
        match.group(3) is not None and not 2 <= int(match.group(3)) <= MAX_ENTRIES
    ):
        raise ValueError(f"activation must be {_ALLOWED}, not {text!r}")
    if match.group(1) is not None:
        return ActivationSpec(ActivationKind.EXACT)
    return ActivationSpec(ActivationKind(match.group(2)), int(match.group(3)))


@dataclass(frozen=True, slots=True, eq=False)
class ActivationTable:
    """The constants of an approximation (ROM contents for the RTL), read-only float64.

    Attributes
    ----------
    breakpoints : ndarray
        ``x_0..x_N`` (``N + 1`` values; ``x_0 = -R``, ``x_N = R``).
    values : ndarray
        LUT: the ``N`` entries; PWL: ``Y_0..Y_N`` (``N + 1``). Rounded to ``fmt``
        when one is given.
    slopes : ndarray
        PWL: ``S_0..S_{N-1}`` (rounded to ``fmt`` when given); LUT: empty.
    """

    breakpoints: NDArray[np.float64]
    values: NDArray[np.float64]
    slopes: NDArray[np.float64]


def _f64(function: ActivationFunction, x: NDArray[np.float64]) -> NDArray[np.float64]:
    """``f64`` of the module docstring: the float64 sigmoid or tanh."""
    if function is ActivationFunction.TANH:
        return np.tanh(x)
    z = np.exp(-np.abs(x))  # in (0, 1]: never overflows
    return np.where(x >= 0, 1.0 / (1.0 + z), z / (1.0 + z))


def activation_table(
    function: ActivationFunction, spec: ActivationSpec, fmt: NumberFormat | None = None
) -> ActivationTable:
    """The breakpoints, values and slopes of a LUT or PWL ``spec`` (module docstring).

    Raises
    ------
    ValueError
        For an exact ``spec``, or a PWL whose ``fmt`` evaluation might not be
        exact (module docstring).
    """
    if spec.kind is ActivationKind.EXACT:
        raise ValueError("an exact activation has no table")
    if fmt is not None:
        _check_format(fmt)
    return _table(ActivationFunction(function), spec, fmt)


@lru_cache(maxsize=64)
def _table(
    function: ActivationFunction, spec: ActivationSpec, fmt: NumberFormat | None
) -> ActivationTable:
    n, r = spec.n, spec.range_of(function)
    step = 2 * r / n
    breakpoints = -r + np.arange(n + 1, dtype=np.float64) * step
    breakpoints[0], breakpoints[-1] = -r, r
    if spec.kind is ActivationKind.LUT:
        values = _f64(function, -r + (np.arange(n, dtype=np.float64) + 0.5) * step)
        slopes = np.zeros(0, dtype=np.float64)
    else:
        samples = _f64(function, breakpoints)
        values, slopes = samples, (samples[1:] - samples[:-1]) / step
    if fmt is not None:
        values, slopes = round_to_format(values, fmt), round_to_format(slopes, fmt)
        if spec.kind is ActivationKind.PWL:
            _check_exact_pwl(breakpoints[:-1], slopes, step, fmt)
    for array in (breakpoints, values, slopes):
        array.setflags(write=False)
    return ActivationTable(breakpoints, values, slopes)


def _check_format(fmt: NumberFormat) -> None:
    if fmt.kind is FormatKind.INT:
        raise ValueError(
            f"activations cannot round to {fmt.name} (it has a per-tensor scale): "
            "give a float or fixed-point format, or None"
        )


def _check_exact_pwl(
    starts: NDArray[np.float64], slopes: NDArray[np.float64], step: float, fmt: NumberFormat
) -> None:
    """Refuse a PWL format whose float64 evaluation might differ from one exact rounding."""
    if fmt.kind is FormatKind.FLOAT:
        fits = fmt.mantissa_bits <= 25 and fmt.exponent_bits <= 10
        on_grid = bool(np.array_equal(round_to_format(starts, fmt), starts))
    else:  # FIXED: activation_table has refused INT
        largest = float(np.max(np.abs(slopes))) * step
        scale = 2.0**fmt.frac_bits
        fits = fmt.bits <= 53 and max(largest * scale, step) * scale <= 2.0**53
        on_grid = bool(np.all(np.ldexp(starts, fmt.frac_bits) % 1 == 0))
    if not fits:
        raise ValueError(f"a PWL activation cannot be evaluated exactly in {fmt.name}")
    if not on_grid:
        raise ValueError(
            f"PWL breakpoints -R + k * 2R/N must be values of {fmt.name}: choose N and R "
            "so that they are (e.g. N a power of two and fewer segments)"
        )


def activation(
    function: ActivationFunction,
    x: ArrayLike,
    spec: ActivationSpec,
    fmt: NumberFormat | None = None,
) -> NDArray[np.float64]:
    """``function`` of ``x`` as ``spec`` and ``fmt`` define it (module docstring), float64."""
    function = ActivationFunction(function)
    inputs = np.asarray(x, dtype=np.float64)
    if fmt is not None:
        _check_format(fmt)
        inputs = round_to_format(inputs, fmt)  # x' = rnd(x)
    if spec.kind is ActivationKind.EXACT:
        exact = _f64(function, inputs)
        return exact if fmt is None else round_to_format(exact, fmt)
    table = activation_table(function, spec, fmt)
    index = np.searchsorted(table.breakpoints[1:-1], inputs, side="right")  # k(x')
    if spec.kind is ActivationKind.LUT:
        return np.where(np.isnan(inputs), np.nan, table.values[index])
    return _pwl(inputs, index, table, fmt)


def _pwl(
    x: NDArray[np.float64],
    index: NDArray[np.intp],
    table: ActivationTable,
    fmt: NumberFormat | None,
) -> NDArray[np.float64]:
    """``Y_k + S_k * (x - x_k)`` per segment, rounded at the documented points."""
    breakpoints, values = table.breakpoints, table.values
    inside = np.clip(x, breakpoints[0], breakpoints[-1])  # keeps infinities out (NaN stays)
    offset = inside - breakpoints[index]
    if fmt is None:
        y = values[index] + table.slopes[index] * offset
    else:
        product = round_to_format(table.slopes[index] * round_to_format(offset, fmt), fmt)
        y = round_to_format(values[index] + product, fmt)
    return np.where(x < breakpoints[0], values[0], np.where(x >= breakpoints[-1], values[-1], y))


def sigmoid(
    x: ArrayLike, spec: ActivationSpec, fmt: NumberFormat | None = None
) -> NDArray[np.float64]:
    """The MFU's logistic sigmoid of ``x`` (unit-free), per ``spec`` and ``fmt``."""
    return activation(ActivationFunction.SIGMOID, x, spec, fmt)


def tanh(
    x: ArrayLike, spec: ActivationSpec, fmt: NumberFormat | None = None
) -> NDArray[np.float64]:
    """The MFU's hyperbolic tangent of ``x`` (unit-free), per ``spec`` and ``fmt``."""
    return activation(ActivationFunction.TANH, x, spec, fmt)
