"""What the RTL engine (``rtl/engine.py``) executes of a layer's schedule, and where its
operands live in the buffers.

``plan_of(schedule)`` reads the schedule that ``epur.schedule.build_schedule`` makes for
a network of one unidirectional LSTM layer (the same object the timing and functional
models execute) and returns a ``Plan``: the dataflow, the sizes, the step order, and for
MWL the tiles of the input phase (work-major: for each tile, for every step, the tile's
rows). The engine's sequencer walks exactly that order:

* MWL, phase A (``PhaseKind.INPUT``): for each tile ``[start, start + rows)``, for each
  step position ``p``, for each neuron ``n`` of the tile: the four CUs compute
  ``W_g[n] . x + b_g[n]``, rounded to the partial-sum format, into the partial-sum buffer;
  phase B (``PhaseKind.RECURRENT``): for each ``p``, for ``n = 0 .. H-1``:
  ``U_g[n] . h_{p-1}`` from the partial sum, then the MFU; step ``p + 1`` starts when
  the last ``h`` of step ``p`` leaves the MFU (the schedule's drain at every step).
* Baseline: for each ``p``, for ``n = 0 .. H-1``: ``[W_g U_g][n] . [x h_{p-1}]`` from the
  bias, then the MFU, with the same step barrier.

Step position ``p`` is time step ``t = p`` (``t = T-1-p`` when the phase is reversed).

Buffer layout (``Layout``): a buffer word is one DPU chunk (``L`` codes). Each CU's weight
buffer holds its gate's rows, one row every ``row_words`` words: the baseline's
``[W U]`` rows (``ceil((I+H)/L)`` words each, W's elements then U's, packed across the
boundary); MWL's ``W`` rows (``ceil(I/L)`` words) from word 0, then its ``U`` rows
(``ceil(H/L)`` words) from ``u_base``. The input buffers (all four hold the same words)
hold one step's operand from word 0, packed as the DPU reads it: MWL's ``x_p`` in phase
A, ``h_{p-1}`` in phase B; the baseline's ``[x_p h_{p-1}]`` (``h`` from element ``I``,
the word the two share holding both). The layer's inputs wait in an input store (the
intermediate memory's part the engine models), ``x`` of step position ``p`` at word
``p * ceil(I/L)``; each step copies its operand in.
"""

from __future__ import annotations

from dataclasses import dataclass

from epur.schedule.ir import Dataflow, PhaseKind, Schedule

__all__ = ["Layout", "Plan", "plan_of"]


