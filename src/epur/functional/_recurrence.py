"""A whole LSTM recurrence in one compiled call: the DPU and the MFU of every step.

``model.run_network`` sends a recurrent phase here when its values are float32
values (``fits``): an fp32 accumulator, and float storage or int8 codes. The kernel
performs, step after step, exactly the operations of ``_steps.lstm_steps`` (and so of
``Datapath``): the DPU, the MFU, the projection, the storage rounding of ``h``,
sequence lengths and the residual.

This module prepares the kernel's operands (``_recurrence_kernel``): the weights
packed for the DPU (``pack``: transposed ``[chunk][lane][row]``, and for 16 lanes
``[row block][chunk][lane][16 rows]`` so that each block streams contiguously through
``_simd.tree16_chunks``), the MFU's tables and the storage format (``consts``), int8's
dequantisation (``Int8``).

**Exact activations.** The datapath's sigmoid and tanh are numpy's float64
functions rounded to fp32 (``epur.numerics.activations``). The kernel evaluates them
in float64 with a polynomial ``exp`` that vectorises (``_vmath``), whose value can
differ from numpy's in the last float64 bits, and that can flip the rounding to fp32
when the float64 value lies next to the midpoint of two fp32 values. The kernel
therefore checks every activation: when the float64 value is within ``2**-48``
(relative, far beyond both evaluations' errors of a few float64 units in the last
place) of an fp32 rounding boundary, it stops before that step and returns its index;
the caller computes that one step with ``_steps.lstm_steps`` (numpy: the definition)
and resumes. That happens about once in 2**16 evaluations. Every other value rounds
to the same fp32 value whichever float64 evaluation is used. PWL and LUT activations
are table look-ups and float arithmetic, evaluated here exactly as ``activations``
does.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from epur.functional._recurrence_kernel import EXACT, LUT, PWL, kernel, segments
from epur.functional.datapath import Datapath, tree_width
from epur.numerics import ActivationFunction, ActivationKind, FormatKind, activation_table
from epur.numerics.quantize import float_limits

__all__ = [
    "EXACT", "INT8_EXACT_K", "LUT", "PWL", "WORDS_BF16", "WORDS_F16", "Int8", "Packed",
    "RecurrenceConsts", "consts", "fits", "pack", "run_recurrence", "segments", "word_kind",
]  # fmt: skip

F32 = NDArray[np.float32]


def fits(dp: Datapath) -> bool:
    """The kernel applies: fp32 accumulator, and float storage (fp32, fp16, bf16) whose
    values and products float32 holds (the products of fp16/bf16 exactly), or int8
    codes with partial sums float32 holds (``Int8`` says which layers)."""
    if dp.is_int8:
        return dp.sums_in_fp32()
    return dp._native_fp32() and dp.storage.kind == FormatKind.FLOAT


INT8_EXACT_K = (2**24 - 1) // (127 * 127)  # code sums of this many products are float32


@dataclass(frozen=True)
class Int8:
    """An int8 recurrence's dequantisation, as the kernel takes it (``_kernel``)."""

    params: NDArray[np.float64]  # [act_scale, dq, p_dq, mwl]
    grid: NDArray[np.float64]  # [rows]: the bias on the integer grid (baseline), or zeros

    @staticmethod
    def of(
        matrix_scale: float,
        width: int,
        act_scale: float,
        bias: NDArray[np.float64] | None,
        proj: tuple[float, int] | None,
    ) -> Int8 | None:
        """``matrix_scale`` and ``width`` (columns) of the recurrence's matrix, the bias
        (baseline) or ``None`` (MWL), the projection's scale and width. ``None`` where the
        kernel would not compute ``Datapath``'s bits: a code sum float32 cannot hold, or
        a dequantisation ``Datapath._dequantise`` computes another way."""
        dq = matrix_scale * act_scale
        p_dq = 1.0 if proj is None else proj[0] * act_scale
        widths = [width] + ([] if proj is None else [proj[1]])
        if max(widths) > INT8_EXACT_K or not (0 < dq < np.inf and 0 < p_dq < np.inf):
            return None
        with np.errstate(over="ignore"):
            grid = np.zeros(1) if bias is None else np.rint(bias / dq)
        if not np.isfinite(grid).all():
            return None
        params = np.array([act_scale, dq, p_dq, float(bias is None)])
        return Int8(params, np.ascontiguousarray(grid, dtype=np.float64))


