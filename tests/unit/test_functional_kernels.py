"""The compiled DPU kernel (functional/_kernels.py): serving several vectors (time
steps) per loaded block of weights changes the speed only, never a bit: every (row,
step) sees the lane products, the pairwise adder tree and the accumulator adds of the
element-by-element numpy datapath (``Datapath._dot_float``), in the same order."""

from __future__ import annotations

import numpy as np
import pytest

from epur.functional._kernels import _ROWS_PER_JOB, dot_tree_f32
from epur.functional.datapath import Datapath, Operand, chunked, tree_width
from epur.numerics import parse_activation, parse_format


def fp32(lanes: int) -> Datapath:
    f = parse_format("fp32")
    return Datapath(f, f, f, lanes, parse_activation("exact"))


def operands(
    rng: np.random.Generator, rows: int, k: int, n: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """float32 values spread over many binades, so that every rounding and every
    pairing of the adder tree shows in the result; a few exact cancellations too."""

    def spread(shape: tuple[int, ...]) -> np.ndarray:
        x = rng.standard_normal(shape) * 2.0 ** rng.integers(-12, 13, shape)
        return x.astype(np.float32).astype(np.float64)

    w, v, b = spread((rows, k)), spread((n, k)), spread((rows,))
    v[:, : k // 3] = np.round(v[:, : k // 3])  # some exact, some large sums
    return w, v, b


def bits(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(x, dtype=np.float32).view(np.uint32)


# rows: one, fewer than a row block, not a multiple of it, two and a half blocks;
# n (time steps): not a multiple of the step block; lanes as the brief lists
SHAPES = [(1, 5, 1), (7, 16, 13), (33, 40, 37), (300, 120, 21), (2 * _ROWS_PER_JOB + 70, 70, 19)]


@pytest.mark.parametrize("lanes", [1, 3, 5, 16, 32])
@pytest.mark.parametrize(("rows", "k", "n"), SHAPES)
def test_blocked_steps_equal_the_unblocked_kernel_and_the_numpy_datapath(
    lanes: int, rows: int, k: int, n: int
) -> None:
    rng = np.random.default_rng([lanes, rows, k, n])
    w, v, b = operands(rng, rows, k, n)
    d = fp32(lanes)
    wt = Operand(w).chunked32_t(lanes)
    vc = np.ascontiguousarray(chunked(v.astype(np.float32), lanes))
    init = np.ascontiguousarray(np.broadcast_to(b.astype(np.float32), (n, rows)))
    width = tree_width(lanes)
    unblocked = dot_tree_f32(wt, vc, init, width, steps=1)
    expected = bits(d._dot_float(w, v, b))  # element by element: the definition
    np.testing.assert_array_equal(bits(unblocked), expected)
    for steps in (2, 4, 7, 16, n, n + 3):
        blocked = dot_tree_f32(wt, vc, init, width, steps=steps)
        np.testing.assert_array_equal(bits(blocked), expected, err_msg=f"steps={steps}")
    np.testing.assert_array_equal(bits(d.dot(Operand(w), v, bias=b)), expected)  # default


def test_the_accumulator_starts_from_each_steps_own_partial_sum() -> None:
    """MWL: the accumulator of (row, step) is initialised with that step's partial sum."""
    rng = np.random.default_rng(3)
    w, v, _ = operands(rng, 45, 48, 23)
    psum = rng.standard_normal((23, 45)).astype(np.float32).astype(np.float64)
    d = fp32(16)
    got = d.dot(Operand(w), v, psum=psum)
    np.testing.assert_array_equal(bits(got), bits(d._dot_float(w, v, psum)))


def test_ieee_specials_propagate_as_in_the_numpy_datapath() -> None:
    rng = np.random.default_rng(4)
    w, v, b = operands(rng, 20, 32, 9)
    w[3, 5], v[2, 7], v[4, 0] = 3e38, 3e38, np.inf  # overflow, inf - inf
    d = fp32(16)
    got, want = d.dot(Operand(w), v, bias=b), d._dot_float(w, v, b)
    with np.errstate(invalid="ignore"):
        np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
        ok = ~np.isnan(want)
        np.testing.assert_array_equal(bits(got[ok]), bits(want[ok]))


def test_steps_must_be_positive() -> None:
    z = np.zeros((16, 4), np.float32)
    with pytest.raises(ValueError, match="steps"):
        dot_tree_f32(z, np.zeros((2, 16), np.float32), np.zeros((2, 4), np.float32), 16, 0)


def test_every_thread_count_gives_the_same_bits() -> None:
    """Threads split the jobs in contiguous ranges; each value is one job's."""
    rng = np.random.default_rng(11)
    rows, k, n = 2 * _ROWS_PER_JOB + 90, 160, 37  # above the threading threshold
    w, v, b = operands(rng, rows, k, n)
    wt = np.ascontiguousarray(chunked(w.astype(np.float32), 16).T)
    vc = np.ascontiguousarray(chunked(v.astype(np.float32), 16))
    init = np.ascontiguousarray(np.broadcast_to(b.astype(np.float32), (n, rows)))
    one = bits(dot_tree_f32(wt, vc, init, 16, threads=1))
    for threads in (2, 3, 7, 64):
        got = bits(dot_tree_f32(wt, vc, init, 16, threads=threads))
        np.testing.assert_array_equal(got, one, err_msg=f"threads={threads}")
