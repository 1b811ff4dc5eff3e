"""Unit tests for ``epur.workload.importers.onnx``: ONNX LSTM graphs -> epur.

Single-node models are built with ``onnx.helper`` and random float32 weights, run
with ONNX Runtime and with ``OnnxModel.run`` around the float64 reference
(``reference_lstm`` below), and compared to 1e-5 of the largest magnitude. ONNX
Runtime refuses ``layout=1``, so a layout-1 model is compared with ONNX Runtime on
its layout-0 twin. Multi-layer models come from PyTorch's exporter.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from epur.errors import ConfigError
from epur.functional.reference import lstm_direction
from epur.workload.importers import LSTMFn, OnnxModel, from_onnx
from epur.workload.network import FCLayer, LSTMLayer
from epur.workload.weights import FCWeights

ort = pytest.importorskip("onnxruntime")

Array = np.ndarray[Any, Any]
T, B, N_IN, H = 5, 3, 4, 6
DIRS = {"forward": 1, "reverse": 1, "bidirectional": 2}


def reference_lstm(model: OnnxModel) -> LSTMFn:
    """The ``lstm`` callable of ``OnnxModel.run`` with the float64 reference."""
    layers = [layer for _, layer in model.network.layers()]

    def run(k: int, x: Array, h0: Array | None, c0: Array | None, lens: Array | None) -> Any:
        layer, weights = layers[k], model.weights.layers[k]
        assert isinstance(layer, LSTMLayer) and isinstance(weights, tuple)
        reverses = [False, True] if layer.bidirectional else [layer.reverse]
        res = [
            lstm_direction(
                x, w, rev, None if h0 is None else h0[d], None if c0 is None else c0[d], lens
            )
            for d, (w, rev) in enumerate(zip(weights, reverses, strict=True))
        ]
        return (
            np.stack([r.y for r in res], axis=1),
            np.stack([r.h for r in res]),
            np.stack([r.c for r in res]),
        )

    return run


def _lstm_model(
    direction: str = "forward",
    *,
    layout: int = 0,
    bias: bool = True,
    peepholes: bool = False,
    seq_lens: bool = False,
    initial: str = "",
    seed: int = 0,
    **attrs: Any,
) -> tuple[onnx.ModelProto, dict[str, Array]]:
    """One LSTM node; ``initial`` is "" (none), "input" or "init" (initializers)."""
    rng = np.random.default_rng(seed)
    dirs = DIRS[direction]

    def rand(*shape: int) -> Array:
        return rng.uniform(-0.6, 0.6, shape).astype(np.float32)

    bt = (B, T) if layout else (T, B)
    state = [B, dirs, H] if layout else [dirs, B, H]
    inits = [
        numpy_helper.from_array(rand(dirs, 4 * H, N_IN), "W"),
        numpy_helper.from_array(rand(dirs, 4 * H, H), "R"),
    ]
    inputs = [helper.make_tensor_value_info("X", TensorProto.FLOAT, [*bt, N_IN])]
    feeds = {"X": rng.standard_normal((*bt, N_IN)).astype(np.float32)}
    names = ["X", "W", "R", "", "", "", "", ""]
    if bias:
        inits.append(numpy_helper.from_array(rand(dirs, 8 * H), "B"))
        names[3] = "B"
    if seq_lens:
        inputs.append(helper.make_tensor_value_info("lens", TensorProto.INT32, [B]))
        feeds["lens"] = np.array([T, 2, 4][:B], dtype=np.int32)
        names[4] = "lens"
    for k, role in ((5, "h0"), (6, "c0")):
        if initial == "input":
            inputs.append(helper.make_tensor_value_info(role, TensorProto.FLOAT, state))
            feeds[role] = rand(*state)
        elif initial == "init":
            inits.append(numpy_helper.from_array(rand(*state), role))
        names[k] = role if initial else ""
    if peepholes:
        inits.append(numpy_helper.from_array(rand(dirs, 3 * H), "P"))
        names[7] = "P"
    while not names[-1]:
        names.pop()
    node = helper.make_node(
        "LSTM",
        names,
        ["Y", "Y_h", "Y_c"],
        name="lstm0",
        direction=direction,
        hidden_size=H,
        layout=layout,
        **attrs,
    )
    y_shape = [B, T, dirs, H] if layout else [T, dirs, B, H]
    outputs = [helper.make_tensor_value_info("Y", TensorProto.FLOAT, y_shape)] + [
        helper.make_tensor_value_info(n, TensorProto.FLOAT, state) for n in ("Y_h", "Y_c")
    ]
    graph = helper.make_graph([node], "one_lstm", inputs, outputs, inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)]), feeds


def _ort_run(model: onnx.ModelProto | bytes, feeds: dict[str, Array]) -> dict[str, Array]:
    data = model if isinstance(model, bytes) else model.SerializeToString()
    sess = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    names = [o.name for o in sess.get_outputs()]
    return dict(zip(names, sess.run(None, feeds), strict=True))


def _assert_close(ours: dict[str, Array], theirs: dict[str, Array]) -> None:
    assert ours.keys() == theirs.keys()
    for name, expected in theirs.items():
        assert ours[name].shape == expected.shape, name
        assert ours[name].dtype.kind == expected.dtype.kind, name
        tol = 1e-5 * max(np.abs(expected).max(), 1e-3)
        np.testing.assert_allclose(ours[name], expected, rtol=0, atol=tol, err_msg=name)


SINGLE = [
    ("forward", {}),
    ("reverse", {}),
    ("bidirectional", {}),
    ("forward", {"peepholes": True}),
    ("bidirectional", {"peepholes": True, "bias": False}),
    ("forward", {"seq_lens": True}),
    ("reverse", {"seq_lens": True, "initial": "input"}),
    ("bidirectional", {"seq_lens": True, "initial": "input", "peepholes": True}),
    ("bidirectional", {"initial": "init"}),
    ("forward", {"activations": ["Sigmoid", "Tanh", "Tanh"]}),
    ("bidirectional", {"activations": ["Sigmoid", "Tanh", "Tanh"] * 2, "input_forget": 0}),
]


@pytest.mark.parametrize(("direction", "options"), SINGLE, ids=[f"{d}-{o}" for d, o in SINGLE])
def test_single_node_matches_onnxruntime(direction: str, options: dict[str, Any]) -> None:
    model, feeds = _lstm_model(direction, **options)
    imported = from_onnx(model)
    _assert_close(imported.run(feeds, reference_lstm(imported)), _ort_run(model, feeds))


@pytest.mark.parametrize("direction", sorted(DIRS))
def test_layout_1_matches_onnxruntime_on_layout_0(direction: str) -> None:
    options = {"peepholes": True, "seq_lens": True, "initial": "input", "seed": 7}
    model, feeds = _lstm_model(direction, layout=1, **options)
    twin, _ = _lstm_model(direction, layout=0, **options)  # same seed: same weights
    imported = from_onnx(model)
    assert imported.layouts == (1,)
    swapped = {k: v.swapaxes(0, 1) if v.ndim == 3 else v for k, v in feeds.items()}
    expected = _ort_run(twin, swapped)
    expected = {"Y": expected["Y"].transpose(2, 0, 1, 3)} | {
        k: expected[k].swapaxes(0, 1) for k in ("Y_h", "Y_c")
    }
    _assert_close(imported.run(feeds, reference_lstm(imported)), expected)


def _blocks(n: int, h: int, *tail: int, base: float = 0.0) -> Array:
    """``n`` gate blocks of ``h`` rows, block ``g`` filled with ``base + g + 1``."""
    return np.concatenate([np.full((h, *tail), base + g + 1.0) for g in range(n)])


def test_gate_order_conversion() -> None:
    """ONNX i, o, f, c (W, R, B halves) and i, o, f (P) become epur's i, f, g, o and i, f, o."""
    h = 2
    w = np.stack([_blocks(4, h, 3), _blocks(4, h, 3, base=10)]).astype(np.float32)
    r = np.stack([_blocks(4, h, h, base=20), _blocks(4, h, h, base=30)]).astype(np.float32)
    b = np.stack([np.concatenate([_blocks(4, h), _blocks(4, h, base=100)])] * 2)
    p = np.stack([_blocks(3, h), _blocks(3, h, base=10)]).astype(np.float32)
    inits = [
        numpy_helper.from_array(a.astype(np.float32), n)
        for a, n in ((w, "W"), (r, "R"), (b, "B"), (p, "P"))
    ]
    node = helper.make_node(
        "LSTM",
        ["X", "W", "R", "B", "", "", "", "P"],
        ["Y"],
        direction="bidirectional",
        hidden_size=h,
    )
    x = helper.make_tensor_value_info("X", TensorProto.FLOAT, [1, 1, 3])
    y = helper.make_tensor_value_info("Y", TensorProto.FLOAT, [1, 2, 1, h])
    model = helper.make_model(helper.make_graph([node], "g", [x], [y], inits))
    weights = from_onnx(model).weights.layers[0]
    assert isinstance(weights, tuple) and len(weights) == 2
    ifgo = [1, 3, 4, 2]  # ONNX block numbers (i=1, o=2, f=3, c=4) in epur's order
    for d, wd in enumerate(weights):
        rows = np.repeat(ifgo, h).astype(float)
        np.testing.assert_array_equal(wd.w, np.repeat((rows + 10 * d)[:, None], 3, axis=1))
        np.testing.assert_array_equal(wd.u, np.repeat((rows + 20 + 10 * d)[:, None], h, axis=1))
        np.testing.assert_array_equal(wd.b, 2 * rows + 100)  # Wb + Rb
        assert wd.peepholes is not None
        np.testing.assert_array_equal(
            wd.peepholes, np.array([[1.0] * h, [3.0] * h, [2.0] * h]) + 10 * d
        )


