"""``epur run`` as a user runs it: outputs, error report, bad inputs."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import onnx
import pytest

from epur.cli import main
from tests.unit.test_workload_importers_onnx import _lstm_model, _ort_run

torch = pytest.importorskip("torch")

NET = "schema_version: 1\nname: n\nseq_len: 4\nlayers:\n  - {type: lstm, input: 3, hidden: 5}\n"


def call(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_run_torch_state_dict(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    torch.manual_seed(0)
    module = torch.nn.LSTM(4, 6, num_layers=2, bidirectional=True)
    torch.save(module.state_dict(), tmp_path / "m.pt")
    x = np.random.default_rng(0).standard_normal((9, 4)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    code, text, err = call(capsys, "run", "--torch", str(tmp_path / "m.pt"), "--input",
                           str(tmp_path / "x.npy"), "--format", "fp16", "--out",
                           str(tmp_path / "y.npz"))  # fmt: skip
    assert (code, err) == (0, "")
    out = np.load(tmp_path / "y.npz")
    assert out["y"].shape == (9, 1, 12)
    assert out["h_n"].shape == out["c_n"].shape == (4, 1, 6)
    with torch.no_grad():
        y, _ = module(torch.from_numpy(x)[:, None])
    assert np.abs(out["y"] - y.numpy()).max() < 1e-2  # fp16 storage
    assert "relative" in text and "L2" in text


def test_run_onnx_keys_outputs_by_name(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model, feeds = _lstm_model("bidirectional", peepholes=True, seq_lens=True)
    onnx.save(model, tmp_path / "m.onnx")
    np.savez(tmp_path / "x.npz", **feeds)
    code, _, err = call(capsys, "run", "--onnx", str(tmp_path / "m.onnx"), "--input",
                        str(tmp_path / "x.npz"), "--out", str(tmp_path / "y.npz"),
                        "--format", "fp32", "--dataflow", "mwl")  # fmt: skip
    assert (code, err) == (0, "")
    out = np.load(tmp_path / "y.npz")
    expected = _ort_run(model, feeds)
    assert sorted(out.files) == sorted(expected)
    for name, value in expected.items():
        assert np.abs(out[name] - value).max() <= 1e-5 * np.abs(value).max()


def test_run_network_file_with_random_weights(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "n.yaml").write_text(NET)
    np.save(tmp_path / "x.npy", np.ones((4, 2, 3)))
    args = [
        "run",
        "--network",
        str(tmp_path / "n.yaml"),
        "--input",
        str(tmp_path / "x.npy"),
        "--out",
        str(tmp_path / "y.npz"),
        "--format",
        "q8.8",
        "--activation",
        "pwl16",
    ]
    assert call(capsys, *args)[0] == 0
    first = np.load(tmp_path / "y.npz")["y"]
    assert call(capsys, *args)[0] == 0
    assert np.array_equal(first, np.load(tmp_path / "y.npz")["y"])  # seeded: reproducible


def _bad_inputs(tmp_path: Path) -> list[tuple[list[str], str]]:
    (tmp_path / "n.yaml").write_text(NET)
    np.save(tmp_path / "wide.npy", np.ones((4, 7)))
    np.save(tmp_path / "nan.npy", np.array([[np.nan, 0, 0]] * 4))
    np.save(tmp_path / "text.npy", np.array([["a", "b", "c"]] * 4))
    (tmp_path / "broken.onnx").write_bytes(b"\x08\x07garbage")
    (tmp_path / "text.onnx").write_text("not a model")
    (tmp_path / "trunc.npy").write_bytes(b"\x93NUMPY\x01\x00")
    ok = np.ones((4, 3))
    np.save(tmp_path / "ok.npy", ok)
    net = ["--network", str(tmp_path / "n.yaml")]
    return [
        ([*net, "--input", str(tmp_path / "wide.npy")], r"must have 3 features per step"),
        ([*net, "--input", str(tmp_path / "nan.npy")], r"NaN or Inf"),
        ([*net, "--input", str(tmp_path / "text.npy")], r"real numbers, not dtype"),
        ([*net, "--input", str(tmp_path / "trunc.npy")], r"not a readable numpy file"),
        ([*net, "--input", str(tmp_path / "x.csv")], r"must be a \.npy or \.npz file"),
        ([*net, "--input", str(tmp_path / "ok.npy"), "--format", "fp8"], r"number format"),
        ([*net, "--input", str(tmp_path / "ok.npy"), "--activation", "spline"], r"activation"),
        (["--onnx", str(tmp_path / "broken.onnx"), "--input", str(tmp_path / "ok.npy")],
         r"not a valid ONNX model"),
        (["--onnx", str(tmp_path / "text.onnx"), "--input", str(tmp_path / "ok.npy")],
         r"not a valid ONNX model"),
        (["--torch", str(tmp_path / "broken.onnx"), "--input", str(tmp_path / "ok.npy")], r"."),
    ]  # fmt: skip


def test_bad_input_is_one_line_exit_2_and_no_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for argv, pattern in _bad_inputs(tmp_path):
        out = tmp_path / "y.npz"
        code, _, err = call(capsys, "run", *argv, "--out", str(out))
        assert code == 2, argv
        assert err.count("\n") == 1 and "Traceback" not in err, err
        assert re.search(pattern, err), (argv, err)
        assert not out.exists()


def test_activation_the_accumulator_cannot_hold_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "n.yaml").write_text(NET)
    np.save(tmp_path / "x.npy", np.ones((4, 3)))
    code, _, err = call(capsys, "run", "--network", str(tmp_path / "n.yaml"), "--input",
                        str(tmp_path / "x.npy"), "--activation", "pwl100", "--out",
                        str(tmp_path / "y.npz"))  # fmt: skip
    assert code == 2 and "mfu.activation pwl100 cannot be built" in err
    assert not (tmp_path / "y.npz").exists()
