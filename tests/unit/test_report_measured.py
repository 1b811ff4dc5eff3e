"""Measured baselines beside E-PUR and the modelled Tegra X1 (``epur reproduce
--baseline-json``): typed and frozen, ratios as the issue defines them (checked on
hand-made files with hand-computed figures), ``n/a`` with the file's reason where
energy was not measured, other batches labelled, unknown networks and malformed files
refused with the file and the field named."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from epur.arch import paper_preset
from epur.energy import sram_backend
from epur.errors import ConfigError
from epur.report.measured import (
    MEASURED_HEADERS,
    BaselineFile,
    EpurFigures,
    compare,
    load_baselines,
    measured_notes,
    measured_rows,
)
from epur.report.reproduce import Reproduction, reproduce
from epur.report.reproduction_results import reproduction_results
from epur.report.results import reproduction_text

DATA = Path(__file__).resolve().parents[1] / "data"


def _baseline(**changes: Any) -> dict[str, Any]:
    """A valid ``epur-baseline/1`` file's content, made by hand (not a measurement)."""
    content: dict[str, Any] = {
        "schema": "epur-baseline/1",
        "measured": True,
        "date": "2026-11-30T09:15:00Z",
        "network": "eesen",
        "source": "zoo",
        "weights": "random",
        "device": {"kind": "cpu", "name": "Test CPU"},
        "dtype": "fp32",
        "batch": 1,
        "repeats": 3,
        "warmup": 1,
        "latency_s": 2.0,
        "latency_spread_s": 0.1,
        "latency_min_s": 1.9,
        "latency_max_s": 2.2,
        "throughput_sequences_per_s": 0.5,
        "energy_j": 3.0,
        "energy_reason": None,
        "energy_source": "rapl",
        "steps": 800,
        "weight_bytes_per_step": 1000,
        "flops_per_sequence": 1.0e9,
        "achieved_weight_bandwidth_bytes_per_s": 4.0e5,
        "achieved_flops": 5.0e8,
        "step_fixed_s": None,
        "versions": {"torch": "2.5.1"},
    }
    return content | changes


def _write(tmp_path: Path, content: dict[str, Any] | str, name: str = "b.json") -> str:
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return str(path)


def _load(tmp_path: Path, **changes: Any) -> BaselineFile:
    (loaded,) = load_baselines([_write(tmp_path, _baseline(**changes))])
    return loaded


# E-PUR on the network: 0.25 s and 0.1 J per sequence; the Tegra X1: 1.5 s and 8 J
EPUR = EpurFigures("mwl", "fp16", 1, 0.25, 0.1)
TEGRA = (1.5, 8.0)


def _compare(file: BaselineFile, epur: EpurFigures = EPUR) -> Any:
    return compare(file, "EESEN", epur, TEGRA, "cudnn_measured", "fp32")


def test_speedup_and_energy_ratio_are_the_measured_figures_over_epurs(tmp_path: Path) -> None:
    c = _compare(_load(tmp_path))
    # 2.0 s / 0.25 s = 8; 3.0 J / 0.1 J = 30; the Tegra: 1.5 / 0.25 = 6, 8.0 / 0.1 = 80
    assert c.measured.epur_speedup == pytest.approx(8.0)
    assert c.measured.epur_energy_ratio == pytest.approx(30.0)
    assert c.tegra_x1.epur_speedup == pytest.approx(6.0)
    assert c.tegra_x1.epur_energy_ratio == pytest.approx(80.0)
    assert (c.measured.latency_s, c.measured.energy_j) == (2.0, 3.0)
    assert (c.device, c.device_kind, c.date, c.dtype, c.batch) == (
        "Test CPU", "cpu", "2026-11-30T09:15:00Z", "fp32", 1,
    )  # fmt: skip
    assert c.notes == () and c.measured.energy_reason is None