def _ceil(a: int, b: int) -> int:
    return -(-a // b)


@dataclass(frozen=True)
class Plan:
    """One direction of one LSTM layer as the schedule orders it (module docstring)."""

    dataflow: Dataflow
    inputs: int  # I
    hidden: int  # H
    steps: int  # T
    reverse: bool
    peepholes: bool
    tiles: tuple[tuple[int, int], ...] = ()  # MWL: (first row, rows) of each input tile

    def step_of(self, position: int) -> int:
        """The time step computed at step position ``position``."""
        return self.steps - 1 - position if self.reverse else position


def plan_of(schedule: Schedule, peepholes: bool) -> Plan:
    """The ``Plan`` of a schedule of one unidirectional LSTM layer without projection or
    residual (a ValueError otherwise). ``peepholes``: the layer's (the schedule only counts
    them as constants)."""
    if len(schedule.layers) != 1 or schedule.layers[0].kind != "lstm":
        raise ValueError("the RTL engine runs a network of one LSTM layer")
    if schedule.layers[0].directions != 1 or schedule.batch != 1:
        raise ValueError("the RTL engine runs one direction of one sequence")
    rec = [p for p in schedule.phases if p.kind == PhaseKind.RECURRENT]
    inp = [p for p in schedule.phases if p.kind == PhaseKind.INPUT]
    if len(rec) != 1 or len(rec[0].works) != 1 or len(rec[0].works[0].groups) != 1:
        raise ValueError("the RTL engine runs an LSTM layer without projection")
    phase = rec[0]
    work = phase.works[0]
    group = work.groups[0]
    hidden = group.rows[0]
    if work.mfu_ib_reads:
        raise ValueError("the RTL engine runs an LSTM layer without a residual connection")
    if schedule.dataflow == Dataflow.BASELINE:
        return Plan(Dataflow.BASELINE, group.length - hidden, hidden, phase.steps,
                    phase.reverse, peepholes)  # fmt: skip
    if len(inp) != 1 or inp[0].reverse != phase.reverse or inp[0].steps != phase.steps:
        raise ValueError("an MWL schedule has one input phase before its recurrence")
    tiles, start = [], 0
    for w in inp[0].works:
        rows = w.groups[0].rows[0]
        tiles.append((start, rows))
        start += rows
    if start != hidden or group.length != hidden:
        raise ValueError("the input phase's tiles must cover the layer's rows")
    inputs = inp[0].works[0].groups[0].length
    return Plan(Dataflow.MWL, inputs, hidden, phase.steps, phase.reverse, peepholes,
                tuple(tiles))  # fmt: skip


@dataclass(frozen=True)
class Layout:
    """Word addresses of a plan's operands in buffers of ``lanes``-code words."""

    plan: Plan
    lanes: int

    @property
    def mwl(self) -> bool:
        return self.plan.dataflow == Dataflow.MWL

    @property
    def row_words(self) -> int:
        """Words of one weight row (the baseline's ``[W U]``, MWL's ``W``)."""
        p = self.plan
        return _ceil(p.inputs if self.mwl else p.inputs + p.hidden, self.lanes)

    @property
    def u_words(self) -> int:
        return _ceil(self.plan.hidden, self.lanes)

    @property
    def u_base(self) -> int:
        """MWL: the first word of ``U``'s rows."""
        return self.plan.hidden * self.row_words

    @property
    def wb_words(self) -> int:
        p = self.plan
        return p.hidden * (self.row_words + (self.u_words if self.mwl else 0))

    @property
    def x_words(self) -> int:
        """Words of one step's ``x`` (``ceil(I/L)``), in the input store and in MWL's
        phase A operand."""
        return _ceil(self.plan.inputs, self.lanes)

    @property
    def operand_words(self) -> int:
        """Words of one recurrent step's operand: MWL's ``h``, the baseline's ``[x h]``."""
        return self.u_words if self.mwl else self.row_words

    @property
    def ib_words(self) -> int:
        """The input buffer holds one step's operand, from word 0."""
        return max(self.operand_words, self.x_words if self.mwl else 0)

    @property
    def h_offset(self) -> int:
        """Element offset of ``h`` in the recurrent operand (the baseline: after ``x``)."""
        return 0 if self.mwl else self.plan.inputs

    @property
    def store_words(self) -> int:
        """Words of the input store: every step's ``x``, in step-position order."""
        return self.plan.steps * self.x_words

    def pack(self, codes: list[int], bits: int) -> list[int]:
        """Codes (two's complement, ``bits`` wide) packed into words, the last one padded
        with zeros."""
        mask, lanes = (1 << bits) - 1, self.lanes
        codes = codes + [0] * (-len(codes) % lanes)
        return [
            sum((c & mask) << (i * bits) for i, c in enumerate(codes[j : j + lanes]))
            for j in range(0, len(codes), lanes)
        ]

    def wb_image(self, w: list[list[int]], u: list[list[int]], bits: int) -> list[int]:
        """One CU's weight-buffer words: its gate's ``W`` rows ``w[n]`` and ``U`` rows ``u[n]``
        (storage codes)."""
        if self.mwl:
            words = [v for row in w for v in self.pack(row, bits)]
            return words + [v for row in u for v in self.pack(row, bits)]
        return [v for a, b in zip(w, u, strict=True) for v in self.pack(a + b, bits)]

    def store_image(self, x: list[list[int]], bits: int) -> list[int]:
        """The input store's words for the inputs ``x[t]`` (storage codes): ``x`` of step
        position ``p`` at word ``p * x_words``, zero-padded."""
        p = self.plan
        return [v for q in range(p.steps) for v in self.pack(x[p.step_of(q)], bits)]