def test_network_fields() -> None:
    model, _ = _lstm_model("reverse", peepholes=True)
    imported = from_onnx(model, name="tiny")
    net = imported.network
    assert net.name == "tiny" and net.batch == B
    assert [(s.name, s.seq_len) for s in net.stacks] == [("main", T)]
    assert [layer for _, layer in net.layers()] == [
        LSTMLayer(N_IN, H, peepholes=True, name="lstm0", reverse=True)
    ]
    assert imported.input_names == ("X",) and imported.output_names == ("Y", "Y_h", "Y_c")
    bidir = from_onnx(_lstm_model("bidirectional", initial="input")[0])
    assert bidir.input_names == ("X", "h0", "c0")
    assert [layer for _, layer in bidir.network.layers()] == [
        LSTMLayer(N_IN, H, bidirectional=True, name="lstm0")
    ]


def _glue_model(opset: int) -> onnx.ModelProto:
    """A bidirectional LSTM wrapped in every glue operator, in ``opset``'s forms."""
    model, _ = _lstm_model("bidirectional", seed=3)
    graph = model.graph
    del graph.output[:]
    lstm_attrs = [a for a in graph.node[0].attribute if a.name != "layout"]  # opset 14+
    del graph.node[0].attribute[:]
    graph.node[0].attribute.extend(lstm_attrs)
    old = opset < 13  # Squeeze/Unsqueeze/Split parameters: attributes before opset 13

    def const(name: str, value: Any, dtype: Any = np.int64) -> None:
        graph.initializer.append(numpy_helper.from_array(np.array(value, dtype=dtype), name))

    def node(op: str, ins: list[str], outs: list[str], **attrs: Any) -> None:
        graph.node.append(helper.make_node(op, ins, outs, name=f"{op}_{len(graph.node)}", **attrs))

    def axes(op: str, x: str, out: str, values: list[int]) -> None:
        if old:
            node(op, [x], [out], axes=values)
        else:
            const(f"{out}_axes", values)
            node(op, [x, f"{out}_axes"], [out])

    for name, value in (
        ("zero", [0]),
        ("one", 1),
        ("last", [-1]),
        ("start", [1]),
        ("end", [2**62]),
        ("neg_end", [-(2**62)]),
        ("axis0", [0]),
        ("seven", 7),
        ("rep", [3, 1, 1, 1]),
    ):
        const(name, value)
    const("two", 2.0, np.float32)
    const("four", 4.0, np.float32)
    node("Transpose", ["Y"], ["yt"], perm=[0, 2, 1, 3])
    node("Shape", ["X"], ["xs"])
    node("Gather", ["xs", "zero"], ["t"], axis=0)
    node("Gather", ["xs", "one"], ["b"], axis=0)
    axes("Unsqueeze", "b", "b1", [0])
    node("Concat", ["t", "b1", "last"], ["target"], axis=0)
    node("Reshape", ["yt", "target"], ["y3"])
    if old:
        node("Split", ["y3"], ["fw", "bw"], axis=2, split=[H, H])
    elif opset >= 18:
        node("Split", ["y3"], ["fw", "bw"], axis=2, num_outputs=2)
    else:
        const("halves", [H, H])
        node("Split", ["y3", "halves"], ["fw", "bw"], axis=2)
    node("Sub", ["fw", "bw"], ["d"])
    node("Mul", ["d", "two"], ["e"])
    node("Div", ["e", "four"], ["f"])
    node("Slice", ["f", "start", "end", "axis0"], ["g"])
    node("Slice", ["g", "last", "neg_end", "axis0", "last"], ["g2"])  # reversed in time
    node("Flatten", ["g2"], ["flat"], axis=2)
    node("Cast", ["flat"], ["out1"], to=TensorProto.DOUBLE)
    node("Size", ["X"], ["n"])
    node("Range", ["b", "n", "b"], ["out2"])
    node("Div", ["n", "seven"], ["out3"])  # integer division truncates
    axes("Unsqueeze", "Y_h", "h4", [0])
    node("Expand", ["h4", "rep"], ["out4"])
    node("ConstantOfShape", ["xs"], ["ones"], value=helper.make_tensor("v", 1, [1], [1.5]))
    node("Add", ["X", "ones"], ["xo"])
    node("Identity", ["xo"], ["out5"])
    node("Slice", ["Y_c", "start", "end", "axis0"], ["c1"])
    axes("Squeeze", "c1", "out6", [0])
    if opset < 12:
        node("Constant", [], ["k"], value=numpy_helper.from_array(np.array([4, 5]), "k"))
    else:
        node("Constant", [], ["k"], value_ints=[4, 5])
    node("Cast", ["k"], ["out7"], to=TensorProto.FLOAT)
    outs = [("out1", TensorProto.DOUBLE, [(T - 1) * B, H]), ("out2", TensorProto.INT64, [4]),
            ("out3", TensorProto.INT64, []), ("out4", TensorProto.FLOAT, [3, 2, B, H]),
            ("out5", TensorProto.FLOAT, [T, B, N_IN]), ("out6", TensorProto.FLOAT, [B, H]),
            ("out7", TensorProto.FLOAT, [2])]  # fmt: skip
    graph.output.extend(helper.make_tensor_value_info(*o) for o in outs)
    del model.opset_import[:]
    model.opset_import.append(helper.make_opsetid("", opset))
    return model


