"""``epur.run``: execute a network with real weights in E-PUR's datapath.

Takes what the importers produce (``from_torch``, ``from_onnx``) or a ``Network``
with ``NetworkWeights``, runs the functional model in the chosen number format,
activation and dataflow, and measures its error against the float64 reference.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from epur.arch import ArchConfig, apply_overrides, paper_preset
from epur.errors import ConfigError
from epur.functional.accuracy import ErrorStats, error_stats
from epur.functional.model import RunResult, run_network, sized_to_inputs
from epur.functional.reference import layer_name, lstm_layer, reference_run
from epur.numerics import FormatKind, parse_format
from epur.schedule import Dataflow
from epur.workload.importers import OnnxModel, TorchModel
from epur.workload.network import LSTMLayer, Network, Stack
from epur.workload.weights import NetworkWeights

__all__ = ["RunOutput", "format_settings", "run"]

F64 = NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class RunOutput:
    """Named output arrays (what ``epur run --out`` writes) and the error report."""

    outputs: dict[str, F64]
    errors: list[ErrorStats]


def format_settings(fmt: str) -> list[str]:
    """``--set`` assignments for a datapath format: storage, accumulator, partial sums.

    Floats accumulate in fp32; ``qM.N`` in ``q(2M).(2N)``, which holds every product
    exactly; int8 sums integers and dequantises to fp32.
    """
    try:
        f = parse_format(fmt)
    except ValueError as exc:
        raise ConfigError(f"format: {exc}") from None
    if f.kind == FormatKind.FIXED:
        acc = parse_format(f"q{2 * f.int_bits}.{2 * f.frac_bits}").name
        suffix = f.name[len(f"q{f.int_bits}.{f.frac_bits}") :]
        acc += suffix
    else:
        acc = "fp32"
    return [f"formats.storage={f.name}", f"formats.accumulator={acc}",
            f"formats.partial_sums={acc}"]  # fmt: skip


def _arch(arch: ArchConfig | None, fmt: str | None, activation: str | None) -> ArchConfig:
    sets = format_settings(fmt) if fmt is not None else []
    if activation is not None:
        sets.append(f"mfu.activation={activation}")
    return apply_overrides(arch or paper_preset(), sets)


def _array(name: str, value: Any, ndims: tuple[int, ...] = (2, 3)) -> F64:
    """A finite real float64 array with an allowed number of dimensions, or a ConfigError."""
    a = np.asarray(value)
    if a.dtype.kind not in "fiu" or a.dtype.kind == "b":
        raise ConfigError(f"{name} must hold real numbers, not dtype {a.dtype}")
    if a.ndim not in ndims:
        want = " or ".join(f"{n}-D" for n in ndims)
        raise ConfigError(f"{name} must be {want}, not of shape {list(a.shape)}")
    a = a.astype(np.float64)
    if not np.isfinite(a).all():
        bad = int((~np.isfinite(a)).sum())
        raise ConfigError(f"{name} holds NaN or Inf values ({bad} of them)")
    return a


def run(
    model: TorchModel | OnnxModel | tuple[Network, NetworkWeights],
    inputs: Any,
    *,
    arch: ArchConfig | None = None,
    fmt: str | None = None,
    activation: str | None = None,
    dataflow: Dataflow | str = Dataflow.BASELINE,
) -> RunOutput:
    """Run ``model`` on ``inputs`` in E-PUR's datapath and report the error.

    ``inputs``: for ONNX models a mapping keyed by the model's input names (``X``,
    optionally ``sequence_lens``, ``initial_h``, ``initial_c``); otherwise the input
    sequence ``[T, I]`` or ``[T, B, I]`` (time major). ``fmt`` (fp32, fp16, bf16,
    qM.N, int8) and ``activation`` (exact, pwlN, lutN) override ``arch``.
    """
    arch = _arch(arch, fmt, activation)
    if isinstance(model, OnnxModel):
        return _run_onnx(model, inputs, arch, dataflow)
    network, weights = (model.network, model.weights) if isinstance(model, TorchModel) else model
    x = _array("input", inputs)
    x = x[:, None, :] if x.ndim == 2 else x
    if x.shape[-1] != network.stacks[0].layers[0].input_size:
        raise ConfigError(
            f"input must have {network.stacks[0].layers[0].input_size} features per step, "
            f"not {x.shape[-1]} (shape {list(x.shape)})"
        )
    if len(network.stacks) != 1:
        raise ConfigError("epur run takes networks of one stack; use the Python API for more")
    feeds = {network.stacks[0].name: x}
    result = run_network(network, weights, feeds, arch, dataflow, keep_layers=True)
    ref = reference_run(sized_to_inputs(network, feeds), weights, feeds)
    errors = [
        error_stats(layer_name(layer, k), result.layer_outputs[k], ref[k].y)
        for k, (_, layer) in enumerate(network.layers())
    ]
    return RunOutput(_torch_layout(result), errors)


def _torch_layout(result: RunResult) -> dict[str, F64]:
    out = {"y": result.y}
    if result.h_n and len({h.shape[1:] for h in result.h_n}) == 1:
        out["h_n"] = np.concatenate(result.h_n)
    if result.c_n and len({c.shape[1:] for c in result.c_n}) == 1:
        out["c_n"] = np.concatenate(result.c_n)
    return out


def _node_runner(model: OnnxModel, arch: ArchConfig | None, dataflow: Dataflow | str) -> Any:
    """A callable running one ONNX LSTM node: E-PUR's datapath, or float64 if no ``arch``."""

    def lstm(
        node: int, x: F64, h0: F64 | None, c0: F64 | None, seq_lens: NDArray[np.int64] | None
    ) -> tuple[F64, F64, F64]:
        layer = [layer for _, layer in model.network.layers()][node]
        assert isinstance(layer, LSTMLayer)
        w = model.weights.layers[node]
        assert isinstance(w, tuple)
        x = x.astype(np.float64)
        t, b = x.shape[:2]
        dirs = layer.directions
        if arch is None:
            res = lstm_layer(layer, w, x, x.shape[-1], h0, c0, seq_lens)
            y, h, c = (
                res.y,
                np.stack([d.h for d in res.directions]),
                np.stack([d.c for d in res.directions]),
            )
        else:
            net = Network("node", (Stack("main", t, (layer,)),), batch=b)
            out = run_network(net, NetworkWeights((w,)), {"main": x}, arch, dataflow,
                              seq_lens=seq_lens, initial={0: (h0, c0)})  # fmt: skip
            y, h, c = out.y, out.h_n[0], out.c_n[0]
        y = y.reshape(t, b, dirs, -1).transpose(0, 2, 1, 3)
        return y, h, c

    return lstm


def _run_onnx(
    model: OnnxModel, inputs: Any, arch: ArchConfig, dataflow: Dataflow | str
) -> RunOutput:
    if not isinstance(inputs, Mapping):
        inputs = {model.input_names[0]: inputs}
    unknown = sorted(set(inputs) - set(model.input_names))
    if unknown:
        raise ConfigError(
            f"inputs {unknown} are not inputs of the model (its inputs: {model.input_names})"
        )
    feeds: dict[str, Any] = {}
    for name, value in inputs.items():
        ints = "lens" in name or np.asarray(value).dtype.kind in "iu"
        arr = _array(name, value, (1, 2, 3))
        feeds[name] = arr.astype(np.int64) if ints and arr.ndim == 1 else arr
    outputs = model.run(feeds, _node_runner(model, arch, dataflow))
    reference = model.run(feeds, _node_runner(model, None, dataflow))
    errors = [error_stats(name, outputs[name], reference[name]) for name in model.output_names]
    return RunOutput({k: np.asarray(v, dtype=np.float64) for k, v in outputs.items()}, errors)
