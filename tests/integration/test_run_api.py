"""``epur.run`` as a new user calls it: layouts, heads, several stacks, defaults, progress.

Every comparison is against PyTorch or ONNX Runtime run as the field runs them (or,
for networks with random weights that neither can express, the float64 reference,
which the importers' tests check against both), in fp32 to 1e-5 of the largest
magnitude.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest

from epur.api import run
from epur.errors import ConfigError
from epur.functional.reference import reference_run
from epur.workload import load_network
from epur.workload.importers import from_onnx, from_torch
from epur.workload.weights import random_weights
from tests.unit.test_workload_importers_onnx import (
    EXPORTER_WARNINGS,
    _lstm_model,
    _ort_run,
    export_tagger,
)

torch = pytest.importorskip("torch")

Array = np.ndarray[Any, Any]
ROOT = Path(__file__).resolve().parents[2]


def close(ours: Array, theirs: Array) -> None:
    assert ours.shape == theirs.shape
    scale = max(float(np.abs(theirs).max()), 1e-3)
    assert float(np.abs(ours - theirs).max()) <= 1e-5 * scale


class Tagger(torch.nn.Module):  # type: ignore[misc]
    def __init__(self, batch_first: bool) -> None:
        super().__init__()
        self.lstm = torch.nn.LSTM(5, 7, 2, bidirectional=True, batch_first=batch_first)
        self.head = torch.nn.Linear(14, 4)

    def forward(self, x: Any) -> Any:
        y, state = self.lstm(x)
        return self.head(y), state


@pytest.mark.parametrize("dataflow", ["baseline", "mwl"])
def test_batch_first_lstm_matches_torch(dataflow: str) -> None:
    torch.manual_seed(0)
    module = torch.nn.LSTM(6, 8, num_layers=2, bidirectional=True, batch_first=True)
    x = torch.randn(3, 11, 6)  # [B, T, I]
    with torch.no_grad():
        y, (h_n, c_n) = module(x)
    out = run(from_torch(module), x.numpy(), fmt="fp32", dataflow=dataflow).outputs
    close(out["y"], y.numpy())  # [B, T, 16]
    close(out["h_n"], h_n.numpy())  # [4, B, 8], as PyTorch
    close(out["c_n"], c_n.numpy())


@pytest.mark.parametrize("batch_first", [False, True])
def test_lstm_with_linear_head_matches_torch(batch_first: bool) -> None:
    torch.manual_seed(1)
    module = Tagger(batch_first).eval()
    x = torch.randn(2, 9, 5) if batch_first else torch.randn(9, 2, 5)
    with torch.no_grad():
        y, (h_n, c_n) = module(x)
    result = run(from_torch(module), x.numpy(), fmt="fp32")
    close(result.outputs["y"], y.numpy())  # the head's output
    close(result.outputs["h_n"], h_n.numpy())
    close(result.outputs["c_n"], c_n.numpy())
    assert [e.layer for e in result.errors] == ["L1", "L2", "head"]


def test_batch_first_is_refused_for_onnx_models() -> None:
    model, feeds = _lstm_model()
    with pytest.raises(ConfigError, match=r"batch_first applies to PyTorch models and networks"):
        run(from_onnx(model), feeds, batch_first=True)


def _any_batch(model: onnx.ModelProto, layout: int) -> onnx.ModelProto:
    """``model`` with a symbolic batch size in ``X``, ``Y``, ``Y_h`` and ``Y_c``."""
    axes = {"X": 1 - layout, "Y": 0 if layout else 2, "Y_h": 1 - layout, "Y_c": 1 - layout}
    for value in (*model.graph.input, *model.graph.output):
        value.type.tensor_type.shape.dim[axes[value.name]].dim_param = "b"
    return model


def _layout_twin(direction: str) -> tuple[onnx.ModelProto, Array, dict[str, Array]]:
    """A layout-1 model, one sequence [T, I] and ONNX Runtime's outputs for it (on the
    layout-0 twin, as ONNX Runtime refuses layout 1), in layout 1's shapes."""
    model = _any_batch(_lstm_model(direction, layout=1, seed=8)[0], 1)
    twin = _any_batch(_lstm_model(direction, layout=0, seed=8)[0], 0)
    feeds = _lstm_model(direction, layout=1, seed=8)[1]
    x = feeds["X"][0]  # [T, I]
    expected = _ort_run(twin, {"X": x[:, None, :]})
    return (
        model,
        x,
        {"Y": expected["Y"].transpose(2, 0, 1, 3)}
        | {k: expected[k].swapaxes(0, 1) for k in ("Y_h", "Y_c")},
    )


