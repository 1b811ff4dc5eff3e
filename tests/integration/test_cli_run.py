"""``epur run`` as a user runs it: outputs, error report, bad inputs."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

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


def _fp32_close(ours: np.ndarray, theirs: np.ndarray) -> None:
    assert ours.shape == theirs.shape
    assert np.abs(ours - theirs).max() <= 1e-5 * max(np.abs(theirs).max(), 1e-3)


class _Tagger(torch.nn.Module):  # type: ignore[misc]
    def __init__(self, batch_first: bool) -> None:
        super().__init__()
        self.lstm = torch.nn.LSTM(4, 6, num_layers=2, bidirectional=True, batch_first=batch_first)
        self.head = torch.nn.Linear(12, 3)

    def forward(self, x: Any) -> Any:
        y, state = self.lstm(x)
        return self.head(y), state


@pytest.mark.parametrize("batch_first", [False, True])
def test_run_torch_head_and_batch_first_match_torch(
    batch_first: bool, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    torch.manual_seed(1)
    module = _Tagger(batch_first).eval()
    torch.save(module.state_dict(), tmp_path / "m.pt")
    x = np.random.default_rng(2).standard_normal((2, 7, 4) if batch_first else (7, 2, 4))
    np.save(tmp_path / "x.npy", x.astype(np.float32))
    flag = ["--batch-first"] if batch_first else []
    code, text, err = call(capsys, "run", "--torch", str(tmp_path / "m.pt"), *flag, "--input",
                           str(tmp_path / "x.npy"), "--format", "fp32", "--out",
                           str(tmp_path / "y.npz"))  # fmt: skip
    assert (code, err) == (0, "")
    out = np.load(tmp_path / "y.npz")
    with torch.no_grad():
        y, (h_n, c_n) = module(torch.from_numpy(x.astype(np.float32)))
    _fp32_close(out["y"], y.numpy())
    _fp32_close(out["h_n"], h_n.numpy())  # [4, B, 6] in both layouts
    _fp32_close(out["c_n"], c_n.numpy())
    assert "head " in text  # the head's error is reported


def test_run_zoo_network_from_npy_and_npz(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    x = np.random.default_rng(3).standard_normal((3, 120))
    np.save(tmp_path / "x.npy", x)
    np.savez(tmp_path / "x.npz", main=x)
    outputs = []
    for name in ("x.npy", "x.npz"):
        code, text, err = call(capsys, "run", "--network", "eesen", "--input",
                               str(tmp_path / name), "--out", str(tmp_path / "y.npz"))  # fmt: skip
        assert (code, err) == (0, ""), err
        assert "L5 " in text
        outputs.append(np.load(tmp_path / "y.npz")["y"])
    assert outputs[0].shape == (3, 1, 640)
    assert np.array_equal(outputs[0], outputs[1])


def test_run_network_of_two_stacks_from_npz(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = np.random.default_rng(4)
    feeds = {"encoder": rng.standard_normal((3, 256)), "decoder": rng.standard_normal((2, 512)),
             "L4.external_in": rng.standard_normal((2, 256))}  # fmt: skip
    np.savez(tmp_path / "in.npz", **feeds)
    seq2seq = str(Path(__file__).resolve().parents[2] / "examples" / "seq2seq.toml")
    code, text, err = call(capsys, "run", "--network", seq2seq, "--input",
                           str(tmp_path / "in.npz"), "--out", str(tmp_path / "y.npz"))  # fmt: skip
    assert (code, err) == (0, ""), err
    assert np.load(tmp_path / "y.npz")["y"].shape == (2, 1, 256)
    assert "L4 " in text
    del feeds["L4.external_in"]
    np.savez(tmp_path / "in.npz", **feeds, extra=np.ones(3))
    code, _, err = call(capsys, "run", "--network", seq2seq, "--input", str(tmp_path / "in.npz"),
                        "--out", str(tmp_path / "z.npz"))  # fmt: skip
    assert code == 2 and err.count("\n") == 1
    assert "missing ['L4.external_in'], unknown ['extra']" in err
    assert not (tmp_path / "z.npz").exists()


def test_run_onnx_one_sequence_npy(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model, feeds = _lstm_model("forward")
    model.graph.input[0].type.tensor_type.shape.dim[1].dim_param = "b"
    for value in model.graph.output:
        value.type.tensor_type.shape.dim[2 if value.name == "Y" else 1].dim_param = "b"
    onnx.save(model, tmp_path / "m.onnx")
    x = feeds["X"][:, 1]  # [T, I]
    np.save(tmp_path / "x.npy", x)
    code, _, err = call(capsys, "run", "--onnx", str(tmp_path / "m.onnx"), "--input",
                        str(tmp_path / "x.npy"), "--format", "fp32", "--out",
                        str(tmp_path / "y.npz"))  # fmt: skip
    assert (code, err) == (0, "")
    out = np.load(tmp_path / "y.npz")
    for name, value in _ort_run(model, {"X": x[:, None]}).items():
        _fp32_close(out[name], value)


def test_progress_goes_to_stderr_on_long_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from epur.cli import run as run_command

    (tmp_path / "n.yaml").write_text(NET)
    np.save(tmp_path / "x.npy", np.ones((4, 3)))
    argv = ["run", "--network", str(tmp_path / "n.yaml"), "--input", str(tmp_path / "x.npy"),
            "--out", str(tmp_path / "y.npz")]  # fmt: skip
    assert call(capsys, *argv)[::2] == (0, "")  # a short run: nothing on stderr
    monkeypatch.setattr(run_command, "PROGRESS_AFTER_S", 0.0)
    code, out, err = call(capsys, *argv)
    assert code == 0 and "layer" not in out
    assert re.fullmatch(r"epur run: +\d+\.\d s  layer 1/1 L1 \(LSTM 5\)\n", err), err


def test_model_mistakes_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model, feeds = _lstm_model()
    onnx.save(model, tmp_path / "m.onnx")
    np.save(tmp_path / "x.npy", feeds["X"])
    torch.save(torch.nn.GRU(3, 4).state_dict(), tmp_path / "gru.pt")
    cases = [
        (["--onnx", str(tmp_path / "m.onnx"), "--batch-first"], r"--batch-first applies to"),
        (["--torch", str(tmp_path / "gru.pt")], r"GRU is not supported: .*weight_hh_l0"),
    ]
    for argv, pattern in cases:
        code, _, err = call(capsys, "run", *argv, "--input", str(tmp_path / "x.npy"), "--out",
                            str(tmp_path / "y.npz"))  # fmt: skip
        assert code == 2 and err.count("\n") == 1 and re.search(pattern, err), err


def test_run_reports_the_datapath_and_reference_times_and_takes_threads(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "n.yaml").write_text(NET)
    np.save(tmp_path / "x.npy", np.random.default_rng(0).standard_normal((4, 3)))
    outs = []
    for n in ("1", "2"):
        argv = ["run", "--network", str(tmp_path / "n.yaml"), "--input", str(tmp_path / "x.npy"),
                "--threads", n, "--out", str(tmp_path / f"y{n}.npz")]  # fmt: skip
        code, out, err = call(capsys, *argv)
        assert (code, err) == (0, "")
        assert re.search(r"^datapath \d+\.\d\d s, float64 reference \d+\.\d\d s$", out, re.M), out
        outs.append(np.load(tmp_path / f"y{n}.npz"))
    for name in outs[0].files:
        assert np.array_equal(outs[0][name], outs[1][name])


@pytest.mark.parametrize("bad", ["0", "257", "two", "-3"])
def test_a_bad_thread_count_is_one_line_naming_threads(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], bad: str
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["run", "--network", "eesen", "--input", "x.npy", "--threads", bad, "--out",
              str(tmp_path / "y.npz")])  # fmt: skip
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and err.count("\n") == 1, err
    assert "--threads" in err and "from 1 to 256" in err, err


def test_progress_on_a_terminal_is_one_bar_redrawn_in_place(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    (tmp_path / "n.yaml").write_text(NET)
    np.save(tmp_path / "x.npy", np.ones((4, 3)))
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    code, out, err = call(capsys, "run", "--network", str(tmp_path / "n.yaml"), "--input",
                          str(tmp_path / "x.npy"), "--out", str(tmp_path / "y.npz"))  # fmt: skip
    assert code == 0 and "layer" not in out
    assert err.startswith("\r") and err.endswith("\n") and err.count("\n") == 1, repr(err)
    assert re.search(r"\[#{30}\] 100%  layer 1/1 L1 \(LSTM 5\) *\n$", err), repr(err)
