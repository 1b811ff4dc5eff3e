"""Building blocks shared by the dataflows: row splits, weights, LSTM and FC works."""

from __future__ import annotations

from dataclasses import dataclass

from epur.arch import ArchConfig
from epur.errors import ScheduleError
from epur.schedule.ir import Access, Direction, DotGroup, MfuOps, SeqArray, Weights, Work
from epur.units import ceil_div
from epur.workload.network import Activation, FCLayer, LSTMLayer

__all__ = ["LayerIO", "check_input_buffer", "fc_ops", "lstm_ops", "resident_prefix", "split_rows"]

N_GATES = 4  # i, f, g, o: CU c computes gate c
PEEPHOLE_GATES = (True, True, False, True)  # p_i, p_f, p_o; the g gate has none


def split_rows(n: int, cus: int = N_GATES) -> tuple[int, ...]:
    """Rows ``0..n-1`` dealt round-robin to the CUs: CU ``c`` gets rows ``j % cus == c``."""
    return tuple(n // cus + (1 if c < n % cus else 0) for c in range(cus))


def resident_prefix(footprints: list[tuple[int, ...]], capacity: int) -> list[Weights]:
    """Weights of works sharing a weight buffer, filled in order until it is full.

    Per CU, work ``k`` keeps what fits after works ``0..k-1``; the rest of it is
    re-fetched at every step. With one work: ``resident = min(footprint, capacity)``.
    """
    used = [0] * N_GATES
    out: list[Weights] = []
    for footprint in footprints:
        resident = tuple(max(0, min(f, capacity - u)) for f, u in zip(footprint, used, strict=True))
        used = [u + r for u, r in zip(used, resident, strict=True)]
        out.append(Weights(footprint, resident))
    return out


@dataclass(frozen=True, slots=True)
class LayerIO:
    """Where a layer direction's vectors live: input from below, external input, output."""

    name: str
    direction: Direction
    below: SeqArray
    external: SeqArray | None
    out: SeqArray
    out_elements: int  # elements this direction writes per step (half the row if bidirectional)

    def input_reads(self) -> tuple[Access, ...]:
        reads = [Access(self.below, (self.below.elements,))]
        if self.external is not None:
            reads.append(Access(self.external, (self.external.elements,)))
        return tuple(reads)

    def input_vectors(self) -> tuple[int, ...]:
        return tuple(a.elements for a in self.input_reads())

    def output_write(self, vectors: tuple[int, ...] | None = None) -> Access:
        return Access(self.out, vectors if vectors is not None else (self.out_elements,))


def lstm_ops(layer: LSTMLayer) -> MfuOps:
    """MFU work of one LSTM direction per step (README, "The datapath, exactly").

    Per neuron: 3 sigmoids (i, f, o), 2 tanh (g, c), 3 multiplies (f*c, i*g,
    o*tanh(c)), 1 add (c); peepholes add 3 multiplies and 3 adds. Biases and MWL
    partial sums initialise the DPU accumulator and cost no MFU operation. A
    residual layer adds one add per output element.
    """
    h = layer.hidden_size
    peep = 3 * h if layer.peepholes else 0
    residual = layer.recurrent_size if layer.residual else 0
    return MfuOps(sigmoid=3 * h, tanh=2 * h, mul=3 * h + peep, add=h + peep + residual)


def fc_ops(layer: FCLayer, rows: int) -> MfuOps:
    kind = {
        Activation.NONE: MfuOps(),
        Activation.RELU: MfuOps(relu=1),
        Activation.SIGMOID: MfuOps(sigmoid=1),
        Activation.TANH: MfuOps(tanh=1),
    }[layer.activation]
    return kind.scaled(rows)


def lstm_consts(layer: LSTMLayer, bias: bool, peepholes: bool) -> tuple[int, ...]:
    return tuple(int(bias) + int(peepholes and layer.peepholes and gate) for gate in PEEPHOLE_GATES)


def lstm_groups(
    arch: ArchConfig, layer: LSTMLayer, length: int, consts: tuple[int, ...]
) -> tuple[DotGroup, ...]:
    """The gate dot products (and the projection, for LSTMP) of one step."""
    h = layer.hidden_size
    groups = [DotGroup("gates", (h,) * N_GATES, length, consts, arch.drain_cycles)]
    if layer.projection_size is not None:
        rows = split_rows(layer.projection_size)
        groups.append(DotGroup("projection", rows, h, (0,) * N_GATES, arch.drain_cycles))
    return tuple(groups)


def footprint_bytes(arch: ArchConfig, groups: tuple[DotGroup, ...]) -> tuple[int, ...]:
    """Bytes of weights and per-row constants each CU holds for ``groups``."""
    bits = arch.storage_bits
    return tuple(
        sum(g.rows[c] * (g.length + g.consts[c]) for g in groups) * bits // 8
        for c in range(N_GATES)
    )


def check_input_buffer(arch: ArchConfig, work: Work, batch: int) -> None:
    need = ceil_div(work.ib_footprint * arch.storage_bits * batch, 8)
    cap = arch.input_buffer.capacity_bytes
    if need > cap:
        raise ScheduleError(
            f"layer {work.label}: one step needs {need} bytes in each input buffer "
            f"({work.ib_footprint} elements x batch {batch}), but input_buffer.capacity_bytes "
            f"is {cap}: {need - cap} bytes short"
        )
