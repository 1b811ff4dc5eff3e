"""``epur.evaluate``: a design's timing, energy and area, and, given an input, its
accuracy from the bit-accurate functional model.

``epur.evaluation.evaluate`` composes the analytical models (schedule, SRAMs, timing,
energy); it sits below the functional model in epur's layers. This function adds the
functional model on top: with ``accuracy_inputs`` it runs the network in the design's
number formats, activation and dataflow (``epur.functional.model.run_network``) and
compares the output with the float64 reference (``epur.functional.reference``),
returning the same typed ``Evaluation`` with its ``accuracy`` filled.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from epur.arch import ArchConfig
from epur.energy import SramBackend
from epur.errors import ConfigError
from epur.evaluation import Accuracy, Design, Evaluation
from epur.evaluation import evaluate as _models
from epur.functional.model import run_network, sized_to_inputs
from epur.functional.reference import reference_run
from epur.schedule import Dataflow
from epur.workload.network import Network
from epur.workload.weights import NetworkWeights, random_weights

__all__ = ["evaluate"]


def evaluate(
    network: Network,
    arch: ArchConfig | Design,
    dataflow: Dataflow | str = Dataflow.MWL,
    tile_rows: int | None = None,
    energy_backend: SramBackend | None = None,
    *,
    bank_for_clock: bool = True,
    accuracy_inputs: NDArray[Any] | Mapping[str, NDArray[Any]] | None = None,
    weights: NetworkWeights | None = None,
) -> Evaluation:
    """``epur.evaluation.evaluate`` (same arguments, same result), and with
    ``accuracy_inputs`` the functional model's ``Evaluation.accuracy`` on them.

    ``accuracy_inputs``: the input ``[T, B, I]`` of a one-stack network, or a mapping
    with one array per stack name (and per ``"<layer>.external_in"``), as
    ``run_network`` takes them. ``weights``: the network's weights (default: random
    ones as PyTorch initialises them, seed 0). The formats, activation and dataflow are
    the design's (or ``arch``'s and ``dataflow``).
    """
    ev = _models(network, arch, dataflow, tile_rows, energy_backend,
                 bank_for_clock=bank_for_clock)  # fmt: skip
    if accuracy_inputs is None:
        return ev
    design_arch, flow, tiles = (
        (arch.arch, arch.dataflow, arch.tile_rows) if isinstance(arch, Design)
        else (arch, dataflow, tile_rows)
    )  # fmt: skip
    inputs = _inputs(network, accuracy_inputs)
    if weights is None:
        weights = random_weights(network, np.random.default_rng(0))
    ref = reference_run(sized_to_inputs(network, inputs), weights, inputs)
    out = run_network(network, weights, inputs, design_arch, flow, tile_rows=tiles,
                      reference=ref)  # fmt: skip
    want = ref[-1].y
    error = float(np.max(np.abs(out.y - want), initial=0.0))
    peak = float(np.max(np.abs(want), initial=0.0))
    t, b = out.y.shape[:2]
    accuracy = Accuracy(error, error / peak if peak > 0 else 0.0, int(t), int(b))
    return replace(ev, accuracy=accuracy)


def _inputs(
    network: Network, given: NDArray[Any] | Mapping[str, NDArray[Any]]
) -> dict[str, NDArray[np.float64]]:
    if isinstance(given, Mapping):
        return {k: np.asarray(v, dtype=np.float64) for k, v in given.items()}
    if len(network.stacks) != 1:
        names = [s.name for s in network.stacks]
        raise ConfigError(f"accuracy_inputs must map each stack ({names}) to its input")
    return {network.stacks[0].name: np.asarray(given, dtype=np.float64)}