@dataclass(frozen=True)
class Packed:
    """A weight matrix ``[rows, K]`` packed for the kernel, and where each packed
    lane position of the vector comes from (``-1``: a zero pad)."""

    w: F32  # [chunks * width, rows]: the transposed weights, chunks zero-padded (unused
    # and empty where ``blocks`` holds the weights: 16 lanes)
    rows: int
    chunks: int
    width: int
    vmap: NDArray[np.int64]  # [chunks * width]: index into the vector, or -1
    # width 16: [row blocks, chunks * 16, 16], rows zero-padded to whole blocks of 16, so
    # that a block streams contiguously (``_simd.tree16_chunks``); else empty
    blocks: NDArray[np.float32]
    # the same as 16-bit words where every value is one (``WORDS_F16``, ``WORDS_BF16``)
    words: NDArray[np.uint16] = field(default_factory=lambda: np.zeros((0, 0, 16), np.uint16))
    word_kind: int = 0

    @property
    def padded_rows(self) -> int:
        """Rows rounded up to whole blocks (the length of an accumulator array)."""
        return max(self.rows, int(max(self.blocks.shape[0], self.words.shape[0])) * 16)


WORDS_F16, WORDS_BF16 = 1, 2  # 16-bit weight words: IEEE binary16, bfloat16


def word_kind(dp: Datapath) -> int:
    """Which 16-bit words hold every weight value exactly: fp16 storage and int8 codes
    (integers up to 127) in binary16, bf16 storage in bfloat16; else 0 (float32)."""
    s = dp.storage
    if dp.is_int8 or (s.kind == FormatKind.FLOAT and (s.exponent_bits, s.mantissa_bits) == (5, 10)):
        return WORDS_F16
    if s.kind == FormatKind.FLOAT and (s.exponent_bits, s.mantissa_bits) == (8, 7):
        return WORDS_BF16
    return 0


