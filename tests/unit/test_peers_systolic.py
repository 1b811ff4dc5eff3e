"""The systolic closed form against SCALE-Sim 3.0.0's measured cycles, and the samples."""

from __future__ import annotations

import pytest

from epur.errors import ConfigError
from epur.peers.systolic import (
    Array,
    GemmShape,
    SystolicDataflow,
    closed_form_cycles,
    fill_cycles,
    folds,
    sample,
)

WS, OS, IS = SystolicDataflow.WS, SystolicDataflow.OS, SystolicDataflow.IS

# SCALE-Sim 3.0.0's measured "Total Cycles" (the peer survey, docs/peers.md, section 4.1):
# (array, dataflow, M, K, N) -> cycles
MEASURED = [
    ("8x8", WS, 1, 640, 1280, 294_399),  # EESEN step GEMV
    ("16x4", WS, 1, 640, 1280, 447_999),
    ("32x32", WS, 1, 640, 1280, 75_999),
    ("8x8", OS, 1, 640, 1280, 104_639),
    ("8x8", WS, 1, 320, 1280, 147_199),  # EESEN U.h only
    ("8x8", WS, 100, 320, 1280, 780_799),  # MWL input GEMM, T = 100
    ("16x4", WS, 100, 320, 1280, 857_599),
    ("32x32", WS, 100, 320, 1280, 77_599),
    ("8x8", WS, 700, 320, 1280, 4_620_799),
    ("32x32", WS, 700, 320, 1280, 317_599),
    ("32x32", WS, 2000, 320, 1280, 837_599),
    ("32x32", WS, 1, 2048, 4096, 778_239),  # GNMT step GEMV
    ("8x8", WS, 1, 2048, 4096, 3_014_655),
    ("32x32", WS, 50, 1024, 4096, 589_823),  # GNMT MWL, T = 50
]


@pytest.mark.parametrize(("array", "df", "m", "k", "n", "cycles"), MEASURED)
def test_closed_form_is_scalesims_measured_cycles(
    array: str, df: SystolicDataflow, m: int, k: int, n: int, cycles: int
) -> None:
    assert closed_form_cycles(GemmShape(m, k, n), Array.parse(array), df) == cycles


def test_closed_form_by_hand() -> None:
    a = Array(8, 8)
    # WS: 80 x 160 folds of (16 + 8 + 1 - 2) = 23 cycles, less one
    assert closed_form_cycles(GemmShape(1, 640, 1280), a, WS) == 80 * 160 * 23 - 1
    # OS: 1 x 160 folds of (8 + 8 + 640 - 2) cycles, less one
    assert closed_form_cycles(GemmShape(1, 640, 1280), a, OS) == 160 * 654 - 1
    # IS: K over the rows (80), M over the columns (1), N streamed: 16 + 8 + 1280 - 2
    assert closed_form_cycles(GemmShape(1, 640, 1280), a, IS) == 80 * 1302 - 1
    assert fill_cycles(Array(16, 4), WS) == 34
    assert fill_cycles(Array(16, 4), IS) == 34
    assert fill_cycles(Array(16, 4), OS) == 18
    assert folds(GemmShape(5, 13, 20), a, WS) == (2, 3)
    assert folds(GemmShape(5, 13, 20), a, OS) == (1, 3)
    assert folds(GemmShape(5, 13, 20), a, IS) == (2, 1)


def test_array_parsing() -> None:
    assert Array.parse("16x4") == Array(16, 4)
    assert Array.parse(" 8X8 ") == Array(8, 8)
    assert str(Array(32, 32)) == "32x32"
    assert Array(16, 4).macs == 64
    for bad in ("16", "16x", "x4", "16*4", "-1x4", "1.5x4"):
        with pytest.raises(ConfigError, match=r"--array must be ROWSxCOLS \(e\.g\. 16x4\)"):
            Array.parse(bad)
    with pytest.raises(ConfigError, match="--array sides must be 1 to 4096, not 0x4"):
        Array.parse("0x4")


def test_a_small_gemm_is_simulated_whole() -> None:
    shape = GemmShape(5, 13, 20)
    part = sample(shape, Array(8, 8), WS, 10_000)
    assert part is not None and part.is_whole
    assert (part.folds, part.sample_folds, part.fold_ratio) == (6, 6, 1.0)


def test_a_sample_is_whole_column_folds_with_the_streamed_dimension_whole() -> None:
    a, shape = Array(16, 4), GemmShape(1, 320, 1280)  # EESEN's recurrent GEMV
    # one column fold: 20 row folds x 35 cycles = 700 cycles; 40,000 // 700 = 57 folds
    part = sample(shape, a, WS, 40_000)
    assert part is not None
    assert part.shape == GemmShape(1, 320, 57 * 4)
    assert (part.folds, part.sample_folds) == (20 * 320, 20 * 57)
    assert part.ratios == (1.0, 1.0, 1280 / 228)
    assert closed_form_cycles(part.shape, a, WS) <= 40_000


def test_a_sample_cuts_row_folds_when_one_column_fold_is_over_the_budget() -> None:
    a, shape = Array(16, 4), GemmShape(800, 640, 1280)  # one fold: 834 cycles; 40 row folds
    part = sample(shape, a, WS, 10_000)
    assert part is not None
    assert part.shape == GemmShape(800, 11 * 16, 4)  # 10,000 // 834 = 11 row folds
    assert (part.folds, part.sample_folds) == (40 * 320, 11)
    # output stationary: M over the rows (8 folds), N over the columns, K streamed: a
    # column fold is 8 x (8 + 8 + 640 - 2) = 5,232 cycles, so one fits 10,000
    part = sample(GemmShape(64, 640, 1280), Array(8, 8), OS, 10_000)
    assert part is not None and part.shape == GemmShape(64, 640, 8)
    # input stationary: K over the rows, M over the columns, N streamed: a column fold is
    # 8 x (16 + 8 + 100 - 2) = 976 cycles
    part = sample(GemmShape(64, 64, 100), Array(8, 8), IS, 1_000)
    assert part is not None and part.shape == GemmShape(8, 64, 100)


def test_one_fold_over_the_budget_is_not_sampled() -> None:
    assert sample(GemmShape(51_200, 320, 1280), Array(16, 4), WS, 40_000) is None
    assert sample(GemmShape(1, 320, 1280), Array(16, 4), WS, 34) is None
    assert sample(GemmShape(1, 320, 1280), Array(16, 4), WS, 35) is not None
