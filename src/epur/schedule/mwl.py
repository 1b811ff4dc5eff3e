"""Maximizing Weight Locality (Silfa et al., PACT 2018; docs/model.md section 2).

Phase A (input connections): for each tile of W rows that fits the weight buffer,
for t = 1..T, compute ``W_g[n] x_t + b_g[n]`` and store the partial sums in the
intermediate memory. Each W row is fetched once per sequence.
Phase B (recurrence): with U (and the projection, peepholes) resident, for each t,
every neuron computes ``dot(U_g[n], h_{t-1})`` on an accumulator initialised with
its partial sum, then the MFU. What of U does not fit is re-fetched every step.
"""

from __future__ import annotations

from epur.errors import ScheduleError
from epur.schedule._context import LayerContext
from epur.schedule._parts import (
    N_GATES,
    LayerIO,
    footprint_bytes,
    lstm_consts,
    lstm_groups,
    lstm_ops,
    resident_prefix,
    split_rows,
)
from epur.schedule.baseline import fc_work
from epur.schedule.ir import (
    Access,
    Direction,
    DotGroup,
    MfuOps,
    Order,
    Phase,
    PhaseKind,
    SeqArray,
    Weights,
    Work,
)
from epur.workload.network import FCLayer, LSTMLayer

__all__ = ["layer_phases", "tile_sizes"]


def tile_sizes(ctx: LayerContext, rows: int, row_bytes: int) -> list[int]:
    """Rows of each tile: the requested tile size, or as many rows as fit the weight buffer."""
    cap = ctx.arch.weight_buffer.capacity_bytes
    fit = cap // row_bytes
    if fit < 1:
        raise ScheduleError(
            f"layer {ctx.name}: one row of W with its bias ({row_bytes} bytes) does not fit "
            f"weight_buffer.capacity_bytes = {cap}: {row_bytes - cap} bytes short"
        )
    tile = min(rows, fit)
    if ctx.tile_rows is not None:
        if ctx.tile_rows > fit:
            raise ScheduleError(
                f"tile of {ctx.tile_rows} rows needs {ctx.tile_rows * row_bytes} bytes per CU for "
                f"layer {ctx.name}, but weight_buffer.capacity_bytes is {cap} ({fit} rows fit)"
            )
        tile = min(rows, ctx.tile_rows)
    full, rest = divmod(rows, tile)
    return [tile] * full + ([rest] if rest else [])


def _input_work(
    ctx: LayerContext, layer: LSTMLayer, io: LayerIO, psum: SeqArray, rows: int
) -> Work:
    group = DotGroup(
        "input", (rows,) * N_GATES, layer.input_size, (1,) * N_GATES, ctx.arch.dpu.latency_cycles
    )
    footprint = footprint_bytes(ctx.arch, (group,))
    return Work(
        layer=ctx.index,
        direction=io.direction,
        label=f"{io.name} ({io.direction})",
        groups=(group,),
        mfu=MfuOps(),
        reads=io.input_reads(),
        writes=(Access(psum, (rows,) * N_GATES),),
        ib_writes=(sum(io.input_vectors()),),  # x_t, one packed operand
        ib_footprint=layer.input_size,
        mfu_ib_reads=(),
        weights=Weights(footprint, footprint),
    )


def _recurrent_work(ctx: LayerContext, layer: LSTMLayer, io: LayerIO, psum: SeqArray) -> Work:
    r, h = layer.recurrent_size, layer.hidden_size
    groups = lstm_groups(ctx.arch, layer, r, lstm_consts(layer, bias=False, peepholes=True))
    reads: tuple[Access, ...] = (Access(psum, (h,) * N_GATES),)
    ib_writes: tuple[int, ...] = (r,)
    if layer.residual:  # the shortcut x_t is no longer in the input buffer: fetch it again
        reads += (Access(io.below, (io.out_elements,)),)
        ib_writes += (io.out_elements,)
    (weights,) = resident_prefix(
        [footprint_bytes(ctx.arch, groups)], ctx.arch.weight_buffer.capacity_bytes
    )
    return Work(
        layer=ctx.index,
        direction=io.direction,
        label=f"{io.name} ({io.direction})",
        groups=groups,
        mfu=lstm_ops(layer),
        reads=reads,
        writes=(io.output_write(),),
        ib_writes=ib_writes,
        ib_footprint=sum(ib_writes),
        mfu_ib_reads=(io.out_elements,) if layer.residual else (),
        weights=weights,
    )


def _fc_phases(ctx: LayerContext, layer: FCLayer) -> list[Phase]:
    (io,) = ctx.ios
    per_cu = split_rows(layer.output_size)
    row_bytes = (layer.input_size + 1) * ctx.arch.storage_bits // 8
    works, start = [], 0
    for size in tile_sizes(ctx, max(per_cu), row_bytes):
        rows = tuple(max(0, min(size, n - start)) for n in per_cu)
        works.append(fc_work(ctx.arch, ctx.index, layer, io, rows))
        start += size
    return [Phase(PhaseKind.FEEDFORWARD, Order.WORK_MAJOR, ctx.steps, False, False, tuple(works))]


def layer_phases(ctx: LayerContext) -> list[Phase]:
    if isinstance(ctx.layer, FCLayer):
        return _fc_phases(ctx, ctx.layer)
    layer = ctx.layer
    row_bytes = (layer.input_size + 1) * ctx.arch.storage_bits // 8
    tiles = tile_sizes(ctx, layer.hidden_size, row_bytes)
    phases = []
    for io, psum in zip(ctx.ios, ctx.psums, strict=True):
        reverse = io.direction == Direction.BACKWARD
        inputs = tuple(_input_work(ctx, layer, io, psum, rows) for rows in tiles)
        phases.append(Phase(PhaseKind.INPUT, Order.WORK_MAJOR, ctx.steps, reverse, False, inputs))
        recurrent = (_recurrent_work(ctx, layer, io, psum),)
        phases.append(
            Phase(PhaseKind.RECURRENT, Order.STEP_MAJOR, ctx.steps, reverse, True, recurrent)
        )
    return phases
