"""The glue operators ``OnnxModel.run`` evaluates with numpy.

These are the shape and data-movement operators exporters put between and around
``LSTM`` nodes (PyTorch's legacy exporter: Shape, Gather, Unsqueeze, Concat,
ConstantOfShape/Expand, Slice for the initial states; Transpose, Reshape, Squeeze
to turn ``Y [T, dirs, B, H]`` back into ``[T, B, dirs*H]``), plus a few elementwise
operators that shape arithmetic uses. Each takes the node, its input arrays (``None``
for an omitted optional input) and returns its output arrays.

Operators whose parameters changed from attributes to inputs across opsets
(Squeeze, Unsqueeze, Slice, Split) accept both forms.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import onnx
from onnx import helper, numpy_helper

from epur.workload.importers._limits import MAX_ELEMENTS

__all__ = ["GLUE_OPS", "attributes", "constant_value", "element_type", "is_float"]

Array = np.ndarray[Any, Any]
Inputs = Sequence[Array | None]
Op = Callable[[onnx.NodeProto, dict[str, Any], Inputs], list[Array]]


def is_float(a: Array) -> bool:
    """Real floating-point values: numpy's floats, or ONNX's bfloat16 and float8 (ml_dtypes)."""
    return a.dtype.kind == "f" or (a.dtype.kind == "V" and "float" in a.dtype.name)


def element_type(a: Array) -> str:
    """What an array holds, in words, for error messages."""
    kinds = {"O": "strings", "U": "strings", "S": "strings", "b": "booleans"}
    if a.dtype.kind in kinds:
        return kinds[a.dtype.kind]
    what = {"i": "integers", "u": "integers", "c": "complex numbers"}.get(a.dtype.kind, "values")
    return f"{what} ({a.dtype.name})"


def attributes(node: onnx.NodeProto) -> dict[str, Any]:
    """A node's attributes as Python values (strings decoded)."""
    out: dict[str, Any] = {}
    for attr in node.attribute:
        value = helper.get_attribute_value(attr)
        if isinstance(value, bytes):
            value = value.decode()
        elif isinstance(value, list) and value and isinstance(value[0], bytes):
            value = [v.decode() for v in value]
        out[attr.name] = value
    return out


def constant_value(node: onnx.NodeProto) -> Array:
    """The value of a ``Constant`` node (``ValueError`` for a sparse value)."""
    attrs = attributes(node)
    if "value" in attrs:
        return np.array(numpy_helper.to_array(attrs["value"]))
    for key, dtype in (
        ("value_float", np.float32),
        ("value_floats", np.float32),
        ("value_int", np.int64),
        ("value_ints", np.int64),
    ):
        if key in attrs:
            return np.array(attrs[key], dtype=dtype)
    if "value_string" in attrs or "value_strings" in attrs:
        return np.array(attrs.get("value_string", attrs.get("value_strings")), dtype=object)
    raise ValueError("only dense Constant values are supported")


def _need(inputs: Inputs, k: int) -> Array:
    value = inputs[k] if k < len(inputs) else None
    if value is None:
        raise ValueError(f"input {k} is required")
    return value


def _opt(inputs: Inputs, k: int) -> Array | None:
    return inputs[k] if k < len(inputs) else None


def _ints(value: Array | None) -> list[int] | None:
    return None if value is None else [int(v) for v in np.asarray(value).reshape(-1)]


def _axes(attrs: dict[str, Any], inputs: Inputs, k: int) -> list[int] | None:
    if "axes" in attrs:
        return [int(a) for a in attrs["axes"]]
    return _ints(_opt(inputs, k))


def _constant(node: onnx.NodeProto, attrs: dict[str, Any], inputs: Inputs) -> list[Array]:
    return [constant_value(node)]


def _shape(node: onnx.NodeProto, attrs: dict[str, Any], inputs: Inputs) -> list[Array]:
    shape = np.array(_need(inputs, 0).shape, dtype=np.int64)
    start, end = attrs.get("start", 0), attrs.get("end")
    return [shape[start:end]]


