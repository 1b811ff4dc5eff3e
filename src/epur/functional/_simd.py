"""The paper's 16-lane DPU on 16 rows at once, as explicit LLVM vector operations.

LLVM's loop vectoriser keeps to 256-bit vectors on most x86 processors and cannot be
told to keep several accumulators in registers across a loop; these two numba
intrinsics emit the vector code directly (``<16 x float>``: one AVX-512 register, or
two AVX ones where AVX-512 is absent; any LLVM target legalises it). Each computes,
for 16 consecutive rows at once, exactly the DPU's float32 operations for one chunk of
16 lanes: the 16 products ``w[lane] * x[lane]``, the pairwise adder tree (lane ``2k`` +
lane ``2k+1``, then pairs of those sums, ...), and the accumulator add. IEEE float32
multiplies and adds, no fused multiply-add, no reassociation: the bits of
``Datapath._dot_float``.

* ``tree16_steps8(wt, lane0, r, v, i0, out)``: one chunk, 16 rows, 8 consecutive
  vectors: the 16 weight vectors are loaded once into registers and serve the 8 vectors
  ``v[i0 .. i0+7]`` (MWL's input phase: each loaded weight serves several ``x_t``);
  ``out[i, r:r+16] += tree(wt[lane0:lane0+16, r:r+16] * v[i, lane0:lane0+16])``.
  ``tree16_steps1`` is the same for one vector.
* ``tree16_chunks(wp, block, x, acc)``: the recurrent step, 16 rows (``block``) and
  every chunk: the accumulator stays in a register while the chunks stream in order
  from the packed weights ``wp[block, chunk * 16 + lane, row]``; ``acc[16 * block : +16]``
  holds the initial value and receives the result. ``tree16_chunks_f16`` and
  ``tree16_chunks_bf16`` take the weights as 16-bit words (``uint16``: fp16 or bf16
  storage, whose values these are exactly), widened to float32 in registers: half the
  bytes to stream from the cache each step.

They do no bounds checks: callers pass indices inside the arrays.
"""

from __future__ import annotations

from typing import Any

from llvmlite import ir  # type: ignore[import-untyped]
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

__all__ = [
    "tree16_chunks", "tree16_chunks_bf16", "tree16_chunks_f16", "tree16_steps1",
    "tree16_steps1_exact", "tree16_steps8", "tree16_steps8_exact",
]  # fmt: skip

LANES = 16  # the tree's width, and the rows per block
# floats per vector operation (the 16 rows of a block in 16 / n parts): 16, one AVX-512
# register. Measured on EESEN (2026-12-01): <8 x float> parts made the recurrent step
# alone 15 % faster in a loop of its own, but a whole fp16 run 10 % slower, in the
# input phase and in the recurrence alike
STEPS_VECTOR = 16
CHUNKS_VECTOR = 16
_F32 = ir.FloatType()
_I64 = ir.IntType(64)
_I32 = ir.IntType(32)


def _vec(n: int) -> Any:
    return ir.VectorType(_F32, n)


def _const(n: int) -> Any:
    return ir.Constant(_I64, n)


def _splat(builder: Any, value: Any, n: int) -> Any:
    undef = ir.Constant(_vec(n), ir.Undefined)
    one = builder.insert_element(undef, value, ir.Constant(_I32, 0))
    return builder.shuffle_vector(one, undef, ir.Constant(ir.VectorType(_I32, n), [0] * n))


def _vector_at(builder: Any, data: Any, offset: Any, n: int, element: Any = _F32) -> Any:
    """A pointer to ``n`` elements at ``data + offset``."""
    return builder.bitcast(builder.gep(data, [offset]), ir.VectorType(element, n).as_pointer())