def pack(values: NDArray[np.float64] | F32, lanes: int, words: int = 0) -> Packed:
    """Pack storage values ``[rows, K]`` (exact in float32) for ``lanes`` lanes; ``words``
    (``word_kind``): also as 16-bit words, which the 16-lane kernel then streams."""
    rows, k = values.shape
    width = tree_width(lanes)
    chunks = max(1, -(-k // lanes))
    vmap = np.full((chunks, width), -1, dtype=np.int64)
    for c in range(chunks):
        n = min(lanes, k - c * lanes)
        vmap[c, :n] = np.arange(c * lanes, c * lanes + n)
    vmap = vmap.reshape(-1)
    if width == 16 and lanes == 16:  # [row block][chunk * 16 + lane][16 rows], directly
        n = -(-rows // 16)
        padded = np.zeros((n * 16, chunks * 16), dtype=np.float32)
        padded[:rows, :k] = values
        blocks = np.ascontiguousarray(padded.reshape(n, 16, chunks * 16).transpose(0, 2, 1))
        none = np.zeros((1, 1), np.float32)
        if words == WORDS_F16:
            half = blocks.astype(np.float16).view(np.uint16)
            return Packed(none, rows, chunks, width, vmap, _EMPTY, half, words)
        if words == WORDS_BF16:
            top = (blocks.view(np.uint32) >> 16).astype(np.uint16)
            return Packed(none, rows, chunks, width, vmap, _EMPTY, top, words)
        return Packed(none, rows, chunks, width, vmap, blocks)
    wt = np.zeros((chunks * width, rows), dtype=np.float32)
    wt[vmap >= 0] = values.T[vmap[vmap >= 0]].astype(np.float32)
    blocks = _EMPTY
    if width == 16:  # fewer than 16 lanes on a 16-wide tree: the zero lanes packed too
        n = -(-rows // 16)
        padded = np.zeros((chunks * 16, n * 16), dtype=np.float32)
        padded[:, :rows] = wt
        blocks = np.ascontiguousarray(padded.reshape(chunks * 16, n, 16).transpose(1, 0, 2))
    return Packed(wt, rows, chunks, width, vmap, blocks)


@dataclass(frozen=True)
class RecurrenceConsts:
    """The MFU's and the storage's constants, as the kernel takes them."""

    act: int
    sig: tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]
    tanh: tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]
    store_m: int  # storage mantissa bits (23: fp32, nothing to round)
    store_emin: int
    store_max: float


_EMPTY = np.zeros((0, 0, 16), dtype=np.float32)


def consts(dp: Datapath) -> RecurrenceConsts:
    empty = np.zeros(1)
    kind = dp.activation.kind
    tables = []
    for function in (ActivationFunction.SIGMOID, ActivationFunction.TANH):
        if kind == ActivationKind.EXACT:
            tables.append((empty, empty, empty))
        else:
            t = activation_table(function, dp.activation, dp.acc)
            tables.append((np.array(t.breakpoints), np.array(t.values),
                           np.array(t.slopes) if t.slopes.size else empty))  # fmt: skip
    code = {ActivationKind.EXACT: EXACT, ActivationKind.LUT: LUT, ActivationKind.PWL: PWL}[kind]
    if dp.is_int8:  # codes: the storage rounding is the kernel's int8 branch
        store_m, emin, vmax = 23, -126, float(np.finfo(np.float32).max)
    else:
        lim = float_limits(dp.storage)
        store_m, emin, vmax = dp.storage.mantissa_bits, lim.emin, lim.max_finite
    return RecurrenceConsts(code, tables[0], tables[1], store_m, emin, vmax)


# ---- compiled ------------------------------------------------------------------------------


def run_recurrence(
    w: Packed,
    xs: F32,
    init: F32,
    order: NDArray[np.int64],
    start: int,
    h: F32,
    c: F32,
    peep: NDArray[np.float64] | None,
    proj: Packed | None,
    k: RecurrenceConsts,
    shortcut: NDArray[np.float64] | None,
    lens: NDArray[np.int64],
    y: NDArray[np.float64],
    col0: int,
    int8: Int8 | None = None,
) -> int:
    """Run steps ``order[start:]`` (``_recurrence_kernel.kernel``); ``h`` and ``c`` are
    updated in place."""
    p = proj if proj is not None else Packed(np.zeros((1, 1), np.float32), 0, 0, w.width,
                                             np.zeros(0, np.int64),
                                             np.zeros((0, 0, 16), np.float32))  # fmt: skip
    q = (np.zeros(0), np.zeros(1)) if int8 is None else (int8.params, int8.grid)
    return int(
        kernel(
            w.w,
            w.blocks,
            w.words,
            w.word_kind,
            w.rows,
            w.chunks,
            w.width,
            w.vmap,
            xs,
            init,
            order,
            start,
            h,
            c,
            np.zeros((3, 1)) if peep is None else peep,
            peep is not None,
            p.w,
            p.blocks,
            p.words,
            p.word_kind,
            p.chunks,
            p.vmap,
            proj is not None,
            k.act,
            *k.sig,
            *k.tanh,
            k.store_m,
            k.store_emin,
            k.store_max,
            *q,
            np.zeros((1, 1, 1)) if shortcut is None else shortcut,
            shortcut is not None,
            lens,
            y,
            col0,
        )
    )
