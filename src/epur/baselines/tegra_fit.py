"""The Tegra X1's achieved fractions of peak, fitted to its measured cuDNN kernels.

Data: ``data/tx1_deepbench_pr17.csv`` (**DeepBench PR 17**: Jetson TX1, CUDA 7.0, cuDNN
5.0.5, FP32; see ``data/PROVENANCE.md``). Each kernel family is fitted with the model
``epur.baselines.tegra_cudnn`` applies to it, at FP32 peak rates:

* ``gemm``: the ``sgemm_NN`` rows, ``M x K`` weights times ``N`` columns,
  ``max(2MNK / (peak x f), 4(MK + KN + MN) / (bandwidth x b))``;
* ``gemv``: the ``lstm_fwd`` rows (cuDNN's recurrent part, ``T`` steps of hidden size
  ``H`` at batch ``N``), each step the recurrent GEMV and the point-wise kernel of
  ``lstm_step_work`` plus the fixed cost per step ``STEP_FIXED_S``.

``(f, b)`` minimises the squared log error of the predicted times (a coarse-to-fine grid
over ``(0, 1]^2``, deterministic), rounded to 3 significant digits. Residuals are
``predicted / measured``.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources

from epur.baselines.tegra_cudnn import (
    DRAM_BANDWIDTH_BYTES_PER_S,
    PEAK_FP32_FLOPS,
    STEP_FIXED_S,
    kernel_time_s,
    lstm_step_work,
)
from epur.workload.network import LSTMLayer

__all__ = ["KernelRow", "TegraFit", "fit_efficiencies", "measured_rows", "round_sig"]

_FP32 = 4


@dataclass(frozen=True, slots=True)
class KernelRow:
    """One measured kernel: ``kernel, H_or_M, N_batch, T_or_K, time_ms``."""

    kernel: str
    m: int
    n: int
    k: int
    time_s: float


@dataclass(frozen=True, slots=True)
class TegraFit:
    """Fitted fractions and, per row used, ``(row, predicted_s)``."""

    gemm_flops_fraction: float
    gemm_bandwidth_fraction: float
    gemv_flops_fraction: float
    gemv_bandwidth_fraction: float
    gemm_rows: tuple[tuple[KernelRow, float], ...]
    gemv_rows: tuple[tuple[KernelRow, float], ...]

    def fractions(self) -> dict[str, float]:
        return {
            "gemm_bandwidth_fraction": self.gemm_bandwidth_fraction,
            "gemm_flops_fraction": self.gemm_flops_fraction,
            "gemv_bandwidth_fraction": self.gemv_bandwidth_fraction,
            "gemv_flops_fraction": self.gemv_flops_fraction,
        }


def round_sig(x: float, digits: int = 3) -> float:
    return float(f"{x:.{digits}g}")


@cache
def measured_rows() -> tuple[KernelRow, ...]:
    text = resources.files("epur.baselines").joinpath("data/tx1_deepbench_pr17.csv")
    reader = csv.DictReader(io.StringIO(text.read_text("utf-8")))
    return tuple(
        KernelRow(
            r["kernel"],
            int(r["H_or_M"]),
            int(r["N_batch"]),
            int(r["T_or_K"]),
            float(r["time_ms"]) / 1e3,
        )
        for r in reader
    )


def gemm_time_s(row: KernelRow, flops_fraction: float, bandwidth_fraction: float) -> float:
    m, n, k = row.m, row.n, row.k
    flops, nbytes = 2 * m * n * k, _FP32 * (m * k + k * n + m * n)
    bw = DRAM_BANDWIDTH_BYTES_PER_S
    return kernel_time_s(flops, nbytes, PEAK_FP32_FLOPS, bw, flops_fraction, bandwidth_fraction)


def lstm_time_s(row: KernelRow, flops_fraction: float, bandwidth_fraction: float) -> float:
    h, batch, steps = row.m, row.n, row.k
    work = lstm_step_work(LSTMLayer(h, h), batch, hoisted=True)
    bw = DRAM_BANDWIDTH_BYTES_PER_S
    gemv = kernel_time_s(work.gemv_flops, _FP32 * (work.weights + work.activations),
                         PEAK_FP32_FLOPS, bw, flops_fraction, bandwidth_fraction)  # fmt: skip
    pointwise = _FP32 * work.pointwise / (bw * bandwidth_fraction)
    return steps * (gemv + pointwise + STEP_FIXED_S)


def _fit(
    rows: Sequence[KernelRow], model: Callable[[KernelRow, float, float], float]
) -> tuple[float, float]:
    def loss(lf: float, lb: float) -> float:
        f, b = math.exp(lf), math.exp(lb)
        return sum(math.log(model(r, f, b) / r.time_s) ** 2 for r in rows)

    lo_f = lo_b = math.log(1e-3)
    hi_f = hi_b = 0.0
    best = (hi_f, hi_b)
    for _ in range(8):
        n = 40
        grid_f = [lo_f + (hi_f - lo_f) * i / n for i in range(n + 1)]
        grid_b = [lo_b + (hi_b - lo_b) * i / n for i in range(n + 1)]
        best = min(((lf, lb) for lf in grid_f for lb in grid_b), key=lambda p: loss(*p))
        step_f, step_b = 2 * (hi_f - lo_f) / n, 2 * (hi_b - lo_b) / n
        lo_f, hi_f = best[0] - step_f, min(best[0] + step_f, 0.0)
        lo_b, hi_b = best[1] - step_b, min(best[1] + step_b, 0.0)
    return round_sig(math.exp(best[0])), round_sig(math.exp(best[1]))


@cache
def fit_efficiencies() -> TegraFit:
    """Fit the GEMM's and the recurrent GEMV's achieved fractions of FP32 peak to the data."""
    rows = measured_rows()
    gemm = [r for r in rows if r.kernel == "sgemm_NN"]
    lstm = [r for r in rows if r.kernel == "lstm_fwd"]
    gf, gb = _fit(gemm, gemm_time_s)
    vf, vb = _fit(lstm, lstm_time_s)
    return TegraFit(
        gf, gb, vf, vb,
        tuple((r, gemm_time_s(r, gf, gb)) for r in gemm),
        tuple((r, lstm_time_s(r, vf, vb)) for r in lstm),
    )  # fmt: skip
