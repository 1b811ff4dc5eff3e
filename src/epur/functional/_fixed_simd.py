"""Exact integer dot products of fixed-point codes of at most 16 bits, as explicit LLVM
vector code (numba intrinsics, like ``_simd``).

Where the storage format has at most 16 bits, every storage value is an ``int16`` code
times ``2**-Ns``, and where ``Datapath._dot_fixed``'s bound keeps every sum of
``|w| * |v|`` below ``2**24`` units of ``2**-2Ns`` (the float32 condition of
``_fixed_math.dot32``), every partial sum of the codes' products fits ``int32``: the
sums are exact integers in any order. The kernels multiply pairs of ``int16`` codes and
add each pair into ``int32`` (``sext``, ``mul``, even plus odd lanes: the pattern x86
selects as one ``vpmaddwd``, 32 products per 512-bit instruction; any LLVM target
legalises it), with the accumulators of a tile of rows and vectors kept in registers.

Layouts (``pack_codes``, ``pack_vectors``):

* weights ``wp [row block][k pair][16 rows][2]`` (``int16``, rows and ``k`` padded
  with zero codes to 16 and 2): ``w[16 * blk + r, 2 * kp + j]`` at ``wp[blk, kp, 2 * r + j]``;
* vectors ``xp [n][k pair]`` (``int32``: the bits of two ``int16`` codes ``x[n, 2 kp]``,
  ``x[n, 2 kp + 1]``, a view of an ``int16`` array ``[n][2 kp]``).

``tile4x6(wp, xp, out, blk0, n0)``: ``out[n0 + i, 16 * blk0 + j] = sum_k w . x`` for the 6
vectors ``n0 ..`` and the 64 rows of the 4 row blocks ``blk0 ..`` (24 accumulators);
``tile4x1`` is the same for one vector (a recurrent step). They do no bounds checks.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from llvmlite import ir  # type: ignore[import-untyped]
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic
from numpy.typing import NDArray

__all__ = ["pack_codes", "pack_vectors", "tile4x1", "tile4x6"]

ROWS = 16  # rows per block: one <16 x i32> accumulator
BLOCKS = 4  # row blocks per tile
_I16, _I32, _I64 = ir.IntType(16), ir.IntType(32), ir.IntType(64)
_W = ir.VectorType(_I16, 2 * ROWS)
_W32 = ir.VectorType(_I32, 2 * ROWS)
_ACC = ir.VectorType(_I32, ROWS)
_EVEN = ir.Constant(ir.VectorType(_I32, ROWS), list(range(0, 2 * ROWS, 2)))
_ODD = ir.Constant(ir.VectorType(_I32, ROWS), list(range(1, 2 * ROWS, 2)))


def pack_codes(rows: int, k: int) -> NDArray[np.int16]:
    """A ``wp`` of zero codes for ``[rows, K]``, rows padded to whole tiles of ``BLOCKS``
    row blocks (``_fixed_input.pack16`` fills it)."""
    nblk = -(-rows // (ROWS * BLOCKS)) * BLOCKS
    return np.zeros((nblk, max(1, -(-k // 2)), 2 * ROWS), dtype=np.int16)


def pack_vectors(n: int, k: int) -> NDArray[np.int16]:
    """An ``int16`` array ``[n][2 kp]`` of zero codes, for ``k`` codes per vector."""
    return np.zeros((n, 2 * max(1, -(-k // 2))), dtype=np.int16)


def _c(n: int) -> Any:
    return ir.Constant(_I64, n)


def _tile_intrinsic(blocks: int, vectors: int) -> Any:
    def typer(typingctx: Any, wp: Any, xp: Any, out: Any, blk0: Any, n0: Any) -> Any:
        def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
            wp_a, xp_a, out_a = (
                context.make_array(signature.args[i])(context, builder, args[i]) for i in range(3)
            )
            blk0, n0 = args[3], args[4]
            kp = builder.extract_value(wp_a.shape, 1)
            ocols = builder.extract_value(out_a.shape, 1)
            wdata = builder.bitcast(wp_a.data, _W.as_pointer())  # one <32 x i16> per (blk, kp)
            accs = [
                [cgutils.alloca_once_value(builder, ir.Constant(_ACC, None)) for _ in range(blocks)]  # type: ignore[no-untyped-call]
                for _ in range(vectors)
            ]
            xrows = [builder.mul(builder.add(n0, _c(i)), kp) for i in range(vectors)]
            wrows = [builder.mul(builder.add(blk0, _c(b)), kp) for b in range(blocks)]
            undef = ir.Constant(_ACC, ir.Undefined)
            zeros = ir.Constant(ir.VectorType(_I32, ROWS), [0] * ROWS)
            with cgutils.for_range(builder, kp) as loop:
                k = loop.index
                ws = [
                    builder.sext(
                        builder.load(builder.gep(wdata, [builder.add(wrows[b], k)]), align=2),
                        _W32,
                    )
                    for b in range(blocks)
                ]
                for i in range(vectors):
                    pair = builder.load(builder.gep(xp_a.data, [builder.add(xrows[i], k)]))
                    splat = builder.shuffle_vector(
                        builder.insert_element(undef, pair, ir.Constant(_I32, 0)), undef, zeros
                    )
                    xv = builder.sext(builder.bitcast(splat, _W), _W32)
                    for b in range(blocks):
                        prod = builder.mul(ws[b], xv)
                        even = builder.shuffle_vector(prod, prod, _EVEN)
                        odd = builder.shuffle_vector(prod, prod, _ODD)
                        acc = accs[i][b]
                        total = builder.add(builder.load(acc), builder.add(even, odd))
                        builder.store(total, acc)
            for i in range(vectors):
                row = builder.mul(builder.add(n0, _c(i)), ocols)
                for b in range(blocks):
                    col = builder.mul(builder.add(blk0, _c(b)), _c(ROWS))
                    at = builder.gep(out_a.data, [builder.add(row, col)])
                    dst = builder.bitcast(at, _ACC.as_pointer())
                    builder.store(builder.load(accs[i][b]), dst, align=4)
            return context.get_dummy_value()

        return types.void(wp, xp, out, blk0, n0), codegen

    return intrinsic(typer)


tile4x6: Any = _tile_intrinsic(BLOCKS, 6)
tile4x1: Any = _tile_intrinsic(BLOCKS, 1)
