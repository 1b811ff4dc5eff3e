"""Import an ONNX model with ``LSTM`` nodes; run its graph around pluggable layers.

``from_onnx(path or ModelProto)`` checks the model, converts every ``LSTM`` node's
weights to epur's layout (``_onnx_lstm``), reads ``nn.Linear``-like heads as
fully-connected layers (``_onnx_graph``) and returns an ``OnnxModel``:

* ``network``: one ``LSTMLayer`` per LSTM node and one ``FCLayer`` per
  fully-connected ``MatMul`` (+ ``Add``) or ``Gemm``, in graph (topological) order,
  named after the node (``L<k>`` when unnamed or ambiguous). A layer joins the
  previous layer's stack when its input is computed from that layer's output
  sequence (the exporter's Transpose/Reshape/Squeeze glue); otherwise an LSTM starts
  a new stack (``"main"``, then ``"stack2"``, ...) and a fully-connected layer is
  refused. ``seq_len`` and ``batch`` are the static dimensions of the stack's first
  ``X`` when the model declares them, else 1. The network is for timing; ``run`` is
  the authoritative executor.
* ``weights``: ``NetworkWeights`` in the same order. ONNX's gate order i, o, f, c
  (``W``, ``R``, both halves of ``B``) becomes epur's i, f, g, o, the bias is
  ``Wb + Rb`` in float64, and the peepholes ``P`` (i, o, f) become ``[3, H]`` in the
  order i, f, o. A fully-connected layer's ``w`` is ``[N, I]``.
* ``input_names`` (graph inputs that are not initializers), ``output_names``,
  ``layouts`` (each LSTM node's ``layout`` attribute), ``seq_len`` (the static ``T``
  of the first LSTM's ``X``, ``None`` when the model does not fix it),
  ``batch_axes`` (graph inputs that reach an LSTM's ``X`` through Transpose,
  Identity or Cast only: the axis that becomes its batch axis) and ``graph``.

``OnnxModel.run(inputs, lstm, fc)`` evaluates the graph in order: glue operators
(``_onnx_ops.GLUE_OPS``) with numpy, each LSTM node with the callable ``lstm`` and
each fully-connected layer with ``fc``::

    lstm(layer, x, h0, c0, seq_lens) -> (y, y_h, y_c)
    fc(layer, x) -> y

    layer       int, the layer's index in ``network.layers()`` and ``weights``
    x           float64 [T, B, I]        (always layout 0; run transposes layout 1)
                fc: float64 [..., I]      (whatever shape the graph feeds it)
    h0, c0      float64 [dirs, B, H] or None (zeros)
    seq_lens    int64 [B] or None (every sequence runs all T steps)
    y           [T, dirs, B, H]           zero after a sequence's end
                fc: [..., N]
    y_h, y_c    [dirs, B, H]              each sequence's last state

Without ``fc``, fully-connected layers run in float64 (``x @ w.T + b``). Direction
0 is the forward pass (or the only one, backward for ``direction="reverse"``, see
``LSTMLayer.reverse``), direction 1 the backward pass of a bidirectional node.
``run`` returns the graph outputs by name with ONNX's shapes; values keep the dtype
the callables return (float64 for the reference) through the glue, which never
rounds them to the model's float32 unless the graph has a Cast.

Supported: every LSTM input (``X, W, R, B, sequence_lens, initial_h, initial_c,
P``) with ``W, R, B, P`` initializers or Constant outputs; ``direction``,
``hidden_size``, ``layout`` and ``activations`` equal to the defaults (Sigmoid,
Tanh, Tanh). Refused at import with a ``ConfigError`` naming the node: ``clip``,
``input_forget=1``, other activations, ``activation_alpha/beta``, a ``GRU`` or
``RNN`` node, a ``MatMul``/``Gemm`` that is not a fully-connected layer on an LSTM
stack's output, any other operator, weights that are not floating point (strings,
booleans, integers, complex numbers), tensors kept in external data files (never read)
and tensors declaring more than 2**31 elements in all (``_limits``). At run time, a
glue operator whose output would exceed 2**31 elements fails, naming the node.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from numpy.typing import NDArray
from onnx import numpy_helper

from epur._files import regular_file
from epur.errors import ConfigError
from epur.workload.importers._limits import check_elements
from epur.workload.importers._onnx_graph import (
    FC_OPS,
    FCMatch,
    batch_axes,
    group_stacks,
    match_fc,
    static_dims,
    static_shapes,
)
from epur.workload.importers._onnx_lstm import NodeInfo, convert_lstm
from epur.workload.importers._onnx_ops import (
    GLUE_OPS,
    attributes,
    constant_value,
    element_type,
    is_float,
)
from epur.workload.network import FCLayer, Layer, Network, Stack
from epur.workload.weights import FCWeights, LayerWeights, NetworkWeights

__all__ = ["FCFn", "LSTMFn", "OnnxModel", "from_onnx"]

F64 = NDArray[np.float64]
Array = np.ndarray[Any, Any]
LSTMFn = Callable[
    [int, F64, F64 | None, F64 | None, NDArray[np.int64] | None], tuple[Array, Array, Array]
]
FCFn = Callable[[int, F64], Array]
_Node = tuple[onnx.NodeProto, dict[str, Any], str]


@dataclass(frozen=True, eq=False)
class OnnxModel:
    """An imported ONNX model (see the module docstring)."""

    network: Network
    weights: NetworkWeights
    input_names: tuple[str, ...]
    output_names: tuple[str, ...]
    layouts: tuple[int, ...]
    seq_len: int | None
    batch_axes: Mapping[str, int]
    graph: onnx.GraphProto = field(repr=False)
    _constants: dict[str, Array] = field(repr=False)
    _nodes: tuple[_Node, ...] = field(repr=False)
    _roles: tuple[tuple[str, int], ...] = field(repr=False)
    _lstm_info: Mapping[int, NodeInfo] = field(repr=False)
    _fc_outputs: Mapping[int, str] = field(repr=False)

    def run(
        self, inputs: Mapping[str, Array], lstm: LSTMFn, fc: FCFn | None = None
    ) -> dict[str, Array]:
        """Evaluate the graph on ``inputs`` (by graph input name): ``lstm`` runs the LSTM
        nodes, ``fc`` the fully-connected layers (float64 when ``None``)."""
        missing = [n for n in self.input_names if n not in inputs]
        unknown = sorted(set(inputs) - set(self.input_names))
        if missing or unknown:
            raise ConfigError(
                f"inputs must be exactly the graph inputs {list(self.input_names)}; "
                f"missing {missing}, unknown {unknown}"
            )
        values: dict[str, Array | None] = {"": None, **self._constants}
        values.update({n: np.asarray(inputs[n]) for n in self.input_names})
        for (node, attrs, label), (kind, k) in zip(self._nodes, self._roles, strict=True):
            if node.op_type == "Constant" or kind == "skip":
                continue
            args = [values[n] for n in node.input]
            if kind == "lstm":
                outs = self._lstm(k, args, lstm)
            elif kind == "fc":
                values[self._fc_outputs[k]] = self._fc(k, label, args[0], fc)
                continue
            else:
                try:
                    outs = GLUE_OPS[node.op_type](node, attrs, args)
                except (ValueError, IndexError, TypeError, KeyError) as exc:
                    raise ConfigError(f"{label} failed on these inputs: {exc}") from None
            for name, value in zip(node.output, outs, strict=False):
                if name:
                    values[name] = value
        return {n: np.array(values[n]) for n in self.output_names}

    def _fc(self, k: int, label: str, x: Array | None, fc: FCFn | None) -> Array:
        weights = self.weights.layers[k]
        assert isinstance(weights, FCWeights) and x is not None
        n, i = weights.w.shape
        if x.ndim < 1 or x.shape[-1] != i:
            raise ConfigError(f"{label} input must have {i} features, not shape {list(x.shape)}")
        x64 = np.asarray(x, dtype=np.float64)
        y = np.asarray(fc(k, x64) if fc is not None else x64 @ weights.w.T + weights.b)
        if y.shape != (*x.shape[:-1], n):
            raise ConfigError(
                f"fc callable returned y of shape {list(y.shape)} for {label}, expected "
                f"{[*x.shape[:-1], n]}"
            )
        return y

    def _lstm(self, k: int, args: list[Array | None], lstm: LSTMFn) -> list[Array]:
        info = self._lstm_info[k]
        x, seq, h0, c0 = (args[i] if i < len(args) else None for i in (0, 4, 5, 6))
        assert x is not None  # the importer checks X is given
        for role, a in (("X", x), ("sequence_lens", seq), ("initial_h", h0), ("initial_c", c0)):
            if a is not None and not (a.dtype.kind in "iu" or is_float(a)):
                raise ConfigError(f"{info.label}: input {role} must hold real numbers, not "
                                  f"{element_type(a)}")  # fmt: skip
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
    """Import the LSTM nodes and fully-connected heads of an ONNX model (a path or a
    ``ModelProto``)."""
    model, what = _load(source)
    tensors = _stored_tensors(model.graph)
    _refuse_external_data(tensors, what)  # before the checker, which may look for the files
    try:
        onnx.checker.check_model(model)
    except (onnx.checker.ValidationError, ValueError) as exc:
        raise ConfigError(f"{what} is not a valid ONNX model: {_one_line(exc)}") from None
    graph = model.graph
    if graph.sparse_initializer:
        raise ConfigError(f"{what} has sparse initializers, which are not supported")
    check_elements(((label, t.dims) for label, t in tensors), what)
    constants = {t.name: _to_array(t, f"initializer {t.name!r}", what) for t in graph.initializer}
    nodes = _nodes(graph, constants, what)
    if not any(node.op_type == "LSTM" for node, _, _ in nodes):
        raise ConfigError(f"{what} has no LSTM node")
    consumers: dict[str, list[int]] = {}
    for i, node in enumerate(graph.node):
        for value in set(node.input):
            consumers.setdefault(value, []).append(i)
    graph_outputs = {v.name for v in graph.output}
    layer_nodes = [i for i, (node, _, _) in enumerate(nodes) if node.op_type in ("LSTM", *FC_OPS)]
    names = Counter(nodes[i][0].name for i in layer_nodes)  # one pass, not one per layer
    roles: list[tuple[str, int]] = [("glue", -1)] * len(nodes)
    layers: list[Layer] = []
    weights: list[LayerWeights] = []
    infos: dict[int, NodeInfo] = {}
    outputs: list[str] = []
    labels: list[str] = []
    for k, i in enumerate(layer_nodes):
        node, attrs, label = nodes[i]
        unique = node.name and names[node.name] == 1
        layer_name = node.name if unique else f"L{k + 1}"
        labels.append(f"{what}: {label}")
        if node.op_type == "LSTM":
            info, layer, w = convert_lstm(node, attrs, labels[-1], constants, layer_name)
            infos[k] = info
            roles[i] = ("lstm", k)
            layers.append(layer)
            weights.append(w)
            outputs.append(node.output[0] if node.output else "")
            continue
        fc: FCMatch = match_fc(graph.node, i, attrs, labels[-1], constants, consumers,
                               graph_outputs)  # fmt: skip
        roles[i] = ("fc", k)
        if fc.fused_add is not None:
            roles[fc.fused_add] = ("skip", k)
        n, size = fc.w.shape
        layers.append(FCLayer(input_size=size, output_size=n, name=layer_name))
        weights.append(FCWeights(fc.w, fc.b))
        outputs.append(fc.output)
    shapes = static_shapes(model)
    groups = group_stacks(graph, roles, outputs, layers, labels)
    first = infos[0]  # group_stacks refuses a fully-connected layer that starts a stack
    stacks = []
    for g, group in enumerate(groups):
        x_name = nodes[layer_nodes[group[0]]][0].input[0]
        seq_len = static_dims(shapes, x_name, infos[group[0]].layout)[0]
        stacks.append(Stack("main" if g == 0 else f"stack{g + 1}", seq_len or 1,
                            tuple(layers[k] for k in group)))  # fmt: skip
    x0 = nodes[layer_nodes[0]][0].input[0]
    t0, b0 = static_dims(shapes, x0, first.layout)
    network = Network(name=name or graph.name or "onnx", stacks=tuple(stacks), batch=b0 or 1,
                      provenance=what)  # fmt: skip
    result = NetworkWeights(tuple(weights))
    result.check(network)
    init_names = set(t.name for t in graph.initializer)
    input_names = tuple(v.name for v in graph.input if v.name not in init_names)
    lstm_inputs = [(nodes[layer_nodes[k]][0].input[0], info.layout) for k, info in infos.items()]
    return OnnxModel(
        network=network,
        weights=result,
        input_names=input_names,
        output_names=tuple(v.name for v in graph.output),
        layouts=tuple(info.layout for info in infos.values()),
        seq_len=t0,
        batch_axes=batch_axes(graph, [a for _, a, _ in nodes], lstm_inputs, input_names),
        graph=graph,
        _constants=constants,
        _nodes=tuple(nodes),
        _roles=tuple(roles),
        _lstm_info=infos,
        _fc_outputs={k: outputs[k] for k in range(len(layers)) if k not in infos},
    )


def _nodes(graph: onnx.GraphProto, constants: dict[str, Array], what: str) -> list[_Node]:
    """Every node with its attributes and label; unsupported operators are refused."""
    nodes: list[_Node] = []
    for i, node in enumerate(graph.node):
        label = f"node {node.name or f'#{i}'!r} ({node.op_type})"
        known = node.op_type in ("LSTM", *FC_OPS) or node.op_type in GLUE_OPS
        if node.domain not in ("", "ai.onnx") or not known:
            domain = f" in domain {node.domain!r}" if node.domain not in ("", "ai.onnx") else ""
            rnn = node.op_type in ("GRU", "RNN") and not domain
            raise ConfigError(
                f"{node.op_type} is not supported: {what}: {label} (epur runs LSTM layers)"
                if rnn
                else f"{what}: {label}{domain} is not supported; supported are LSTM, "
                "fully-connected MatMul (+ Add) or Gemm heads and the glue operators "
                f"{', '.join(sorted(GLUE_OPS))}"
            )
        if node.op_type == "Constant":
            try:
                constants[node.output[0]] = constant_value(node)
            except ValueError as exc:
                raise ConfigError(f"{what}: {label}: {exc}") from None
        nodes.append((node, attributes(node), label))
    return nodes


def _stored_tensors(graph: onnx.GraphProto) -> list[tuple[str, onnx.TensorProto]]:
    """Every tensor the graph stores: its initializers and its Constant nodes' values."""
    found = [(f"initializer {t.name!r}", t) for t in graph.initializer]
    for i, node in enumerate(graph.node):
        for attr in node.attribute:
            if attr.type == onnx.AttributeProto.TENSOR:
                label = f"node {node.name or f'#{i}'!r} ({node.op_type}) {attr.name}"
                found.append((label, attr.t))
    return found


