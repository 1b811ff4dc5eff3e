"""The graph around the LSTM nodes: fully-connected heads, stacks, static shapes, batch axes.

**Fully-connected layers.** A ``MatMul`` whose second input is a constant ``[I, N]``
matrix, with the ``Add`` of a constant ``[N]`` bias when that ``Add`` is the
``MatMul``'s only consumer (either operand order), or a ``Gemm`` with a constant
``B`` (``transB`` 0 or 1), an optional constant ``C`` of ``N`` values, ``transA=0``
and ``alpha = beta = 1``: what PyTorch's exporters (legacy and dynamo) emit for an
``nn.Linear``. It becomes an ``FCLayer`` only when its data input is computed,
through glue operators, from the output sequence of the layer just before it (an
LSTM's ``Y``, or another such layer's output) and has that layer's output size;
every other ``MatMul``/``Gemm`` is refused, naming the node. The layer runs at every
step in the timing network (a head applied to the last step only is charged as if
it ran at every step); ``OnnxModel.run`` applies it to whatever value it receives.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import onnx

from epur.errors import ConfigError
from epur.workload.importers._onnx_ops import element_type, is_float
from epur.workload.network import FCLayer, Layer

__all__ = ["FCMatch", "batch_axes", "group_stacks", "match_fc", "static_dims", "static_shapes"]

Array = np.ndarray[Any, Any]
FC_OPS = ("MatMul", "Gemm")


@dataclass(frozen=True, eq=False)
class FCMatch:
    """A ``MatMul`` (+ ``Add``) or ``Gemm`` read as a fully-connected layer."""

    w: Array  # [N, I] float64
    b: Array  # [N] float64
    data: str  # the data input's value name
    output: str  # the value the layer produces (the Add's output when fused)
    fused_add: int | None  # the graph index of the fused Add node


def _refuse(label: str, reason: str) -> ConfigError:
    return ConfigError(
        f"{label} is not supported here: MatMul and Gemm are imported only as a "
        f"fully-connected layer on the output sequence of an LSTM stack ({reason})"
    )


def _bias(value: Array | None, n: int) -> Array | None:
    """A constant of ``n`` values laid out as ``[n]`` or ``[1, ..., 1, n]``, as float64."""
    if value is None:
        return None
    c = np.asarray(value)
    if not is_float(c) or c.size != n or c.ndim < 1 or c.shape[-1] != n:
        return None
    return np.asarray(c, dtype=np.float64).reshape(n)


def _float_bias(value: Array | None, label: str, role: str, name: str) -> None:
    """A constant bias that does not hold floats: a ConfigError naming node and input."""
    if value is not None and not is_float(np.asarray(value)):
        raise ConfigError(f"{label}: input {role} ({name!r}) must hold floating-point "
                          f"values, not {element_type(np.asarray(value))}")  # fmt: skip


def match_fc(
    nodes: Sequence[onnx.NodeProto],
    index: int,
    attrs: Mapping[str, Any],
    label: str,
    constants: Mapping[str, Array],
    consumers: Mapping[str, list[int]],
    graph_outputs: set[str],
) -> FCMatch:
    """The fully-connected layer a ``MatMul`` or ``Gemm`` node computes, or a ConfigError."""
    node = nodes[index]
    if len(node.input) < 2 or node.input[1] not in constants:
        raise _refuse(label, "its second input must be a constant weight matrix")
    mat = np.asarray(constants[node.input[1]])
    if not is_float(mat):
        raise ConfigError(f"{label}: input B ({node.input[1]!r}) must hold floating-point "
                          f"weights, not {element_type(mat)}")  # fmt: skip
    if mat.ndim != 2 or 0 in mat.shape:
        raise _refuse(label, f"its weights must be a 2-D matrix, not {list(mat.shape)}")
    out, fused, bias_name = node.output[0], None, ""
    if node.op_type == "Gemm":
        bad = {k: attrs[k] for k in ("transA", "alpha", "beta") if k in attrs}
        if (
            bad.get("transA", 0) != 0
            or bad.get("alpha", 1.0) != 1.0
            or (bad.get("beta", 1.0) != 1.0 and len(node.input) > 2 and node.input[2])
        ):
            raise _refuse(label, f"attributes {bad}: only transA=0, alpha=1, beta=1")
        w = mat if attrs.get("transB", 0) else mat.T
        bias_name = node.input[2] if len(node.input) > 2 else ""
        _float_bias(constants.get(bias_name), label, "C", bias_name)
        if bias_name and _bias(constants.get(bias_name), w.shape[0]) is None:
            raise _refuse(label, f"its C ({bias_name!r}) must be a constant of {w.shape[0]} "
                                 "values")  # fmt: skip
    else:
        w = mat.T
        users = consumers.get(out, [])
        if len(users) == 1 and out not in graph_outputs and nodes[users[0]].op_type == "Add":
            add = nodes[users[0]]
            other = add.input[1] if add.input[0] == out else add.input[0]
            role = f"{'B' if add.input[1] == other else 'A'} of its Add node {add.name!r}"
            _float_bias(constants.get(other), label, role, other)
            if len(add.input) == 2 and _bias(constants.get(other), w.shape[0]) is not None:
                out, fused, bias_name = add.output[0], users[0], other
    b = _bias(constants.get(bias_name), w.shape[0]) if bias_name else None
    return FCMatch(
        w=np.array(w, dtype=np.float64),
        b=np.zeros(w.shape[0]) if b is None else b,
        data=node.input[0],
        output=out,
        fused_add=fused,
    )


def group_stacks(
    graph: onnx.GraphProto,
    roles: Sequence[tuple[str, int]],
    outputs: Sequence[str],
    layers: Sequence[Layer],
    labels: Sequence[str],
) -> list[list[int]]:
    """Layer indices grouped into stacks: a layer joins its predecessor's stack when its
    input is computed from that layer's output sequence (``Y`` for an LSTM).

    ``roles[i]`` is ``(kind, layer)`` for graph node ``i`` (kind ``"lstm"``, ``"fc"``,
    ``"skip"`` for a fused Add, or ``"glue"``); ``outputs[k]`` is layer ``k``'s output
    sequence. A fully-connected layer that does not continue a stack is refused.
    """
    sources: dict[str, frozenset[int]] = {}  # value -> layers whose output it comes from
    feeds: list[frozenset[int]] = []
    for node, (kind, k) in zip(graph.node, roles, strict=True):
        if kind in ("lstm", "fc"):
            feeds.append(sources.get(node.input[0], frozenset()))
            if outputs[k]:
                sources[outputs[k]] = frozenset({k})
        elif kind != "skip":
            found = frozenset().union(*(sources.get(n, frozenset()) for n in node.input))
            sources.update({out: found for out in node.output})
    groups: list[list[int]] = []
    for k, layer in enumerate(layers):
        below = layers[k - 1].output_size if k > 0 else 0
        chained = k > 0 and feeds[k] == {k - 1} and layer.input_size >= below
        if isinstance(layer, FCLayer) and not (chained and layer.input_size == below):
            raise _refuse(labels[k], "its input is not computed from the output sequence "
                                     "of the layer before it, or has another size")  # fmt: skip
        if chained:
            groups[-1].append(k)
        else:
            groups.append([k])
    return groups


def batch_axes(
    graph: onnx.GraphProto,
    attrs: Sequence[Mapping[str, Any]],
    lstm_inputs: Sequence[tuple[str, int]],
    input_names: Sequence[str],
) -> dict[str, int]:
    """For each graph input that reaches an LSTM's ``X`` only through Transpose, Identity
    or Cast nodes: which of its axes becomes that LSTM's batch axis.

    ``lstm_inputs`` lists each LSTM node's ``(X, layout)``.
    """
    producer = {out: i for i, node in enumerate(graph.node) for out in node.output}
    inputs = set(input_names)
    memo: dict[tuple[str, int], tuple[str, int] | None] = {}  # shared chains: walked once

    def source(value: str, axis: int) -> tuple[str, int] | None:
        path: list[tuple[str, int]] = []
        while True:
            if (value, axis) in memo:
                found = memo[(value, axis)]
                break
            if value in inputs or value not in producer:
                found = (value, axis) if value in inputs else None
                break
            path.append((value, axis))
            node = graph.node[producer[value]]
            if node.op_type == "Transpose":
                perm = attrs[producer[value]].get("perm") or [2, 1, 0]
                if sorted(perm) != [0, 1, 2]:
                    found = None
                    break
                axis = int(perm[axis])
            elif node.op_type not in ("Identity", "Cast"):
                found = None
                break
            value = node.input[0]
        for key in path:
            memo[key] = found
        return found

    axes: dict[str, int] = {}
    for value, layout in lstm_inputs:
        traced = source(value, 0 if layout == 1 else 1)
        if traced is not None:
            axes.setdefault(*traced)
    return axes


def static_shapes(model: onnx.ModelProto) -> dict[str, list[int]]:
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


def static_dims(
    shapes: Mapping[str, list[int]], value: str, layout: int
) -> tuple[int | None, int | None]:
    """``(T, B)`` of an LSTM input ``X``: its static dimensions, ``None`` for unknown ones."""
    dims = shapes.get(value, [])
    if len(dims) != 3:
        return None, None
    t, b = (dims[1], dims[0]) if layout == 1 else (dims[0], dims[1])
    return t or None, b or None
