"""The CACTI adapter: configuration, parsing, the real binary, the cache, the errors."""

from __future__ import annotations

import csv
import dataclasses
import subprocess
from pathlib import Path

import pytest

from epur.energy.cacti import SramSpec, cacti_config, find_cacti, parse_cacti, run_cacti
from epur.errors import BackendError

DATA = Path(__file__).parent / "data"
# The project's shared/reference/cacti_sweep.csv, copied verbatim (tests/data/PROVENANCE.md)
SWEEP = Path(__file__).resolve().parents[1] / "data" / "reference" / "cacti_sweep.csv"
SHARED_SWEEP = Path(__file__).resolve().parents[3] / "shared" / "reference" / "cacti_sweep.csv"


def test_parse_reads_a_recorded_report() -> None:
    """2 MiB, LSTP, 28 nm, 1 bank, 256-bit port, 360 K, as the CACTI binary printed it."""
    r = parse_cacti((DATA / "cacti_2MiB_lstp_28nm_1bank.txt").read_text(), banks=1)
    assert r.read_energy_j == pytest.approx(0.148631e-9, rel=1e-12)
    assert r.write_energy_j == pytest.approx(0.122167e-9, rel=1e-12)
    assert r.leakage_w == pytest.approx(0.506668e-3, rel=1e-12)  # one bank: bank + 0 x htree
    assert r.gate_leakage_w == pytest.approx(0.154558e-3, rel=1e-12)
    assert r.area_mm2 == pytest.approx(2.63152, rel=1e-12)
    assert r.access_time_s == pytest.approx(3.90365e-9, rel=1e-12)
    assert r.cycle_time_s == pytest.approx(6.46996e-9, rel=1e-12)


def test_leakage_of_several_banks() -> None:
    text = (DATA / "cacti_2MiB_lstp_28nm_1bank.txt").read_text()
    r = parse_cacti(text, banks=4)
    assert r.leakage_w == pytest.approx((4 * (0.506668 - 0.00625416) + 0.00625416) * 1e-3)


# Printed by the same CACTI binary (zigzag-dse 3.9.1) for SramSpec(2 MiB, 256, banks=16):
# 28 nm, LSTP cells and periphery, 360 K (the paper preset's weight buffer).
SIXTEEN_BANKS = DATA / "cacti_2MiB_lstp_28nm_16banks.txt"


def test_gate_leakage_of_several_banks_counts_the_htree_once() -> None:
    """CACTI's "gate leakage of a bank" holds the H-tree's gate leakage once, as its
    subthreshold figure does: 16 banks are 16 x (bank - H-tree) + H-tree, not 16 x bank
    (0.2096 mW, the old figure, 18 % over)."""
    r = parse_cacti(SIXTEEN_BANKS.read_text(), banks=16)
    assert r.gate_leakage_w == pytest.approx((16 * (0.0130969 - 0.00217222) + 0.00217222) * 1e-3)
    assert r.leakage_w == pytest.approx((16 * (0.0370547 - 0.00306369) + 0.00306369) * 1e-3)
    one = parse_cacti((DATA / "cacti_2MiB_lstp_28nm_1bank.txt").read_text(), banks=1)
    # the same cells, banked: the whole array's gate leakage stays within 15 % of one bank's
    assert r.gate_leakage_w == pytest.approx(one.gate_leakage_w, rel=0.15)


def test_the_binary_with_several_banks_gives_the_recorded_report(tmp_path: Path) -> None:
    r = run_cacti(SramSpec(2 * 2**20, 256, banks=16), cache_dir=tmp_path)
    assert r == parse_cacti(SIXTEEN_BANKS.read_text(), banks=16)
    assert r.gate_leakage_w == pytest.approx(0.176966e-3, rel=1e-5)


