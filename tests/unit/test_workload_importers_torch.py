"""Unit tests for ``epur.workload.importers.torch``: PyTorch ``nn.LSTM`` -> epur.

Every imported model is run through the float64 reference (``reference_run``) and
compared with PyTorch itself: in float64 (``module.double()``) to 1e-12 and in
float32 to 1e-5 of the largest magnitude. Outputs are compared in PyTorch's layouts
(``output``, and ``h_n``/``c_n`` ``[num_layers*dirs, B, proj or H]``).
"""

from __future__ import annotations

import copy
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from epur.errors import ConfigError
from epur.functional.reference import reference_run
from epur.workload.importers import TorchModel, from_torch
from epur.workload.network import FCLayer, LSTMLayer
from epur.workload.weights import FCWeights

torch = pytest.importorskip("torch")
nn = torch.nn

pytestmark = pytest.mark.filterwarnings(
    "ignore:LSTM with projections is not supported with oneDNN:UserWarning"
)

# (input, hidden, num_layers, bidirectional, proj_size, batch_first, bias)
CASES = [
    (3, 4, 1, False, 0, False, True),
    (5, 7, 2, True, 0, False, True),
    (4, 6, 3, False, 3, True, True),
    (2, 5, 4, True, 2, False, False),
    (6, 3, 2, True, 0, True, False),
    (1, 8, 1, True, 5, True, True),
]
T, B = 6, 3


def _module(case: tuple[Any, ...], seed: int = 0) -> Any:
    i, h, layers, bidir, proj, batch_first, bias = case
    torch.manual_seed(seed)
    return nn.LSTM(
        i, h, layers, bias=bias, batch_first=batch_first, bidirectional=bidir, proj_size=proj
    ).eval()


def _input(module: Any, seed: int = 1) -> np.ndarray[Any, Any]:
    """float32-representable float64 input in the module's layout."""
    shape = (B, T, module.input_size) if module.batch_first else (T, B, module.input_size)
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32).astype(np.float64)


def _reference(model: TorchModel, x: np.ndarray[Any, Any]) -> tuple[np.ndarray[Any, Any], ...]:
    """``(output, h_n, c_n)`` of the float64 reference in PyTorch's layouts."""
    xt = x.transpose(1, 0, 2) if model.batch_first else x
    results = reference_run(model.network, model.weights, {"main": xt})
    out = results[-1].y.transpose(1, 0, 2) if model.batch_first else results[-1].y
    h_n = np.stack([d.h for r in results for d in r.directions])
    c_n = np.stack([d.c for r in results for d in r.directions])
    return out, h_n, c_n


def _torch_run(
    module: Any, x: np.ndarray[Any, Any], dtype: Any
) -> tuple[np.ndarray[Any, Any], ...]:
    with torch.no_grad():
        out, (h_n, c_n) = module.to(dtype)(torch.from_numpy(x).to(dtype))
    return tuple(t.double().numpy() for t in (out, h_n, c_n))


def _assert_matches_torch(model: TorchModel, module: Any, x: np.ndarray[Any, Any]) -> None:
    ours = _reference(model, x)
    exact = _torch_run(copy.deepcopy(module), x, torch.float64)
    single = _torch_run(copy.deepcopy(module), x, torch.float32)
    for name, a, b64, b32 in zip(("output", "h_n", "c_n"), ours, exact, single, strict=True):
        assert a.shape == b64.shape, name
        np.testing.assert_allclose(a, b64, rtol=0, atol=1e-12, err_msg=name)
        np.testing.assert_allclose(a, b32, rtol=0, atol=1e-5 * np.abs(b32).max(), err_msg=name)


@pytest.mark.parametrize("case", CASES, ids=[str(c) for c in CASES])
def test_live_module_matches_pytorch(case: tuple[Any, ...]) -> None:
    module = _module(case)
    model = from_torch(module)
    assert model.batch_first == module.batch_first
    _assert_matches_torch(model, module, _input(module))


@pytest.mark.parametrize("case", CASES[1:4], ids=[str(c) for c in CASES[1:4]])
def test_saved_state_dict_matches_pytorch(case: tuple[Any, ...], tmp_path: Path) -> None:
    module = _module(case, seed=3)
    path = tmp_path / "lstm.pt"
    torch.save(module.state_dict(), path)
    model = from_torch(path, batch_first=module.batch_first)
    assert model.network.provenance == f"nn.LSTM from PyTorch file {path}"
    _assert_matches_torch(model, module, _input(module, seed=4))
    assert from_torch(str(path)).batch_first is False  # not in a state_dict: default False