def test_the_result_is_frozen_and_its_json_says_measured(tmp_path: Path) -> None:
    c = _compare(_load(tmp_path))
    for obj in (c, c.measured, c.epur, c.tegra_x1):
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(obj, dataclasses.fields(obj)[0].name, "changed")
    data = json.loads(json.dumps(c.json()))
    assert data["measured"] is True and data["tegra_x1"]["modelled"] is True
    assert data["device"] == {"name": "Test CPU", "kind": "cpu"}
    assert data["epur_speedup"] == pytest.approx(8.0)
    assert data["epur_energy_ratio"] == pytest.approx(30.0)
    assert data["epur"] == {"design": "mwl", "dtype": "fp16", "batch": 1, "latency_s": 0.25,
                            "energy_j": 0.1}  # fmt: skip
    assert data["tegra_x1"]["epur_speedup"] == pytest.approx(6.0)


def test_the_rows_show_each_measurement_then_the_tegra_and_epur(tmp_path: Path) -> None:
    c = _compare(_load(tmp_path))
    rows = measured_rows([c])
    assert all(len(r) == len(MEASURED_HEADERS) for r in rows)
    measured, tegra, epur = rows
    assert measured[:10] == ["EESEN", "Test CPU (cpu, measured)", "2026-11-30", "fp32", "1",
                             "2,000", "100.0", "3,000", "8.00", "30.0"]  # fmt: skip
    assert tegra[1] == "Tegra X1 (modelled)" and tegra[5:10] == ["1,500", "", "8,000", "6.00",
                                                                  "80.0"]  # fmt: skip
    assert epur[1] == "E-PUR mwl (modelled)" and epur[5] == "250.0" and epur[7] == "100.0"
    assert [r[10] for r in rows] == ["b.json", "epur", "epur"]  # the full path: in the JSON


def test_energy_not_measured_is_na_with_the_files_reason(tmp_path: Path) -> None:
    reason = "RAPL is not readable here"
    c = _compare(_load(tmp_path, energy_j=None, energy_reason=reason, energy_source=None))
    assert c.measured.energy_j is None and c.measured.epur_energy_ratio is None
    assert c.measured.energy_reason == reason
    assert c.measured.epur_speedup == pytest.approx(8.0)  # the latency still compares
    assert c.json()["energy_j"] is None and c.json()["energy_reason"] == reason
    assert measured_rows([c])[0][7:10] == ["n/a", "8.00", "n/a"]
    assert any(n.endswith(f"energy n/a: {reason}") for n in measured_notes([c]))


def test_energy_null_without_a_reason_says_so(tmp_path: Path) -> None:
    c = _compare(_load(tmp_path, energy_j=None, energy_source=None))
    assert c.measured.energy_reason == "not measured (the file gives no reason)"


def test_without_epurs_energy_the_ratio_is_na_and_says_why(tmp_path: Path) -> None:
    c = _compare(_load(tmp_path), EpurFigures("mwl", "fp16", 1, 0.25, None))
    assert c.measured.epur_energy_ratio is None and c.tegra_x1.epur_energy_ratio is None
    assert c.measured.energy_reason == "E-PUR's energy was not modelled (no SRAM backend)"
    assert c.measured.epur_speedup == pytest.approx(8.0)


def test_another_batch_is_labelled_and_explained(tmp_path: Path) -> None:
    # per sequence at batch 64: 4 ms and 1.5 J -> 0.004 / 0.25 = 0.016, 1.5 / 0.1 = 15
    c = _compare(_load(tmp_path, batch=64, latency_s=0.004, energy_j=1.5))
    assert c.batch == 64 and c.epur.batch == 1
    assert c.measured.epur_speedup == pytest.approx(0.016)
    assert c.measured.epur_energy_ratio == pytest.approx(15.0)
    (note,) = c.notes
    assert note.startswith("batch 64 (E-PUR: batch 1): per sequence of 64 sequences")
    assert measured_rows([c])[0][4] == "64"
    assert any(note in n for n in measured_notes([c]))


