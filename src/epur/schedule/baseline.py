"""The baseline dataflow: time-step major (docs/model.md section 2).

Each step, every neuron computes ``dot([W_g[n] U_g[n]], [x_t h_{t-1}])`` on the CU
of gate ``g``. A layer's weights are fetched when it starts; what does not fit the
weight buffer is re-fetched from main memory at every step.
"""

from __future__ import annotations

from dataclasses import replace

from epur.arch import ArchConfig
from epur.schedule._context import LayerContext
from epur.schedule._parts import (
    N_GATES,
    LayerIO,
    fc_ops,
    footprint_bytes,
    lstm_consts,
    lstm_groups,
    lstm_ops,
    resident_prefix,
    split_rows,
)
from epur.schedule.ir import (
    Access,
    Direction,
    DotGroup,
    Order,
    Phase,
    PhaseKind,
    SeqArray,
    Weights,
    Work,
)
from epur.workload.network import FCLayer, LSTMLayer

__all__ = ["fc_work", "layer_phases", "lstm_work"]


def lstm_work(
    arch: ArchConfig, index: int, layer: LSTMLayer, io: LayerIO, state: SeqArray | None = None
) -> Work:
    """One step of one LSTM direction over the concatenated ``[x_t, h_{t-1}]``.

    Without ``state``, ``h`` stays in the input buffers and ``c`` in the MFU
    between steps. With ``state`` (an autoregressive stack, where other layers run
    in between), ``[h, c]`` is read from and written back to that array each step.
    """
    r = layer.recurrent_size
    groups = lstm_groups(
        arch, layer, layer.input_size + r, lstm_consts(layer, bias=True, peepholes=True)
    )
    reads = io.input_reads()
    writes: tuple[Access, ...] = (io.output_write(),)
    if state is not None:
        reads += (Access(state, (state.elements,)),)
        writes += (Access(state, (state.elements,)),)
    footprint = footprint_bytes(arch, groups)
    return Work(
        layer=index,
        direction=io.direction,
        label=f"{io.name} ({io.direction})",
        groups=groups,
        mfu=lstm_ops(layer),
        reads=reads,
        writes=writes,
        # the operand [x_t, h_{t-1}], written packed as the DPU reads it (docs/datapath.md):
        # one word shared by x's tail and h's head is written once
        ib_writes=(sum(io.input_vectors()) + r,),
        ib_footprint=layer.input_size + r,
        mfu_ib_reads=(io.out_elements,) if layer.residual else (),
        weights=Weights(footprint, footprint),
    )


def fc_work(
    arch: ArchConfig, index: int, layer: FCLayer, io: LayerIO, rows: tuple[int, ...] | None = None
) -> Work:
    """One step of a fully-connected layer (or of a tile of its rows)."""
    rows = rows if rows is not None else split_rows(layer.output_size)
    group = DotGroup("fc", rows, layer.input_size, (1,) * N_GATES, arch.drain_cycles)
    footprint = footprint_bytes(arch, (group,))
    return Work(
        layer=index,
        direction=io.direction,
        label=f"{io.name}",
        groups=(group,),
        mfu=fc_ops(layer, sum(rows)),
        reads=io.input_reads(),
        writes=(io.output_write(tuple(x for x in rows if x)),),
        ib_writes=(sum(io.input_vectors()),),  # x_t, one packed operand
        ib_footprint=layer.input_size,
        mfu_ib_reads=(),
        weights=Weights(footprint, footprint),
    )


def with_residency(work: Work, capacity: int) -> Work:
    (weights,) = resident_prefix([work.weights.footprint], capacity)
    return replace(work, weights=weights)


def layer_phases(ctx: LayerContext) -> list[Phase]:
    cap = ctx.arch.weight_buffer.capacity_bytes
    if isinstance(ctx.layer, FCLayer):
        (io,) = ctx.ios
        work = with_residency(fc_work(ctx.arch, ctx.index, ctx.layer, io), cap)
        return [Phase(PhaseKind.FEEDFORWARD, Order.STEP_MAJOR, ctx.steps, False, False, (work,))]
    layer = ctx.layer
    return [
        Phase(
            PhaseKind.RECURRENT,
            Order.STEP_MAJOR,
            ctx.steps,
            reverse=io.direction == Direction.BACKWARD,
            drain_each_step=True,
            works=(with_residency(lstm_work(ctx.arch, ctx.index, layer, io), cap),),
        )
        for io in ctx.ios
    ]