class _Wrapper(nn.Module):  # type: ignore[misc]
    """An embedding Linear before the LSTM: not a head, so never imported silently."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Linear(3, 4)
        self.lstm = nn.LSTM(4, 5, num_layers=2, bidirectional=True, batch_first=True)
        self.head = nn.Linear(10, 2)


class _Tagger(nn.Module):  # type: ignore[misc]
    """An LSTM, dropout and a Linear head applied to every step of its output."""

    def __init__(self, proj: int = 0, batch_first: bool = True) -> None:
        super().__init__()
        self.lstm = nn.LSTM(4, 5, num_layers=2, bidirectional=True, batch_first=batch_first,
                            proj_size=proj)  # fmt: skip
        self.drop = nn.Dropout(0.3)
        self.head = nn.Linear(2 * (proj or 5), 3)

    def forward(self, x: Any) -> Any:
        y, _ = self.lstm(x)
        return self.head(self.drop(y))


def _assert_head_matches_torch(model: TorchModel, module: Any, x: np.ndarray[Any, Any]) -> None:
    """The imported LSTM + FC (float64 reference) against the module's forward."""
    xt = x.transpose(1, 0, 2) if model.batch_first else x
    y = reference_run(model.network, model.weights, {"main": xt})[-1].y
    y = y.transpose(1, 0, 2) if model.batch_first else y
    for dtype, tol in ((torch.float64, 1e-12), (torch.float32, 1e-5)):
        with torch.no_grad():
            theirs = copy.deepcopy(module).to(dtype)(torch.from_numpy(x).to(dtype)).double()
        np.testing.assert_allclose(y, theirs.numpy(), rtol=0, atol=tol * theirs.abs().max().item())


@pytest.mark.parametrize("proj", [0, 3])
def test_lstm_with_linear_head_becomes_an_fc_layer(proj: int, tmp_path: Path) -> None:
    torch.manual_seed(5)
    module = _Tagger(proj).eval()
    x = _input(module.lstm, seed=6)
    live = from_torch(module)
    assert live.batch_first is True  # the LSTM's attribute
    *lstm, head = [layer for _, layer in live.network.layers()]
    assert head == FCLayer(2 * (proj or 5), 3, name="head") and len(lstm) == 2
    fc = live.weights.layers[-1]
    assert isinstance(fc, FCWeights)
    np.testing.assert_array_equal(fc.w, module.head.weight.detach().double().numpy())
    np.testing.assert_array_equal(fc.b, module.head.bias.detach().double().numpy())
    assert live.network.provenance == "nn.LSTM + nn.Linear from module _Tagger"
    _assert_head_matches_torch(live, module, x)
    state = module.state_dict()
    torch.save(state, tmp_path / "tagger.pt")
    torch.save({"model": state, "epoch": 3}, tmp_path / "checkpoint.pt")  # epoch: metadata
    for name in ("tagger.pt", "checkpoint.pt"):
        _assert_head_matches_torch(from_torch(tmp_path / name, batch_first=True), module, x)
    head_only_weight = {k: v for k, v in state.items() if k != "head.bias"}
    model = from_torch(head_only_weight, batch_first=True)
    fc = model.weights.layers[-1]
    assert isinstance(fc, FCWeights)
    np.testing.assert_array_equal(fc.b, np.zeros(3))  # a Linear without bias


