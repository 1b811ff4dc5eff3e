"""A float64 numpy LSTM: the accuracy reference for every number format.

Plain IEEE float64 arithmetic, no schedule, no hardware formats: the function of
E-PUR's LSTM (Silfa et al., PACT 2018), with the variants the importers bring in (ONNX semantics for
``sequence_lens`` and initial states). The functional model's error report is
measured against it, and the importers' tests check it against PyTorch and ONNX
Runtime.

Beyond float64's range the reference behaves as IEEE 754 arithmetic does (overflow to
infinities, NaN for ``inf - inf``), without warnings: the error report then shows it.

Shapes: ``x`` is ``[T, B, I]``; a direction returns ``y [T, B, R]`` (zero after a
sequence's end), and the final ``h [B, R]`` and ``c [B, H]`` of each sequence.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numba
import numpy as np
from numpy.typing import NDArray

from epur.functional._reference_kernel import lstm_recurrence
from epur.workload.network import FCLayer, LSTMLayer, Network
from epur.workload.weights import FCWeights, LSTMWeights, NetworkWeights

__all__ = [
    "DirectionResult",
    "LayerResult",
    "fc_layer",
    "lstm_direction",
    "lstm_directions",
    "lstm_layer",
    "reference_run",
]

F64 = NDArray[np.float64]


def sigmoid(x: F64) -> F64:
    """Logistic sigmoid, stable for large ``|x|``: ``1 / (1 + e)`` for ``x >= 0``, else
    ``e / (1 + e)``, with ``e = exp(-|x|)``."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0, e) / (1.0 + e)


@dataclass(frozen=True, eq=False)
class DirectionResult:
    y: F64  # [T, B, R]
    h: F64  # [B, R]
    c: F64  # [B, H]


def lstm_direction(
    x: F64,
    w: LSTMWeights,
    reverse: bool = False,
    h0: F64 | None = None,
    c0: F64 | None = None,
    seq_lens: NDArray[np.int64] | None = None,
) -> DirectionResult:
    """One LSTM direction over ``x`` (ONNX semantics for ``seq_lens``)."""
    return lstm_directions(x, [w], [reverse], [h0], [c0], seq_lens)[0]


def lstm_directions(
    x: F64,
    weights: Sequence[LSTMWeights],
    reverses: Sequence[bool],
    h0: Sequence[F64 | None],
    c0: Sequence[F64 | None],
    seq_lens: NDArray[np.int64] | None = None,
) -> tuple[DirectionResult, ...]:
    """Independent LSTM directions over the same ``x``, stepped together.

    The input side is one matrix product over the whole sequence per direction
    (``x W^T + b``); the recurrence, every step of every direction, is one compiled
    call (``_reference_kernel.lstm_recurrence``: ``h U^T``, the gates, ``c``, ``h``,
    the projection, ``seq_lens``), the directions in parallel. The values are those of
    running each direction alone: the same float64 operations on each element, in the
    same order.
    """
    if not len(weights) == len(reverses) == len(h0) == len(c0):
        raise ValueError("lstm_directions needs as many reverses, h0 and c0 as weights")
    with np.errstate(over="ignore", invalid="ignore"):  # IEEE 754 beyond float64's range
        if len({_shape_key(w) for w in weights}) > 1:  # directions that cannot be stacked
            return tuple(
                _lstm_directions(x, [w], [r], [a], [b], seq_lens)[0]
                for w, r, a, b in zip(weights, reverses, h0, c0, strict=True)
            )
        return _lstm_directions(x, weights, reverses, h0, c0, seq_lens)


def _shape_key(w: LSTMWeights) -> tuple[object, ...]:
    return (
        w.u.shape,
        None if w.peepholes is None else w.peepholes.shape,
        None if w.projection is None else w.projection.shape,
    )