def _reshape(node: onnx.NodeProto, attrs: dict[str, Any], inputs: Inputs) -> list[Array]:
    x = _need(inputs, 0)
    shape = _ints(_need(inputs, 1)) or []
    if not attrs.get("allowzero", 0):
        shape = [x.shape[k] if s == 0 else s for k, s in enumerate(shape)]
    return [x.reshape(shape)]


def _squeeze(node: onnx.NodeProto, attrs: dict[str, Any], inputs: Inputs) -> list[Array]:
    x = _need(inputs, 0)
    axes = _axes(attrs, inputs, 1)
    return [np.squeeze(x) if axes is None else np.squeeze(x, axis=tuple(axes))]


def _unsqueeze(node: onnx.NodeProto, attrs: dict[str, Any], inputs: Inputs) -> list[Array]:
    x = _need(inputs, 0)
    axes = _axes(attrs, inputs, 1) or []
    rank = x.ndim + len(axes)
    return [np.expand_dims(x, tuple(a % rank for a in axes))]


def _slice(node: onnx.NodeProto, attrs: dict[str, Any], inputs: Inputs) -> list[Array]:
    x = _need(inputs, 0)
    if "starts" in attrs:  # opset < 10
        starts, ends = list(attrs["starts"]), list(attrs["ends"])
        axes, steps = attrs.get("axes"), None
    else:
        starts, ends = _ints(_need(inputs, 1)) or [], _ints(_need(inputs, 2)) or []
        axes, steps = _ints(_opt(inputs, 3)), _ints(_opt(inputs, 4))
    axes = list(range(len(starts))) if axes is None else list(axes)
    steps = [1] * len(starts) if steps is None else steps
    index: list[slice] = [slice(None)] * x.ndim
    for axis, start, end, step in zip(axes, starts, ends, steps, strict=True):
        index[axis % x.ndim] = slice(start, end, step)
    return [x[tuple(index)]]


