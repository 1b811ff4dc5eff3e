"""``build_schedule``: a network, an architecture and a dataflow -> a ``Schedule``.

This module owns what both dataflows share: the sequence arrays and their place
in the intermediate memory (what does not fit spills to main memory), the
autoregressive stacks (which run step by step through all their layers in either
dataflow), the input-buffer check and the notes that explain the result.

Intermediate-memory placement (``place_arrays``) is first fit over liveness: an
array is live from the first phase that touches it to the last; in creation order,
each array gets as many leading rows as fit beside the arrays already placed that
are live in any of its phases; the other rows spill to main memory. Under MWL a
layer's input dies after its input phase, so its output can reuse the space.
Stack inputs and outputs live in main memory.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

from epur.arch import ArchConfig
from epur.errors import ScheduleError
from epur.schedule import baseline, mwl
from epur.schedule._context import LayerContext
from epur.schedule._parts import LayerIO, check_input_buffer, resident_prefix
from epur.schedule.ir import (
    Access,
    ArrayKind,
    Dataflow,
    Direction,
    LayerInfo,
    Order,
    Phase,
    PhaseKind,
    Schedule,
    SeqArray,
    Work,
    live_ranges,
)
from epur.workload.network import FCLayer, Layer, LSTMLayer, Network, Stack

__all__ = ["DATAFLOWS", "build_schedule"]

DATAFLOWS: dict[Dataflow, Callable[[LayerContext], list[Phase]]] = {
    Dataflow.BASELINE: baseline.layer_phases,
    Dataflow.MWL: mwl.layer_phases,
}


def build_schedule(
    network: Network,
    arch: ArchConfig,
    dataflow: Dataflow | str = Dataflow.BASELINE,
    tile_rows: int | None = None,
) -> Schedule:
    """The order of work of one inference of ``network`` on ``arch``.

    ``tile_rows`` (MWL only) is the number of W rows per CU held at once in the
    input phase; by default as many as fit the weight buffer.
    """
    try:
        flow = Dataflow(dataflow)
    except ValueError:
        raise ScheduleError(f"dataflow must be baseline or mwl, not {dataflow!r}") from None
    if tile_rows is not None and (isinstance(tile_rows, bool) or tile_rows < 1):
        raise ScheduleError(f"tile_rows must be a positive integer, not {tile_rows!r}")
    builder = _Builder(network, arch, flow, tile_rows)
    for stack in network.stacks:
        if stack.autoregressive:
            builder.autoregressive_stack(stack)
        else:
            builder.layered_stack(stack)
    return builder.result()


def _name(layer: Layer, index: int) -> str:
    return layer.name or f"L{index + 1}"


@dataclass
class _Builder:
    network: Network
    arch: ArchConfig
    dataflow: Dataflow
    tile_rows: int | None
    layers: list[LayerInfo] = field(default_factory=list)
    arrays: list[SeqArray] = field(default_factory=list)
    phases: list[Phase] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    # ---- arrays ------------------------------------------------------------------------
    def _array(self, name: str, kind: ArrayKind, rows: int, elements: int, bits: int) -> SeqArray:
        """A new array; ``result`` decides how many of its rows the IM holds."""
        array = SeqArray(name, kind, rows, elements, bits, resident_rows=0)
        self.arrays.append(array)
        return array

    def _ios(
        self, name: str, layer: Layer, k: int, steps: int, below: SeqArray, out: SeqArray
    ) -> tuple[LayerIO, ...]:
        bits = self.arch.storage_bits
        extra = layer.input_size - below.elements
        ext = (
            self._array(f"{name}.external_in", ArrayKind.EXTERNAL, steps, extra, bits)
            if extra > 0 and k > 0
            else None
        )
        directions = layer.directions if isinstance(layer, LSTMLayer) else 1
        per_dir = out.elements // directions
        order: tuple[Direction, ...] = (Direction.FORWARD, Direction.BACKWARD)
        if isinstance(layer, LSTMLayer) and layer.reverse:
            order = (Direction.BACKWARD,)
        return tuple(LayerIO(name, d, below, ext, out, per_dir) for d in order[:directions])

    # ---- stacks ------------------------------------------------------------------------
    def layered_stack(self, stack: Stack) -> None:
        bits, t = self.arch.storage_bits, stack.seq_len
        below = self._array(
            f"{stack.name}.input", ArrayKind.EXTERNAL, t, stack.layers[0].input_size, bits
        )
        for k, layer in enumerate(stack.layers):
            index = len(self.layers)
            name = _name(layer, index)
            self._info(index, name, layer, stack)
            last = k == len(stack.layers) - 1
            kind = ArrayKind.EXTERNAL if last else ArrayKind.SEQUENCE
            out = self._array(f"{name}.output", kind, t, layer.output_size, bits)
            ios = self._ios(name, layer, k, t, below, out)
            psums: tuple[SeqArray, ...] = ()
            if self.dataflow == Dataflow.MWL and isinstance(layer, LSTMLayer):
                psums = tuple(
                    self._array(
                        f"{name}.partial_sums.{io.direction}",
                        ArrayKind.PARTIAL_SUMS,
                        t,
                        4 * layer.hidden_size,
                        self.arch.partial_sum_bits,
                    )
                    for io in ios
                )
            ctx = LayerContext(
                self.arch, index, name, layer, t, self.network.batch, ios, psums, self.tile_rows
            )
            self._add(DATAFLOWS[self.dataflow](ctx))
            below = out

    def autoregressive_stack(self, stack: Stack) -> None:
        """All layers advance one step at a time: step-major works, weights shared."""
        if self.dataflow == Dataflow.MWL:
            self.notes.append(
                f"stack {stack.name} is autoregressive: its input at step t depends on its "
                "output at t-1, so MWL cannot batch the input phase; it runs step by step"
            )
        bits, t = self.arch.storage_bits, stack.seq_len
        below = self._array(
            f"{stack.name}.input", ArrayKind.EXTERNAL, t, stack.layers[0].input_size, bits
        )
        works: list[Work] = []
        for k, layer in enumerate(stack.layers):
            index = len(self.layers)
            name = _name(layer, index)
            self._info(index, name, layer, stack)
            if isinstance(layer, LSTMLayer) and (layer.bidirectional or layer.reverse):
                raise ScheduleError(
                    f"layer {name}: an autoregressive stack cannot hold a layer that runs "
                    "backward in time (bidirectional or reverse)"
                )
            last = k == len(stack.layers) - 1
            kind = ArrayKind.EXTERNAL if last else ArrayKind.SEQUENCE
            out = self._array(f"{name}.output", kind, t, layer.output_size, bits)
            (io,) = self._ios(name, layer, k, t, below, out)
            if isinstance(layer, FCLayer):
                works.append(baseline.fc_work(self.arch, index, layer, io))
            else:
                state_elems = layer.recurrent_size + layer.hidden_size
                state = self._array(f"{name}.state", ArrayKind.STATE, 1, state_elems, bits)
                works.append(baseline.lstm_work(self.arch, index, layer, io, state))
            below = out
        shared = resident_prefix(
            [w.weights.footprint for w in works], self.arch.weight_buffer.capacity_bytes
        )
        works = [replace(w, weights=s) for w, s in zip(works, shared, strict=True)]
        phase = Phase(PhaseKind.RECURRENT, Order.STEP_MAJOR, t, False, True, tuple(works))
        self._add([phase], layer_by_step=True)

    # ---- bookkeeping -------------------------------------------------------------------
    def _info(self, index: int, name: str, layer: Layer, stack: Stack) -> None:
        kind = "lstm" if isinstance(layer, LSTMLayer) else "fc"
        dirs = layer.directions if isinstance(layer, LSTMLayer) else 1
        self.layers.append(LayerInfo(index, name, kind, stack.name, dirs))

    def _add(self, phases: list[Phase], layer_by_step: bool = False) -> None:
        for phase in phases:
            for work in phase.works:
                check_input_buffer(self.arch, work, self.network.batch)
                overflow = max(work.weights.overflow)
                if overflow and phase.kind != PhaseKind.INPUT:
                    split = self.dataflow == Dataflow.MWL and not layer_by_step
                    what = "recurrent weights" if split else "weights"
                    self.notes.append(
                        f"{work.label}: {what} exceed the weight buffer by {overflow} bytes "
                        "per CU; the overflow is re-fetched from main memory at every step"
                    )
        self.phases.extend(phases)

    def result(self) -> Schedule:
        cap = self.arch.intermediate_memory.capacity_bytes
        arrays, phases = place_arrays(self.arrays, self.phases, cap, self.network.batch)
        spills = [
            f"{a.name}: {a.rows - a.resident_rows} of {a.rows} rows spill to main memory "
            "(intermediate memory full)"
            for a in arrays
            if a.kind != ArrayKind.EXTERNAL and a.resident_rows < a.rows
        ]
        return Schedule(
            network=self.network.name,
            dataflow=self.dataflow,
            batch=self.network.batch,
            layers=tuple(self.layers),
            arrays=tuple(arrays),
            phases=tuple(phases),
            notes=tuple(dict.fromkeys([*self.notes, *spills])),
        )


def place_arrays(
    arrays: list[SeqArray], phases: list[Phase], capacity: int, batch: int
) -> tuple[list[SeqArray], list[Phase]]:
    """Give each non-external array the leading rows that fit (first fit over liveness).

    Linear in the arrays: a live range spans at most a layer's phases and its successor's
    (at most 8: a bidirectional MWL layer's four and the next one's), so each array scans
    and updates a bounded number of phases."""
    ranges = live_ranges(phases)
    used = [0] * len(phases)  # bytes placed, per phase
    placed: dict[int, SeqArray] = {}
    for array in arrays:
        if array.kind == ArrayKind.EXTERNAL or id(array) not in ranges:
            placed[id(array)] = array
            continue
        first, last = ranges[id(array)]
        room = capacity - max(used[first : last + 1])
        rows = min(array.rows, max(0, room) // (array.row_bytes * batch))
        for index in range(first, last + 1):
            used[index] += rows * array.row_bytes * batch
        placed[id(array)] = replace(array, resident_rows=rows)

    def moved(access: Access) -> Access:
        return replace(access, array=placed[id(access.array)])

    new_phases = [
        replace(
            phase,
            works=tuple(
                replace(w, reads=tuple(map(moved, w.reads)), writes=tuple(map(moved, w.writes)))
                for w in phase.works
            ),
        )
        for phase in phases
    ]
    return [placed[id(a)] for a in arrays], new_phases
