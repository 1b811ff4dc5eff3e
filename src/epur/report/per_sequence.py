"""Energy per batch, per sequence and per step: the one definition every report uses.

* A **run** is one inference of the whole batch: ``B`` sequences (``--batch B``)
  processed together. The timing and energy models cost a run, so latency, cycles,
  traffic and ``energy_j`` in the JSON are **per batch** (for ``B = 1``, per sequence).
* **Energy per sequence** = energy per batch / ``B``.
* **Steps per sequence** = the sum of every stack's sequence length: a GMAT sentence
  is 27 encoder steps, then 28 decoder steps, 55 steps in all; EESEN's utterance is
  800 steps (one per 10 ms frame).
* **Energy per step** = energy per sequence / steps per sequence: the average energy of
  one time step of one sequence, over all its stacks.

``epur simulate`` prints these in its summary and writes them to its JSON
(``total.energy_per_sequence_j``, ``total.energy_per_step_j``,
``total.steps_per_sequence`` and their definitions in ``energy_definitions``);
``epur reproduce`` reports the energy per sequence and per step of every design.
"""

from __future__ import annotations

from dataclasses import dataclass

from epur.evaluation import Evaluation
from epur.workload.network import Network

__all__ = ["ENERGY_DEFINITIONS", "EnergyPer", "energy_per", "normalise", "steps_per_sequence"]

ENERGY_DEFINITIONS = {
    "energy_j": "one inference of the whole batch (batch sequences processed together)",
    "energy_per_sequence_j": "energy_j / batch",
    "energy_per_step_j": "energy_per_sequence_j / steps_per_sequence",
    "steps_per_sequence": "the sum of every stack's seq_len (GMAT: encoder + decoder steps)",
}


def steps_per_sequence(network: Network) -> int:
    """Time steps of one sequence, summed over the network's stacks."""
    return sum(stack.seq_len for stack in network.stacks)


@dataclass(frozen=True, slots=True)
class EnergyPer:
    """The energy of one run, per batch, per sequence and per step (J)."""

    batch: int
    steps_per_sequence: int
    steps_by_stack: tuple[tuple[str, int], ...]
    per_batch_j: float

    @property
    def per_sequence_j(self) -> float:
        return self.per_batch_j / self.batch

    @property
    def per_step_j(self) -> float:
        return self.per_sequence_j / self.steps_per_sequence

    @property
    def steps_text(self) -> str:
        """``800 steps per sequence`` or ``55 steps per sequence: encoder 27 + decoder 28``."""
        text = f"{self.steps_per_sequence:,} steps per sequence"
        if len(self.steps_by_stack) > 1:
            text += ": " + " + ".join(f"{name} {steps:,}" for name, steps in self.steps_by_stack)
        return text


def normalise(per_batch_j: float, network: Network) -> EnergyPer:
    """The energy ``per_batch_j`` of one run of ``network``, per sequence and per step."""
    return EnergyPer(
        batch=network.batch,
        steps_per_sequence=steps_per_sequence(network),
        steps_by_stack=tuple((s.name, s.seq_len) for s in network.stacks),
        per_batch_j=per_batch_j,
    )


def energy_per(ev: Evaluation) -> EnergyPer | None:
    """The evaluation's energy per batch, sequence and step (None without an energy model)."""
    return None if ev.energy is None else normalise(ev.energy.total_j, ev.network)