def _refuse_external_data(tensors: list[tuple[str, onnx.TensorProto]], what: str) -> None:
    """Weights kept in files beside the model are never read: a ConfigError naming them."""
    for label, tensor in tensors:
        if tensor.data_location == onnx.TensorProto.EXTERNAL:
            where = {e.key: e.value for e in tensor.external_data}.get("location", "?")
            raise ConfigError(
                f"{what}: {label} keeps its data in an external file ({where!r}); epur reads "
                "only self-contained models: save it with onnx.save_model(model, path, "
                "save_as_external_data=False)"
            )


def _to_array(tensor: onnx.TensorProto, label: str, what: str) -> Array:
    """A stored tensor's value, or a ConfigError naming it (data that does not fill its
    declared shape, an unknown element type)."""
    try:
        return np.array(numpy_helper.to_array(tensor))
    except (ValueError, TypeError, KeyError) as exc:
        raise ConfigError(f"{what}: {label} cannot be read: {_one_line(exc)}") from None


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
    if not path.exists():
        raise ConfigError(f"{what} does not exist")
    regular_file(path, "ONNX file")  # not a folder, FIFO or device
    try:
        model = onnx.load(path, load_external_data=False)  # from_onnx refuses it, unread
    except OSError as exc:
        raise ConfigError(f"cannot read {what}: {exc.strerror}") from None
    except Exception as exc:  # protobuf's DecodeError and friends
        raise ConfigError(f"{what} is not a valid ONNX model: {_one_line(exc)}") from None
    if not model.graph.node:
        raise ConfigError(f"{what} is not a valid ONNX model: it has no graph nodes")
    return model, what