@pytest.mark.parametrize("direction", ["forward", "bidirectional"])
@pytest.mark.parametrize("layout", [0, 1])
def test_onnx_one_sequence_of_two_dimensions(layout: int, direction: str) -> None:
    if layout:
        model, x, expected = _layout_twin(direction)
    else:
        model, feeds = _lstm_model(direction, seed=8)
        model = _any_batch(model, 0)
        x = feeds["X"][:, 0]
        expected = _ort_run(model, {"X": x[:, None, :]})
    for inputs in (x, {"X": x}):
        ours = run(from_onnx(model), inputs, fmt="fp32").outputs
        assert ours.keys() == expected.keys()
        for name, value in expected.items():
            close(ours[name], value)


@pytest.mark.filterwarnings(*EXPORTER_WARNINGS)
@pytest.mark.parametrize("exporter", ["legacy", "dynamo"])
@pytest.mark.parametrize("batch_first", [False, True])
def test_onnx_head_runs_in_the_datapath(batch_first: bool, exporter: str) -> None:
    _, data, x = export_tagger(batch_first, exporter)
    model = from_onnx(onnx.load_from_string(data))
    name, out = model.input_names[0], model.output_names[0]
    expected = _ort_run(data, {name: x})[out]
    close(run(model, x, fmt="fp32").outputs[out], expected)
    lines: list[str] = []
    fp16 = run(model, {name: x}, fmt="fp16", progress=lines.append)
    y = fp16.outputs[out]
    assert np.array_equal(y, y.astype(np.float16))  # written by the datapath in fp16
    assert 0 < fp16.errors[0].relative < 1e-2  # and measured against float64
    assert lines[-1].startswith("layer 3/3 ") and lines[-1].endswith("(FC 12->3)")
    assert [line.split()[1] for line in lines] == ["1/3", "2/3", "3/3"]


def _seq2seq(t: int = 6, batch: int = 2) -> tuple[Any, dict[str, Array]]:
    network = load_network(ROOT / "examples" / "seq2seq.toml")
    weights = random_weights(network, np.random.default_rng(0))
    rng = np.random.default_rng(1)
    inputs = {
        "encoder": rng.standard_normal((t, batch, 256)),
        "decoder": rng.standard_normal((t + 1, batch, 512)),
        "L4.external_in": rng.standard_normal((t + 1, batch, 256)),
    }
    return (network, weights), inputs


def test_several_stacks_run_with_one_input_per_stack() -> None:
    model, inputs = _seq2seq()
    result = run(model, inputs, fmt="fp32")
    ref = reference_run(model[0], model[1], inputs)
    close(result.outputs["y"], ref[-1].y)  # the decoder's output, [T, B, 256]
    assert result.outputs["y"].shape == (7, 2, 256)
    assert result.outputs["h_n"].shape == (5, 2, 256)  # 2 + 1 + 1 + 1 directions
    assert [e.layer for e in result.errors] == ["L1", "L2", "L3", "L4"]
    assert max(e.relative for e in result.errors) < 1e-5
    flipped = {k: v.transpose(1, 0, 2) for k, v in inputs.items()}
    first = run(model, flipped, fmt="fp32", batch_first=True).outputs
    close(first["y"], ref[-1].y.transpose(1, 0, 2))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"encoder": None}, r"exactly \['encoder', 'decoder', 'L4.external_in'\] .*"
         r"missing \['encoder'\], unknown \[\]"),
        ({"L4.external_in": None, "L3.external_in": 1}, r"missing \['L4.external_in'\], "
         r"unknown \['L3.external_in'\]"),
        ({"decoder": np.zeros((7, 2, 500))}, r"input 'decoder' must have 512 features per step"),
        ({"L4.external_in": np.zeros((5, 2, 256))}, r"input 'L4.external_in' must have the "
         r"steps and batch of stack 'decoder' \(7 steps, batch 2\)"),
    ],
)  # fmt: skip
def test_stack_inputs_are_checked_by_name(change: dict[str, Any], message: str) -> None:
    model, inputs = _seq2seq()
    for key, value in change.items():
        if value is None:
            del inputs[key]
        else:
            inputs[key] = value
    with pytest.raises(ConfigError, match=message):
        run(model, inputs)