def _split(node: onnx.NodeProto, attrs: dict[str, Any], inputs: Inputs) -> list[Array]:
    x = _need(inputs, 0)
    axis = attrs.get("axis", 0) % x.ndim
    sizes = attrs.get("split") or _ints(_opt(inputs, 1))
    if not sizes:
        parts = len(node.output)
        step = -(-x.shape[axis] // parts)
        sizes = [min(step, x.shape[axis] - k * step) for k in range(parts)]
    bounds = np.cumsum(sizes)[:-1]
    return list(np.split(x, bounds, axis=axis))


def _bounded(shape: Sequence[int]) -> tuple[int, ...]:
    """``shape``, or a ValueError when it is negative or holds more than ``MAX_ELEMENTS``
    (checked before anything of that shape is allocated)."""
    dims = tuple(int(d) for d in shape)
    if any(d < 0 for d in dims):
        raise ValueError(f"shape {list(dims)} has a negative dimension")
    if math.prod(dims) > MAX_ELEMENTS:
        raise ValueError(
            f"its output of shape {list(dims)} would hold {math.prod(dims):,} elements, more "
            f"than {MAX_ELEMENTS:,}"
        )
    return dims


def _div(a: Array, b: Array) -> Array:
    if np.issubdtype(a.dtype, np.integer) and np.issubdtype(b.dtype, np.integer):
        if np.any(b == 0):
            raise ValueError("integer division by zero")
        return np.array(np.trunc(a / b), dtype=np.result_type(a, b))
    return np.asarray(a / b)


def _binary(fn: Callable[[Array, Array], Array]) -> Op:
    def op(node: onnx.NodeProto, attrs: dict[str, Any], inputs: Inputs) -> list[Array]:
        a, b = _need(inputs, 0), _need(inputs, 1)
        _bounded(np.broadcast_shapes(np.shape(a), np.shape(b)))
        with np.errstate(all="ignore"):  # IEEE 754 for floats (inf, NaN), silently
            return [np.asarray(fn(a, b))]

    return op


def _unary(fn: Callable[[Array, dict[str, Any]], Array]) -> Op:
    return lambda node, attrs, inputs: [np.asarray(fn(_need(inputs, 0), attrs))]


def _const_of_shape(node: onnx.NodeProto, attrs: dict[str, Any], inputs: Inputs) -> list[Array]:
    value = attrs.get("value")
    fill = np.zeros(1, np.float32) if value is None else numpy_helper.to_array(value)
    shape = _bounded(_ints(_need(inputs, 0)) or [])
    return [np.full(shape, fill.reshape(-1)[0], dtype=fill.dtype)]


def _expand(node: onnx.NodeProto, attrs: dict[str, Any], inputs: Inputs) -> list[Array]:
    x = _need(inputs, 0)
    shape = np.broadcast_shapes(x.shape, _bounded(_ints(_need(inputs, 1)) or []))
    return [np.array(np.broadcast_to(x, _bounded(shape)))]


def _range(node: onnx.NodeProto, attrs: dict[str, Any], inputs: Inputs) -> list[Array]:
    start, limit, delta = (_need(inputs, k).item() for k in range(3))
    span = (limit - start) / delta if delta else math.inf
    if not math.isfinite(span):
        raise ValueError(f"Range({start}, {limit}, {delta}) has no finite length")
    _bounded([max(0, math.ceil(span))])
    return [np.arange(start, limit, delta).astype(_need(inputs, 0).dtype)]


def _gather(x: Array, index: Array, attrs: dict[str, Any]) -> Array:
    axis = attrs.get("axis", 0)
    if not -x.ndim <= axis < x.ndim:
        raise ValueError(f"axis {axis} is out of range for {x.ndim}-D data")
    axis %= x.ndim
    _bounded([*x.shape[:axis], *np.shape(index), *x.shape[axis + 1 :]])
    return np.take(x, index, axis=axis)


def _cast(x: Array, attrs: dict[str, Any]) -> Array:
    to = np.dtype(helper.tensor_dtype_to_np_dtype(attrs["to"]))
    if to.kind in "iu" and x.dtype.kind == "f" and x.size:
        low, high = np.iinfo(to).min, np.iinfo(to).max
        if not (np.isfinite(x).all() and low <= x.min() and x.max() <= high):
            raise ValueError(f"values beyond {to.name} (NaN, infinite or out of range)")
    with np.errstate(over="ignore"):  # float to a narrower float: IEEE 754 infinities
        return x.astype(to)


def _flatten(x: Array, attrs: dict[str, Any]) -> Array:
    axis = attrs.get("axis", 1) % (x.ndim + 1) if x.ndim else 0
    return x.reshape(int(np.prod(x.shape[:axis])), -1)


GLUE_OPS: dict[str, Op] = {
    "Constant": _constant,
    "Identity": _unary(lambda x, a: x),
    "Shape": _shape,
    "Size": _unary(lambda x, a: np.array(x.size, dtype=np.int64)),
    "Gather": lambda node, attrs, inputs: [_gather(_need(inputs, 0), _need(inputs, 1), attrs)],
    "Unsqueeze": _unsqueeze,
    "Squeeze": _squeeze,
    "Concat": lambda node, attrs, inputs: [
        np.concatenate([x for x in inputs if x is not None], axis=attrs["axis"])
    ],
    "Reshape": _reshape,
    "Flatten": _unary(_flatten),
    "Transpose": _unary(lambda x, a: np.transpose(x, a.get("perm"))),
    "Slice": _slice,
    "Split": _split,
    "Cast": _unary(_cast),
    "ConstantOfShape": _const_of_shape,
    "Expand": _expand,
    "Range": _range,
    "Add": _binary(np.add),
    "Sub": _binary(np.subtract),
    "Mul": _binary(np.multiply),
    "Div": _binary(_div),
}
