"""Unit tests for ``epur.workload.loader`` and ``epur._files.read_mapping``.

Files are written to ``tmp_path``; every bad input must raise one single-line ``ConfigError``
that names the file, the field path, the value and what is allowed.
"""

from __future__ import annotations

import errno
import os
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from epur._files import read_mapping
from epur.errors import ConfigError
from epur.workload import load_network, network_from_dict
from epur.workload.network import Activation, FCLayer, LSTMLayer, Network, Stack

SINGLE_YAML = """\
schema_version: 1
name: tiny
description: a small test network
batch: 2
frame_period_ms: 10
seq_len: 5
layers:
  - {type: lstm, input: 6, hidden: 4, bidirectional: true, peepholes: true}
  - {type: lstm, input: 8, hidden: 4, projection: 2, name: proj}
  - {type: fc, input: 2, output: 3, activation: relu}
"""

SINGLE_TOML = """\
schema_version = 1
name = "tiny"
description = "a small test network"
batch = 2
frame_period_ms = 10
seq_len = 5

[[layers]]
type = "lstm"
input = 6
hidden = 4
bidirectional = true
peepholes = true

[[layers]]
type = "lstm"
input = 8
hidden = 4
projection = 2
name = "proj"

[[layers]]
type = "fc"
input = 2
output = 3
activation = "relu"
"""

SINGLE_EXPECTED = Network(
    name="tiny",
    stacks=(
        Stack(
            "main",
            5,
            (
                LSTMLayer(6, 4, bidirectional=True, peepholes=True),
                LSTMLayer(8, 4, projection_size=2, name="proj"),
                FCLayer(2, 3, Activation.RELU),
            ),
        ),
    ),
    batch=2,
    frame_period_s=0.010,
    description="a small test network",
)

MULTI_YAML = """\
name: s2s
stacks:
  - name: encoder
    seq_len: 6
    layers:
      - {type: lstm, input: 8, hidden: 4, bidirectional: true}
      - {type: lstm, input: 8, hidden: 4}
  - name: decoder
    seq_len: 7
    autoregressive: true
    layers:
      - {type: lstm, input: 12, hidden: 4}
      - {type: lstm, input: 12, hidden: 4, residual: true}
"""

MULTI_TOML = """\
name = "s2s"

[[stacks]]
name = "encoder"
seq_len = 6

[[stacks.layers]]
type = "lstm"
input = 8
hidden = 4
bidirectional = true

[[stacks.layers]]
type = "lstm"
input = 8
hidden = 4

[[stacks]]
name = "decoder"
seq_len = 7
autoregressive = true

[[stacks.layers]]
type = "lstm"
input = 12
hidden = 4

[[stacks.layers]]
type = "lstm"
input = 12
hidden = 4
residual = true
"""

MULTI_EXPECTED = Network(
    name="s2s",
    stacks=(
        Stack("encoder", 6, (LSTMLayer(8, 4, bidirectional=True), LSTMLayer(8, 4))),
        Stack(
            "decoder",
            7,
            (LSTMLayer(12, 4), LSTMLayer(12, 4, residual=True)),
            autoregressive=True,
        ),
    ),
)


def write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def raises_config(message: str) -> Any:
    """``pytest.raises(ConfigError, match=message)``."""
    return pytest.raises(ConfigError, match=message)


def one_line(excinfo: pytest.ExceptionInfo[ConfigError]) -> None:
    text = str(excinfo.value)
    assert "\n" not in text and text == text.strip()


# ---- good files -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "text"),
    [("net.yaml", SINGLE_YAML), ("net.yml", SINGLE_YAML), ("net.toml", SINGLE_TOML)],
)
def test_single_stack_file(tmp_path: Path, name: str, text: str) -> None:
    network = load_network(write(tmp_path, name, text))
    assert network == SINGLE_EXPECTED
    assert network.frame_period_s == pytest.approx(10 / 1000)
    assert not network.is_autoregressive
    assert network.stacks[0].name == "main"


@pytest.mark.parametrize(("name", "text"), [("net.yaml", MULTI_YAML), ("net.toml", MULTI_TOML)])
def test_multi_stack_file(tmp_path: Path, name: str, text: str) -> None:
    network = load_network(str(write(tmp_path, name, text)))  # a str path works too
    assert network == MULTI_EXPECTED
    assert network.is_autoregressive
    assert [s.autoregressive for s in network.stacks] == [False, True]
    assert network.batch == 1 and network.frame_period_s is None


