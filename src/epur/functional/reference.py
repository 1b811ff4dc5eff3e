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
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

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
    (``x W^T + b``), the recurrent side one matrix-vector product per step and
    direction (``h U^T``); the gates' elementwise arithmetic runs on every direction at
    once, so a bidirectional layer costs one set of numpy calls per step, not two. The
    values are those of running each direction alone: the same float64 operations on
    each element, in the same order.
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
    zx = []  # the input half of every step at once, per direction: [T, B, 4H]
    for w in weights:
        z_in = x @ w.w.T
        z_in += w.b
        zx.append(z_in)
    u_t = [w.u.T for w in weights]
    proj_t = [w.projection.T for w in weights if w.projection is not None]  # all or none
    p = np.stack([np.zeros((3, h_size)) if w.peepholes is None else w.peepholes for w in weights])
    p_if = p[:, None, :2, :]  # [n, 1, 2, H]: the input and forget gates' peepholes
    p_o = p[:, None, 2, :]  # [n, 1, H]
    lens = None if seq_lens is None else np.asarray(seq_lens)
    z = np.empty((n, batch, 4 * h_size))
    h_new = np.empty((n, batch, r_size)) if proj_t else None
    for s in range(t_len):
        ts = [t_len - 1 - s if rev else s for rev in reverses]
        for d in range(n):
            np.matmul(h[d], u_t[d], out=z[d])
            z[d] += zx[d][ts[d]]
        gates = z.reshape(n, batch, 4, h_size)
        i_f = sigmoid(gates[:, :, :2] + p_if * c[:, :, None, :])
        c_new = i_f[:, :, 1] * c + i_f[:, :, 0] * np.tanh(gates[:, :, 2])
        o = sigmoid(gates[:, :, 3] + p_o * c_new)
        out = o * np.tanh(c_new)
        if h_new is not None:
            for d in range(n):
                np.matmul(out[d], proj_t[d], out=h_new[d])
            out = h_new
        if lens is None:
            h, c = out.copy() if h_new is not None else out, c_new
            for d in range(n):
                y[d, ts[d]] = out[d]
        else:  # steps past a sequence's end change nothing
            live = np.stack([(t < lens)[:, None] for t in ts])  # [n, B, 1]
            h = np.where(live, out, h)
            c = np.where(live, c_new, c)
            for d in range(n):
                y[d, ts[d]] = np.where(live[d], out[d], 0.0)
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