def test_one_array_for_several_stacks_is_refused() -> None:
    model, inputs = _seq2seq()
    with pytest.raises(
        ConfigError,
        match=r"needs 3 inputs, so inputs must be a mapping with "
        r"an array for each of \['encoder', 'decoder', 'L4.external_in'\]",
    ):
        run(model, inputs["encoder"])  # fmt: skip


def test_default_dataflow_is_mwl() -> None:
    torch.manual_seed(2)
    model = from_torch(torch.nn.LSTM(40, 24, num_layers=2))
    x = np.random.default_rng(3).standard_normal((30, 1, 40))
    default = run(model, x, fmt="fp32").outputs["y"]
    mwl = run(model, x, fmt="fp32", dataflow="mwl").outputs["y"]
    baseline = run(model, x, fmt="fp32", dataflow="baseline").outputs["y"]
    assert not np.array_equal(mwl, baseline)  # float formats: the dataflows round differently
    assert np.array_equal(default, mwl)


def test_progress_reports_each_layer_once_in_order() -> None:
    torch.manual_seed(4)
    lines: list[str] = []
    run(from_torch(Tagger(False)), np.ones((3, 5)), progress=lines.append)
    assert lines == [
        "layer 1/3 L1 (bidirectional LSTM 7)",
        "layer 2/3 L2 (bidirectional LSTM 7)",
        "layer 3/3 head (FC 14->4)",
    ]
    model, inputs = _seq2seq(t=2, batch=1)
    lines.clear()
    run(model, inputs, progress=lines.append, dataflow="baseline")
    assert lines == [
        "layer 1/4 L1 (bidirectional LSTM 256)",
        "layer 2/4 L2 (LSTM 256)",
        "layer 3/4 L3 (LSTM 256)",  # the autoregressive decoder's layers start together
        "layer 4/4 L4 (LSTM 256)",
    ]


def _modules_after(code: str) -> set[str]:
    code += "\nimport sys\nprint(*sorted(sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(done.stdout.split())


def test_importers_load_onnx_and_torch_only_when_used(tmp_path: Path) -> None:
    torch.save(torch.nn.LSTM(3, 4).state_dict(), tmp_path / "m.pt")
    np.save(tmp_path / "x.npy", np.ones((2, 3)))
    loaded = _modules_after("import epur.workload.importers")
    assert "onnx" not in loaded and "torch" not in loaded
    loaded = _modules_after(
        "from epur.workload.importers import from_onnx, from_torch\n"
        "import epur, numpy\n"
        f"epur.run(from_torch({str(tmp_path / 'm.pt')!r}), numpy.ones((2, 3)))"
    )
    assert "torch" in loaded and "onnx" not in loaded
    loaded = _modules_after(
        "from epur.cli import main\n"
        f"assert main(['run', '--torch', {str(tmp_path / 'm.pt')!r}, '--input', "
        f"{str(tmp_path / 'x.npy')!r}, '--out', {str(tmp_path / 'y.npz')!r}]) == 0"
    )
    assert "torch" in loaded and "onnx" not in loaded
    onnx.save(_lstm_model()[0], tmp_path / "m.onnx")
    loaded = _modules_after(
        f"from epur.workload.importers import from_onnx\nfrom_onnx({str(tmp_path / 'm.onnx')!r})"
    )
    assert "onnx" in loaded and "torch" not in loaded


def test_a_run_reports_its_datapath_and_reference_times_and_its_steps() -> None:
    model, inputs = _seq2seq()
    seen: list[tuple[int, int]] = []
    result = run(model, inputs, fmt="fp16", step_progress=lambda d, t: seen.append((d, t)))
    timings = result.timings
    assert timings.datapath_s > 0 and timings.reference_s > 0
    with pytest.raises(AttributeError):
        timings.datapath_s = 0.0  # type: ignore[misc]  # frozen
    # 6 encoder steps (L1 bidirectional, L2) and 7 decoder steps (L3, L4)
    total = 6 * 2 + 6 + 7 + 7
    assert seen[-1] == (total, total)
    assert all(t == total for _, t in seen)
    done = [d for d, _ in seen]
    assert done == sorted(done) and done[0] == 0
    assert {0, 12, 18, 25} <= set(done)  # each layer's start
