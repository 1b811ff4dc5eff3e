"""Unit tests for ``epur.workload.zoo``: the paper's four networks against the shared benchmarks.

The reference is the project's ``shared/benchmarks/networks.json``, copied verbatim to
``tests/data/benchmarks`` (``tests/data/PROVENANCE.md``) so that a clone tests alone. The
package ships its own verbatim copy in ``epur/workload/data``; where the shared folder sits
beside the repository, the tests' copy is also checked against it.
"""

from __future__ import annotations

import json
import re
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from epur.errors import ConfigError
from epur.workload.network import LSTMLayer
from epur.workload.zoo import ZOO_NAMES, zoo_network, zoo_record

REFERENCE = Path(__file__).resolve().parents[1] / "data" / "benchmarks"
SHARED = Path(__file__).resolve().parents[3] / "shared" / "benchmarks"
PACKAGED = resources.files("epur.workload").joinpath("data")


def _records() -> list[dict[str, Any]]:
    return json.loads((REFERENCE / "networks.json").read_text("utf-8"))


RECORDS = {rec["name"]: rec for rec in _records()}


def readme_params(spec: dict[str, Any]) -> int:
    """README: one LSTM direction = 4*H*(in + rec) + 4*H (+ 3*H peepholes) (+ H*P projection)."""
    h, i, p = spec["hidden"], spec["input"], spec["projection"]
    rec = p if p is not None else h
    per_direction = 4 * h * (i + rec) + 4 * h
    per_direction += 3 * h if spec["peephole"] else 0
    per_direction += h * p if p is not None else 0
    return (2 if spec["bidirectional"] else 1) * per_direction


def test_zoo_names_are_the_benchmarks() -> None:
    assert set(ZOO_NAMES) == {name.lower() for name in RECORDS}
    assert len(ZOO_NAMES) == 4


@pytest.mark.parametrize("name", sorted(RECORDS))
def test_parameter_count_matches_lstm_params(name: str) -> None:
    rec = RECORDS[name]
    network = zoo_network(name.lower())
    assert network.name == name
    assert network.parameter_count() == rec["lstm_params"]
    # the recorded total is itself the README formula over the recorded layers
    assert sum(readme_params(spec) for spec in rec["layers"]) == rec["lstm_params"]
    # and the recorded FP16 size is 2 bytes per parameter, in 10^6 bytes
    assert round(rec["lstm_params"] * 2 / 1e6, 2) == rec["size_mb_fp16"]


@pytest.mark.parametrize("name", sorted(RECORDS))
def test_layers_follow_the_record(name: str) -> None:
    rec = RECORDS[name]
    layers = [layer for _, layer in zoo_network(name).layers()]
    assert len(layers) == len(rec["layers"])
    for layer, spec in zip(layers, rec["layers"], strict=True):
        assert isinstance(layer, LSTMLayer)
        assert layer.input_size == spec["input"]
        assert layer.hidden_size == spec["hidden"]
        assert layer.bidirectional == spec["bidirectional"]
        assert layer.peepholes == spec["peephole"]
        assert layer.projection_size == spec["projection"]
        assert layer.residual == spec["residual"]


@pytest.mark.parametrize("name", sorted(RECORDS))
def test_one_way_layer_count_is_epurs(name: str) -> None:
    # E-PUR counts the forward and backward passes of a bidirectional layer separately
    network = zoo_network(name)
    assert (
        sum(layer.directions for _, layer in network.layers()) == RECORDS[name]["epur_layer_count"]
    )


# README summary table, "MACs per time step (all LSTM layers)", in millions (rounded there).
README_MACS_M = {"EESEN": [10.96], "BYSDNE": [11.53], "RLDRADSPR": [45.42], "GMAT": [79.7, 100.7]}


@pytest.mark.parametrize("name", sorted(README_MACS_M))
def test_macs_per_step_match_readme(name: str) -> None:
    network = zoo_network(name)
    for stack, expected in zip(network.stacks, README_MACS_M[name], strict=True):
        macs = sum(layer.macs_per_step() for layer in stack.layers)
        digits = len(str(expected).split(".")[1])
        assert round(macs / 1e6, digits) == expected


def test_gmat_encoder_and_decoder() -> None:
    gmat = zoo_network("gmat")
    rec = RECORDS["GMAT"]
    encoder, decoder = gmat.stacks
    assert (encoder.name, encoder.seq_len, len(encoder.layers)) == ("encoder", 27, 8)
    assert (decoder.name, decoder.seq_len, len(decoder.layers)) == ("decoder", 28, 8)
    assert (rec["seq_len"], rec["seq_len_decoder"]) == (27, 28)
    assert not encoder.autoregressive
    assert decoder.autoregressive
    assert gmat.is_autoregressive
    assert [layer.bidirectional for layer in encoder.layers] == [True] + [False] * 7
    assert not any(layer.bidirectional for layer in decoder.layers)
    # every decoder layer reads 1024 from below plus the 1024-wide attention context
    assert all(layer.input_size == 2048 for layer in decoder.layers)


@pytest.mark.parametrize("name", ["EESEN", "BYSDNE", "RLDRADSPR"])
def test_single_stack_networks(name: str) -> None:
    network = zoo_network(name)
    assert len(network.stacks) == 1
    stack = network.stacks[0]
    assert stack.seq_len == RECORDS[name]["seq_len"]
    assert not stack.autoregressive and not network.is_autoregressive
    assert network.batch == 1


@pytest.mark.parametrize("name", ["EESEN", "RLDRADSPR"])
def test_speech_networks_have_a_10_ms_frame_period(name: str) -> None:
    rec = RECORDS[name]
    assert rec["frame_rate_ms"] * rec["frame_subsampling"] == 10
    assert zoo_network(name).frame_period_s == pytest.approx(0.010)


@pytest.mark.parametrize("name", ["GMAT", "BYSDNE"])
def test_other_networks_have_no_frame_period(name: str) -> None:
    assert zoo_network(name).frame_period_s is None


@pytest.mark.parametrize("spelling", ["eesen", "EESEN", "Eesen"])
def test_names_are_case_insensitive(spelling: str) -> None:
    assert zoo_network(spelling) == zoo_network("eesen")
    assert zoo_record(spelling)["name"] == "EESEN"


def test_record_is_the_raw_json() -> None:
    assert zoo_record("bysdne") == RECORDS["BYSDNE"]


@pytest.mark.parametrize("name", ["gnmt", "", "eesen2", "networks.json"])
def test_unknown_name_lists_the_allowed_names(name: str) -> None:
    message = (
        r"^network must be one of eesen, gmat, bysdne, rldradspr or a file, "
        rf"not {re.escape(repr(name))}$"
    )
    with pytest.raises(ConfigError, match=message):
        zoo_network(name)
    with pytest.raises(ConfigError, match=message):
        zoo_record(name)


@pytest.mark.parametrize(
    ("packaged", "shared"), [("networks.json", "networks.json"), ("PROVENANCE.md", "README.md")]
)
def test_packaged_data_is_a_verbatim_copy(packaged: str, shared: str) -> None:
    reference = (REFERENCE / shared).read_bytes()
    assert PACKAGED.joinpath(packaged).read_bytes() == reference
    if SHARED.is_dir():  # beside the repository on the project's machines, not in CI
        assert (SHARED / shared).read_bytes() == reference, "tests/data is out of date"
