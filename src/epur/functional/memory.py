"""The memory a run of the functional model needs, estimated before anything is allocated.

``epur.run`` refuses a run whose estimate exceeds the limit (``memory_limit``): the
smaller of the machine's physical memory (``os.sysconf``: ``SC_PHYS_PAGES`` x
``SC_PAGE_SIZE``) and ``MEMORY_CAP`` (8 GiB), unless the caller sets another. The
estimate adds what a run holds at its peak, in bytes (``P`` parameters; for each layer
``T`` steps of its stack, batch ``B``, ``I`` inputs, ``out`` outputs per step and ``rows``
dot products per step: ``4H`` per LSTM direction, ``N`` for a fully-connected layer):

* weights in float64: ``8 P`` (what the importer or ``random_weights`` holds);
* weights in the storage format: ``16 P`` (their values, as float64, and the DPU's layout
  of them: float32 chunks or int8 codes);
* inputs: ``8 T B I`` per stack and per layer with external features (float64);
* activations: ``8 T B out`` per layer (each layer's output sequence, kept for the error
  report) and, under MWL, ``8 T B 4H`` per LSTM direction (the partial sums);
* the float64 reference: ``8 T B out`` per layer, twice for an LSTM (the layer's and its
  directions' sequences);
* working buffers, for the layer where they are largest: ``T B (16 rows + 8 I)`` (the
  reference's input products for the whole sequence, the error report's differences),
  or ``T B (64 rows + 16 I)`` where the datapath computes a whole sequence at once (MWL's
  input phase, fully-connected layers): its sums and their rounding, which for a format
  numpy lacks (bf16, fixed point) takes several temporaries. (With an accumulator
  other than fp32 or fixed point, the DPU's element-by-element reduction adds blocks of
  at most 2**23 products, a few hundred MiB, not counted.)

It is an estimate ("about"), meant to refuse the impossible (a hidden size of 10**6 needs
tens of terabytes) before a ``MemoryError`` or an exhausted machine does, not to tell 7
from 9 GiB.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

from epur.errors import ConfigError
from epur.workload.network import FCLayer, Network

__all__ = ["MEMORY_CAP", "MemoryEstimate", "check_memory", "estimate_memory", "memory_limit"]

_UNITS = (("PiB", 1 << 50), ("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10))

MEMORY_CAP = 8 << 30
"""The most memory a run may need by default (``memory_limit``)."""


@dataclass(frozen=True, slots=True)
class MemoryEstimate:
    """Bytes a run needs, by part (module docstring)."""

    weights_f64: int
    weights_storage: int
    inputs: int
    activations: int
    reference: int
    working: int

    @property
    def total(self) -> int:
        return (
            self.weights_f64
            + self.weights_storage
            + self.inputs
            + self.activations
            + self.reference
            + self.working
        )

    def describe(self) -> str:
        """``about 1.2 GiB (weights 10.0 MiB in float64 and ...)``."""
        parts = [
            f"weights {size(self.weights_f64)} in float64 and "
            f"{size(self.weights_storage)} in the storage format",
            f"inputs {size(self.inputs)}",
            f"activations {size(self.activations)}",
            f"float64 reference {size(self.reference)}",
            f"working buffers {size(self.working)}",
        ]
        return f"about {size(self.total)} ({', '.join(parts)})"


def size(n: int) -> str:
    """A byte count in binary units: ``512 B``, ``8.0 GiB``, ``29.1 TiB``, ``2.0 PiB``."""
    for unit, factor in _UNITS:
        if n >= factor:
            return f"{n / factor:,.1f} {unit}"
    return f"{n} B"


def estimate_memory(
    network: Network, mwl: bool, sequence_steps: Sequence[int] | None = None
) -> MemoryEstimate:
    """What a run of ``network`` needs: its stacks' ``seq_len`` and its ``batch`` are the
    run's (``functional.model.sized_to_inputs``), unless ``sequence_steps`` gives each
    stack's steps x batch (all the estimate needs); ``mwl`` for MWL's partial sums."""
    steps = sequence_steps or [s.seq_len * network.batch for s in network.stacks]
    params = inputs = activations = reference = working = 0
    for stack, t in zip(network.stacks, steps, strict=True):
        b = 1
        below = stack.layers[0].input_size
        inputs += 8 * t * b * below
        for k, layer in enumerate(stack.layers):
            params += layer.parameter_count()
            if k > 0 and layer.input_size > below:
                inputs += 8 * t * b * (layer.input_size - below)
            out = layer.output_size
            activations += 8 * t * b * out
            if isinstance(layer, FCLayer):
                rows = layer.output_size
                reference += 8 * t * b * out
            else:
                rows = 4 * layer.hidden_size
                reference += 16 * t * b * out
                if mwl:
                    activations += 8 * t * b * rows * layer.directions
            whole = mwl or isinstance(layer, FCLayer)  # the datapath's whole-sequence work
            per_step = (
                40 * rows + 16 * layer.input_size if whole else 16 * rows + 8 * layer.input_size
            )
            working = max(working, t * b * per_step)
            below = out
    return MemoryEstimate(8 * params, 16 * params, inputs, activations, reference, working)


def memory_limit() -> tuple[int, str]:
    """The default limit and what it is: ``MEMORY_CAP``, or the machine's physical memory
    where that is smaller (or the cap alone where the system does not tell)."""
    try:
        physical = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        physical = 0
    if 0 < physical < MEMORY_CAP:
        return physical, "this machine's physical memory, below epur's 8 GiB cap"
    return MEMORY_CAP, "epur's cap for one run" + (
        f"; this machine has {size(physical)}" if physical > 0 else ""
    )


def check_memory(
    network: Network,
    mwl: bool,
    limit: int | None = None,
    sequence_steps: Sequence[int] | None = None,
) -> MemoryEstimate:
    """``estimate_memory``, or a ``ConfigError`` when it exceeds ``limit`` (default:
    ``memory_limit()``)."""
    estimate = estimate_memory(network, mwl, sequence_steps)
    if limit is None:
        limit, what = memory_limit()
    else:
        what = "memory_limit"
    if estimate.total > limit:
        raise ConfigError(
            f"the run would need {estimate.describe()}, more than the {size(limit)} limit "
            f"({what}); reduce the network, the sequence length or the batch"
        )
    return estimate