@pytest.mark.parametrize("opset", [11, 13, 18])
def test_glue_operators_match_onnxruntime(opset: int) -> None:
    model = _glue_model(opset)
    feeds = {"X": np.random.default_rng(4).standard_normal((T, B, N_IN)).astype(np.float32)}
    imported = from_onnx(model)
    ours = imported.run(feeds, reference_lstm(imported))
    _assert_close(ours, _ort_run(model, feeds))


def test_model_file_and_two_stacks(tmp_path: Path) -> None:
    """Two LSTM nodes on separate inputs: two stacks; the second has no name: ``L2``."""
    model, feeds = _lstm_model("forward")
    graph = model.graph
    graph.input.append(helper.make_tensor_value_info("X2", TensorProto.FLOAT, ["t", 2, H]))
    graph.node.append(helper.make_node("LSTM", ["X2", "R", "R"], ["", "Y2_h"], hidden_size=H))
    graph.output.append(helper.make_tensor_value_info("Y2_h", TensorProto.FLOAT, [1, 2, H]))
    onnx.save(model, tmp_path / "two.onnx")
    imported = from_onnx(tmp_path / "two.onnx")
    assert [(s.name, s.seq_len, len(s.layers)) for s in imported.network.stacks] == [
        ("main", T, 1),
        ("stack2", 1, 1),
    ]
    assert [layer.name for _, layer in imported.network.layers()] == ["lstm0", "L2"]
    feeds["X2"] = np.random.default_rng(2).standard_normal((4, 2, H)).astype(np.float32)
    _assert_close(imported.run(feeds, reference_lstm(imported)), _ort_run(model, feeds))


