"""``epur baseline`` as a user runs it: a tiny network on the CPU, its JSON and platform
file, the platform file in the Tegra-style model, and bad inputs (one line, exit 2)."""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from epur.baselines.measure_platform import load_platform
from epur.baselines.measured import load_measured_baseline
from epur.baselines.tegra_cudnn import evaluate_tegra
from epur.cli import main
from epur.workload import load_network

torch = pytest.importorskip("torch")

# two layers over 60 steps: about a millisecond a sequence, steady enough to fit
NET = (
    "schema_version: 1\nname: tiny\nseq_len: 60\nlayers:\n"
    "  - {type: lstm, input: 16, hidden: 32}\n"
    "  - {type: lstm, input: 32, hidden: 32, residual: true}\n"
    "  - {type: fc, input: 32, output: 4}\n"
)
FAST = ("--device", "cpu", "--repeats", "5", "--warmup", "1", "--threads", "1")


def call(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def measured(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One measurement of ``NET`` at batch 2 (JSON and platform file) for several tests."""
    d = tmp_path_factory.mktemp("baseline")
    (d / "net.yaml").write_text(NET)
    steady = ("--device", "cpu", "--repeats", "21", "--warmup", "2", "--threads", "1")
    code = main(["baseline", "--network", str(d / "net.yaml"), *steady, "--batch", "2",
                 "--json", str(d / "b.json"), "--platform-out", str(d / "p.json")])  # fmt: skip
    assert code == 0
    return d


def test_json_has_the_measured_fields(measured: Path) -> None:
    b = load_measured_baseline(measured / "b.json")
    raw = json.loads((measured / "b.json").read_text())
    assert raw["schema"] == "epur-baseline/1" and raw["measured"] is True
    assert (b.network, b.source, b.weights, b.dtype, b.batch) == ("tiny", "zoo", "random",
                                                                  "fp32", 2)  # fmt: skip
    assert b.device.kind == "cpu" and b.device.threads == 1
    assert b.latency_min_s <= b.latency_s <= b.latency_max_s
    assert b.steps == 60
    # 2 x 4H(I+H) per LSTM step + 2 x O x I for the FC, by hand
    assert b.flops_per_sequence == 60 * (2 * 128 * 48 + 2 * 128 * 64 + 2 * 4 * 32)
    assert b.weight_bytes_per_step == 4 * (128 * 48 + 128 + 128 * 64 + 128 + 4 * 33)
    assert b.achieved_flops == pytest.approx(b.flops_per_sequence / b.latency_s)
    assert b.energy_j is None or b.energy_j > 0
    assert (b.energy_j is None) == (b.energy_reason is not None)
    assert b.step_fixed_s is not None and b.step_fixed_s >= 0
    assert b.device.peak_flops and b.device.peaks_source and "probed" in b.device.peaks_source
    assert {"torch", "numpy", "python", "epur"} <= set(b.versions)


def test_platform_file_models_the_measured_latency(measured: Path) -> None:
    """The platform file in ``evaluate_tegra`` gives the measured latency within 50 %.

    Its slope is the measured one by construction (the GEMVs at their measured rates plus
    the fixed cost from the two-length fit); the per-sequence part (input GEMMs) and the
    point-wise kernels are modelled from kernels timed alone, and timings on a shared CPU
    move by tens of percent between runs, hence 50 % and not a few percent.
    """
    b = load_measured_baseline(measured / "b.json")
    raw = json.loads((measured / "p.json").read_text())
    power = None if raw["power_w"] is not None else 10.0  # no counter: assume one
    cfg = load_platform(measured / "p.json", assume_power_w=power)
    assert cfg.platform.startswith("cpu: ") and cfg.scenario == "measured"
    net = replace(load_network(measured / "net.yaml"), batch=b.batch)
    modelled = evaluate_tegra(net, cfg).latency_s / b.batch
    assert modelled == pytest.approx(b.latency_s, rel=0.5)


def test_summary_on_stdout(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "net.yaml").write_text(NET.replace("seq_len: 60", "seq_len: 4"))
    code, out, err = call(capsys, "baseline", "--network", str(tmp_path / "net.yaml"), *FAST)
    assert code == 0
    assert "tiny on cpu:" in out and "latency per sequence" in out
    assert "weight bandwidth" in out and "of the peak" in out
    assert "energy" in out and "epur baseline: probing" in err  # progress on stderr


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--network", "nope"], "--network must be one of eesen, gmat, bysdne, rldradspr"),
        (["--network", "eesen", "--dtype", "fp8"], "argument --dtype: invalid choice: 'fp8'"),
        (["--network", "eesen", "--device", "tpu"], "argument --device: invalid choice"),
    ],
)
def test_bad_input_is_one_line(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    argv = [*argv, "--device", "cpu"] if "--device" not in argv else argv
    with pytest.raises(SystemExit) as exc:  # argparse's errors exit from the parser
        code = main(["baseline", *argv])
        raise SystemExit(code)
    _, err = capsys.readouterr()
    assert exc.value.code == 2
    assert message in err and err.count("\n") == 1


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA GPU")
def test_cuda_without_a_gpu(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = call(capsys, "baseline", "--network", "eesen", "--device", "cuda")
    assert code == 2
    assert "--device cuda needs a CUDA GPU" in err and err.count("\n") == 1


def test_without_torch(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch raises ImportError
    code, _, err = call(capsys, "baseline", "--network", "eesen", "--device", "cpu")
    assert code == 2
    assert "needs PyTorch" in err and "pip install 'epur[torch]'" in err


def test_unwritable_json_refused_before_the_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = call(capsys, "baseline", "--network", "eesen", "--device", "cpu",
                        "--json", str(tmp_path / "absent" / "b.json"))  # fmt: skip
    assert code == 2 and "--json" in err and "probing" not in err


def test_torch_model_weights(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    torch.manual_seed(0)
    torch.save(torch.nn.LSTM(4, 6, num_layers=2).state_dict(), tmp_path / "m.pt")
    code, _, err = call(capsys, "baseline", "--torch", str(tmp_path / "m.pt"), *FAST,
                        "--json", str(tmp_path / "b.json"))  # fmt: skip
    assert code == 2 and "--seq-len is required" in err
    code, _, _ = call(capsys, "baseline", "--torch", str(tmp_path / "m.pt"), "--seq-len", "5",
                      *FAST, "--json", str(tmp_path / "b.json"))  # fmt: skip
    b = load_measured_baseline(tmp_path / "b.json")
    assert code == 0
    assert (b.source, b.weights, b.steps) == ("torch", "model", 5)
    assert b.flops_per_sequence == 5 * (2 * 24 * (4 + 6) + 2 * 24 * (6 + 6))


def test_shares_of_the_peak_read_as_percentages() -> None:
    from epur.cli.baseline import _share

    assert _share(41.0, 100.0, "FLOPS") == " (41 % of the peak 100 FLOPS)"
    assert _share(0.5, 100.0, "FLOPS") == " (0.5 % of the peak 100 FLOPS)"
    above = _share(630.0, 100.0, "B/s")
    assert above == " (630 % of the peak 100 B/s; above it: served from on-chip caches)"
    assert _share(1.0, None, "B/s") == ""