def test_a_rejected_configuration_is_an_error() -> None:
    with pytest.raises(
        BackendError, match=r"^CACTI rejected the configuration: Number of subbanks"
    ):
        parse_cacti("Number of subbanks should be greater than or equal to 1 and ...\n", 1)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("capacity_bytes", 0, "capacity_bytes must be at least 64"),
        ("port_bits", 12, "port_bits must be a positive multiple of 8"),
        ("banks", 3, "banks must be a power of two"),
        ("node_nm", 16, "node_nm must be within CACTI's 22-90 nm"),
        ("cell_type", "finfet", "cell_type must be one of"),
    ],
)
def test_specs_cacti_cannot_model_are_refused(field: str, value: object, message: str) -> None:
    settings: dict[str, object] = {"capacity_bytes": 8192, "port_bits": 256, field: value}
    with pytest.raises(BackendError, match=message):
        SramSpec(**settings)  # type: ignore[arg-type]


def test_a_missing_installation_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(BackendError, match=r"incomplete: cacti missing"):
        find_cacti(tmp_path)


def test_a_cacti_that_cannot_run_says_what_to_do(tmp_path: Path) -> None:
    """A binary that is there but cannot execute: reinstall, or another backend."""
    broken = tmp_path / "cacti"
    broken.write_text("not a program")  # not executable
    install = dataclasses.replace(find_cacti(), binary=broken)
    with pytest.raises(
        BackendError,
        match=r"^cannot run CACTI .*: Permission denied \(reinstall zigzag-dse==3\.9\.1, or "
        r"use --energy-backend table for the recorded CACTI results or none for timing alone\)$",
    ):
        run_cacti(SramSpec(8192, 256), install, cache_dir=tmp_path)


def test_config_holds_the_settings() -> None:
    text = cacti_config(SramSpec(2 * 2**20, 256, banks=16, node_nm=28), find_cacti())
    for line in ("-size (bytes) 2097152", "-block size (bytes) 32", "-UCA bank count 16",
                 "-output/input bus width 256", "-technology (u) 0.028", '-cache type "ram"',
                 '-Add ECC - "false"', "-read-write port 1", "-exclusive read port 0"):  # fmt: skip
        assert line in text.splitlines()


def _reference_rows() -> dict[int, dict[str, str]]:
    if SHARED_SWEEP.exists():  # beside the repository on the project's machines, not in CI
        assert SHARED_SWEEP.read_bytes() == SWEEP.read_bytes(), "tests/data is out of date"
    rows = {}
    with SWEEP.open() as handle:
        for row in csv.DictReader(handle):
            key = (row["tech"], row["cell"], row["banks"], row["bus"], row["temp"], row["ecc"])
            if key == ("0.028", "itrs-lstp", "1", "256", "360", "False") and row["ports"] == "rw":
                rows[int(row["size"])] = row
    return rows


@pytest.mark.parametrize("size", [8192, 2 * 2**20, 6 * 2**20])
def test_the_binary_gives_the_recorded_reference_figures(size: int, tmp_path: Path) -> None:
    """The project's CACTI sweep was measured with the same binary and settings."""
    ref = _reference_rows()[size]
    r = run_cacti(SramSpec(size, 256), cache_dir=tmp_path)
    assert r.read_energy_j == pytest.approx(float(ref["rd_nJ"]) * 1e-9, rel=1e-4)
    assert r.write_energy_j == pytest.approx(float(ref["wr_nJ"]) * 1e-9, rel=1e-4)
    assert r.leakage_w == pytest.approx(float(ref["leak_total_mW"]) * 1e-3, rel=1e-4)
    assert r.area_mm2 == pytest.approx(float(ref["area_mm2"]), rel=1e-4)
    assert r.cycle_time_s == pytest.approx(float(ref["cyc_ns"]) * 1e-9, rel=1e-3)


def test_results_are_cached_by_configuration(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = SramSpec(8192, 128)
    first = run_cacti(spec, cache_dir=tmp_path)
    files = list(tmp_path.glob("*.json"))
    assert len(files) == 1
    with monkeypatch.context() as patch:  # a hit does not run CACTI
        patch.setattr(subprocess, "run", lambda *a, **k: pytest.fail("CACTI ran on a hit"))
        assert run_cacti(spec, cache_dir=tmp_path) == first
    assert run_cacti(SramSpec(8192, 256), cache_dir=tmp_path) != first
    assert len(list(tmp_path.glob("*.json"))) == 2