EXPORTER_WARNINGS = [
    "ignore:You are using the legacy TorchScript-based ONNX export:DeprecationWarning",
    "ignore:The feature will be removed:DeprecationWarning",
    "ignore:Exporting a model to ONNX with a batch_size other than 1:UserWarning",
    "ignore:Converting a tensor to a Python boolean:torch.jit.TracerWarning",
]


def _export(module: Any, args: tuple[Any, ...], dynamic: bool) -> bytes:
    torch = pytest.importorskip("torch")
    f = io.BytesIO()
    names = ["x", "h0", "c0"][: 1 + 2 * (len(args) > 1)]
    x_axes = {0: "b", 1: "t"} if module.batch_first else {0: "t", 1: "b"}
    axes = {n: x_axes if n == "x" else {1: "b"} for n in names} if dynamic else None
    torch.onnx.export(
        module,
        args,
        f,
        dynamo=False,
        input_names=names,
        output_names=["y", "h_n", "c_n"],
        dynamic_axes=axes,
    )
    return f.getvalue()


@pytest.mark.filterwarnings(*EXPORTER_WARNINGS)
@pytest.mark.parametrize(
    ("layers", "bidirectional", "batch_first", "states", "dynamic"),
    [
        (2, True, False, False, False),
        (3, True, True, False, True),
        (3, False, False, True, True),
        (2, True, True, True, False),
    ],
)
def test_pytorch_export_matches_onnxruntime_and_pytorch(
    layers: int, bidirectional: bool, batch_first: bool, states: bool, dynamic: bool
) -> None:
    torch = pytest.importorskip("torch")
    from epur.workload.importers import from_torch

    torch.manual_seed(layers)
    module = torch.nn.LSTM(N_IN, H, layers, bidirectional=bidirectional, batch_first=batch_first)
    module.eval()
    dirs = 2 if bidirectional else 1
    rng = np.random.default_rng(11)
    x = rng.standard_normal((B, T, N_IN) if batch_first else (T, B, N_IN)).astype(np.float32)
    h0 = rng.standard_normal((layers * dirs, B, H)).astype(np.float32)
    c0 = rng.standard_normal((layers * dirs, B, H)).astype(np.float32)
    args = (torch.from_numpy(x), (torch.from_numpy(h0), torch.from_numpy(c0)))
    args = args if states else args[:1]
    data = _export(module, args, dynamic)
    imported = from_onnx(onnx.load_from_string(data))
    # the exporter's glue (Transpose/Reshape/Squeeze) chains the nodes into one stack
    assert [len(s.layers) for s in imported.network.stacks] == [layers]
    # the same weights as from_torch: ONNX's i, o, f, c was converted back to i, f, g, o
    for ours, theirs in zip(
        imported.weights.layers, from_torch(module).weights.layers, strict=True
    ):
        assert isinstance(ours, tuple) and isinstance(theirs, tuple)
        for a, b in zip(ours, theirs, strict=True):
            for name in ("w", "u", "b"):
                np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    feeds = {"x": x} | ({"h0": h0, "c0": c0} if states else {})
    ours = imported.run(feeds, reference_lstm(imported))
    _assert_close(ours, _ort_run(data, feeds))
    with torch.no_grad():
        y, (h_n, c_n) = module(*args)
    _assert_close(ours, {"y": y.numpy(), "h_n": h_n.numpy(), "c_n": c_n.numpy()})
    if dynamic:  # another batch size and length through the Shape/Gather/Expand glue
        feeds = {
            k: np.concatenate([v, v], axis=1 if k != "x" or not batch_first else 0)
            for k, v in feeds.items()
        }
        _assert_close(imported.run(feeds, reference_lstm(imported)), _ort_run(data, feeds))


