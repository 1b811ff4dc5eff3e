"""Acceptance: fp32 mode matches torch.nn.LSTM and ONNX Runtime to 1e-5 relative.

The reference implementations are run as the field runs them (PyTorch float32 on
the CPU, ONNX Runtime's CPU provider); epur runs the same weights through the
importers and its own datapath, in both dataflows.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import onnx
import pytest

from epur.api import run
from epur.workload.importers import from_onnx, from_torch
from tests.unit.test_workload_importers_onnx import (
    EXPORTER_WARNINGS,
    SINGLE,
    _export,
    _lstm_model,
    _ort_run,
)

torch = pytest.importorskip("torch")

TORCH_CASES = [
    # (input, hidden, layers, bidirectional, proj, batch, steps)
    (5, 7, 1, False, 0, 1, 9),
    (8, 16, 2, True, 0, 3, 20),
    (12, 20, 3, False, 6, 2, 15),
    (6, 10, 4, True, 4, 2, 11),
    (32, 24, 2, True, 8, 1, 40),
]


def close(ours: np.ndarray[Any, Any], theirs: np.ndarray[Any, Any]) -> None:
    assert ours.shape == theirs.shape
    scale = max(float(np.abs(theirs).max()), 1e-3)
    assert float(np.abs(ours - theirs).max()) <= 1e-5 * scale


@pytest.mark.filterwarnings("ignore:.*oneDNN.*:UserWarning")
@pytest.mark.parametrize("case", TORCH_CASES, ids=[str(c) for c in TORCH_CASES])
@pytest.mark.parametrize("dataflow", ["baseline", "mwl"])
def test_fp32_matches_torch(case: tuple[int, ...], dataflow: str) -> None:
    i, h, layers, bi, proj, batch, steps = case
    torch.manual_seed(sum(case))
    module = torch.nn.LSTM(i, h, num_layers=layers, bidirectional=bool(bi), proj_size=proj)
    x = torch.randn(steps, batch, i)
    with torch.no_grad():
        y, (h_n, c_n) = module(x)
    out = run(from_torch(module), x.numpy(), fmt="fp32", dataflow=dataflow).outputs
    close(out["y"], y.numpy())
    close(out["h_n"], h_n.numpy())
    close(out["c_n"], c_n.numpy())


@pytest.mark.parametrize(("direction", "options"), SINGLE, ids=[f"{d}-{o}" for d, o in SINGLE])
@pytest.mark.parametrize("dataflow", ["baseline", "mwl"])
def test_fp32_matches_onnxruntime(direction: str, options: dict[str, Any], dataflow: str) -> None:
    model, feeds = _lstm_model(direction, **options)
    ours = run(from_onnx(model), feeds, fmt="fp32", dataflow=dataflow).outputs
    theirs = _ort_run(model, feeds)
    assert ours.keys() == theirs.keys()
    for name, expected in theirs.items():
        close(ours[name], expected)


@pytest.mark.filterwarnings(*EXPORTER_WARNINGS)
def test_fp32_matches_onnxruntime_on_an_exported_stack() -> None:
    torch.manual_seed(3)
    module = torch.nn.LSTM(6, 9, num_layers=3, bidirectional=True)
    x = torch.randn(13, 2, 6)
    model = onnx.load_from_string(_export(module, (x,), dynamic=True))
    feeds = {"x": x.numpy()}
    ours = run(from_onnx(model), feeds, fmt="fp32", dataflow="mwl").outputs
    for name, expected in _ort_run(model, feeds).items():
        close(ours[name], expected)
