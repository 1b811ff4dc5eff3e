"""A systolic array's cycles in closed form, and the samples of a GEMM that are simulated.

SCALE-Sim 3.0.0 maps a GEMM ``(M x K) . (K x N)`` onto an ``R x C`` array by folds: one
operand dimension is folded over the rows, one over the columns, and the third streams
through the array. Every fold costs the same: its systolic fill and drain plus the
streamed length. Measured against SCALE-Sim 3.0.0 (docs/peers.md), cycles are exactly

* weight stationary (WS): ``ceil(K/R) * ceil(N/C) * (2R + C + M - 2) - 1``
* output stationary (OS): ``ceil(M/R) * ceil(N/C) * (R + C + K - 2) - 1``
* input stationary (IS): ``ceil(K/R) * ceil(M/C) * (2R + C + N - 2) - 1``

(WS and OS as published in the peer survey; IS derived the same way and checked against
SCALE-Sim by the tests.) Because folds are identical, a sample made of whole folds of the
two folded dimensions, with the streamed dimension whole, gives the full GEMM's cycles
and SRAM accesses times the fold ratio: that is how ``epur compare scalesim`` keeps
SCALE-Sim's run under a minute.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from epur.errors import ConfigError
from epur.units import ceil_div

__all__ = [
    "Array",
    "GemmShape",
    "Sample",
    "SystolicDataflow",
    "closed_form_cycles",
    "fill_cycles",
    "fold_cycles",
    "folds",
    "occupancy",
    "sample",
    "streamed",
]

MAX_ARRAY_SIDE = 4096


class SystolicDataflow(StrEnum):
    """What stays in the processing elements while the other operands stream."""

    WS = "ws"  # weight stationary
    OS = "os"  # output stationary
    IS = "is"  # input stationary

    @property
    def long_name(self) -> str:
        return {"ws": "weight stationary", "os": "output stationary", "is": "input stationary"}[
            self.value
        ]


@dataclass(frozen=True, slots=True)
class Array:
    """An ``rows x cols`` array of multiply-accumulate processing elements."""

    rows: int
    cols: int

    def __post_init__(self) -> None:
        for side in (self.rows, self.cols):
            if not 1 <= side <= MAX_ARRAY_SIDE:
                raise ConfigError(
                    f"--array sides must be 1 to {MAX_ARRAY_SIDE}, not {self.rows}x{self.cols}"
                )

    @classmethod
    def parse(cls, text: str) -> Array:
        """``"16x4"`` -> ``Array(16, 4)``."""
        found = re.fullmatch(r"\s*(\d{1,5})\s*[xX]\s*(\d{1,5})\s*", text)
        if found is None:
            raise ConfigError(f"--array must be ROWSxCOLS (e.g. 16x4), not {text!r}")
        return cls(int(found[1]), int(found[2]))

    @property
    def macs(self) -> int:
        return self.rows * self.cols

    def __str__(self) -> str:
        return f"{self.rows}x{self.cols}"


@dataclass(frozen=True, slots=True)
class GemmShape:
    """``(m x k) . (k x n)``: ``m`` rows of inputs (time steps x batch), ``k`` the
    reduction length, ``n`` outputs (weight rows)."""

    m: int
    k: int
    n: int

    @property
    def macs(self) -> int:
        return self.m * self.k * self.n

    def __str__(self) -> str:
        return f"{self.m}x{self.k}x{self.n}"


def _roles(shape: GemmShape, df: SystolicDataflow) -> tuple[int, int, int]:
    """(dimension folded over the rows, over the columns, streamed) for ``df``."""
    if df is SystolicDataflow.WS:
        return shape.k, shape.n, shape.m
    if df is SystolicDataflow.OS:
        return shape.m, shape.n, shape.k
    return shape.k, shape.m, shape.n


def fill_cycles(array: Array, df: SystolicDataflow) -> int:
    """The cycles every fold pays besides its streamed length: systolic fill and drain."""
    r, c = array.rows, array.cols
    return r + c - 2 if df is SystolicDataflow.OS else 2 * r + c - 2


def folds(shape: GemmShape, array: Array, df: SystolicDataflow) -> tuple[int, int]:
    """Folds over the array's rows and over its columns."""
    rows, cols, _ = _roles(shape, df)
    return ceil_div(rows, array.rows), ceil_div(cols, array.cols)


def fold_cycles(shape: GemmShape, array: Array, df: SystolicDataflow) -> int:
    """The cycles of one fold: fill and drain plus the streamed length."""
    return fill_cycles(array, df) + _roles(shape, df)[2]


def occupancy(shape: GemmShape, array: Array, df: SystolicDataflow) -> float:
    """The share of the array's processing elements a fold holds work for, on average."""
    rows, cols, _ = _roles(shape, df)
    fr, fc = folds(shape, array, df)
    return (rows / (fr * array.rows)) * (cols / (fc * array.cols))


def streamed(shape: GemmShape, df: SystolicDataflow) -> tuple[str, int]:
    """The streamed dimension's name and length."""
    name = {SystolicDataflow.WS: "M", SystolicDataflow.OS: "K", SystolicDataflow.IS: "N"}[df]
    return name, _roles(shape, df)[2]


def closed_form_cycles(shape: GemmShape, array: Array, df: SystolicDataflow) -> int:
    """SCALE-Sim 3.0.0's cycles for ``shape`` on ``array`` (module docstring)."""
    fr, fc = folds(shape, array, df)
    return fr * fc * fold_cycles(shape, array, df) - 1


@dataclass(frozen=True, slots=True)
class Sample:
    """The part of a GEMM that is simulated: whole folds, the streamed dimension whole.

    ``folds / sample_folds`` scales the sample's cycles to the whole GEMM; ``ratios``
    (m, k, n: whole / sampled size) scale its accesses.
    """

    whole: GemmShape
    shape: GemmShape
    folds: int
    sample_folds: int

    @property
    def fold_ratio(self) -> float:
        return self.folds / self.sample_folds

    @property
    def ratios(self) -> tuple[float, float, float]:
        w, s = self.whole, self.shape
        return w.m / s.m, w.k / s.k, w.n / s.n

    @property
    def is_whole(self) -> bool:
        return self.shape == self.whole


def _shape(df: SystolicDataflow, rows: int, cols: int, streamed: int) -> GemmShape:
    if df is SystolicDataflow.WS:
        return GemmShape(m=streamed, k=rows, n=cols)
    if df is SystolicDataflow.OS:
        return GemmShape(m=rows, k=streamed, n=cols)
    return GemmShape(m=cols, k=rows, n=streamed)


def sample(
    shape: GemmShape, array: Array, df: SystolicDataflow, budget_cycles: int
) -> Sample | None:
    """The largest sample of ``shape`` made of whole folds whose closed-form cycles are at
    most ``budget_cycles``: all of it if it fits, else fewer column folds, then fewer row
    folds. ``None`` when even one fold is over the budget (the streamed dimension is too
    long to simulate: only the closed form is given)."""
    per_fold = fold_cycles(shape, array, df)
    if per_fold > budget_cycles:
        return None
    fr, fc = folds(shape, array, df)
    rows, cols, streamed = _roles(shape, df)
    if fr * fc * per_fold <= budget_cycles:
        return Sample(shape, shape, fr * fc, fr * fc)
    if fr * per_fold <= budget_cycles:
        sr, sc = fr, max(1, budget_cycles // (fr * per_fold))
    else:
        sr, sc = max(1, budget_cycles // per_fold), 1
    part = _shape(df, min(rows, sr * array.rows), min(cols, sc * array.cols), streamed)
    return Sample(shape, part, fr * fc, sr * sc)