@pytest.mark.parametrize(
    ("attrs", "message"),
    [
        ({"clip": 3.0}, r"node 'lstm0' \(LSTM\): attribute clip=3.0 is not supported"),
        ({"input_forget": 1}, r"node 'lstm0' \(LSTM\): attribute input_forget=1 is not"),
        ({"activations": ["Sigmoid", "Tanh", "Relu"]}, r"'lstm0' \(LSTM\): attribute activ"),
        (
            {"activations": ["HardSigmoid", "Tanh", "Tanh"], "activation_alpha": [0.2]},
            r"'lstm0' \(LSTM\): attribute activation_alpha=\[0.2",
        ),
    ],
)
def test_unsupported_attributes(attrs: dict[str, Any], message: str) -> None:
    model, _ = _lstm_model(**attrs)
    with pytest.raises(ConfigError, match=message):
        from_onnx(model)


def test_unsupported_operator_is_refused_at_import() -> None:
    model, _ = _lstm_model()
    graph = model.graph
    graph.initializer.append(numpy_helper.from_array(np.ones((2, H), np.float32), "fc_w"))
    graph.node.append(helper.make_node("Gemm", ["Y_h_2d", "fc_w"], ["out"], name="head", transB=1))
    graph.node.insert(1, helper.make_node("Flatten", ["Y_h"], ["Y_h_2d"], axis=2, name="flat"))
    graph.output.append(helper.make_tensor_value_info("out", TensorProto.FLOAT, [B, 2]))
    with pytest.raises(ConfigError, match=r"node 'head' \(Gemm\) is not supported"):
        from_onnx(model)


def test_weights_from_constant_nodes() -> None:
    model, feeds = _lstm_model("bidirectional", peepholes=True)
    graph = model.graph
    moved = [t for t in graph.initializer if t.name in ("W", "P")]
    kept = [t for t in graph.initializer if t.name not in ("W", "P")]
    del graph.initializer[:]
    graph.initializer.extend(kept)
    for k, t in enumerate(moved):
        graph.node.insert(k, helper.make_node("Constant", [], [t.name], value=t))
    imported = from_onnx(model)
    _assert_close(imported.run(feeds, reference_lstm(imported)), _ort_run(model, feeds))


def test_weights_must_be_constant() -> None:
    model, _ = _lstm_model()
    graph = model.graph
    r = next(t for t in graph.initializer if t.name == "R")
    graph.input.append(helper.make_tensor_value_info("R2", TensorProto.FLOAT, list(r.dims)))
    graph.node[0].input[2] = "R2"
    with pytest.raises(ConfigError, match=r"'lstm0' \(LSTM\): input R \('R2'\) must be an init"):
        from_onnx(model)


def test_weight_shapes_are_checked() -> None:
    model, _ = _lstm_model()
    b = next(t for t in model.graph.initializer if t.name == "B")
    b.CopyFrom(numpy_helper.from_array(np.zeros((1, 4 * H), np.float32), "B"))
    with pytest.raises(ConfigError, match=r"input B must have shape \[1, 48\] .*not \[1, 24\]"):
        from_onnx(model)


def test_bad_files(tmp_path: Path) -> None:
    data = _lstm_model()[0].SerializeToString()
    (tmp_path / "cut.onnx").write_bytes(data[: len(data) // 3])
    (tmp_path / "text.onnx").write_text("this is not a model\n")
    for name in ("cut.onnx", "text.onnx"):
        with pytest.raises(ConfigError, match=rf"{name} is not a valid ONNX model: "):
            from_onnx(tmp_path / name)
    with pytest.raises(ConfigError, match=r"nothere.onnx does not exist"):
        from_onnx(tmp_path / "nothere.onnx")
    with pytest.raises(ConfigError, match=r"source must be a path or an onnx.ModelProto"):
        from_onnx(3)  # type: ignore[arg-type]


def test_checker_failure_and_no_lstm() -> None:
    model, _ = _lstm_model()
    model.graph.node[0].input[0] = "undefined"
    with pytest.raises(ConfigError, match=r"ONNX model is not a valid ONNX model: .*undefined"):
        from_onnx(model)
    x = helper.make_tensor_value_info("X", TensorProto.FLOAT, [2])
    graph = helper.make_graph(
        [helper.make_node("Identity", ["X"], ["Y"])],
        "g",
        [x],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [2])],
    )
    with pytest.raises(ConfigError, match=r"has no LSTM node"):
        from_onnx(helper.make_model(graph))


def test_run_checks_inputs() -> None:
    model, feeds = _lstm_model(seq_lens=True)
    imported = from_onnx(model)
    with pytest.raises(ConfigError, match=r"missing \['lens'\], unknown \['Z'\]"):
        imported.run({"X": feeds["X"], "Z": feeds["X"]}, reference_lstm(imported))
    with pytest.raises(ConfigError, match=r"'lstm0' \(LSTM\) input X must be 3-D with 4 feat"):
        imported.run(feeds | {"X": feeds["X"][..., :2]}, reference_lstm(imported))
    with pytest.raises(ConfigError, match=r"sequence_lens must be 3 lengths in 0..5"):
        imported.run(feeds | {"lens": np.array([9, 1, 1])}, reference_lstm(imported))


