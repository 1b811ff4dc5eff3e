"""ONNX ``LSTM`` nodes as epur ``LSTMLayer`` and ``LSTMWeights``.

ONNX's gate order i, o, f, c (``W``, ``R``, both halves of ``B``) becomes epur's
i, f, g, o, the bias is ``Wb + Rb`` in float64, and the peepholes ``P`` (i, o, f)
become ``[3, H]`` in the order i, f, o. ``clip``, ``input_forget=1``, non-default
activations and ``activation_alpha/beta`` are refused, naming the node and the
attribute.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import onnx
from numpy.typing import NDArray

from epur.errors import ConfigError
from epur.workload.importers._onnx_ops import element_type, is_float
from epur.workload.network import LSTMLayer
from epur.workload.weights import LSTMWeights

__all__ = ["NodeInfo", "convert_lstm"]

F64 = NDArray[np.float64]
Array = np.ndarray[Any, Any]

_IOFC_TO_IFGO = (0, 2, 3, 1)  # W, R, B: ONNX blocks i, o, f, c -> epur i, f, g, o
_IOF_TO_IFO = (0, 2, 1)  # P: ONNX i, o, f -> epur i, f, o
_DIRECTIONS = {"forward": 1, "reverse": 1, "bidirectional": 2}
_LSTM_ATTRS = {"direction", "hidden_size", "layout", "activations", "input_forget"}
_DEFAULT_ACTS = ["sigmoid", "tanh", "tanh"]
_ROLES = ("X", "W", "R", "B", "sequence_lens", "initial_h", "initial_c", "P")


@dataclass(frozen=True, eq=False)
class NodeInfo:
    """What ``OnnxModel.run`` needs to call the LSTM callable for one node."""

    label: str
    layout: int
    dirs: int
    input_size: int
    hidden_size: int


def convert_lstm(
    node: onnx.NodeProto,
    attrs: dict[str, Any],
    label: str,
    constants: Mapping[str, Array],
    layer_name: str,
) -> tuple[NodeInfo, LSTMLayer, tuple[LSTMWeights, ...]]:
    """One LSTM node's layer and weights; ``label`` prefixes every error message."""
    unsupported = sorted(set(attrs) - _LSTM_ATTRS)  # clip, activation_alpha/beta, ...
    if unsupported:
        attr = unsupported[0]
        raise ConfigError(f"{label}: attribute {attr}={attrs[attr]!r} is not supported")
    if attrs.get("input_forget", 0) != 0:
        raise ConfigError(
            f"{label}: attribute input_forget={attrs['input_forget']} is not "
            "supported (only 0, independent input and forget gates)"
        )
    direction = attrs.get("direction", "forward")
    if direction not in _DIRECTIONS:
        raise ConfigError(
            f"{label}: attribute direction={direction!r} must be one of {sorted(_DIRECTIONS)}"
        )
    dirs = _DIRECTIONS[direction]
    acts = attrs.get("activations")
    if acts is not None and [a.lower() for a in acts] not in (_DEFAULT_ACTS, _DEFAULT_ACTS * dirs):
        raise ConfigError(
            f"{label}: attribute activations={acts} is not supported "
            f"(only the defaults {['Sigmoid', 'Tanh', 'Tanh'] * dirs})"
        )
    layout = attrs.get("layout", 0)
    if layout not in (0, 1):
        raise ConfigError(f"{label}: attribute layout={layout} must be 0 or 1")

    def const(index: int) -> Array | None:
        ref = node.input[index] if index < len(node.input) else ""
        if not ref:
            return None
        if ref not in constants:
            raise ConfigError(
                f"{label}: input {_ROLES[index]} ({ref!r}) must be an initializer "
                "or the output of a Constant node"
            )
        value = np.asarray(constants[ref])
        if not is_float(value):
            raise ConfigError(
                f"{label}: input {_ROLES[index]} ({ref!r}) must hold floating-point weights "
                f"(float, double, float16 or bfloat16), not {element_type(value)}"
            )
        return np.asarray(value, dtype=np.float64)

    if not node.input or not node.input[0]:
        raise ConfigError(f"{label}: input X is missing")
    w, r, b, p = const(1), const(2), const(3), const(7) if len(node.input) > 7 else None
    if w is None:
        raise ConfigError(f"{label}: input W is missing")
    if r is None or r.ndim != 3 or r.shape[1] != 4 * r.shape[2] or r.shape[2] < 1:
        got = None if r is None else list(r.shape)
        raise ConfigError(f"{label}: input R must have shape [dirs, 4*hidden, hidden], not {got}")
    h = r.shape[2]
    hidden_attr = attrs.get("hidden_size", h)
    expected = {
        "W": (w, (dirs, 4 * h, w.shape[-1] if w.ndim == 3 else 0)),
        "R": (r, (dirs, 4 * h, h)),
        "B": (b, (dirs, 8 * h)),
        "P": (p, (dirs, 3 * h)),
    }
    for role, (array, shape) in expected.items():
        if array is not None and (array.shape != shape or shape[-1] < 1):
            raise ConfigError(
                f"{label}: input {role} must have shape {list(shape)} "
                f"(direction={direction}, hidden {h}), not {list(array.shape)}"
            )
    if hidden_attr != h:
        raise ConfigError(f"{label}: attribute hidden_size={hidden_attr} does not match R ({h})")
    dir_weights = tuple(
        LSTMWeights(
            w=_gates(w[d], _IOFC_TO_IFGO, h),
            u=_gates(r[d], _IOFC_TO_IFGO, h),
            b=np.zeros(4 * h)
            if b is None
            else _gates(b[d, : 4 * h] + b[d, 4 * h :], _IOFC_TO_IFGO, h),
            peepholes=None if p is None else _gates(p[d], _IOF_TO_IFO, h).reshape(3, h),
        )
        for d in range(dirs)
    )
    layer = LSTMLayer(
        input_size=w.shape[2],
        hidden_size=h,
        bidirectional=dirs == 2,
        peepholes=p is not None,
        name=layer_name,
        reverse=direction == "reverse",
    )
    return NodeInfo(label, layout, dirs, w.shape[2], h), layer, dir_weights


def _gates(a: F64, order: tuple[int, ...], h: int) -> F64:
    """Reorder the ``h``-row gate blocks of ``a`` along axis 0."""
    return np.concatenate([a[g * h : (g + 1) * h] for g in order])