def test_defaults_of_a_minimal_file(tmp_path: Path) -> None:
    path = write(
        tmp_path, "m.yaml", "name: m\nseq_len: 1\nlayers: [{type: lstm, input: 1, hidden: 1}]\n"
    )
    network = load_network(path)
    layer = network.stacks[0].layers[0]
    assert layer == LSTMLayer(1, 1)
    assert not (layer.bidirectional or layer.peepholes or layer.residual)
    assert layer.projection_size is None
    assert network.batch == 1 and network.frame_period_s is None and network.description == ""


def test_fc_activation_default(tmp_path: Path) -> None:
    network = network_from_dict(
        {"name": "f", "seq_len": 2, "layers": [{"type": "fc", "input": 3, "output": 2}]}
    )
    assert network.stacks[0].layers[0] == FCLayer(3, 2, Activation.NONE)


# ---- bad content ----------------------------------------------------------------------------


def _lstm(**kw: Any) -> dict[str, Any]:
    return {"type": "lstm", "input": 4, "hidden": 8, **kw}


def _single(layers: Any, **top: Any) -> dict[str, Any]:
    return {"name": "n", "seq_len": 5, "layers": layers, **top}


BAD_SINGLE = [
    # (id, mapping, message after "<file>: ")
    (
        "negative size",
        _single([_lstm(), _lstm(input=8, hidden=-3)]),
        r"layers\[1\]\.hidden: must be greater than 0, not -3",
    ),
    ("zero size", _single([_lstm(input=0)]), r"layers\[0\]\.input: must be greater than 0, not 0"),
    ("zero seq_len", _single([_lstm()], seq_len=0), r"seq_len: must be greater than 0, not 0"),
    ("zero batch", _single([_lstm()], batch=0), r"batch: must be greater than 0, not 0"),
    (
        "zero projection",
        _single([_lstm(projection=0)]),
        r"layers\[0\]\.projection: must be greater than 0, not 0",
    ),
    ("unknown layer field", _single([_lstm(cells=8)]), r"layers\[0\]\.cells: unknown field"),
    ("unknown top field", _single([_lstm()], batch_size=1), r"batch_size: unknown field"),
    (
        "missing layer field",
        _single([{"type": "lstm", "input": 4}]),
        r"layers\[0\]\.hidden: required field is missing",
    ),
    (
        "missing name",
        {"seq_len": 5, "layers": [_lstm()]},
        r"name: required field is missing",
    ),
    (
        "string for int",
        _single([_lstm(), _lstm(input=8, hidden="8")]),
        r"layers\[1\]\.hidden: must be a valid integer, not '8'",
    ),
    (
        "bool for int",
        _single([_lstm(hidden=True)]),
        r"layers\[0\]\.hidden: must be a valid integer, not True",
    ),
    (
        "float for int",
        _single([_lstm(hidden=8.5)]),
        r"layers\[0\]\.hidden: must be a valid integer, not 8\.5",
    ),
    (
        "unknown layer type",
        _single([_lstm(), {"type": "gru", "input": 8, "hidden": 8}]),
        r"layers\[1\]: .*'gru'.*'lstm', 'fc'",
    ),
    (
        "unknown activation",
        _single([{"type": "fc", "input": 4, "output": 2, "activation": "softmax"}]),
        r"layers\[0\]\.activation: must be 'none', 'relu', 'sigmoid' or 'tanh', not 'softmax'",
    ),
    (
        "both forms",
        {**_single([_lstm()]), "stacks": [{"seq_len": 3, "layers": [_lstm()]}]},
        r"\(top level\): give either 'stacks' or 'seq_len' and 'layers', not both",
    ),
    (
        "stacks and seq_len",
        {"name": "n", "seq_len": 3, "stacks": [{"seq_len": 3, "layers": [_lstm()]}]},
        r"\(top level\): give either 'stacks' or 'seq_len' and 'layers', not both",
    ),
    (
        "neither form",
        {"name": "n"},
        r"\(top level\): give 'seq_len' and 'layers' \(or 'stacks'\)",
    ),
    (
        "layers without seq_len",
        {"name": "n", "layers": [_lstm()]},
        r"\(top level\): give 'seq_len' and 'layers' \(or 'stacks'\)",
    ),
    (
        "schema version",
        _single([_lstm()], schema_version=2),
        r"schema_version: must be 1, not 2",
    ),
    (
        "negative frame period",
        _single([_lstm()], frame_period_ms=-10),
        r"frame_period_ms: must be greater than 0, not -10",
    ),
    (
        "residual mismatch",
        _single([_lstm(), _lstm(input=8, hidden=4, residual=True)]),
        r"layers\[1\]\.residual needs the layer's output size \(4\) to equal the size of its "
        r"input from below \(8\)",
    ),
    (
        "residual mismatch on first layer",
        _single([_lstm(residual=True)]),
        r"layers\[0\]\.residual needs the layer's output size \(8\) to equal the size of its "
        r"input from below \(4\)",
    ),
    (
        "input smaller than layer below",
        _single([_lstm(bidirectional=True), _lstm(input=8)]),
        r"layers\[1\]\.input must be at least the output size of the layer below \(16\), not 8",
    ),
    (
        "fc input smaller than layer below",
        _single([_lstm(), {"type": "fc", "input": 7, "output": 2}]),
        r"layers\[1\]\.input must be at least the output size of the layer below \(8\), not 7",
    ),
    (
        "layer not a mapping",
        _single([5]),
        r"layers\[0\]: must be a valid dictionary or object to extract fields from, not 5",
    ),
]