class _Tagger:
    """``nn.LSTM`` + ``nn.Linear`` on every step (built lazily: torch is optional here)."""

    @staticmethod
    def make(batch_first: bool, seed: int = 0) -> Any:
        torch = pytest.importorskip("torch")

        class Tagger(torch.nn.Module):  # type: ignore[misc,name-defined]
            def __init__(self) -> None:
                super().__init__()
                self.lstm = torch.nn.LSTM(N_IN, H, 2, bidirectional=True, batch_first=batch_first)
                self.head = torch.nn.Linear(2 * H, 3)

            def forward(self, x: Any) -> Any:
                return self.head(self.lstm(x)[0])

        torch.manual_seed(seed)
        return Tagger().eval()


def export_tagger(batch_first: bool, exporter: str) -> tuple[Any, bytes, Array]:
    """An LSTM + Linear module, its ONNX export (``legacy`` or ``dynamo``) and an input."""
    torch = pytest.importorskip("torch")
    module = _Tagger.make(batch_first)
    x = np.random.default_rng(12).standard_normal((B, T, N_IN) if batch_first else (T, B, N_IN))
    xt = torch.from_numpy(x.astype(np.float32))
    if exporter == "dynamo":
        pytest.importorskip("onnxscript")
        with warnings.catch_warnings():  # the exporter's own deprecation warnings
            warnings.simplefilter("ignore")
            program = torch.onnx.export(module, (xt,), dynamo=True)
        return module, program.model_proto.SerializeToString(), x.astype(np.float32)
    f = io.BytesIO()
    torch.onnx.export(module, (xt,), f, dynamo=False, input_names=["x"], output_names=["y"])
    return module, f.getvalue(), x.astype(np.float32)


@pytest.mark.filterwarnings(*EXPORTER_WARNINGS)
@pytest.mark.parametrize("exporter", ["legacy", "dynamo"])
@pytest.mark.parametrize("batch_first", [False, True])
def test_exported_linear_head_becomes_an_fc_layer(batch_first: bool, exporter: str) -> None:
    torch = pytest.importorskip("torch")
    from epur.workload.importers import from_torch

    module, data, x = export_tagger(batch_first, exporter)
    imported = from_onnx(onnx.load_from_string(data))
    layers = [layer for _, layer in imported.network.layers()]
    assert [type(layer).__name__ for layer in layers] == ["LSTMLayer", "LSTMLayer", "FCLayer"]
    assert [len(s.layers) for s in imported.network.stacks] == [3]  # one stack
    assert (layers[-1].input_size, layers[-1].output_size) == (2 * H, 3)
    fc = imported.weights.layers[-1]
    theirs = from_torch(module).weights.layers[-1]  # the same Linear through the other importer
    assert isinstance(fc, FCWeights) and isinstance(theirs, FCWeights)
    np.testing.assert_array_equal(fc.w, theirs.w)
    np.testing.assert_array_equal(fc.b, theirs.b)
    feeds = {imported.input_names[0]: x}
    ours = imported.run(feeds, reference_lstm(imported))  # fc=None: float64
    _assert_close(ours, _ort_run(data, feeds))
    with torch.no_grad():
        y = module(torch.from_numpy(x)).numpy()
    _assert_close(ours, {imported.output_names[0]: y})


def _head_model(op: str) -> tuple[onnx.ModelProto, dict[str, Array]]:
    """A forward LSTM, Squeeze/Reshape glue and a hand-built head: ``matmul_add`` (the
    Add's operands in the dynamo exporter's order), ``matmul`` (no bias) or ``gemm``
    (``transB=1`` on ``[T*B, H]``)."""
    model, feeds = _lstm_model("forward", seed=5)
    graph = model.graph
    rng = np.random.default_rng(6)
    w = rng.uniform(-0.5, 0.5, (H, 2)).astype(np.float32)
    b = rng.uniform(-0.5, 0.5, (1, 2)).astype(np.float32)  # [1, N]: broadcast as [N]
    arrays = {"ax": np.array([1]), "flat": np.array([T * B, H]), "w": w, "wt": w.T.copy(), "b": b}
    graph.initializer.extend(numpy_helper.from_array(v, k) for k, v in arrays.items())
    graph.node.append(helper.make_node("Squeeze", ["Y", "ax"], ["seq"], name="squeeze"))
    if op == "gemm":
        graph.node.append(helper.make_node("Reshape", ["seq", "flat"], ["rows"]))
        graph.node.append(helper.make_node("Gemm", ["rows", "wt", "b"], ["out"], name="head",
                                           transB=1))  # fmt: skip
        shape = [T * B, 2]
    elif op == "matmul":
        graph.node.append(helper.make_node("MatMul", ["seq", "w"], ["out"], name="head"))
        shape = [T, B, 2]
    else:
        graph.node.append(helper.make_node("MatMul", ["seq", "w"], ["mm"], name="head"))
        graph.node.append(helper.make_node("Add", ["mm", "b"], ["out"], name="bias"))
        shape = [T, B, 2]
    graph.output.append(helper.make_tensor_value_info("out", TensorProto.FLOAT, shape))
    return model, feeds