def test_keys_that_are_not_a_head_are_refused_by_name() -> None:
    torch.manual_seed(5)
    wrapper = _Wrapper()
    state = dict(wrapper.state_dict())
    # an embedding Linear before the LSTM, then a head: two extra weights
    with pytest.raises(
        ConfigError,
        match=r"keys epur does not understand: embed.weight \[4, 3\], "
        r"embed.bias \[4\], head.weight \[2, 10\], head.bias \[2\]",
    ):
        from_torch(state)
    lstm = {k: v for k, v in state.items() if k.startswith("lstm.")}
    # one extra weight, but stored before the LSTM (an embedding, not a head)
    before = {"embed.weight": torch.zeros(3, 10), **lstm}
    with pytest.raises(ConfigError, match=r"does not understand: embed.weight \[3, 10\]"):
        from_torch(before)
    # after the LSTM, but its input size is not the LSTM's output size (10)
    with pytest.raises(
        ConfigError, match=r"does not understand: head.weight \[2, 9\]; .*\[N, 10\]"
    ):
        from_torch({**lstm, "head.weight": torch.zeros(2, 9)})
    with pytest.raises(
        ConfigError,
        match=r"does not understand: head.weight \[2, 10\], "
        r"head.bias \[3\]",
    ):
        from_torch({**lstm, "head.weight": torch.zeros(2, 10), "head.bias": torch.zeros(3)})
    with pytest.raises(ConfigError, match=r"does not understand: norm.running_mean \[10\]"):
        from_torch({**lstm, "norm.running_mean": torch.zeros(10)})
    with pytest.raises(ConfigError, match=r"does not understand: extra \(list\)"):
        from_torch({**lstm, "extra": [torch.zeros(2)], "epoch": 3, "note": ["a"]})
    with pytest.raises(
        ConfigError,
        match=r"does not understand: head.weight \[2, 10\], "
        r"head.scale \[2\]",
    ):
        from_torch({**lstm, "head.weight": torch.zeros(2, 10), "head.scale": torch.zeros(2)})


class _Activated(nn.Module):  # type: ignore[misc]
    def __init__(self) -> None:
        super().__init__()
        self.lstm = nn.LSTM(4, 5)
        self.act = nn.ReLU()
        self.head = nn.Linear(5, 2)


class _Scaled(nn.Module):  # type: ignore[misc]
    def __init__(self) -> None:
        super().__init__()
        self.lstm = nn.LSTM(4, 5)
        self.scale = nn.Parameter(torch.ones(5))


def test_live_modules_other_than_lstm_and_head_are_refused() -> None:
    with pytest.raises(
        ConfigError,
        match=r"_Wrapper has children embed \(Linear\), lstm "
        r"\(LSTM\), head \(Linear\); epur imports an nn.LSTM, or a module",
    ):
        from_torch(_Wrapper())
    with pytest.raises(ConfigError, match=r"children lstm \(LSTM\), act \(ReLU\), head"):
        from_torch(_Activated())
    with pytest.raises(ConfigError, match=r"parameters of its own \(scale\)"):
        from_torch(_Scaled())
    mismatch = nn.ModuleDict({"lstm": nn.LSTM(4, 5), "head": nn.Linear(6, 2)})
    with pytest.raises(ConfigError, match=r"in_features 5"):
        from_torch(mismatch)


class _GRUModel(nn.Module):  # type: ignore[misc]
    def __init__(self) -> None:
        super().__init__()
        self.gru = nn.GRU(4, 6)
        self.head = nn.Linear(6, 2)


def test_gru_and_rnn_are_refused_as_such(tmp_path: Path) -> None:
    gru = nn.GRU(4, 6, num_layers=2)
    with pytest.raises(
        ConfigError,
        match=r"GRU is not supported: module GRU holds nn.GRU "
        r"'<root>'",
    ):
        from_torch(gru)
    with pytest.raises(
        ConfigError,
        match=r"GRU is not supported: module _GRUModel holds "
        r"nn.GRU 'gru'",
    ):
        from_torch(_GRUModel())
    torch.save(gru.state_dict(), tmp_path / "gru.pt")
    with pytest.raises(
        ConfigError,
        match=r"GRU is not supported: PyTorch file .*gru.pt "
        r"weight_hh_l0 has shape \[18, 6\], 3 gate blocks",
    ):
        from_torch(tmp_path / "gru.pt")
    with pytest.raises(
        ConfigError,
        match=r"GRU is not supported: state_dict gru.weight_hh_l0 "
        r"has shape \[12, 4\]",
    ):  # 12 rows: also 4 blocks of 3, still a GRU
        from_torch(
            _GRUModel().state_dict() | {f"gru.{k}": v for k, v in nn.GRU(4, 4).state_dict().items()}
        )
    with pytest.raises(
        ConfigError,
        match=r"RNN is not supported: state_dict weight_hh_l0 "
        r"has shape \[6, 6\]",
    ):
        from_torch(nn.RNN(4, 6).state_dict())


def test_seq_len_is_never_fixed() -> None:
    assert from_torch(nn.LSTM(2, 3)).seq_len is None


