"""The networks an evaluation ran: stacks, layers, sizes, parameters and work."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from epur.report._format import sig
from epur.report.per_sequence import steps_per_sequence
from epur.workload.network import LSTMLayer, Network

__all__ = ["WORKLOAD_HEADERS", "Workload", "workload"]


@dataclass(frozen=True, slots=True)
class Workload:
    """One network as a table row: its stacks (name, steps, layers, autoregressive)."""

    name: str
    stacks: tuple[tuple[str, int, int, bool], ...]
    layers: int
    bidirectional: int  # how many of the layers are bidirectional
    hidden_sizes: tuple[str, ...]  # distinct LSTM sizes, "H" or "H (projection P)"
    steps_per_sequence: int
    parameters: int
    macs_per_sequence: int
    frame_period_s: float | None

    def json(self) -> dict[str, Any]:
        return {
            "stacks": [
                {"name": n, "seq_len": t, "layers": k, "autoregressive": a}
                for n, t, k, a in self.stacks
            ],
            "layers": self.layers,
            "bidirectional_layers": self.bidirectional,
            "hidden_sizes": list(self.hidden_sizes),
            "steps_per_sequence": self.steps_per_sequence,
            "parameters": self.parameters,
            "macs_per_sequence": self.macs_per_sequence,
            "frame_period_s": self.frame_period_s,
        }

    def cells(self) -> list[str]:
        stacks = "; ".join(
            f"{n}: {k} layers{' (autoregressive)' if a else ''}" for n, _, k, a in self.stacks
        )
        seq = " + ".join(f"{t:,}" for _, t, _, _ in self.stacks)
        frame = "" if self.frame_period_s is None else f"{self.frame_period_s * 1e3:g}"
        return [
            self.name,
            stacks,
            f"{self.layers}"
            + (f" ({self.bidirectional} bidirectional)" if self.bidirectional else ""),
            ", ".join(self.hidden_sizes),
            seq,
            frame,
            sig(self.parameters / 1e6, 4),
            sig(self.macs_per_sequence / 1e9, 4),
        ]


WORKLOAD_HEADERS = ["network", "stacks", "layers", "hidden sizes", "seq_len (steps)",
                    "frame ms", "parameters (M)", "MACs per sequence (G)"]  # fmt: skip


def _size(layer: LSTMLayer) -> str:
    if layer.projection_size is None:
        return str(layer.hidden_size)
    return f"{layer.hidden_size} (projection {layer.projection_size})"


def workload(network: Network) -> Workload:
    """``network`` as a ``Workload``; MACs are for one sequence (not the whole batch)."""
    sizes = dict.fromkeys(_size(layer) for _, layer in network.layers()
                          if isinstance(layer, LSTMLayer))  # fmt: skip
    return Workload(
        name=network.name,
        stacks=tuple((s.name, s.seq_len, len(s.layers), s.autoregressive) for s in network.stacks),
        layers=network.num_layers,
        bidirectional=sum(
            isinstance(layer, LSTMLayer) and layer.bidirectional for _, layer in network.layers()
        ),
        hidden_sizes=tuple(sizes),
        steps_per_sequence=steps_per_sequence(network),
        parameters=network.parameter_count(),
        macs_per_sequence=network.macs_per_sequence() // network.batch,
        frame_period_s=network.frame_period_s,
    )