@pytest.mark.parametrize("op", ["matmul_add", "matmul", "gemm"])
def test_hand_built_heads_match_onnxruntime(op: str) -> None:
    model, feeds = _head_model(op)
    imported = from_onnx(model)
    assert [layer for _, layer in imported.network.layers()][-1] == FCLayer(H, 2, name="head")
    fc = imported.weights.layers[-1]
    assert isinstance(fc, FCWeights)
    w = numpy_helper.to_array(next(t for t in model.graph.initializer if t.name == "w"))
    np.testing.assert_array_equal(fc.w, w.T)
    assert not fc.b.any() if op == "matmul" else fc.b.any()
    _assert_close(imported.run(feeds, reference_lstm(imported)), _ort_run(model, feeds))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("weights_input", r"'head' \(MatMul\) is not supported here: .*constant weight matrix"),
        ("before_lstm", r"'head' \(MatMul\) is not supported here: .*not computed from the out"),
        ("alpha", r"'head' \(Gemm\) is not supported here: .*'alpha': 2.0"),
        ("wrong_size", r"'head' \(MatMul\) is not supported here: .*has another size"),
    ],
)
def test_heads_that_are_not_fc_layers_are_refused(change: str, message: str) -> None:
    model, _ = _head_model("gemm" if change == "alpha" else "matmul")
    graph = model.graph
    head = next(n for n in graph.node if n.name == "head")
    if change == "weights_input":
        graph.input.append(helper.make_tensor_value_info("w_in", TensorProto.FLOAT, [H, 2]))
        head.input[1] = "w_in"
    elif change == "before_lstm":
        head.input[0] = "X"  # [T, B, N_IN] @ [H, 2]: a MatMul on the graph input
        graph.initializer.append(numpy_helper.from_array(np.ones((N_IN, 2), np.float32), "w4"))
        head.input[1] = "w4"
        del graph.output[-1]
        graph.output.append(helper.make_tensor_value_info("out", TensorProto.FLOAT, [T, B, 2]))
    elif change == "alpha":
        head.attribute.append(helper.make_attribute("alpha", 2.0))
    else:
        graph.node.append(helper.make_node("Concat", ["seq", "seq"], ["wide"], axis=2))
        graph.initializer.append(numpy_helper.from_array(np.ones((2 * H, 2), np.float32), "w2"))
        head.input[:] = ["wide", "w2"]
        graph.node.remove(head)
        graph.node.append(head)
    with pytest.raises(ConfigError, match=message):
        from_onnx(model)


def test_gru_node_is_refused_as_such() -> None:
    x = helper.make_tensor_value_info("X", TensorProto.FLOAT, [T, B, N_IN])
    y = helper.make_tensor_value_info("Y", TensorProto.FLOAT, [T, 1, B, H])
    rng = np.random.default_rng(0)
    inits = [
        numpy_helper.from_array(rng.standard_normal((1, 3 * H, n)).astype(np.float32), name)
        for name, n in (("W", N_IN), ("R", H))
    ]
    node = helper.make_node("GRU", ["X", "W", "R"], ["Y"], name="gru0", hidden_size=H)
    model = helper.make_model(helper.make_graph([node], "g", [x], [y], inits))
    with pytest.raises(ConfigError, match=r"GRU is not supported: ONNX model: node 'gru0' \(GRU\)"):
        from_onnx(model)


def test_seq_len_is_the_static_length_of_the_first_lstm_input(tmp_path: Path) -> None:
    assert from_onnx(_lstm_model()[0]).seq_len == T
    assert from_onnx(_lstm_model(layout=1)[0]).seq_len == T  # [B, T, I]
    model, _ = _lstm_model()
    dim = model.graph.input[0].type.tensor_type.shape.dim[0]
    dim.dim_param = "t"  # a symbolic length
    imported = from_onnx(model)
    assert imported.seq_len is None
    assert imported.network.stacks[0].seq_len == 1  # the timing network's placeholder


# ---- wrong element types, absurd sizes, external data (issue 9) -------------------------


def _replace(model: onnx.ModelProto, tensor: TensorProto) -> onnx.ModelProto:
    """``model`` with its initializer of the same name replaced by ``tensor``."""
    inits = model.graph.initializer
    index = next(i for i, t in enumerate(inits) if t.name == tensor.name)
    inits.remove(inits[index])
    inits.insert(index, tensor)
    return model


