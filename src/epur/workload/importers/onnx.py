"""Import an ONNX model with ``LSTM`` nodes; run its graph around a pluggable LSTM.

``from_onnx(path or ModelProto)`` checks the model, converts every ``LSTM`` node's
weights to epur's layout and returns an ``OnnxModel``:

* ``network``: one ``LSTMLayer`` per LSTM node, in graph (topological) order, named
  after the node (``L<k>`` when unnamed or ambiguous). Consecutive nodes share a
  stack when a node's ``X`` is computed from the previous node's ``Y`` (the
  exporter's Transpose/Reshape/Squeeze glue); otherwise a new stack starts
  (``"main"``, then ``"stack2"``, ...). ``seq_len`` and ``batch`` are the static
  dimensions of the stack's first ``X`` when the model declares them, else 1. The
  network is for timing; ``run`` is the authoritative executor.
* ``weights``: ``NetworkWeights`` in the same order. ONNX's gate order i, o, f, c
  (``W``, ``R``, both halves of ``B``) becomes epur's i, f, g, o, the bias is
  ``Wb + Rb`` in float64, and the peepholes ``P`` (i, o, f) become ``[3, H]`` in the
  order i, f, o.
* ``input_names`` (graph inputs that are not initializers), ``output_names``,
  ``layouts`` (each LSTM node's ``layout`` attribute) and ``graph``.

``OnnxModel.run(inputs, lstm)`` evaluates the graph in order: glue operators
(``_onnx_ops.GLUE_OPS``) with numpy, each LSTM node with the callable ``lstm``::

    lstm(node_index, x, h0, c0, seq_lens) -> (y, y_h, y_c)

    node_index  int, position of the node among the LSTM nodes (= its layer index
                in ``network`` and ``weights``)
    x           float64 [T, B, I]        (always layout 0; run transposes layout 1)
    h0, c0      float64 [dirs, B, H] or None (zeros)
    seq_lens    int64 [B] or None (every sequence runs all T steps)
    y           [T, dirs, B, H]           zero after a sequence's end
    y_h, y_c    [dirs, B, H]              each sequence's last state

Direction 0 is the forward pass (or the only one, backward for
``direction="reverse"``, see ``LSTMLayer.reverse``), direction 1 the backward pass of
a bidirectional node. ``run`` returns the graph outputs by name with ONNX's shapes;
values keep the dtype the callable returns (float64 for the reference) through the
glue, which never rounds them to the model's float32 unless the graph has a Cast.

Supported: every LSTM input (``X, W, R, B, sequence_lens, initial_h, initial_c,
P``) with ``W, R, B, P`` initializers or Constant outputs; ``direction``,
``hidden_size``, ``layout`` and ``activations`` equal to the defaults (Sigmoid,
Tanh, Tanh). Refused at import with a ``ConfigError`` naming the node: ``clip``,
``input_forget=1``, other activations, ``activation_alpha/beta`` and any operator
other than LSTM and the glue operators.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from numpy.typing import NDArray
from onnx import numpy_helper

from epur.errors import ConfigError
from epur.workload.importers._onnx_ops import GLUE_OPS, attributes, constant_value
from epur.workload.network import LSTMLayer, Network, Stack
from epur.workload.weights import LSTMWeights, NetworkWeights

__all__ = ["LSTMFn", "OnnxModel", "from_onnx"]

F64 = NDArray[np.float64]
Array = np.ndarray[Any, Any]
LSTMFn = Callable[
    [int, F64, F64 | None, F64 | None, NDArray[np.int64] | None], tuple[Array, Array, Array]
]

_IOFC_TO_IFGO = (0, 2, 3, 1)  # W, R, B: ONNX blocks i, o, f, c -> epur i, f, g, o
_IOF_TO_IFO = (0, 2, 1)  # P: ONNX i, o, f -> epur i, f, o
_DIRECTIONS = {"forward": 1, "reverse": 1, "bidirectional": 2}
_LSTM_ATTRS = {"direction", "hidden_size", "layout", "activations", "input_forget"}
_DEFAULT_ACTS = ["sigmoid", "tanh", "tanh"]
_ROLES = ("X", "W", "R", "B", "sequence_lens", "initial_h", "initial_c", "P")


@dataclass(frozen=True, eq=False)
class _NodeInfo:
    label: str
    layout: int
    dirs: int
    input_size: int
    hidden_size: int


@dataclass(frozen=True, eq=False)
class OnnxModel:
    """An imported ONNX model (see the module docstring)."""

    network: Network
    weights: NetworkWeights
    input_names: tuple[str, ...]
    output_names: tuple[str, ...]
    layouts: tuple[int, ...]
    graph: onnx.GraphProto = field(repr=False)
    _constants: dict[str, Array] = field(repr=False)
    _nodes: tuple[tuple[onnx.NodeProto, dict[str, Any], str], ...] = field(repr=False)
    _lstm_info: tuple[_NodeInfo, ...] = field(repr=False)

    def run(self, inputs: Mapping[str, Array], lstm: LSTMFn) -> dict[str, Array]:
        """Evaluate the graph on ``inputs`` (by graph input name) with ``lstm`` for LSTM nodes."""
        missing = [n for n in self.input_names if n not in inputs]
        unknown = sorted(set(inputs) - set(self.input_names))
        if missing or unknown:
            raise ConfigError(
                f"inputs must be exactly the graph inputs {list(self.input_names)}; "
                f"missing {missing}, unknown {unknown}"
            )
        values: dict[str, Array | None] = {"": None, **self._constants}
        values.update({n: np.asarray(inputs[n]) for n in self.input_names})
        k = 0
        for node, attrs, label in self._nodes:
            if node.op_type == "Constant":
                continue
            args = [values[n] for n in node.input]
            if node.op_type == "LSTM":
                outs = self._lstm(k, args, lstm)
                k += 1
            else:
                try:
                    outs = GLUE_OPS[node.op_type](node, attrs, args)
                except (ValueError, IndexError, TypeError, KeyError) as exc:
                    raise ConfigError(f"{label} failed on these inputs: {exc}") from None
            for name, value in zip(node.output, outs, strict=False):
                if name:
                    values[name] = value
        return {n: np.array(values[n]) for n in self.output_names}

    def _lstm(self, k: int, args: list[Array | None], lstm: LSTMFn) -> list[Array]:
        info = self._lstm_info[k]
        x, seq, h0, c0 = (args[i] if i < len(args) else None for i in (0, 4, 5, 6))
        assert x is not None  # the importer checks X is given
        swap = info.layout == 1
        x64 = np.asarray(x.transpose(1, 0, 2) if swap and x.ndim == 3 else x, dtype=np.float64)
        if x64.ndim != 3 or x64.shape[2] != info.input_size:
            raise ConfigError(
                f"{info.label} input X must be 3-D with {info.input_size} features "
                f"(layout {info.layout}), not shape {list(x.shape)}"
            )
        t_len, batch = x64.shape[:2]
        state = (info.dirs, batch, info.hidden_size)
        states: list[F64 | None] = []
        for role, s in (("initial_h", h0), ("initial_c", c0)):
            s64 = None if s is None else np.asarray(s, dtype=np.float64)
            if s64 is not None and swap and s64.ndim == 3:
                s64 = s64.transpose(1, 0, 2)
            if s64 is not None and s64.shape != state:
                raise ConfigError(
                    f"{info.label} {role} must have shape {list(state)}, not "
                    f"{list(s64.shape)} (layout {info.layout})"
                )
            states.append(s64)
        lens = None if seq is None else np.asarray(seq, dtype=np.int64).reshape(-1)
        if lens is not None and (
            lens.shape != (batch,) or (lens < 0).any() or (lens > t_len).any()
        ):
            raise ConfigError(
                f"{info.label} sequence_lens must be {batch} lengths in 0..{t_len}, not {seq}"
            )
        y, y_h, y_c = (np.asarray(a) for a in lstm(k, x64, states[0], states[1], lens))
        for what, a, shape in (("y", y, (t_len, *state)), ("y_h", y_h, state), ("y_c", y_c, state)):
            if a.shape != shape:
                raise ConfigError(
                    f"lstm callable returned {what} of shape {list(a.shape)} for "
                    f"{info.label}, expected {list(shape)}"
                )
        if swap:
            return [y.transpose(2, 0, 1, 3), y_h.transpose(1, 0, 2), y_c.transpose(1, 0, 2)]
        return [y, y_h, y_c]


def from_onnx(
    source: str | os.PathLike[str] | onnx.ModelProto, *, name: str | None = None
) -> OnnxModel:
    """Import the LSTM nodes of an ONNX model (a file path or a ``ModelProto``)."""
    model, what = _load(source)
    try:
        onnx.checker.check_model(model)
    except (onnx.checker.ValidationError, ValueError) as exc:
        raise ConfigError(f"{what} is not a valid ONNX model: {_one_line(exc)}") from None
    graph = model.graph
    if graph.sparse_initializer:
        raise ConfigError(f"{what} has sparse initializers, which are not supported")
    constants = {t.name: np.array(numpy_helper.to_array(t)) for t in graph.initializer}
    nodes: list[tuple[onnx.NodeProto, dict[str, Any], str]] = []
    for i, node in enumerate(graph.node):
        label = f"node {node.name or f'#{i}'!r} ({node.op_type})"
        supported = node.op_type == "LSTM" or node.op_type in GLUE_OPS
        if node.domain not in ("", "ai.onnx") or not supported:
            domain = f" in domain {node.domain!r}" if node.domain not in ("", "ai.onnx") else ""
            raise ConfigError(
                f"{what}: {label}{domain} is not supported; supported are LSTM and the glue "
                f"operators {', '.join(sorted(GLUE_OPS))}"
            )
        if node.op_type == "Constant":
            try:
                constants[node.output[0]] = constant_value(node)
            except ValueError as exc:
                raise ConfigError(f"{what}: {label}: {exc}") from None
        nodes.append((node, attributes(node), label))
    lstm_nodes = [(node, attrs, label) for node, attrs, label in nodes if node.op_type == "LSTM"]
    if not lstm_nodes:
        raise ConfigError(f"{what} has no LSTM node")
    names = [node.name for node, _, _ in lstm_nodes]
    infos, layers, weights = [], [], []
    for k, (node, attrs, label) in enumerate(lstm_nodes):
        unique = node.name and names.count(node.name) == 1
        info, layer, w = _convert(
            node, attrs, f"{what}: {label}", constants, node.name if unique else f"L{k + 1}"
        )
        infos.append(info)
        layers.append(layer)
        weights.append(w)
    shapes = _static_shapes(model)
    network = Network(
        name=name or graph.name or "onnx",
        stacks=_stacks(model, shapes, lstm_nodes, layers, infos),
        batch=_static_dims(shapes, lstm_nodes[0][0].input[0], infos[0].layout)[1],
        provenance=what,
    )
    result = NetworkWeights(tuple(weights))
    result.check(network)
    init_names = set(t.name for t in graph.initializer)
    return OnnxModel(
        network=network,
        weights=result,
        input_names=tuple(v.name for v in graph.input if v.name not in init_names),
        output_names=tuple(v.name for v in graph.output),
        layouts=tuple(i.layout for i in infos),
        graph=graph,
        _constants=constants,
        _nodes=tuple(nodes),
        _lstm_info=tuple(infos),
    )


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= 300 else text[:297] + "..."


def _load(source: object) -> tuple[onnx.ModelProto, str]:
    if isinstance(source, onnx.ModelProto):
        model = onnx.ModelProto()
        model.CopyFrom(source)  # the caller may change theirs later
        return model, "ONNX model"
    if not isinstance(source, str | os.PathLike):
        raise ConfigError(
            f"from_onnx source must be a path or an onnx.ModelProto, not {type(source).__name__}"
        )
    path = Path(source)
    what = f"ONNX file {path}"
    if not path.is_file():
        raise ConfigError(f"{what} does not exist")
    try:
        model = onnx.load(path)
    except OSError as exc:
        raise ConfigError(f"cannot read {what}: {exc.strerror}") from None
    except Exception as exc:  # protobuf's DecodeError and friends
        raise ConfigError(f"{what} is not a valid ONNX model: {_one_line(exc)}") from None
    if not model.graph.node:
        raise ConfigError(f"{what} is not a valid ONNX model: it has no graph nodes")
    return model, what


def _convert(
    node: onnx.NodeProto,
    attrs: dict[str, Any],
    label: str,
    constants: Mapping[str, Array],
    layer_name: str,
) -> tuple[_NodeInfo, LSTMLayer, tuple[LSTMWeights, ...]]:
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
        return np.asarray(constants[ref], dtype=np.float64)

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
    return _NodeInfo(label, layout, dirs, w.shape[2], h), layer, dir_weights


def _gates(a: F64, order: tuple[int, ...], h: int) -> F64:
    """Reorder the ``h``-row gate blocks of ``a`` along axis 0."""
    return np.concatenate([a[g * h : (g + 1) * h] for g in order])


def _stacks(
    model: onnx.ModelProto,
    shapes: Mapping[str, list[int]],
    lstm_nodes: list[tuple[onnx.NodeProto, dict[str, Any], str]],
    layers: list[LSTMLayer],
    infos: list[_NodeInfo],
) -> tuple[Stack, ...]:
    """Group LSTM layers into stacks: a node joins its predecessor's when fed by its ``Y``."""
    sources: dict[str, frozenset[int]] = {}  # value -> LSTM nodes whose Y it is computed from
    feeds: list[frozenset[int]] = []
    for node in model.graph.node:
        found = frozenset().union(*(sources.get(n, frozenset()) for n in node.input))
        if node.op_type == "LSTM":
            feeds.append(sources.get(node.input[0], frozenset()))
            sources[node.output[0]] = frozenset({len(feeds) - 1}) if node.output else found
        else:
            sources.update({out: found for out in node.output})
    groups: list[list[int]] = []
    for k, layer in enumerate(layers):
        chained = k > 0 and feeds[k] == {k - 1} and layer.input_size >= layers[k - 1].output_size
        if chained:
            groups[-1].append(k)
        else:
            groups.append([k])
    stacks = []
    for g, group in enumerate(groups):
        first = group[0]
        seq_len = _static_dims(shapes, lstm_nodes[first][0].input[0], infos[first].layout)[0]
        stack_name = "main" if g == 0 else f"stack{g + 1}"
        stacks.append(Stack(stack_name, seq_len, tuple(layers[k] for k in group)))
    return tuple(stacks)


def _static_shapes(model: onnx.ModelProto) -> dict[str, list[int]]:
    """Every value's dimensions where shape inference knows them (0 for unknown ones)."""
    try:
        graph = onnx.shape_inference.infer_shapes(model).graph
    except Exception:  # shape inference is only a hint here
        graph = model.graph
    shapes = {}
    for info in (*graph.input, *graph.value_info, *graph.output):
        if info.type.HasField("tensor_type") and info.type.tensor_type.HasField("shape"):
            dims = info.type.tensor_type.shape.dim
            shapes[info.name] = [d.dim_value if d.HasField("dim_value") else 0 for d in dims]
    return shapes


def _static_dims(shapes: Mapping[str, list[int]], value: str, layout: int) -> tuple[int, int]:
    """``(T, B)`` of an LSTM input ``X``: its static dimensions, 1 for unknown ones."""
    dims = shapes.get(value, [])
    if len(dims) != 3:
        return 1, 1
    t, b = (dims[1], dims[0]) if layout == 1 else (dims[0], dims[1])
    return max(t, 1), max(b, 1)