@pytest.mark.parametrize(
    ("data", "message"), [case[1:] for case in BAD_SINGLE], ids=[case[0] for case in BAD_SINGLE]
)
def test_bad_single_stack_yaml(tmp_path: Path, data: dict[str, Any], message: str) -> None:
    path = write(tmp_path, "bad.yaml", yaml.safe_dump(data))
    with raises_config(rf"^{re.escape(str(path))}: {message}$") as excinfo:
        load_network(path)
    one_line(excinfo)


BAD_MULTI = [
    (
        "negative size in second stack",
        [{"seq_len": 3, "layers": [_lstm()]}, {"seq_len": 3, "layers": [_lstm(hidden=-1)]}],
        r"stacks\[1\]\.layers\[0\]\.hidden: must be greater than 0, not -1",
    ),
    (
        "missing seq_len",
        [{"layers": [_lstm()]}],
        r"stacks\[0\]\.seq_len: required field is missing",
    ),
    (
        "unknown stack field",
        [{"seq_len": 3, "steps": 3, "layers": [_lstm()]}],
        r"stacks\[0\]\.steps: unknown field",
    ),
    (
        "empty stack",
        [{"seq_len": 3, "layers": []}],
        r"stacks\[0\]\.layers: list should have at least 1 item after validation, not 0",
    ),
    (
        "input smaller than layer below",
        [{"seq_len": 3, "layers": [_lstm(), _lstm(input=2)]}],
        r"stacks\[0\]\.layers\[1\]\.input must be at least the output size of the layer below "
        r"\(8\), not 2",
    ),
    (
        "residual mismatch",
        [
            {"seq_len": 3, "layers": [_lstm()]},
            {"seq_len": 3, "layers": [_lstm(), _lstm(input=8, hidden=4, residual=True)]},
        ],
        r"stacks\[1\]\.layers\[1\]\.residual needs the layer's output size \(4\) to equal the "
        r"size of its input from below \(8\)",
    ),
]


@pytest.mark.parametrize(
    ("stacks", "message"), [case[1:] for case in BAD_MULTI], ids=[case[0] for case in BAD_MULTI]
)
def test_bad_multi_stack_yaml(tmp_path: Path, stacks: list[Any], message: str) -> None:
    path = write(tmp_path, "bad.yml", yaml.safe_dump({"name": "n", "stacks": stacks}))
    with raises_config(rf"^{re.escape(str(path))}: {message}$") as excinfo:
        load_network(path)
    one_line(excinfo)


def test_bad_toml_value_names_the_field(tmp_path: Path) -> None:
    text = SINGLE_TOML.replace("hidden = 4\nprojection = 2", 'hidden = "4"\nprojection = 2')
    path = write(tmp_path, "bad.toml", text)
    message = rf"^{re.escape(str(path))}: layers\[1\]\.hidden: must be a valid integer, not '4'$"
    with raises_config(message) as excinfo:
        load_network(path)
    one_line(excinfo)


def test_several_problems_are_counted(tmp_path: Path) -> None:
    data = _single([_lstm(input=-1, hidden=-2)])
    path = write(tmp_path, "two.yaml", yaml.safe_dump(data))
    message = (
        rf"^{re.escape(str(path))}: layers\[0\]\.input: must be greater than 0, not -1 "
        r"\(and 1 more problems\)$"
    )
    with raises_config(message):
        load_network(path)


