"""``epur.run(..., threads=N)``: a bounded thread count, the same bits for every count."""

from __future__ import annotations

import numba
import numpy as np
import pytest

import epur
from epur.api import MAX_THREADS, _openblas, available_cores, bounded_threads
from epur.errors import ConfigError
from epur.workload import LSTMLayer, Network, Stack
from epur.workload.weights import random_weights

NET = Network(
    "bi",
    (Stack("main", 9, (LSTMLayer(6, 5, bidirectional=True, peepholes=True),
                       LSTMLayer(10, 4, bidirectional=True))),),
)  # fmt: skip


def _model() -> tuple[tuple[Network, object], np.ndarray]:
    weights = random_weights(NET, np.random.default_rng(0))
    x = np.random.default_rng(1).standard_normal((9, 2, 6))
    return (NET, weights), x


@pytest.mark.parametrize("fmt", ["fp32", "fp16", "q8.8", "int8"])
def test_every_thread_count_gives_the_same_bits(fmt: str) -> None:
    model, x = _model()
    one = epur.run(model, x, fmt=fmt, threads=1)  # type: ignore[arg-type]
    two = epur.run(model, x, fmt=fmt, threads=2)  # type: ignore[arg-type]
    assert one.outputs.keys() == two.outputs.keys()
    for name in one.outputs:
        assert np.array_equal(one.outputs[name], two.outputs[name]), name
    assert one.errors == two.errors


def test_the_bound_holds_inside_the_run_and_is_restored_after() -> None:
    model, x = _model()
    before = numba.get_num_threads()
    blas = _openblas()
    blas_before = blas[1]() if blas else None
    seen: list[tuple[int, int | None]] = []

    def spy(line: str) -> None:
        seen.append((numba.get_num_threads(), blas[1]() if blas else None))

    epur.run(model, x, threads=1, progress=spy)  # type: ignore[arg-type]
    assert seen and all(n == 1 for n, _ in seen)
    if blas is not None:
        assert all(b == 1 for _, b in seen)
        assert blas[1]() == blas_before
    assert numba.get_num_threads() == before


def test_the_bound_never_raises_the_thread_counts() -> None:
    before = numba.get_num_threads()
    with bounded_threads(MAX_THREADS):
        assert numba.get_num_threads() <= numba.config.NUMBA_NUM_THREADS  # type: ignore[attr-defined]
    assert numba.get_num_threads() == before
    assert available_cores() >= 1


@pytest.mark.parametrize("bad", [0, -1, MAX_THREADS + 1, 2.0, True, "2"])
def test_a_thread_count_out_of_range_is_refused(bad: object) -> None:
    model, x = _model()
    with pytest.raises(ConfigError, match=f"threads must be an integer from 1 to {MAX_THREADS}"):
        epur.run(model, x, threads=bad)  # type: ignore[arg-type]
