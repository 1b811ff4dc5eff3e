"""``epur reproduce --baseline-json FILE...`` as a user runs it: the measured rows in the
text, ``results.json`` and ``report.html``; a bad file is one error line (exit 2)
naming the file and the field, before any evaluation. The files are the hand-made
fixtures of ``tests/data`` (not measurements)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from epur.cli import main

DATA = Path(__file__).resolve().parents[1] / "data"
CPU, GPU = DATA / "baseline_eesen_cpu.json", DATA / "baseline_gmat_cuda_b64.json"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_measured_baselines_are_in_the_text_the_json_and_the_page(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "results"
    code, text, err = run(capsys, "reproduce", "--energy-backend", "table",
                          "--baseline-json", str(CPU), str(GPU), "--out", str(out))  # fmt: skip
    assert code == 0, err
    assert "measured baselines:" in text
    cpu_row = next(line for line in text.splitlines() if line.endswith(CPU.name))
    assert "Example x86-64 CPU (hand-made) (cpu, measured)" in cpu_row
    assert "2026-11-30" in cpu_row and "2,000" in cpu_row and "n/a" in cpu_row
    assert "energy n/a: RAPL is not readable here" in text
    assert "batch 64 (E-PUR: batch 1)" in text
    assert "measured baselines:" in (out / "results.md").read_text()

    data = json.loads((out / "results.json").read_text())
    cpu, gpu = data["measured_baselines"]
    assert (cpu["file"], gpu["file"]) == (str(CPU), str(GPU))
    assert cpu["measured"] is True and cpu["device"]["kind"] == "cpu"
    assert (cpu["date"], gpu["batch"], gpu["dtype"]) == ("2026-11-30T09:15:00Z", 64, "fp16")
    mwl = data["networks"]["eesen"]["mwl"]
    assert cpu["epur"]["latency_s"] == mwl["latency_s"]
    assert cpu["epur_speedup"] == pytest.approx(2.0 / mwl["latency_s"])
    assert cpu["energy_j"] is None and cpu["epur_energy_ratio"] is None
    assert cpu["energy_reason"].startswith("RAPL is not readable here")
    gmat = data["networks"]["gmat"]
    assert gpu["epur_energy_ratio"] == pytest.approx(1.5 / gmat["mwl"]["energy_per_sequence_j"])
    assert gpu["tegra_x1"]["modelled"] is True
    assert gpu["tegra_x1"]["latency_s"] == gmat["tegra_x1"]["latency_s"]
    assert len(gpu["notes"]) == 1 and not cpu["notes"]

    page = (out / "report.html").read_text().replace("<wbr>", "")
    section = page.split("<h2>Measured baselines</h2>")[1].split("<h2>")[0]
    for cell in ("Example x86-64 CPU (hand-made) (cpu, measured)",
                 "Example GPU (hand-made) (cuda, measured)", "Tegra X1 (modelled)",
                 "E-PUR mwl (modelled)", "2026-11-30", "batch 64 (E-PUR: batch 1)",
                 "energy n/a: RAPL is not readable here"):  # fmt: skip
        assert cell in section
    # the figure, inline: a speedup bar for each platform (the CPU, the GPU and the Tegra
    # on each network) and an energy-ratio bar for all but the CPU (n/a); not a file
    assert section.count('id="vs_measured-bar-speedup-') == 4
    assert section.count('id="vs_measured-bar-energy_ratio-') == 3
    assert not any(p.name.startswith("vs_measured") for p in out.iterdir())


def test_the_flag_repeats(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, text, _ = run(capsys, "reproduce", "--energy-backend", "table",
                        "--baseline-json", str(GPU), "--baseline-json", str(CPU))  # fmt: skip
    assert code == 0
    rows = [line for line in text.splitlines() if ", measured)  " in line]
    assert [r.split()[0] for r in rows] == ["EESEN", "GMAT"]
    assert "energy n/a: RAPL" in text


def test_a_bad_file_is_one_line_before_any_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def never(*args: object) -> None:
        raise AssertionError("the evaluation started before the files were read")

    monkeypatch.setattr("epur.cli.reproduce.reproduce", never)
    bad = tmp_path / "bad.json"
    content = json.loads(CPU.read_text())
    del content["latency_s"]
    bad.write_text(json.dumps(content))
    out = tmp_path / "results"
    code, text, err = run(capsys, "reproduce", "--baseline-json", str(CPU), str(bad),
                          "--out", str(out))  # fmt: skip
    assert code == 2 and text == "" and not out.exists()
    (line,) = err.strip().splitlines()
    assert line.startswith(f"epur reproduce: error: baseline file {bad}: latency_s: ")


def test_a_network_that_was_not_reproduced_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = tmp_path / "other.json"
    other.write_text(json.dumps(json.loads(CPU.read_text()) | {"network": "deepspeech"}))
    code, _, err = run(capsys, "reproduce", "--baseline-json", str(other))
    assert code == 2
    assert err.strip() == (
        f"epur reproduce: error: baseline file {other}: network must be one of the "
        "reproduced networks (eesen, gmat, bysdne, rldradspr), not 'deepspeech'"
    )
