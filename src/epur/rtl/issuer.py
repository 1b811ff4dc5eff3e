"""The layer engine's control (``rtl/engine.py``): what the four CUs do in each cycle.

The issuer walks a ``Plan`` (``rtl/sequencer.py``) step by step. Every step first
*writes* the step's operand into the input buffers, one word per cycle through their
single port, then *issues* its dot products, one per row, back to back:

* MWL, phase A: for each tile and step position ``p``, write ``x_p`` (``ceil(I/L)``
  words), then issue the tile's rows (``W_g[n] . x_p``, the result into the partial-sum
  buffer). Phase B's first write starts in the cycle the last partial sum arrives.
* MWL, phase B, and the baseline: for each step position ``p``, write the operand
  (``h_{p-1}``, ``ceil(H/L)`` words; the baseline's ``[x_p h_{p-1}]``,
  ``ceil((I+H)/L)`` words), then issue the ``H`` rows. Step ``p``'s writes start in the
  cycle the last ``h`` of step ``p - 1`` leaves the MFU (step 0's: the cycle after the
  start; under MWL, when phase A ends), since they need it.

A write waits until no chunk of an earlier dot product remains to be issued (the CUs'
``start.ready``), so the input buffers never see a read and a write in one cycle. Per
step that is the timing model's ``writes + issue`` (its input-buffer port stall plus its
compute cycles, ``epur.timing``), and in the recurrence the step's drain (DPU + MFU
latency) before the next step's writes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from amaranth.hdl import Array, Const, Module, Signal, Value
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from epur.rtl.sequencer import Layout

__all__ = ["IDLE", "INPUT", "RECURRENT", "Issuer"]

IDLE, INPUT, RECURRENT = 0, 1, 2  # the issuer's phases


class Issuer(wiring.Component):  # type: ignore[misc]
    """``Issuer(layout)``: the control of the module docstring for ``layout.plan``.

    Inputs: ``begin`` (a start handshake this cycle), ``cu_ready`` (every CU accepts a
    dot product: none has chunks left to issue), ``h_steps`` (the steps whose every ``h``
    has left the MFU), ``last_h`` (the last ``h`` of step ``h_steps`` leaves it this
    cycle), ``psums_in`` and ``last_psum`` (MWL: every partial sum is in its buffer, or
    the last one arrives this cycle), ``drained`` (nothing left to deliver on ``out``).

    Outputs: ``phase`` (``IDLE``, ``INPUT``, ``RECURRENT``); a dot product (``valid``,
    ``fire``: it is accepted; ``rec``: the recurrence's, else phase A's; ``n``: the row;
    ``p``: the step position); an input-buffer write (``w_en``; ``w_word``: the word of
    the step's operand; ``p``: its step position, ``w_rec``: the recurrence's operand,
    else phase A's ``x_p``).
    """

    def __init__(self, layout: Layout) -> None:
        plan = layout.plan
        self.layout = layout
        steps, hidden = plan.steps, plan.hidden
        super().__init__(
            {
                "begin": In(1),
                "cu_ready": In(1),
                "h_steps": In(range(steps + 1)),
                "last_h": In(1),
                "psums_in": In(1),
                "last_psum": In(1),
                "drained": In(1),
                "phase": Out(range(3)),
                "valid": Out(1),
                "fire": Out(1),
                "rec": Out(1),
                "n": Out(range(hidden + 1)),
                "p": Out(range(steps + 1)),
                "w_en": Out(1),
                "w_rec": Out(1),
                "w_word": Out(range(max(layout.x_words, layout.operand_words) + 1)),
            }
        )

    def elaborate(self, platform: object) -> Module:
        m = Module()
        lay = self.layout
        plan = lay.plan
        steps, hidden, mwl = plan.steps, plan.hidden, lay.mwl
        phase, n, p = self.phase, self.n, self.p
        tile = Signal(range(max(2, len(plan.tiles) + 1)))
        issued_all = Signal()  # the phase has issued its last dot product
        writing = Signal()  # the step's operand is being written (before its first issue)
        word = self.w_word
        m.d.comb += self.fire.eq(self.valid & self.cu_ready)

        def write(last_word: int, done: list[Any]) -> None:
            """One operand word this cycle if the CUs issue nothing; ``done`` after the last."""
            with m.If(self.cu_ready):
                m.d.comb += self.w_en.eq(1)
                with m.If(word == last_word - 1):
                    m.d.sync += [word.eq(0), writing.eq(0), *done]
                with m.Else():
                    m.d.sync += word.eq(word + 1)

        with m.If(self.begin):
            m.d.sync += [p.eq(0), tile.eq(0), issued_all.eq(0), writing.eq(1), word.eq(0)]
            m.d.sync += [phase.eq(INPUT if mwl else RECURRENT)]
            m.d.sync += n.eq(plan.tiles[0][0] if mwl else 0)
        with m.Elif((phase == INPUT) & ~issued_all):  # MWL phase A
            starts = Array(Const(t0, range(hidden + 1)) for t0, _ in plan.tiles)
            ends = Array(Const(t0 + r - 1, range(hidden + 1)) for t0, r in plan.tiles)
            with m.If(writing):
                write(lay.x_words, [])
            with m.Else():
                m.d.comb += self.valid.eq(1)
                with m.If(self.fire):
                    next_input_row(m, (n, p, tile), starts, ends, steps,
                                   [issued_all.eq(1), writing.eq(1)], [writing.eq(1)])  # fmt: skip
        with m.Else():  # the recurrence (MWL: once phase A's results are in)
            after_a = (phase == INPUT) & issued_all & (self.psums_in | self.last_psum)
            h_in = (self.h_steps == p) | ((self.h_steps + 1 == p) & self.last_h)
            m.d.comb += self.w_rec.eq(1)
            with m.If(writing & ((phase == RECURRENT) | after_a) & ((p == 0) | h_in)):
                write(lay.operand_words, [phase.eq(RECURRENT), issued_all.eq(0)])
            with m.Elif(~writing & (phase == RECURRENT) & ~issued_all):
                m.d.comb += [self.valid.eq(1), self.rec.eq(1)]
                with m.If(self.fire):
                    with m.If(n != hidden - 1):
                        m.d.sync += n.eq(n + 1)
                    with m.Elif(p != steps - 1):
                        m.d.sync += [n.eq(0), p.eq(p + 1), writing.eq(1)]
                    with m.Else():
                        m.d.sync += issued_all.eq(1)
            with m.If((phase == RECURRENT) & (self.h_steps == steps) & self.drained):
                m.d.sync += phase.eq(IDLE)
        return m


def next_input_row(
    m: Module,
    position: tuple[Value, Value, Value],
    starts: Array,
    ends: Array,
    steps: int,
    done: list[Any],
    new_step: Sequence[Any] = (),
) -> None:
    """Advance MWL's input-phase position ``(n, t, tile)`` (a neuron row, a step, a tile;
    ``starts``/``ends``: each tile's first and last row) by one row in the schedule's
    order: the tile's rows, then its next step, then the next tile (each with
    ``new_step``, statements); after the last row of the last tile, back to
    ``(0, 0, tile)`` with ``done``."""
    n, t, tile = position
    with m.If(n != ends[tile]):
        m.d.sync += n.eq(n + 1)
    with m.Elif(t != steps - 1):
        m.d.sync += [n.eq(starts[tile]), t.eq(t + 1), *new_step]
    with m.Elif(tile != len(starts) - 1):
        m.d.sync += [n.eq(starts[tile + 1]), t.eq(0), tile.eq(tile + 1), *new_step]
    with m.Else():
        m.d.sync += [*done, n.eq(0), t.eq(0)]