def _tree(builder: Any, weights: list[Any], xs: list[Any], n: int, exact: bool = False) -> Any:
    """The products and the pairwise adder tree: ((0+1)+(2+3))+((4+5)+(6+7)) ...; each
    operation on ``n`` rows at once (rows never meet: any ``n`` gives the same bits).

    ``exact``: the products are exact in float32 (fp16 weights and inputs, int8 codes;
    not bf16, whose products can fall below fp32's range), so the first level's
    ``rnd(p[2k] + p[2k+1])`` is one fused multiply-add ``fma(w[2k], x[2k], p[2k+1])``:
    the same single rounding of the same exact sum."""
    splats = [_splat(builder, x, n) for x in xs]
    if exact:
        name = f"llvm.fma.v{n}f32"
        fma = builder.module.globals.get(name)
        if fma is None:
            fma = ir.Function(builder.module, ir.FunctionType(_vec(n), [_vec(n)] * 3), name)
        level = [
            builder.call(fma, [weights[2 * k], splats[2 * k],
                               builder.fmul(weights[2 * k + 1], splats[2 * k + 1])])
            for k in range(len(weights) // 2)
        ]  # fmt: skip
    else:
        level = [builder.fmul(w, x) for w, x in zip(weights, splats, strict=True)]
    while len(level) > 1:
        level = [builder.fadd(level[2 * k], level[2 * k + 1]) for k in range(len(level) // 2)]
    return level[0]


def _steps_intrinsic(steps: int, exact: bool = False, n: int = STEPS_VECTOR) -> Any:
    def typer(typingctx: Any, wt: Any, lane0: Any, r: Any, v: Any, i0: Any, out: Any) -> Any:
        def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
            wt_a, v_a, out_a = (
                context.make_array(signature.args[k])(context, builder, args[k]) for k in (0, 3, 5)
            )
            _, lane0, r, _, i0, _ = args
            wcols, vcols, ocols = (builder.extract_value(a.shape, 1) for a in (wt_a, v_a, out_a))
            for part in range(0, LANES, n):  # each part of the 16 rows on its own
                rp = builder.add(r, _const(part))
                weights = []
                for lane in range(LANES):
                    row = builder.add(lane0, _const(lane))
                    at = builder.add(builder.mul(row, wcols), rp)
                    weights.append(builder.load(_vector_at(builder, wt_a.data, at, n), align=4))
                for s in range(steps):
                    i = builder.add(i0, _const(s))
                    base = builder.add(builder.mul(i, vcols), lane0)
                    xs = [
                        builder.load(builder.gep(v_a.data, [builder.add(base, _const(lane))]))
                        for lane in range(LANES)
                    ]
                    total = _tree(builder, weights, xs, n, exact)
                    at = builder.add(builder.mul(i, ocols), rp)
                    acc = _vector_at(builder, out_a.data, at, n)
                    builder.store(builder.fadd(builder.load(acc, align=4), total), acc, align=4)
            return context.get_dummy_value()

        return types.void(wt, lane0, r, v, i0, out), codegen

    return intrinsic(typer)


tree16_steps8: Any = _steps_intrinsic(8)
tree16_steps1: Any = _steps_intrinsic(1)
tree16_steps8_exact: Any = _steps_intrinsic(8, exact=True)  # products exact in float32
tree16_steps1_exact: Any = _steps_intrinsic(1, exact=True)


_F16, _BF16 = 1, 2  # 16-bit weights: IEEE binary16, or bfloat16 (the top half of an fp32)


def _widen(builder: Any, raw: Any, storage: int, n: int) -> Any:
    """``n`` weights as stored (``<n x i16>``) to ``<n x float>``: exact for both kinds."""
    if storage == _F16:
        return builder.fpext(builder.bitcast(raw, ir.VectorType(ir.HalfType(), n)), _vec(n))
    wide = builder.shl(builder.zext(raw, ir.VectorType(_I32, n)),
                       ir.Constant(ir.VectorType(_I32, n), [16] * n))  # fmt: skip
    return builder.bitcast(wide, _vec(n))


def _chunks_intrinsic(storage: int, n: int = CHUNKS_VECTOR) -> Any:
    """``tree16_chunks`` on weights held as float32 (``storage`` 0) or as 16-bit words
    (``_F16``, ``_BF16``): half the bytes streamed per step, the same float32 values."""
    element = ir.IntType(16) if storage else _F32

    def typer(typingctx: Any, wp: Any, block: Any, x: Any, acc: Any) -> Any:
        def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
            wp_a, x_a, acc_a = (
                context.make_array(signature.args[k])(context, builder, args[k]) for k in (0, 2, 3)
            )
            block = args[1]
            per_block = builder.extract_value(wp_a.shape, 1)  # chunks * 16 lane rows of 16
            chunks = builder.udiv(per_block, _const(LANES))
            first = builder.mul(block, builder.mul(per_block, _const(LANES)))
            parts = range(0, LANES, n)
            outs = [_vector_at(builder, acc_a.data,
                               builder.add(builder.mul(block, _const(LANES)), _const(p)), n)
                    for p in parts]  # fmt: skip
            totals = [cgutils.alloca_once_value(builder, builder.load(o, align=4))  # type: ignore[no-untyped-call]
                      for o in outs]  # fmt: skip
            with cgutils.for_range(builder, chunks) as loop:
                lane0 = builder.mul(loop.index, _const(LANES))
                xs = [builder.load(builder.gep(x_a.data, [builder.add(lane0, _const(lane))]))
                      for lane in range(LANES)]  # fmt: skip
                for total, p in zip(totals, parts, strict=True):
                    weights = []
                    for lane in range(LANES):
                        k = builder.add(lane0, _const(lane))
                        at = builder.add(builder.add(first, builder.mul(k, _const(LANES))),
                                         _const(p))  # fmt: skip
                        where = _vector_at(builder, wp_a.data, at, n, element)
                        raw = builder.load(where, align=2 if storage else 4)
                        weights.append(_widen(builder, raw, storage, n) if storage else raw)
                    # binary16 weights (fp16 storage, int8 codes): exact products in fp32;
                    # bfloat16 ones are not (their products can fall below fp32's range)
                    sums = _tree(builder, weights, xs, n, exact=storage == _F16)
                    builder.store(builder.fadd(builder.load(total), sums), total)
            for total, out in zip(totals, outs, strict=True):
                builder.store(builder.load(total), out, align=4)
            return context.get_dummy_value()

        return types.void(wp, block, x, acc), codegen

    return intrinsic(typer)


tree16_chunks: Any = _chunks_intrinsic(0)
tree16_chunks_f16: Any = _chunks_intrinsic(_F16)
tree16_chunks_bf16: Any = _chunks_intrinsic(_BF16)