@pytest.mark.parametrize(
    ("role", "value", "what"),
    [
        ("W", np.full((1, 4 * H, N_IN), "0.5", dtype=object), "strings"),
        ("R", np.ones((1, 4 * H, H), dtype=bool), "booleans"),
        ("B", np.ones((1, 8 * H), dtype=np.int64), r"integers \(int64\)"),
        ("P", np.ones((1, 3 * H), dtype=np.complex64), r"complex numbers \(complex64\)"),
    ],
)
def test_lstm_weights_of_another_element_type_are_refused(
    role: str, value: Array, what: str
) -> None:
    model, _ = _lstm_model("forward", peepholes=True)
    _replace(model, numpy_helper.from_array(value, role))
    message = rf"^ONNX model: node 'lstm0' \(LSTM\): input {role} \('{role}'\) must hold " + (
        rf"floating-point weights \(float, double, float16 or bfloat16\), not {what}$"
    )
    with pytest.raises(ConfigError, match=message):
        from_onnx(model)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("w", np.ones((H, 2), np.int64), r"node 'head' \(MatMul\): input B \('w'\) must hold "),
        ("b", np.ones((1, 2), np.int64), r"'head' \(MatMul\): input B of its Add node 'bias' "),
    ],
)
def test_head_weights_of_another_element_type_are_refused(
    name: str, value: Array, message: str
) -> None:
    model, _ = _head_model("matmul_add")
    _replace(model, numpy_helper.from_array(value, name))
    with pytest.raises(ConfigError, match=message + r".*not integers \(int64\)$"):
        from_onnx(model)


def test_absurd_declared_dims_are_refused_before_conversion(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Whatever the checker lets through (older ONNX releases checked less), dims that
    declare more than 2**31 elements never reach numpy_helper.to_array."""
    model, _ = _lstm_model("forward")
    big = TensorProto(name="W", data_type=TensorProto.FLOAT, dims=[1, 4 * H * 10**6, 10**6])
    big.raw_data = b"\0" * 8
    _replace(model, big)
    monkeypatch.setattr(onnx.checker, "check_model", lambda model: None)

    def no_conversion(tensor: TensorProto, base_dir: str = "") -> Array:
        raise AssertionError(f"numpy_helper.to_array({tensor.name}) called")

    monkeypatch.setattr(numpy_helper, "to_array", no_conversion)
    with pytest.raises(ConfigError, match=r"initializer 'W' declares shape \[1, 24000000, 1000"):
        from_onnx(model)


def test_external_data_is_refused_without_reading_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model, _ = _lstm_model("forward")
    onnx.save_model(model, tmp_path / "m.onnx", save_as_external_data=True,
                    all_tensors_to_one_file=True, location="weights.bin",
                    size_threshold=0)  # fmt: skip
    marker = tmp_path / "weights.bin"
    assert marker.stat().st_size > 0  # the weights are there: a reader would succeed
    real_open = open

    def guarded_open(file: Any, *args: Any, **kwargs: Any) -> Any:
        if Path(str(file)).name == "weights.bin":
            raise AssertionError(f"{file} was opened")
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr("builtins.open", guarded_open)
    message = r"initializer 'W' keeps its data in an external file \('weights.bin'\)"
    with pytest.raises(ConfigError, match=message):
        from_onnx(tmp_path / "m.onnx")
    proto = onnx.load(tmp_path / "m.onnx", load_external_data=False)
    with pytest.raises(ConfigError, match=message):  # a ModelProto that refers to it
        from_onnx(proto)


def _glue_before_lstm(*nodes: onnx.NodeProto, feeds_h0: str = "") -> onnx.ModelProto:
    """The forward single-LSTM model with ``nodes`` computing its X from ``x_in`` (and its
    initial_h, when ``feeds_h0`` names a value)."""
    model, _ = _lstm_model("forward")
    graph = model.graph
    graph.input[0].name = "x_in"
    lstm = graph.node[0]
    if feeds_h0:
        while len(lstm.input) < 6:
            lstm.input.append("")
        lstm.input[5] = feeds_h0
    graph.node.insert(0, helper.make_node("Identity", ["x_pre"], ["X"]))
    for node in reversed(nodes):
        graph.node.insert(0, node)
    return model


def test_glue_that_would_allocate_absurdly_is_refused_at_run_time() -> None:
    shape = numpy_helper.from_array(np.array([1, 10**6, 10**6], dtype=np.int64), "big_shape")
    model = _glue_before_lstm(
        helper.make_node("Identity", ["x_in"], ["x_pre"]),
        helper.make_node("ConstantOfShape", ["big_shape"], ["h0"], name="zeros"),
        feeds_h0="h0",
    )
    model.graph.initializer.append(shape)
    imported = from_onnx(model)
    x = np.zeros((T, B, N_IN), np.float32)
    with pytest.raises(ConfigError, match=r"'zeros' \(ConstantOfShape\) failed.*2,147,483,648"):
        imported.run({"x_in": x}, reference_lstm(imported))


def test_glue_arithmetic_follows_ieee_754_silently() -> None:
    """x * 1e300 overflows float64 to inf: the glue passes it on, as IEEE 754 does."""
    scale = numpy_helper.from_array(np.array(1e300), "scale")
    model = _glue_before_lstm(helper.make_node("Mul", ["x_in", "scale"], ["x_pre"]))
    model.graph.initializer.append(scale)
    imported = from_onnx(model)
    x = np.full((T, B, N_IN), 1e10)
    seen: list[Array] = []

    def lstm(k: int, x: Array, h0: Any, c0: Any, lens: Any) -> Any:
        seen.append(x)
        return reference_lstm(imported)(k, x, h0, c0, lens)

    imported.run({"x_in": x}, lstm)
    assert np.isinf(seen[0]).all()