def test_topology_and_exact_weights() -> None:
    module = _module((4, 6, 3, True, 3, False, True))
    model = from_torch(module, name="speech")
    net = model.network
    assert net.name == "speech" and net.batch == 1
    assert [(s.name, s.seq_len) for s in net.stacks] == [("main", 1)]
    assert [layer for _, layer in net.layers()] == [
        LSTMLayer(4, 6, bidirectional=True, projection_size=3, name="L1"),
        LSTMLayer(6, 6, bidirectional=True, projection_size=3, name="L2"),
        LSTMLayer(6, 6, bidirectional=True, projection_size=3, name="L3"),
    ]
    params = {k: v.detach().double().numpy() for k, v in module.state_dict().items()}
    for n, layer in enumerate(model.weights.layers):
        assert isinstance(layer, tuple) and len(layer) == 2
        for d, w in enumerate(layer):
            sfx = f"_l{n}" + ("_reverse" if d else "")
            assert w.w.dtype == np.float64
            # PyTorch's gate order i, f, g, o is epur's: the rows are copied as they are
            np.testing.assert_array_equal(w.w, params["weight_ih" + sfx])
            np.testing.assert_array_equal(w.u, params["weight_hh" + sfx])
            np.testing.assert_array_equal(w.b, params["bias_ih" + sfx] + params["bias_hh" + sfx])
            assert w.projection is not None and w.peepholes is None
            np.testing.assert_array_equal(w.projection, params["weight_hr" + sfx])


def test_no_bias_gives_zero_biases() -> None:
    model = from_torch(_module((3, 4, 2, False, 0, False, False)))
    for layer in model.weights.layers:
        assert isinstance(layer, tuple)
        np.testing.assert_array_equal(layer[0].b, np.zeros(16))


def test_module_needs_exactly_one_lstm() -> None:
    with pytest.raises(ConfigError, match=r"exactly one nn.LSTM, found 0"):
        from_torch(nn.Linear(2, 3))
    two = nn.ModuleDict({"a": nn.LSTM(2, 3), "b": nn.LSTM(3, 3)})
    with pytest.raises(ConfigError, match=r"found 2 \('a', 'b'\)"):
        from_torch(two)


def test_file_without_lstm_keys(tmp_path: Path) -> None:
    path = tmp_path / "linear.pt"
    torch.save(nn.Linear(2, 3).state_dict(), path)
    with pytest.raises(ConfigError, match=r"holds no nn.LSTM parameters .*found weight, bias"):
        from_torch(path)


def test_two_lstms_in_one_state_dict(tmp_path: Path) -> None:
    state = {f"enc.{k}": v for k, v in nn.LSTM(2, 3).state_dict().items()}
    state |= {f"dec.{k}": v for k, v in nn.LSTM(3, 3).state_dict().items()}
    torch.save(state, tmp_path / "two.pt")
    with pytest.raises(ConfigError, match=r"parameters of 2 nn.LSTMs \('dec', 'enc'\)"):
        from_torch(tmp_path / "two.pt")


_UNPICKLED: list[str] = []


class _Payload:
    """Records being unpickled: a weights_only load must never get that far."""

    def __setstate__(self, state: object) -> None:
        _UNPICKLED.append("unpickled")


def test_pickled_objects_are_refused_unloaded(tmp_path: Path) -> None:
    torch.save({"weight_ih_l0": torch.zeros(8, 2), "payload": _Payload()}, tmp_path / "obj.pt")
    with pytest.raises(ConfigError, match=r"pickled .*_Payload, not only tensors .*weights_only"):
        from_torch(tmp_path / "obj.pt")
    assert _UNPICKLED == []
    torch.save(nn.LSTM(2, 3), tmp_path / "module.pt")  # a whole module, not its state_dict
    with pytest.raises(ConfigError, match=r"pickled torch.nn.modules.rnn.LSTM, .*state_dict\(\)"):
        from_torch(tmp_path / "module.pt")


def test_file_that_is_not_a_state_dict(tmp_path: Path) -> None:
    torch.save([torch.zeros(3)], tmp_path / "list.pt")
    with pytest.raises(ConfigError, match=r"must hold a state_dict .*not list"):
        from_torch(tmp_path / "list.pt")