def _lstm_directions(
    x: F64,
    weights: Sequence[LSTMWeights],
    reverses: Sequence[bool],
    h0: Sequence[F64 | None],
    c0: Sequence[F64 | None],
    seq_lens: NDArray[np.int64] | None,
) -> tuple[DirectionResult, ...]:
    t_len, batch, _ = x.shape
    n = len(weights)
    h_size = weights[0].u.shape[0] // 4
    r_size = weights[0].u.shape[1]
    h = np.zeros((n, batch, r_size))
    c = np.zeros((n, batch, h_size))
    for d in range(n):
        if h0[d] is not None:
            h[d] = np.asarray(h0[d], dtype=np.float64)
        if c0[d] is not None:
            c[d] = np.asarray(c0[d], dtype=np.float64)
    y = np.zeros((n, t_len, batch, r_size))
    # the input half of every step at once, one matrix product per direction
    zx = np.empty((n, t_len * batch, 4 * h_size))
    x2 = np.ascontiguousarray(x, dtype=np.float64).reshape(t_len * batch, -1)
    for d, w in enumerate(weights):
        np.matmul(x2, w.w.T, out=zx[d])
        zx[d] += w.b
    u_t = np.ascontiguousarray(np.stack([w.u.T for w in weights]), dtype=np.float64)
    p = np.stack([np.zeros((3, h_size)) if w.peepholes is None else w.peepholes for w in weights])
    projs = [w.projection.T for w in weights if w.projection is not None]  # all or none
    proj_t = np.stack(projs) if projs else np.zeros((n, 0, 0))
    lens = np.full(batch, t_len, dtype=np.int64) if seq_lens is None else seq_lens
    args = (
        zx.reshape(n, t_len, batch, 4 * h_size),
        u_t,
        np.ascontiguousarray(p, dtype=np.float64),
        np.ascontiguousarray(proj_t, dtype=np.float64),
        np.array(reverses, dtype=np.bool_),
        np.ascontiguousarray(np.broadcast_to(lens, (batch,)), dtype=np.int64),
        h,
        c,
        y,
    )
    workers = min(n, numba.get_num_threads())  # the bound epur.api.bounded_threads sets
    if workers == 1:
        for d in range(n):
            lstm_recurrence(d, *args)
    else:  # the directions on threads: the compiled recurrence releases the GIL
        with ThreadPoolExecutor(workers, thread_name_prefix="epur-reference") as pool:
            for future in [pool.submit(lstm_recurrence, d, *args) for d in range(n)]:
                future.result()
    return tuple(DirectionResult(y[d], h[d], c[d]) for d in range(n))


@dataclass(frozen=True, eq=False)
class LayerResult:
    """A layer's output sequence ``[T, B, out]`` and, for LSTMs, each direction's state."""

    y: F64
    directions: tuple[DirectionResult, ...] = ()


def lstm_layer(
    layer: LSTMLayer,
    weights: tuple[LSTMWeights, ...],
    x: F64,
    below: int,
    h0: F64 | None = None,
    c0: F64 | None = None,
    seq_lens: NDArray[np.int64] | None = None,
) -> LayerResult:
    """All directions of ``layer``; ``h0 [dirs, B, R]``, ``c0 [dirs, B, H]``.

    ``below`` is how many leading input features come from the layer below (the
    residual shortcut); the rest are external features.
    """
    reverses = [False, True] if layer.bidirectional else [layer.reverse]
    dirs = range(len(reverses))
    results = lstm_directions(
        x,
        weights,
        reverses,
        [None if h0 is None else h0[d] for d in dirs],
        [None if c0 is None else c0[d] for d in dirs],
        seq_lens,
    )
    y = np.concatenate([r.y for r in results], axis=-1)
    if layer.residual:
        with np.errstate(over="ignore", invalid="ignore"):  # IEEE 754 beyond float64's range
            y = y + x[..., :below]
    return LayerResult(y, results)


def fc_layer(layer: FCLayer, weights: FCWeights, x: F64) -> LayerResult:
    with np.errstate(over="ignore", invalid="ignore"):  # IEEE 754 beyond float64's range
        z = x @ weights.w.T + weights.b
        kind = layer.activation.value
        if kind == "relu":
            z = np.maximum(z, 0.0)
        elif kind == "sigmoid":
            z = sigmoid(z)
        elif kind == "tanh":
            z = np.tanh(z)
    return LayerResult(z)


def reference_run(
    network: Network,
    weights: NetworkWeights,
    inputs: Mapping[str, F64],
) -> list[LayerResult]:
    """Every layer of ``network`` in float64, in ``Network.layers()`` order.

    ``inputs`` maps each stack's name to its input ``[T, B, I]`` and, for layers whose
    input is wider than the layer below's output, ``"<layer name>.external_in"`` to
    those extra features ``[T, B, extra]`` (see ``external_inputs``).
    """
    out: list[LayerResult] = []
    k = 0
    for stack in network.stacks:
        x = np.asarray(inputs[stack.name], dtype=np.float64)
        for layer in stack.layers:
            below = x.shape[-1]
            if layer.input_size > below:
                x = np.concatenate([x, inputs[f"{layer_name(layer, k)}.external_in"]], axis=-1)
            if isinstance(layer, FCLayer):
                result = fc_layer(layer, _fc(weights.layers[k]), x)
            else:
                result = lstm_layer(layer, _lstm(weights.layers[k]), x, below)
            out.append(result)
            x = result.y
            k += 1
    return out


def layer_name(layer: LSTMLayer | FCLayer, index: int) -> str:
    """The name the schedule gives a layer (its own, else ``L<index+1>``)."""
    return layer.name or f"L{index + 1}"


def _fc(w: object) -> FCWeights:
    assert isinstance(w, FCWeights)
    return w


def _lstm(w: object) -> tuple[LSTMWeights, ...]:
    assert isinstance(w, tuple)
    return w
