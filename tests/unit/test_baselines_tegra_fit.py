"""The Tegra X1's fitted fractions: the package's defaults are the fit's output."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from epur.baselines import tegra_scenarios
from epur.baselines.tegra_cudnn import FITTED
from epur.baselines.tegra_fit import fit_efficiencies, measured_rows

ROOT = Path(__file__).resolve().parents[2]


def test_the_package_defaults_are_the_fit() -> None:
    fit = fit_efficiencies().fractions()
    assert fit == dict(FITTED)  # both rounded to 3 significant digits
    measured = tegra_scenarios()["cudnn_measured"]
    assert {k: getattr(measured, k) for k in FITTED} == fit


def test_the_fit_uses_every_lstm_and_gemm_row_and_stays_within_2x() -> None:
    fit = fit_efficiencies()
    assert len(fit.gemm_rows) == 10 and len(fit.gemv_rows) == 16
    assert len(measured_rows()) == 38
    for row, predicted in fit.gemm_rows + fit.gemv_rows:
        assert 0.5 < predicted / row.time_s < 2, row


def test_fit_tegra_script_prints_the_fit() -> None:
    out = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "fit_tegra.py")],
        capture_output=True, text=True, check=True, timeout=120,
    ).stdout  # fmt: skip
    assert "gemv_bandwidth_fraction  0.408  = 0.408" in out
    assert "package default" not in out
    assert "paper_calibrated" in out