# ---- every number: finite, in range, of its own kind ------------------------------------

BIG = 2**24 + 1
TOO_BIG = rf"must be less than or equal to 16777216, not {BIG}"
LIMITS = [
    # (id, YAML text after the header, message after "<file>: ")
    ("input 2**24+1", f"layers:\n  - {{type: lstm, input: {BIG}, hidden: 4}}\n",
     rf"layers\[0\]\.input: {TOO_BIG}"),
    ("hidden 2**24+1", f"layers:\n  - {{type: lstm, input: 4, hidden: {BIG}}}\n",
     rf"layers\[0\]\.hidden: {TOO_BIG}"),
    ("projection 2**24+1",
     f"layers:\n  - {{type: lstm, input: 4, hidden: 4, projection: {BIG}}}\n",
     rf"layers\[0\]\.projection: {TOO_BIG}"),
    ("fc output 2**24+1", f"layers:\n  - {{type: fc, input: 4, output: {BIG}}}\n",
     rf"layers\[0\]\.output: {TOO_BIG}"),
    ("hidden 1e9", "layers:\n  - {type: lstm, input: 4, hidden: 1000000000}\n",
     r"layers\[0\]\.hidden: must be less than or equal to 16777216, not 1000000000"),
    ("hidden .inf", "layers:\n  - {type: lstm, input: 4, hidden: .inf}\n",
     r"layers\[0\]\.hidden: must be a valid integer, not inf"),
    ("seq_len 2**24+1", f"seq_len: {BIG}\n", rf"seq_len: {TOO_BIG}"),
    ("batch 2**24+1", f"batch: {BIG}\n", rf"batch: {TOO_BIG}"),
    ("frame period .inf", "frame_period_ms: .inf\n",
     r"frame_period_ms: must be a finite number, not inf"),
    ("frame period .nan", "frame_period_ms: .nan\n",
     r"frame_period_ms: must be a finite number, not nan"),
    ("frame period 1.0e+999", "frame_period_ms: 1.0e+999\n",
     r"frame_period_ms: must be a finite number, not inf"),
    ("frame period true", "frame_period_ms: true\n",
     r"frame_period_ms: must be a valid number, not True"),
    ("frame period a string", "frame_period_ms: '10'\n",
     r"frame_period_ms: must be a valid number, not '10'"),
    ("frame period over an hour", "frame_period_ms: 3600001\n",
     r"frame_period_ms: must be less than or equal to 3600000, not 3600001"),
    ("schema version true", "schema_version: true\n",
     r"schema_version: must be 1 \(the only schema version\), not True"),
    ("schema version 1.0", "schema_version: 1.0\n",
     r"schema_version: must be 1 \(the only schema version\), not 1\.0"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "message"), [case[1:] for case in LIMITS], ids=[case[0] for case in LIMITS]
)
def test_numbers_out_of_range_or_kind(tmp_path: Path, text: str, message: str) -> None:
    """Each key given once: the case's line replaces the default one."""
    lines = {"name": "n", "seq_len": "5", "layers": "\n  - {type: lstm, input: 4, hidden: 4}"}
    key = text.partition(":")[0]
    body = "".join(f"{k}: {v}\n" for k, v in lines.items() if k != key) + text
    path = write(tmp_path, "limits.yaml", body)
    with raises_config(rf"^{re.escape(str(path))}: {message}$") as excinfo:
        load_network(path)
    one_line(excinfo)


@pytest.mark.parametrize(("stacks", "per_stack"), [(0, 50_000), (2, 5_001), (10_001, 1)])
def test_more_than_10000_layers_are_refused_at_once(stacks: int, per_stack: int) -> None:
    """Counted before any layer is validated (these are broken, and not reported); 10,000
    are allowed."""
    broken = [_lstm(input=0)] * per_stack
    if stacks:
        data = {"name": "n", "stacks": [{"seq_len": 2, "layers": broken}] * stacks}
    else:
        data = _single(broken)
    total = max(stacks, 1) * per_stack
    message = rf"^f\.yaml: layers must be at most 10000, all stacks together, not {total}$"
    with raises_config(message) as excinfo:
        network_from_dict(data, "f.yaml")
    one_line(excinfo)
    fine = network_from_dict(_single([_lstm(input=8)] * 10_000))
    assert fine.num_layers == 10_000


