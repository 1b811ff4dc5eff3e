"""The ``epur`` command line as a user runs it: outputs, JSON keys, errors, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from epur.cli import main

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

SUMMARY_KEYS = {
    "cycles",
    "latency_s",
    "macs",
    "dram_weight_bytes",
    "dram_bytes",
    "dpu_utilization",
}


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("dataflow", ["baseline", "mwl"])
def test_simulate_gmat_writes_the_json_the_issue_names(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], dataflow: str
) -> None:
    out = tmp_path / "out.json"
    code, text, err = run(
        capsys, "simulate", "--network", "gmat", "--dataflow", dataflow, "--json", str(out)
    )
    assert (code, err) == (0, "")
    data = json.loads(out.read_text())
    assert data["total"].keys() >= SUMMARY_KEYS
    assert len(data["layers"]) == 16
    for layer in data["layers"]:
        assert layer.keys() >= SUMMARY_KEYS
    # the total is the sum of the layers
    for key in ("cycles", "macs", "dram_weight_bytes", "dram_bytes"):
        assert data["total"][key] == sum(layer[key] for layer in data["layers"])
    assert data["total"]["latency_s"] == pytest.approx(data["total"]["cycles"] / 500e6)
    assert "latency per sequence" in text and "weight traffic" in text


def test_known_inputs_cut_gmat_weight_traffic(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    results = {}
    for flow in ("baseline", "mwl"):
        out = tmp_path / f"{flow}.json"
        code, _, _ = run(
            capsys, "simulate", "--network", "gmat", "--known-inputs", "--dataflow", flow,
            "--json", str(out),
        )  # fmt: skip
        assert code == 0
        results[flow] = json.loads(out.read_text())
    assert results["mwl"]["known_inputs"] is True
    ratio = (
        results["mwl"]["total"]["dram_weight_bytes"]
        / results["baseline"]["total"]["dram_weight_bytes"]
    )
    assert ratio < 0.1


def test_set_and_arch_file_override_the_preset(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    arch = tmp_path / "arch.yaml"
    arch.write_text("dpu:\n  lanes: 32\n")
    out = tmp_path / "o.json"
    args = ["simulate", "--network", "eesen", "--arch", str(arch), "--json", str(out)]
    code, _, _ = run(capsys, *args, "--set", "clock_hz=1e9", "--set", "dram.latency_ns=50")
    assert code == 0
    data = json.loads(out.read_text())
    assert data["arch"]["dpu"]["lanes"] == 32
    assert data["arch"]["clock_hz"] == 1_000_000_000
    assert data["total"]["latency_s"] == pytest.approx(data["total"]["cycles"] / 1e9)


def test_real_time_factor_for_framed_networks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "o.json"
    assert run(capsys, "simulate", "--network", "eesen", "--json", str(out))[0] == 0
    total = json.loads(out.read_text())["total"]
    assert total["sequence_duration_s"] == pytest.approx(800 * 0.010)
    assert total["real_time_factor"] == pytest.approx(total["latency_s"] / 8.0)


BAD = [
    (["simulate", "--network", "nosuchnet"], r"--network must be one of eesen, gmat"),
    (["simulate", "--network", "eesen", "--set", "dpu.lane=3"], r"--set key must be one of"),
    (["simulate", "--network", "eesen", "--set", "dpu.lanes=-4"], r"dpu\.lanes: must be greater"),
    (
        ["simulate", "--network", "eesen", "--set", "input_buffer.capacity_bytes=64"],
        r"one step needs .* bytes short",
    ),
    (["simulate", "--network", "eesen", "--dataflow", "fast"], r"invalid choice: 'fast'"),
    (
        ["simulate", "--network", "eesen", "--tile-rows", "-1"],
        r"--tile-rows: must be an integer from 1 to",
    ),
    (
        ["size", "--network", "eesen", "--set", "weight_buffer.capacity_bytes=lots"],
        r"weight_buffer\.capacity_bytes",
    ),
]


@pytest.mark.parametrize(("argv", "pattern"), BAD)
def test_bad_input_is_one_line_and_exit_code_2(
    argv: list[str], pattern: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out = tmp_path / "o.json"
    with pytest.raises(SystemExit) if "--dataflow" in argv or "--tile-rows" in argv else _null():
        code = main([*argv, "--json", str(out)])
        assert code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert __import__("re").search(pattern, err), err
    assert not out.exists()


class _null:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


@pytest.mark.parametrize(
    ("content", "pattern"),
    [
        ("name: n\nseq_len: 5\nlayers: [{type: lstm, input: 4, hidden: -3}]\n",
         r"layers\[0\]\.hidden: must be greater than 0, not -3"),
        ("name: n\nseq_len: 5\nlayers: [{type: lstm, input: 4\n", r"is malformed"),
        ("name: n\nseq_len: 5\nlayers: [{type: gru, input: 4, hidden: 3}]\n", r"layers\[0\]"),
    ],
)  # fmt: skip
def test_bad_network_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, pattern: str
) -> None:
    net = tmp_path / "net.yaml"
    net.write_text(content)
    out = tmp_path / "o.json"
    code, _, err = run(capsys, "simulate", "--network", str(net), "--json", str(out))
    assert code == 2 and err.count("\n") == 1
    assert __import__("re").search(pattern, err), err
    assert not out.exists()


def test_truncated_or_binary_files_are_clear_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    net = tmp_path / "net.toml"
    net.write_bytes(b"\x80\x81\x00garbage")
    code, _, err = run(capsys, "simulate", "--network", str(net))
    assert code == 2 and "not UTF-8" in err


def test_failed_json_write_leaves_the_old_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "o.json"
    out.write_text("previous")
    code, _, _ = run(
        capsys, "simulate", "--network", "eesen", "--set", "dpu.lanes=0", "--json", str(out)
    )
    assert code == 2 and out.read_text() == "previous"
    assert list(tmp_path.iterdir()) == [out]  # no temporary file left behind


def test_reproduce_writes_table_and_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "results"
    code, text, err = run(capsys, "reproduce", "--out", str(out), "--energy-backend", "table")
    assert code == 0 and "[1/6] EESEN" in err and "[5/6] RLDRADSPR" in err
    assert "[6/6] sensitivity of the headline and the consistency check" in err
    figures = [f"{n}.{e}" for n in ("area_breakdown", "energy_breakdown", "vs_tegra_x1",
                                    "tornado_energy_reduction", "tornado_speedup")
               for e in ("png", "svg")]  # fmt: skip
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [*figures, "report.html", "results.json", "results.md"]
    )
    assert (out / "energy_breakdown.png").read_bytes().startswith(b"\x89PNG")
    page = (out / "report.html").read_text()
    for section in ("Paper vs epur", "modelled, never measured", "published, assumed", "<svg"):
        assert section in page
    assert "recorded in the repository (CACTI was not run)" in page
    data = json.loads((out / "results.json").read_text())
    assert set(data["networks"]) == {"eesen", "gmat", "bysdne", "rldradspr"}
    assert set(data["known_inputs"]) == {"gmat"}
    for entry in [*data["networks"].values(), *data["known_inputs"].values()]:
        for design in ("baseline", "mwl", "tegra_x1"):
            assert {"latency_s", "energy_j", "real_time_factor"} <= entry[design].keys()
        assert entry["tegra_x1"]["modelled"] is True
        same_buffers = entry["baseline_on_mwl_buffers"]["dram_weight_bytes"]
        assert entry["mwl"]["dram_weight_bytes"] <= same_buffers
        assert entry["mwl"].keys() >= SUMMARY_KEYS
    assert data["known_inputs"]["gmat"]["mwl_weight_traffic_ratio"] < 0.1
    summary = data["summary"]
    reductions = [
        e["tegra_x1"]["energy_j"] / e["mwl"]["energy_j"] for e in data["networks"].values()
    ]
    assert summary["energy_reduction_vs_tegra_x1_avg"] == pytest.approx(
        sum(reductions) / len(reductions)
    )
    speedups = [e["mwl"]["speedup_vs_tegra_x1"] for e in data["networks"].values()]
    assert summary["speedup_vs_tegra_x1_avg"] == pytest.approx(sum(speedups) / len(speedups))
    assert {row["claim"] for row in data["paper_vs_epur"]} >= {
        "energy reduction vs Tegra X1 (average)",
        "real time on all networks",
    }
    assert "GMAT (known inputs)" in text and "paper vs epur" in text
    designs = data["designs"]
    assert (
        designs["baseline"]["weight_buffer_capacity_bytes"] == data["baseline_weight_buffer_bytes"]
    )
    # the larger baseline buffer is banked until it keeps up with the clock
    assert designs["baseline"]["weight_buffer_banks"] > designs["mwl"]["weight_buffer_banks"]
    assert designs["baseline"]["access_cycles"]["weight_buffer"] == 1
    assert "<h2>Designs</h2>" in page


def test_reproduce_failure_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "results"
    code, _, err = run(
        capsys, "reproduce", "--out", str(out), "--set", "input_buffer.capacity_bytes=64"
    )
    assert code == 2 and "bytes short" in err
    assert not out.exists()


def test_size_reports_each_network_and_the_maximum(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "sizes.json"
    code, text, _ = run(
        capsys, "size", "--network", "eesen", "--network", "bysdne", "--dataflow", "mwl",
        "--json", str(out),
    )  # fmt: skip
    assert code == 0
    data = json.loads(out.read_text())
    assert [n["network"] for n in data["networks"]] == ["EESEN", "BYSDNE"]
    assert data["required"]["weight_buffer_bytes"] == max(
        n["weight_buffer_bytes"] for n in data["networks"]
    )
    assert "required" in text


def test_networks_lists_the_zoo(capsys: pytest.CaptureFixture[str]) -> None:
    code, text, _ = run(capsys, "networks")
    assert code == 0
    for name in ("eesen", "gmat", "bysdne", "rldradspr"):
        assert name in text


def test_console_script_has_no_traceback_on_user_error() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "epur", "simulate", "--network", "nope"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith("epur simulate: error:") and "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    ("assignment", "pattern"),
    [
        ("technology.node_nm=16", r"technology\.node_nm: .*must be 22, 28, 32 or 45"),
        (
            "weight_buffer.capacity_bytes=0",
            r"weight_buffer\.capacity_bytes must be at least 64 for CACTI, not 0",
        ),
        ("technology.sram_cell=finfet", r"technology\.sram_cell"),
        (
            "intermediate_memory.capacity_bytes=16",
            r"intermediate_memory\.capacity_bytes must be at least 64",
        ),
    ],
)
def test_energy_inputs_cacti_cannot_model_are_clear_errors(
    assignment: str, pattern: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out = tmp_path / "o.json"
    argv = ["simulate", "--network", "eesen", "--dataflow", "baseline", "--set", assignment]
    code = main([*argv, "--json", str(out)])  # MWL would refuse a 0-byte buffer first
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert __import__("re").search(pattern, err), err
    assert not out.exists()


def test_a_missing_cacti_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import epur.energy.cacti as cacti

    monkeypatch.setattr(cacti, "find_spec", lambda name: None)
    code = main(["simulate", "--network", "bysdne", "--energy-backend", "cacti"])
    err = capsys.readouterr().err
    assert code == 2 and "CACTI is not installed" in err and "--energy-backend table" in err
    # auto falls back to the recorded table and says so
    assert main(["simulate", "--network", "bysdne"]) == 0
    assert "(table SRAM figures)" in capsys.readouterr().out


def test_table_backend_still_gives_the_exact_cacti_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "o.json"
    assert (
        main(["simulate", "--network", "eesen", "--energy-backend", "table", "--json", str(out)])
        == 0
    )
    data = json.loads(out.read_text())
    assert data["energy_backend"] == "table"
    for memory in data["memories"]:
        config = data["cacti_config"][memory["name"]]
        assert f"-size (bytes) {memory['capacity_bytes']}" in config.splitlines()
        assert f"-UCA bank count {memory['banks']}" in config.splitlines()
    assert data["total"]["energy_per_step_j"] == pytest.approx(data["total"]["energy_j"] / 800)


def _number(text: str, pattern: str) -> float:
    match = __import__("re").search(pattern, text)
    assert match is not None, (pattern, text)
    return float(match.group(1).replace(",", ""))


def test_simulate_text_and_json_agree_on_gmat_s_energy_per_step(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "gmat.json"
    code, text, _ = run(capsys, "simulate", "--network", "gmat", "--json", str(out))
    assert code == 0
    total = json.loads(out.read_text())["total"]
    # a GMAT sentence is 27 encoder steps, then 28 decoder steps
    assert total["energy_per_step_j"] == pytest.approx(total["energy_j"] / (27 + 28))
    per_step_uj = _number(text, r"([\d.,]+) uJ per step")
    assert per_step_uj == pytest.approx(total["energy_per_step_j"] * 1e6, rel=1e-3)
    assert "energy per sequence / 55 steps per sequence: encoder 27 + decoder 28" in text


def test_simulate_batch_labels_what_is_per_batch(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "b4.json"
    code, text, _ = run(
        capsys, "simulate", "--network", "eesen", "--batch", "4", "--json", str(out)
    )
    assert code == 0
    data = json.loads(out.read_text())
    total = data["total"]
    assert total["energy_per_sequence_j"] == pytest.approx(total["energy_j"] / 4)
    assert total["energy_per_step_j"] == pytest.approx(total["energy_j"] / 4 / 800)
    assert "energy_per_sequence_j" in data["energy_definitions"]
    assert "latency per sequence" not in text
    assert _number(text, r"latency per batch\s+([\d.,]+) ms for 4 sequences") == pytest.approx(
        total["latency_s"] * 1e3, rel=1e-3
    )
    assert _number(text, r"energy per batch\s+([\d.,]+) mJ for 4 sequences") == pytest.approx(
        total["energy_j"] * 1e3, rel=1e-3
    )
    assert _number(text, r"energy per sequence\s+([\d.,]+) mJ") == pytest.approx(
        total["energy_j"] / 4 * 1e3, rel=1e-3
    )


def test_simulate_says_when_the_architecture_is_not_the_paper_s(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "edge.json"
    code, text, _ = run(capsys, "simulate", "--network", "bysdne", "--arch",
                        str(EXAMPLES / "edge_arch.yaml"), "--json", str(out))  # fmt: skip
    assert code == 0
    changes = json.loads(out.read_text())["arch_changes"]
    # examples/edge_arch.yaml sets four fields; the DPU latency follows the lanes
    assert [(c["key"], c["preset"], c["value"], c["provenance"]) for c in changes] == [
        ("dpu.lanes", 16, 8, "user"),
        ("dpu.latency_cycles", 6, 5, "derived from dpu.lanes"),
        ("weight_buffer.capacity_bytes", 2 * 2**20, 512 * 2**10, "user"),
        ("intermediate_memory.capacity_bytes", 6 * 2**20, 2**20, "user"),
        ("dram.bandwidth_bytes_per_s", 25_600_000_000, 12_800_000_000, "user"),
    ]
    assert "BYSDNE on paper (modified)" in text
    assert "modified, 5 fields changed from the paper preset: dpu.lanes 16 -> 8" in text
    # the paper preset, though evaluate banks its intermediate memory for the clock
    code, text, _ = run(capsys, "simulate", "--network", "bysdne", "--json", str(out))
    assert code == 0 and json.loads(out.read_text())["arch_changes"] == []
    assert "architecture           the paper preset" in text


@pytest.mark.parametrize(
    ("option", "changes"),
    [
        # 32 lanes: the DPU latency follows (1 multiplier + 5 tree levels + 1 accumulator)
        (["--set", "dpu.lanes=32"],
         [("dpu.lanes", 16, 32, "user"), ("dpu.latency_cycles", 6, 7, "derived from dpu.lanes")]),
        (["--arch", str(Path(__file__).resolve().parents[2] / "examples" / "edge_arch.yaml")],
         [("dpu.lanes", 16, 8, "user"), ("dpu.latency_cycles", 6, 5, "derived from dpu.lanes"),
          ("weight_buffer.capacity_bytes", 2 * 2**20, 512 * 2**10, "user"),
          ("intermediate_memory.capacity_bytes", 6 * 2**20, 2**20, "user"),
          ("dram.bandwidth_bytes_per_s", 25_600_000_000, 12_800_000_000, "user")]),
    ],
)  # fmt: skip
def test_reproduce_on_a_modified_architecture_says_so(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    option: list[str],
    changes: list[tuple[str, object, object, str]],
) -> None:
    out = tmp_path / "results"
    code, text, _ = run(capsys, "reproduce", *option, "--out", str(out))
    assert code == 0
    title = (
        f"E-PUR evaluation on a modified architecture ({len(changes)} fields changed from "
        "the paper preset)"
    )
    data = json.loads((out / "results.json").read_text())
    assert data["title"] == title and text.startswith(title)
    got = [(c["key"], c["preset"], c["value"], c["provenance"]) for c in data["arch_changes"]]
    assert got == changes
    for key, _, _, provenance in changes:
        assert data["arch_provenance"][key]["status"] == provenance
    assert (out / "results.md").read_text().startswith(title)
    page = (out / "report.html").read_text().replace("<wbr>", "")  # line-break hints
    assert f"<h1>{title}</h1>" in page and "the paper's evaluation" not in page
    section = page.split("<h2>Changed from the paper preset</h2>")[1].split("<h2>")[0]
    for key, _, _, provenance in changes:
        row = next(r for r in section.split("<tr>") if f">{key}<" in r)
        assert f">{provenance}<" in row
