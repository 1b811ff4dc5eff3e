"""Behavioural models of a CU's on-chip SRAMs (weight buffer, input buffer): one
synchronous read port (the word at ``addr`` on ``r_data`` in the next cycle) and one
write port for loading, as wide as the architecture's port (``ArchConfig.port_bits``:
``lanes x storage bits`` unless given, one chunk per access).
"""

from __future__ import annotations

from collections.abc import Sequence

from amaranth.hdl import Assert, Format, Module
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from epur.arch import ArchConfig
from epur.arch.config import MemoryConfig

__all__ = ["SyncSRAM", "input_buffer", "weight_buffer"]


class SyncSRAM(wiring.Component):  # type: ignore[misc]
    """``SyncSRAM(width, depth, init=())``: ``depth`` words of ``width`` bits.

    Ports:

    * read: ``r_en`` (in, 1, default 1), ``r_addr`` (in), ``r_data`` (out, ``width``): the
      word at the ``r_addr`` of a cycle with ``r_en`` high is on ``r_data`` from the next
      cycle on (it holds while ``r_en`` is low); one read per cycle;
    * write: ``w_en`` (in, 1), ``w_addr`` (in), ``w_data`` (in, ``width``): written at the
      end of the cycle; a read of the same word in that cycle returns the old word.

    ``single_port``: the SRAM has one port (the architecture's, as the timing model
    charges it): a cycle with ``r_en`` and ``w_en`` both high is a design error, an
    assertion failure in simulation.

    ``init``: the first words' contents (unsigned integers; the rest are zero), for tests.
    """

    def __init__(
        self, width: int, depth: int, init: Sequence[int] = (), single_port: bool = False
    ) -> None:
        if width < 1 or depth < 1 or len(init) > depth:
            self._MustUse__silence = True  # refused: no warning that it was never elaborated
            if len(init) > depth >= 1:
                raise ValueError(f"{len(init)} initial words do not fit in {depth}")
            raise ValueError(f"an SRAM needs a width and a depth of at least 1 ({width}, {depth})")
        self.width, self.depth, self.single_port = width, depth, single_port
        self.init = [int(v) & ((1 << width) - 1) for v in init]
        addr = max(1, (depth - 1).bit_length())
        super().__init__(
            {
                "r_en": In(1, init=1),
                "r_addr": In(addr),
                "r_data": Out(width),
                "w_en": In(1),
                "w_addr": In(addr),
                "w_data": In(width),
            }
        )

    def elaborate(self, platform: object) -> Module:
        m = Module()
        m.submodules.mem = mem = Memory(shape=self.width, depth=self.depth, init=self.init)
        wr = mem.write_port()
        rd = mem.read_port()
        m.d.comb += [
            rd.en.eq(self.r_en),
            rd.addr.eq(self.r_addr),
            self.r_data.eq(rd.data),
            wr.en.eq(self.w_en),
            wr.addr.eq(self.w_addr),
            wr.data.eq(self.w_data),
        ]
        if self.single_port:
            clash = Format("a read and a write in one cycle (writing word {})", self.w_addr)
            m.d.sync += Assert(~(self.r_en & self.w_en), clash)
        return m


def _of(arch: ArchConfig, memory: MemoryConfig, depth: int | None, init: Sequence[int]) -> SyncSRAM:
    width = arch.port_bits(memory)
    if depth is None:
        depth = max(1, memory.capacity_bytes * 8 // width)
    return SyncSRAM(width, depth, init)


def weight_buffer(arch: ArchConfig, depth: int | None = None, init: Sequence[int] = ()) -> SyncSRAM:
    """A CU's weight buffer: ``arch``'s port width; ``depth`` words (default: its capacity)."""
    return _of(arch, arch.weight_buffer, depth, init)


def input_buffer(arch: ArchConfig, depth: int | None = None, init: Sequence[int] = ()) -> SyncSRAM:
    """A CU's input buffer: ``arch``'s port width; ``depth`` words (default: its capacity)."""
    return _of(arch, arch.input_buffer, depth, init)