def test_a_file_of_too_many_layers_names_the_count(tmp_path: Path) -> None:
    layer = '[[layers]]\ntype = "lstm"\ninput = 8\nhidden = 8\n'
    path = write(tmp_path, "deep.toml", 'name = "n"\nseq_len = 2\n' + layer * 10_001)
    message = rf"^{re.escape(str(path))}: layers must be at most 10000, all stacks together, "
    with raises_config(message + r"not 10001$"):
        load_network(path)


def test_network_from_dict_default_source() -> None:
    with pytest.raises(ConfigError, match=r"^network: name: required field is missing$"):
        network_from_dict({"seq_len": 1, "layers": [_lstm()]})


def test_empty_single_stack_layers_is_a_config_error(tmp_path: Path) -> None:
    path = write(tmp_path, "empty.yaml", "name: n\nseq_len: 5\nlayers: []\n")
    with raises_config(rf"^{re.escape(str(path))}: layers: .*at least 1 item.*$") as excinfo:
        load_network(path)
    one_line(excinfo)


# ---- bad files (read_mapping) ---------------------------------------------------------------


def test_malformed_yaml(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.yaml", "name: n\nlayers:\n  - {type: lstm, input: [4\n")
    with raises_config(rf"^network file {re.escape(str(path))} is malformed: .+$") as excinfo:
        load_network(path)
    one_line(excinfo)
    assert excinfo.value.__cause__ is None and excinfo.value.__suppress_context__


def test_malformed_toml(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.toml", 'name = "n"\nseq_len = \n')
    with raises_config(rf"^network file {re.escape(str(path))} is malformed: .+$") as excinfo:
        load_network(path)
    one_line(excinfo)


@pytest.mark.parametrize(
    ("text", "kind"), [("- 1\n- 2\n", "list"), ("42\n", "int"), ("just text\n", "str")]
)
def test_top_level_not_a_mapping(tmp_path: Path, text: str, kind: str) -> None:
    path = write(tmp_path, "top.yaml", text)
    message = rf"^network file {re.escape(str(path))} must hold a mapping, not {kind}$"
    with raises_config(message) as excinfo:
        load_network(path)
    one_line(excinfo)


def test_empty_yaml_file(tmp_path: Path) -> None:
    path = write(tmp_path, "empty.yaml", "")
    with raises_config(rf"^network file {re.escape(str(path))} must hold a mapping, not \w+$"):
        load_network(path)


@pytest.mark.parametrize("suffix", [".json", ".txt", ""])
def test_wrong_suffix(tmp_path: Path, suffix: str) -> None:
    path = write(tmp_path, f"net{suffix}", "{}")
    message = (
        rf"^network file {re.escape(str(path))} must end in \.yaml, \.yml or \.toml, "
        rf"not {re.escape(repr(suffix))}$"
    )
    with raises_config(message) as excinfo:
        load_network(path)
    one_line(excinfo)


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.yaml"
    message = (
        rf"^cannot read network file {re.escape(str(path))}: "
        rf"{re.escape(os.strerror(errno.ENOENT))}$"
    )
    with raises_config(message) as excinfo:
        load_network(path)
    one_line(excinfo)


def test_directory_instead_of_file(tmp_path: Path) -> None:
    path = tmp_path / "dir.yaml"
    path.mkdir()
    message = rf"^cannot read network file {re.escape(str(path))}: .+$"
    with raises_config(message) as excinfo:
        load_network(path)
    one_line(excinfo)


def test_not_utf8(tmp_path: Path) -> None:
    path = write(tmp_path, "bin.yaml", b"name: \xff\xfe\n")
    with raises_config(rf"^network file {re.escape(str(path))} is not UTF-8 text$"):
        load_network(path)


@pytest.mark.parametrize("name", ["a.yaml", "a.yml", "a.YAML", "a.toml", "a.TOML"])
def test_read_mapping_suffixes(tmp_path: Path, name: str) -> None:
    text = 'x = 1\n[y]\nz = "w"\n' if name.lower().endswith(".toml") else "x: 1\ny: {z: w}\n"
    assert read_mapping(write(tmp_path, name, text), "thing") == {"x": 1, "y": {"z": "w"}}


def test_read_mapping_names_what(tmp_path: Path) -> None:
    path = write(tmp_path, "a.yaml", "[1, 2]\n")
    with pytest.raises(ConfigError, match=r"^architecture file .* must hold a mapping, not list$"):
        read_mapping(path, "architecture")
