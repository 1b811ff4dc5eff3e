"""E-PUR's datapath arithmetic: every rounding point of the DPU and the MFU.

Values are float64 arrays holding numbers of a ``NumberFormat`` exactly (every
format epur supports is a subset of float64). ``rnd_*`` rounds to a format.

DPU (README, "The datapath, exactly"), one dot product of length ``K`` on ``L`` lanes:

1. operands are in the storage format; the last chunk is zero-padded to ``L``;
2. each product is rounded to the accumulator format (exact for fp16/bf16 into
   fp32, and for ``qM.N`` into an accumulator with at least ``2N`` fraction bits);
3. **float accumulators**: the ``L`` products of a chunk are added by a pairwise
   adder tree (lane ``2k`` + lane ``2k+1``, then pairs of those sums, ...), each
   adder rounding to the accumulator format; the accumulator, initialised with the
   bias (or an MWL partial sum), adds the chunk sums in order, rounding each time;
4. **fixed-point accumulators** have guard bits: the tree and the accumulator never
   overflow, so every sum is exact and the order of additions cannot change the
   result; the value is converted to the accumulator format (its rounding and
   overflow mode) when it leaves the DPU;
5. **int8**: integer codes, exact integer sums (bias pre-scaled to ``s_w * s_x``),
   dequantised once: ``rnd_acc(sum * s_w * s_x)`` (where ``s_w * s_x`` or the pre-scaled
   bias is no float64, ``rnd_acc((sum * s_w) * s_x + b)``: ``Datapath._dequantise``).

Beyond a float format's range every operation follows IEEE 754 (overflow to an infinity,
``inf - inf`` and ``0 * inf`` are NaN, which propagates), silently: that is what the
hardware computes. int8 quotients beyond float64 saturate at code +-127.

MFU (in the accumulator format, each operation rounded): peephole products and
adds, sigmoid/tanh (exact, PWL or LUT: ``epur.numerics.activations``), the cell
update ``c = rnd(rnd(f*c) + rnd(i*g))`` and ``h = rnd(o * tanh(c))``. The cell state
stays in the accumulator format; ``h`` is rounded to the storage format when it is
written to the input buffers or the intermediate memory.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any, TypeVar, cast

import numpy as np
from numba import njit
from numpy.typing import NDArray

from epur.functional._fixed_math import Fmt, fmt_tuple, rnd, rnd_mul
from epur.functional._kernels import dot_tree_f32
from epur.functional._vmath import round_float_array
from epur.numerics import (
    ActivationKind,
    ActivationSpec,
    FormatKind,
    NumberFormat,
    round_to_format,
)
from epur.numerics import activations as act
from epur.numerics.quantize import float_limits

__all__ = ["Datapath", "Operand"]

F64 = NDArray[np.float64]
_A = TypeVar("_A", NDArray[np.float64], NDArray[np.float32])
_T = TypeVar("_T")
_BLOCK_ELEMENTS = 1 << 23  # bound on a products array in the float path (64 MiB)


class Operand:
    """A matrix in the storage format: its values and, for int8, its scale.

    The float64 ``values`` are what the numpy datapath computes with; the compiled
    kernels read float32 copies (``values32``: exact when the storage format fits in
    fp32) and int8 ``codes``. An operand built from one of those (``of32``,
    ``from_codes``) derives the others only when asked, so a compiled run makes one pass
    over a weight matrix where the float64 values would cost two more."""

    def __init__(self, values: F64 | None, scale: float = 1.0) -> None:
        self._values = values  # [rows, K], exact values of the storage format
        self.scale = scale  # int8 only: values = codes * scale

    @classmethod
    def of32(cls, values32: NDArray[np.float32]) -> Operand:
        """The operand whose values are the float32 ``values32`` (exactly)."""
        op = cls(None)
        op.__dict__["values32"] = values32  # the cached_property's value
        return op

    @classmethod
    def from_codes(cls, codes: F64, scale: float) -> Operand:
        """int8: the operand of ``codes`` at ``scale`` (values ``codes * scale``), its
        ``codes`` known already."""
        op = cls(None, scale)
        op.__dict__["codes"] = Operand(codes)  # the cached_property's value
        return op

    @property
    def values(self) -> F64:
        if self._values is None:  # derived once (the same array if two threads race)
            if "values32" in self.__dict__:
                self._values = self.values32.astype(np.float64)
            else:
                self._values = self.codes.values * self.scale
        return self._values

    @property
    def shape(self) -> tuple[int, int]:
        if self._values is not None:
            rows, k = self._values.shape
        elif "values32" in self.__dict__:
            rows, k = self.values32.shape
        else:
            rows, k = self.codes.shape
        return rows, k

    @cached_property
    def values32(self) -> NDArray[np.float32]:
        """The values as float32 (exact when the storage format fits in fp32)."""
        return self.values.astype(np.float32)

    @property
    def exact(self) -> NDArray[Any]:
        """The values in the form at hand, float32 or float64 (for a layout that reads
        them once: no conversion pass first)."""
        found = self.__dict__.get("values32")
        return self.values if found is None else found

    @cached_property
    def peak(self) -> float:
        """``max |values|``, for the exactness bound of fixed-point sums."""
        return float(np.abs(self.values).max(initial=0.0))

    def layout(self, key: str, make: Callable[[Operand], _T]) -> _T:
        """``make(self)`` (a kernel's layout of the values), computed once per ``key``: an
        operand serves every run of ``prepare_weights``' weights."""
        cache: dict[str, Any] = self.__dict__.setdefault("_layouts", {})
        if key not in cache:
            cache[key] = make(self)
        return cast(_T, cache[key])

    def chunked32_t(self, lanes: int) -> NDArray[np.float32]:
        """``[Kp, rows]`` float32 (exact when the storage format fits in fp32), laid out in
        chunks for the DPU kernel; computed once per lane count."""
        return self.layout(
            f"chunked32_t {lanes}",
            lambda op: _chunked32_t(np.ascontiguousarray(op.exact), lanes, tree_width(lanes)),
        )

    @cached_property
    def codes_t(self) -> F64 | NDArray[np.float32]:
        """int8: the transposed integer codes ``[K, rows]``, as float32 when every partial
        sum of ``K`` products of codes (``|code| <= 127``) stays below 2**24 and so is
        exact in float32, else as float64 (exact below 2**53)."""
        codes = np.ascontiguousarray(self.codes.values.T)
        return codes.astype(np.float32) if codes.shape[0] * 127 * 127 < 2**24 else codes

    @cached_property
    def codes(self) -> Operand:
        """int8: the integer codes ``values / scale`` (exact small integers), scale 1."""
        return Operand(np.rint(self.values / self.scale))

    def rows(self, index: NDArray[np.int64]) -> Operand:
        return Operand(self.values[index], self.scale)

    def columns(self, lo: int, hi: int | None = None) -> Operand:
        """Columns ``lo:hi``, in the form at hand (float32 values stay float32)."""
        found = self.__dict__.get("values32")
        if found is not None:
            return Operand.of32(found[:, lo:hi])
        return Operand(self.values[:, lo:hi], self.scale)

    @staticmethod
    def joined(a: Operand, b: Operand) -> Operand:
        """``[a b]`` (columns of ``a``, then of ``b``) at ``a``'s scale, in the form at hand."""
        if "values32" in a.__dict__ and "values32" in b.__dict__:
            return Operand.of32(np.concatenate([a.values32, b.values32], axis=1))
        if "codes" in a.__dict__ and "codes" in b.__dict__ and a.scale == b.scale:
            codes = np.concatenate([a.codes.values, b.codes.values], axis=1)
            return Operand.from_codes(codes, a.scale)
        return Operand(np.concatenate([a.values, b.values], axis=1), a.scale)


@dataclass(frozen=True)
class Datapath:
    storage: NumberFormat
    acc: NumberFormat
    psum: NumberFormat
    lanes: int
    activation: ActivationSpec

    # ---- rounding ------------------------------------------------------------------------
    def rnd_acc(self, x: F64) -> F64:
        return _round(x, self.acc)

    def rnd_psum(self, x: F64) -> F64:
        return _round(x, self.psum)

    def store(self, x: F64, scale: float = 1.0) -> F64:
        """Round to the storage format (int8: to codes of ``scale``, as values)."""
        if self.storage.kind == FormatKind.INT:
            values = np.asarray(x, dtype=np.float64)
            return _store_int8(values.ravel(), float(scale), float(scale)).reshape(values.shape)
        return _round(x, self.storage)

    def fits_fp32(self) -> bool:
        """Every storage value is a float32: a float format of at most fp32's exponent and
        fraction bits, or fixed point of at most 24 bits."""
        s = self.storage
        if s.kind == FormatKind.FLOAT:
            return s.exponent_bits <= 8 and s.mantissa_bits <= 23
        return s.kind == FormatKind.FIXED and s.bits <= 24

    def store32(self, x: F64) -> NDArray[np.float32]:
        """``store(x)`` as float32, for a storage format whose values fp32 holds (fp32
        itself: one cast, numpy's, as ``round_to_format`` does)."""
        s = self.storage
        if (s.kind, s.exponent_bits, s.mantissa_bits) == (FormatKind.FLOAT, 8, 23):
            with np.errstate(over="ignore"):
                return np.asarray(x, dtype=np.float32)
        if s.kind == FormatKind.FLOAT:  # one compiled pass, as _round's
            values = np.ascontiguousarray(x, dtype=np.float64)
            return _round_float(values, s, np.empty(values.shape, dtype=np.float32))
        return self.store(x).astype(np.float32)

    def codes(self, x: F64, scale: float) -> F64:
        """int8: the codes ``store(x, scale)`` holds (``store(x, scale) / scale``, exact)."""
        values = np.asarray(x, dtype=np.float64)
        return _store_int8(values.ravel(), float(scale), 1.0).reshape(values.shape)

    @property
    def is_int8(self) -> bool:
        return self.storage.kind == FormatKind.INT

    # ---- the DPU -------------------------------------------------------------------------
    def dot(
        self,
        w: Operand,
        v: F64,
        bias: F64 | None = None,
        psum: F64 | None = None,
        v_scale: float = 1.0,
    ) -> F64:
        """The DPU: ``w @ v`` on an accumulator initialised with ``bias`` or ``psum``.

        ``w`` is ``[R, K]``, ``v`` is ``[..., K]`` (at least 2-D); ``bias`` (``[R]``, a
        weight-buffer constant) and ``psum`` (``[..., R]``, an MWL partial sum) are in
        the accumulator format. Returns ``[..., R]`` in the accumulator format.
        """
        if self.is_int8:
            wc: Any = w.codes_t
            codes = np.asarray(_matmul(np.rint(v / v_scale).astype(wc.dtype), wc), dtype=np.float64)
            z = self._dequantise(codes, w.scale, v_scale, bias)
            return z if psum is None else self.add(psum, z)
        init = bias if bias is not None else psum if psum is not None else np.zeros(1)
        if self.acc.kind == FormatKind.FIXED:
            return self._dot_fixed(w, v, init)
        if self._native_fp32():
            return self._dot_fp32(w, v, init)
        return self._dot_float(w.values, v, init)

    def _dequantise(self, codes: F64, w_scale: float, v_scale: float, bias: F64 | None) -> F64:
        """int8: ``rnd_acc((sum + rint(b / s)) * s)`` with ``s = s_w * s_x``, the bias on
        the integer grid. Where that cannot be formed in float64 (``s`` underflows to 0 or
        overflows, or ``b / s`` does), the sum is dequantised as ``(sum * s_w) * s_x`` and
        the bias added to it: ``rnd_acc(that + b)``. Either way a result beyond float64 is
        an infinity, as the accumulator overflows; a zero sum stays zero."""
        scale = w_scale * v_scale
        if 0.0 < scale < np.inf:
            with np.errstate(over="ignore"):  # b / s beyond float64: the fallback below
                grid = None if bias is None else np.rint(bias / scale)
                if grid is None:
                    return self.rnd_acc(codes * scale)
                if np.isfinite(grid).all():
                    return self.rnd_acc((codes + grid) * scale)
        with np.errstate(over="ignore"):
            z = (codes * w_scale) * v_scale
            return self.rnd_acc(z if bias is None else z + bias)

    def _exact_products(self) -> bool:
        s, a = self.storage, self.acc
        if a.kind == FormatKind.FIXED:
            return s.kind == FormatKind.FIXED and a.frac_bits >= 2 * s.frac_bits
        if s.kind != FormatKind.FLOAT:
            return False
        wide_enough = 2 * (s.mantissa_bits + 1) <= a.mantissa_bits + 1
        return wide_enough and a.exponent_bits >= s.exponent_bits + 1

    def _dot_fixed(self, operand: Operand, v: F64, init: F64) -> F64:
        w = operand.values
        if self._exact_products():
            # integers below 2**53 add exactly in float64 in any order (guard bits)
            bound = operand.peak * float(np.abs(v).max(initial=0)) * w.shape[1]
            bound += float(np.abs(init).max(initial=0))
            if bound * 2.0**self.acc.frac_bits < 2.0**52:
                return self.rnd_acc(init + _matmul(v, w.T))
        total = np.empty((*v.shape[:-1], w.shape[0]))
        for block in _blocks(v.shape, w.shape[0]):
            prods = self.rnd_acc(v[block][..., None, :] * w)
            total[block] = prods.sum(axis=-1)  # exact: integers on the accumulator grid
        return self.rnd_acc(init + total)

    def _native_fp32(self) -> bool:
        """fp32 accumulator and storage values that fp32 holds exactly: numpy's float32
        multiply and add are then exactly the DPU's rounded operations."""
        a = self.acc
        fp32 = (a.kind, a.exponent_bits, a.mantissa_bits) == (FormatKind.FLOAT, 8, 23)
        return fp32 and self.fits_fp32()

    def _dot_fp32(self, operand: Operand, v: F64, init: F64) -> F64:
        """``_dot_float`` compiled (``_kernels.dot_tree_f32``): same rounding, bit for bit."""
        return self.dot32(operand, v, init).astype(np.float64)

    def dot32(
        self, operand: Operand, v: NDArray[Any], init: NDArray[Any], threads: int = 1
    ) -> NDArray[np.float32]:
        """The DPU with an fp32 accumulator (``_native_fp32``), in float32: ``v [..., K]``
        and ``init`` (broadcast to ``[..., R]``) hold float32 values; ``[..., R]``.
        ``threads``: at most this many (the bits do not depend on it)."""
        rows = operand.shape[0]
        lead = v.shape[:-1]
        wt = operand.chunked32_t(self.lanes)
        vc = chunked(np.asarray(v, dtype=np.float32), self.lanes).reshape(-1, wt.shape[0])
        start = np.empty((int(np.prod(lead)), rows), dtype=np.float32)
        start[...] = np.broadcast_to(init, (*lead, rows)).reshape(-1, rows)
        exact = self.is_int8 or self._exact_products()  # int8: the callers pass codes
        out = dot_tree_f32(wt, np.ascontiguousarray(vc), start, tree_width(self.lanes),
                           threads=threads, in_place=True, exact_products=exact)  # fmt: skip
        return out.reshape((*lead, rows))

    def psum_in_fp32(self) -> bool:
        """MWL's partial sums come from ``dot32`` and float32 holds them: an fp32
        accumulator and a float partial-sum format no wider than fp32."""
        return self._native_fp32() and not self.is_int8 and self.sums_in_fp32()

    def sums_in_fp32(self) -> bool:
        """An fp32 accumulator, and partial sums in a float format float32 holds."""
        a, p = self.acc, self.psum
        fp32 = (a.kind, a.exponent_bits, a.mantissa_bits) == (FormatKind.FLOAT, 8, 23)
        narrow = p.kind == FormatKind.FLOAT and p.exponent_bits <= 8 and p.mantissa_bits <= 23
        return fp32 and narrow

    def _dot_float(self, w: F64, v: F64, init: F64) -> F64:
        """Element by element: every product, tree adder and accumulator add rounded."""
        with np.errstate(over="ignore", invalid="ignore"):  # IEEE: inf, and NaN for inf - inf
            return self._dot_float_ieee(w, v, init)

    def _dot_float_ieee(self, w: F64, v: F64, init: F64) -> F64:
        rows = w.shape[0]
        width = tree_width(self.lanes)
        wp, vp = chunked(w, self.lanes), chunked(v, self.lanes)
        chunks = wp.shape[-1] // width
        start = np.broadcast_to(init, (*v.shape[:-1], rows))
        out = np.empty((*v.shape[:-1], rows))
        exact = self._exact_products()
        for block in _blocks(v.shape, rows):
            prods = vp[block][..., None, :] * wp  # [..., R, Kp]: exact in float64
            if not exact:
                prods = self.rnd_acc(prods)
            level: F64 = prods.reshape((*prods.shape[:-1], chunks, width))
            while level.shape[-1] > 1:  # the pairwise adder tree, rounding at each adder
                level = self.rnd_acc(level[..., 0::2] + level[..., 1::2])
            accum = np.array(start[block])
            for c in range(chunks):  # the accumulator, chunk by chunk
                accum = self.rnd_acc(accum + level[..., c, 0])
            out[block] = accum
        return out

    # ---- the MFU -------------------------------------------------------------------------
    def sigmoid(self, x: F64) -> F64:
        """``x`` is always a value of the accumulator format (an MFU result), so for the
        exact function rounding it first is a no-op: only the output is rounded."""
        if self.activation.kind == ActivationKind.EXACT:
            return self.rnd_acc(act.sigmoid(x, self.activation))
        return act.sigmoid(x, self.activation, self.acc)

    def tanh(self, x: F64) -> F64:
        if self.activation.kind == ActivationKind.EXACT:
            return self.rnd_acc(act.tanh(x, self.activation))
        return act.tanh(x, self.activation, self.acc)

    def mul(self, a: F64, b: F64) -> F64:
        """``rnd_acc(a * b)`` of the exact product. Float formats follow IEEE 754 (overflow
        to an infinity, ``0 * inf`` is NaN); a fixed-point product of two accumulator
        values can need more than float64's 53 bits (``q8.24``: ``2 * 24`` fraction bits),
        so it is rounded from its exact value (``_fixed_math.rnd_mul``), not from float64's."""
        if self.acc.kind == FormatKind.FIXED and self.acc.bits <= 53:
            x, y = (np.ascontiguousarray(v, dtype=np.float64) for v in np.broadcast_arrays(a, b))
            return _mul_fixed_array(x.ravel(), y.ravel(), fmt_tuple(self.acc)).reshape(x.shape)
        with np.errstate(over="ignore", invalid="ignore"):
            return self.rnd_acc(a * b)

    def add(self, a: F64, b: F64) -> F64:
        """``rnd_acc(a + b)`` (IEEE 754 for float formats: ``inf - inf`` is NaN)."""
        with np.errstate(over="ignore", invalid="ignore"):
            return self.rnd_acc(a + b)


def _round(x: F64, fmt: NumberFormat) -> F64:
    """``round_to_format`` in one compiled pass where it is not one fast numpy cast: a
    float format other than fp32 (bf16, ..., and fp16, whose numpy cast from float64 is
    done in software: ``_vmath.round_float_array``) and a
    fixed-point format of at most 53 bits on finite values (``_fixed_math.rnd``); the
    same values (tested), without numpy's several passes over the array."""
    values = np.asarray(x, dtype=np.float64)
    if fmt.kind == FormatKind.FIXED and fmt.bits <= 53:
        out, finite = _round_fixed_array(values.ravel(), fmt_tuple(fmt))
        return out.reshape(values.shape) if finite else round_to_format(values, fmt)
    native = (fmt.exponent_bits, fmt.mantissa_bits) in ((8, 23), (11, 52))  # one cast
    if fmt.kind != FormatKind.FLOAT or native or fmt.mantissa_bits >= 52:
        return round_to_format(values, fmt)
    return _round_float(values, fmt, np.empty(values.shape))


def _round_float(x: F64, fmt: NumberFormat, out: _A) -> _A:
    """``out`` = ``x`` rounded to the float format ``fmt`` (fewer than 52 fraction bits) in
    one compiled pass (``_vmath.round_float_array``); float32 ``out`` where fp32 holds it."""
    limits = float_limits(fmt)
    round_float_array(x, fmt.mantissa_bits, limits.emin, limits.max_finite, out)
    return out


@njit(cache=True, nogil=True, error_model="numpy")
def _store_int8(x: F64, scale: float, times: float) -> F64:  # pragma: no cover - compiled
    """``clip(rint(x / scale), -127, 127) * times`` of the 1-D ``x`` in one pass (a
    quotient beyond float64 is an infinity and saturates; NaN stays NaN, as in numpy):
    the stored values (``times`` the scale) or the codes (``times`` 1)."""
    out = np.empty(x.size)
    for j in range(x.size):
        q = np.rint(x[j] / scale)
        out[j] = (q if q != q else min(max(q, -127.0), 127.0)) * times
    return out


@njit(cache=True, nogil=True, error_model="numpy")
def _mul_fixed_array(a: F64, b: F64, f: Fmt) -> F64:  # pragma: no cover - compiled
    """``rnd_mul`` of every pair of the 1-D ``a`` and ``b`` (finite fixed-point values)."""
    out = np.empty(a.size)
    for j in range(a.size):
        out[j] = rnd_mul(a[j], b[j], f)
    return out


@njit(cache=True, nogil=True, error_model="numpy")
def _round_fixed_array(x: F64, f: Fmt) -> tuple[F64, bool]:  # pragma: no cover - compiled
    """``rnd`` of every element of the 1-D ``x``, and whether every element was finite
    (else the caller uses ``round_to_format``, which raises or saturates as it does)."""
    out = np.empty(x.size)
    finite = True
    for j in range(x.size):
        v = x[j]
        finite &= abs(v) < np.inf
        out[j] = rnd(v, f)
    return out, finite


@njit(cache=True, nogil=True, error_model="numpy")
def _chunked32_t(
    w: NDArray[Any], lanes: int, width: int
) -> NDArray[np.float32]:  # pragma: no cover - compiled
    """``chunked(w.astype(float32), lanes).T`` in one pass: ``w [rows, K]`` to ``[chunks *
    width, rows]`` float32, column ``k`` of ``w`` at row ``(k // lanes) * width + k %
    lanes``, the padding zero; blocks of 32 rows keep the writes in cache lines."""
    rows, k = w.shape
    out = np.zeros(((k + lanes - 1) // lanes * width, rows), dtype=np.float32)
    for r0 in range(0, rows, 32):
        for col in range(k):
            dst = out[(col // lanes) * width + col % lanes]
            for r in range(r0, min(r0 + 32, rows)):
                dst[r] = w[r, col]
    return out


def tree_width(lanes: int) -> int:
    """Lanes padded to a power of two: an adder tree over an odd count passes the odd
    element through a level unchanged, which is adding an exact zero."""
    return 1 << (lanes - 1).bit_length()


def chunked(x: _A, lanes: int) -> _A:
    """Split the last axis into chunks of ``lanes`` (the last zero-padded), each chunk
    zero-padded to ``tree_width(lanes)``: shape ``[..., chunks * tree_width]``."""
    k = x.shape[-1]
    if lanes == tree_width(lanes) and k % lanes == 0:
        return x  # already whole power-of-two chunks
    chunks = -(-k // lanes)
    y: Any = np.pad(x, [(0, 0)] * (x.ndim - 1) + [(0, chunks * lanes - k)])
    y = y.reshape((*y.shape[:-1], chunks, lanes))
    y = np.pad(y, [(0, 0)] * (y.ndim - 1) + [(0, tree_width(lanes) - lanes)])
    return cast(_A, y.reshape((*y.shape[:-2], chunks * tree_width(lanes))))


def _matmul(v: NDArray[Any], w: NDArray[Any]) -> NDArray[Any]:
    """``v @ w`` for ``v [..., K]``, ``w [K, R]`` as one 2-D product (BLAS reuses each
    loaded block of ``w`` for every row of ``v``; a stacked ``v`` would be a matrix-vector
    product per leading index)."""
    product: NDArray[Any] = v.reshape(-1, v.shape[-1]) @ w
    return product.reshape((*v.shape[:-1], w.shape[-1]))


def _blocks(shape: tuple[int, ...], rows: int) -> list[tuple[slice, ...]]:
    """Slices of the first axis of an operand of ``shape`` whose products fit in memory."""
    per_index = rows * int(np.prod(shape[1:]))
    step = max(1, _BLOCK_ELEMENTS // max(1, per_index))
    return [(slice(lo, min(lo + step, shape[0])),) for lo in range(0, shape[0], step)]