@pytest.mark.parametrize("name", ["EESEN", "gmat", " Bysdne "])
def test_a_zoo_network_is_matched_by_its_name(tmp_path: Path, name: str) -> None:
    assert _load(tmp_path, network=name).network == name.strip().lower()


def test_a_network_that_was_not_reproduced_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, _baseline(network="model.onnx", source="onnx"))
    message = (
        rf"^baseline file {path}: network must be one of the reproduced networks "
        r"\(eesen, gmat, bysdne, rldradspr\), not 'model.onnx'$"
    )
    with pytest.raises(ConfigError, match=message):
        load_baselines([path])


def _without(key: str) -> dict[str, Any]:
    content = _baseline()
    del content[key]
    return content


@pytest.mark.parametrize(
    ("content", "field"),
    [
        (_without("latency_s"), "latency_s: required field is missing"),
        (_baseline(latency_s=-1.0), r"latency_s: must be greater than 0, not -1\.0"),
        (_baseline(schema="epur-baseline/2"), "schema: must be 'epur-baseline/1', not 'epur-"),
        (_baseline(device={"kind": "tpu", "name": "x"}), "device.kind: must be 'cpu' or 'cuda'"),
        (_baseline(energy_j="a lot"), "energy_j: must be a valid number"),
        ("{not json", r"\(top level\): invalid JSON"),
    ],
)
def test_a_malformed_file_names_the_file_and_the_field(
    tmp_path: Path, content: dict[str, Any] | str, field: str
) -> None:
    good = _write(tmp_path, _baseline(), "good.json")
    bad = _write(tmp_path, content, "bad.json")
    with pytest.raises(ConfigError, match=rf"^baseline file {bad}: {field}"):
        load_baselines([good, bad])


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "none.json"
    with pytest.raises(ConfigError, match=rf"^baseline file {missing}: cannot read it"):
        load_baselines([str(missing)])


# ---- in the reproduction's results ----------------------------------------------------------


@pytest.fixture(scope="module")
def rep() -> Reproduction:
    return reproduce(paper_preset(), sram_backend("table"))


def test_the_fixtures_stand_beside_the_reproduction(rep: Reproduction) -> None:
    files = load_baselines(
        [str(DATA / "baseline_gmat_cuda_b64.json"), str(DATA / "baseline_eesen_cpu.json")]
    )
    results = reproduction_results(rep, files)
    eesen, gmat = results.measured  # in the order of the networks, not of the files
    assert (eesen.network, gmat.network) == ("eesen", "gmat")
    for c in (eesen, gmat):
        mwl = next(n for n in results.networks if n.key == c.network).designs["mwl"]
        assert c.epur.latency_s == mwl.latency_s and mwl.energy is not None
        assert c.epur.energy_j == mwl.energy.energy_per_sequence_j
    # the fixtures: EESEN 2.0 s per sequence without energy; GMAT 4 ms and 1.5 J at batch 64
    assert eesen.measured.epur_speedup == pytest.approx(2.0 / eesen.epur.latency_s)
    assert eesen.measured.epur_energy_ratio is None
    assert gmat.epur.energy_j is not None
    assert gmat.measured.epur_energy_ratio == pytest.approx(1.5 / gmat.epur.energy_j)
    assert gmat.notes and not eesen.notes
    data = results.json()["measured_baselines"]
    assert [d["network"] for d in data] == ["eesen", "gmat"]
    text = reproduction_text(results, results.changes)
    assert "measured baselines:" in text and "Example GPU (hand-made) (cuda, measured)" in text


def test_without_baselines_nothing_changes(rep: Reproduction) -> None:
    results = reproduction_results(rep)
    assert results.measured == ()
    assert "measured_baselines" not in results.json()
    assert "measured baselines" not in reproduction_text(results, results.changes)