def test_truncated_text_and_missing_files(tmp_path: Path) -> None:
    good = tmp_path / "good.pt"
    torch.save(nn.LSTM(2, 3).state_dict(), good)
    data = good.read_bytes()
    (tmp_path / "cut.pt").write_bytes(data[: len(data) // 2])
    (tmp_path / "text.pt").write_text("weight_ih_l0 = [[1, 2]]\n")
    for name in ("cut.pt", "text.pt"):
        with pytest.raises(ConfigError, match=rf"{name} is not a readable torch.save file"):
            from_torch(tmp_path / name)
    with pytest.raises(ConfigError, match=r"nothere.pt does not exist"):
        from_torch(tmp_path / "nothere.pt")


def _state(**changes: Any) -> dict[str, Any]:
    state = dict(nn.LSTM(3, 4, num_layers=2, bidirectional=True).state_dict())
    for key, value in changes.items():
        if value is None:
            del state[key]
        else:
            state[key] = value
    return state


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"weight_hh_l0": torch.zeros(16, 5)}, r"weight_hh_l0 must have shape \[16, 4\] without"),
        ({"weight_hh_l0": torch.zeros(15, 4)}, r"weight_hh_l0 must have shape \[4\*hidden_size"),
        ({"weight_ih_l1": torch.zeros(16, 4)}, r"weight_ih_l1 must have shape \[16, 8\], not"),
        ({"weight_hh_l1_reverse": torch.zeros(12, 3)}, r"weight_hh_l1_reverse must have shape"),
        ({"bias_ih_l0": torch.zeros(15)}, r"bias_ih_l0 must have shape \[16\], not \[15\]"),
        ({"bias_hh_l1": None}, r"missing bias_hh_l1 \(an nn.LSTM with 2 layers and 2 dir"),
        ({"weight_ih_l0_reverse": None}, r"missing weight_ih_l0_reverse"),
        ({"weight_hr_l1": torch.zeros(2, 4)}, r"missing weight_hr_l0"),
        ({"weight_ih_l0": torch.zeros(16, 3, dtype=torch.int64)}, r"floating-point tensor"),
        ({"weight_ih_l0": "oops"}, r"weight_ih_l0 must have shape \[4\*hidden_size, input"),
    ],
)
def test_inconsistent_state_dicts(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        from_torch(_state(**changes))


def test_bad_source_and_missing_torch(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match=r"source must be an nn.Module, .*not int"):
        from_torch(3)
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(ConfigError, match=r"needs PyTorch \(torch>=2.1\)"):
        from_torch({})


def test_a_missing_pytorch_says_how_to_install_it_without_cuda(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch -> ImportError
    with pytest.raises(ConfigError) as info:
        from_torch(tmp_path / "lstm.pt")
    text = str(info.value)
    assert "pip install -e '.[torch]'" in text  # a source checkout
    assert "CPU-only build" in text and "CUDA" in text


# ---- resource limits before work (issue 9) ----------------------------------------------


def _renumbered(old: str, new: str) -> dict[str, Any]:
    return {k.replace(old, new): v for k, v in _state().items()}


@pytest.mark.parametrize(
    ("state", "message"),
    [
        # one key at index 10**9 - 1: never a loop over 10**9 layers
        ({**_state(), "weight_ih_l999999999": torch.zeros(16, 8)},
         r"weight_ih_l999999999: layer index 999999999 follows layer 1; .* layer 2 is missing"),
        (_renumbered("_l1", "_l2"), r"weight_ih_l2: layer index 2 follows layer 0; .* layer 1 is"),
        (_renumbered("_l0", "_l7"), r"weight_ih_l1: layer index 1 follows no layer 0; .*layer 0"),
        ({**_state(), "weight_ih_l" + "9" * 5000: torch.zeros(16, 8)},
         r"weight_ih_l9{29}\.\.\.9{20}: layer index of 5000 digits"),
    ],
)  # fmt: skip
def test_layer_indices_with_gaps_are_refused_naming_the_key(
    state: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        from_torch(state)


@pytest.mark.parametrize(
    ("key", "tensor"),
    [
        ("weight_hh_l0", torch.zeros(1, 1).expand(4 * 10**6, 10**6)),  # 4e12 elements, 8 bytes
        ("weight_ih_l1", torch.zeros(1, 1).expand(16, 10**10)),  # a wrong shape, and absurd
        ("fc.weight", torch.zeros(1, 1).expand(10**6, 10**5)),  # a head of 10**11 elements
    ],
)
def test_tensors_of_absurd_declared_shape_are_refused_before_conversion(
    key: str, tensor: Any
) -> None:
    import tracemalloc

    tracemalloc.start()
    try:
        with pytest.raises(ConfigError, match=rf"state_dict {key} declares shape \[.*2\*\*31"):
            from_torch({**_state(), key: tensor})
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20
