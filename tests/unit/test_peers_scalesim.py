"""The SCALE-Sim adapter: its input files, the NumPy 2.4 workaround, the install message,
the scaling of samples, and (with the peers extra) real SCALE-Sim 3.0.0 runs against the
closed form and the peer survey's measured full-size runs (docs/peers.md)."""

from __future__ import annotations

import configparser
import importlib.util
import sys
import types
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from epur.errors import BackendError
from epur.peers import _scalesim_driver as driver
from epur.peers import scalesim
from epur.peers.compare import scale_layer
from epur.peers.scalesim import (
    INSTALL,
    Accesses,
    ScaleSimLayer,
    config_text,
    installed_version,
    layout_text,
    parse_reports,
    run_scalesim,
    topology_text,
)
from epur.peers.systolic import (
    Array,
    GemmShape,
    Sample,
    SystolicDataflow,
    closed_form_cycles,
    folds,
)

WS, OS, IS = SystolicDataflow.WS, SystolicDataflow.OS, SystolicDataflow.IS
TINY = [GemmShape(1, 16, 16), GemmShape(5, 13, 20), GemmShape(40, 33, 24)]


def test_topology_rows_end_in_a_comma() -> None:
    text = topology_text([GemmShape(1, 640, 1280), GemmShape(100, 320, 1280)])
    assert text == "Layer,M,N,K,\ngemm0,1,1280,640,\ngemm1,100,1280,320,\n"


def test_the_layout_file_is_a_header() -> None:
    assert layout_text() == "Layer name,\n"


def test_config_has_every_section_scalesim_reads() -> None:
    parser = configparser.ConfigParser()
    parser.read_string(config_text(Array(16, 4), OS))
    assert parser.sections() == [
        "general", "architecture_presets", "layout", "sparsity", "run_presets",
    ]  # fmt: skip
    arch = parser["architecture_presets"]
    assert (arch["ArrayHeight"], arch["ArrayWidth"], arch["Dataflow"]) == ("16", "4", "os")
    assert arch["IfmapSramSzkB"] == arch["FilterSramSzkB"] == arch["OfmapSramSzkB"] == "64"
    assert parser["run_presets"]["InterfaceBandwidth"] == "CALC"
    assert parser["run_presets"]["UseRamulatorTrace"] == "False"
    assert parser["sparsity"]["SparsitySupport"] == "false"
    assert parser["layout"]["IfmapCustomLayout"] == "False"


def test_not_installed_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(name: str) -> str:
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(scalesim.metadata, "version", missing)
    with pytest.raises(BackendError, match=r"pip install 'epur\[peers\]'") as info:
        installed_version()
    assert str(info.value) == INSTALL
    assert "SCALE-Sim 3.0.0 is not installed" in INSTALL
    with pytest.raises(BackendError, match="not installed"):
        run_scalesim(TINY, Array(8, 8), WS, Path("/nonexistent"), 10)


def test_another_version_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scalesim.metadata, "version", lambda name: "2.0.0")
    with pytest.raises(BackendError, match=r"SCALE-Sim must be version 3\.0\.0 .*, not 2\.0\.0"):
        installed_version()


def test_the_numpy_workaround(monkeypatch: pytest.MonkeyPatch) -> None:
    """What SCALE-Sim 3.0.0 does under NumPy 2.4 (``int()`` of a one-element array, after
    building the traces) is replaced by the largest serviced cycle of the ofmap trace."""

    class Scratchpad:
        def service_memory_requests(self, fail: str) -> None:
            self.ofmap_trace_matrix = np.array([[3.0, 1], [9.0, 2], [7.0, 3]])
            if fail:
                raise TypeError(fail)
            self.total_cycles = 5

    module = types.ModuleType(driver.SCRATCHPAD)
    module.double_buffered_scratchpad = Scratchpad  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, driver.SCRATCHPAD, module)
    driver._patch_numpy_scalar()
    pad: Any = Scratchpad()
    pad.service_memory_requests("")
    assert pad.total_cycles == 5
    pad.service_memory_requests("only 0-dimensional arrays can be converted to Python scalars")
    assert (pad.total_cycles, pad.traces_valid) == (9, True)
    with pytest.raises(TypeError, match="something else"):
        pad.service_memory_requests("something else")


def _layer(*counts: int, cycles: int = 99) -> ScaleSimLayer:
    return ScaleSimLayer(cycles, 0, Accesses(*counts))


def test_scaling_a_sample_by_hand() -> None:
    # WS GEMV (1 x 320) . (320 x 1280) on 16x4, sample of 57 column folds (N = 228)
    whole, part = GemmShape(1, 320, 1280), GemmShape(1, 320, 228)
    s = Sample(whole, part, 20 * 320, 20 * 57)
    layer = _layer(18_240, 72_960, 4_560, 320, 72_960, 4_560, cycles=39_899)
    cycles, a = scale_layer(layer, s, WS)
    assert cycles == 20 * 320 * 35 - 1 == 223_999  # 39,900 = 1,140 folds x 35 cycles
    r = 1280 / 228
    assert a.sram_ifmap_reads == round(18_240 * r) == 102_400
    assert a.sram_filter_reads == 409_600 and a.sram_ofmap_writes == 25_600
    assert a.dram_ifmap_reads == 320  # fetched once: the inputs fit the SRAM
    assert a.dram_filter_reads == 409_600 and a.dram_ofmap_writes == 25_600


def test_inputs_over_half_the_sram_are_fetched_once_per_column_fold() -> None:
    whole, part = GemmShape(700, 320, 1280), GemmShape(700, 320, 32)
    s = Sample(whole, part, 10 * 40, 10)
    layer = _layer(224_000, 10_240, 224_000, 224_000, 10_240, 224_000)
    _, a = scale_layer(layer, s, WS)
    assert a.dram_ifmap_reads == 224_000 * 40  # 224,000 elements > 32 KiB: once per fold
    _, a = scale_layer(_layer(1, 1, 1, 32_768, 1, 1), Sample(
        GemmShape(1024, 32, 64), GemmShape(1024, 32, 32), 4, 2), WS)  # fmt: skip
    assert a.dram_ifmap_reads == 32_768  # exactly half the SRAM: once
    # the sample shows a re-fetch (two column folds, each reading the inputs)
    _, a = scale_layer(_layer(1, 1, 1, 2 * 640, 1, 1), Sample(
        GemmShape(2, 320, 64), GemmShape(2, 320, 8), 8, 2), OS)  # fmt: skip
    assert a.dram_ifmap_reads == 2 * 640 * 8
    # input stationary streams the weights past the column folds (M)
    _, a = scale_layer(_layer(1, 1, 1, 1, 81_920, 1), Sample(
        GemmShape(8, 320, 256), GemmShape(4, 320, 256), 40, 20), IS)  # fmt: skip
    assert a.dram_filter_reads == 2 * 81_920


# -- real SCALE-Sim 3.0.0 (the peers extra) -------------------------------------------------

needs_scalesim = pytest.mark.skipif(
    importlib.util.find_spec("scalesim") is None, reason="SCALE-Sim (epur[peers]) not installed"
)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], Any]:
    """One SCALE-Sim run per (array, dataflow): tiny GEMMs and samples of the survey's."""
    pytest.importorskip("scalesim")
    cases = {
        ("8x8", "ws"): [*TINY, GemmShape(1, 640, 64), GemmShape(100, 320, 64)],
        ("16x4", "ws"): [GemmShape(1, 640, 40)],
        ("32x32", "ws"): [GemmShape(700, 320, 32)],
        ("8x8", "os"): [*TINY, GemmShape(1, 640, 64)],
        ("8x8", "is"): TINY,
        ("16x4", "os"): [GemmShape(100, 400, 8), GemmShape(40, 400, 8)],
    }
    out: dict[tuple[str, str], Any] = {}
    for (array, df), shapes in cases.items():
        work = tmp_path_factory.mktemp(f"scalesim-{array}-{df}")
        layers = run_scalesim(shapes, Array.parse(array), SystolicDataflow(df), work, 300)
        out[(array, df)] = (work, dict(zip(shapes, layers, strict=True)))
    return out


@needs_scalesim
@pytest.mark.parametrize(
    ("array", "df"),
    [("8x8", "ws"), ("16x4", "ws"), ("32x32", "ws"), ("8x8", "os"), ("8x8", "is"), ("16x4", "os")],
)
def test_scalesim_cycles_are_the_closed_form(runs: Any, array: str, df: str) -> None:
    _, layers = runs[(array, df)]
    for shape, layer in layers.items():
        assert layer.cycles == closed_form_cycles(shape, Array.parse(array), SystolicDataflow(df))
        assert layer.stall_cycles == 0  # CALC mode never stalls


@needs_scalesim
def test_tiny_gemm_accesses(runs: Any) -> None:
    """(5 x 13) . (13 x 20) on 8x8 WS: inputs read once per column fold (3), weights once,
    outputs written once per row fold (2)."""
    _, layers = runs[("8x8", "ws")]
    a = layers[GemmShape(5, 13, 20)].accesses
    assert (a.sram_ifmap_reads, a.sram_filter_reads, a.sram_ofmap_writes) == (195, 260, 200)
    assert (a.dram_ifmap_reads, a.dram_filter_reads) == (65, 260)


def _scaled(runs: Any, key: tuple[str, str], part: GemmShape, whole: GemmShape) -> Any:
    array, df = Array.parse(key[0]), SystolicDataflow(key[1])
    _, layers = runs[key]
    fr, fc = folds(whole, array, df)
    sr, sc = folds(part, array, df)
    return scale_layer(layers[part], Sample(whole, part, fr * fc, sr * sc), df)


@needs_scalesim
def test_scaled_samples_reproduce_the_surveys_full_runs(runs: Any) -> None:
    """Samples of a few folds, scaled, give the survey's measured full-size runs."""
    cycles, a = _scaled(runs, ("8x8", "ws"), GemmShape(1, 640, 64), GemmShape(1, 640, 1280))
    assert cycles == 294_399
    assert (a.sram_ifmap_reads, a.sram_filter_reads, a.sram_ofmap_writes) == (
        102_400, 819_200, 102_400,
    )  # fmt: skip
    assert (a.dram_ifmap_reads, a.dram_filter_reads) == (640, 819_200)
    assert abs(a.dram_ofmap_writes - 102_407) <= 200  # CALC's end-of-layer flush, +7
    cycles, a = _scaled(runs, ("16x4", "ws"), GemmShape(1, 640, 40), GemmShape(1, 640, 1280))
    assert cycles == 447_999
    assert (a.sram_ifmap_reads, a.sram_ofmap_writes, a.dram_ifmap_reads) == (204_800, 51_200, 640)
    cycles, a = _scaled(runs, ("8x8", "ws"), GemmShape(100, 320, 64), GemmShape(100, 320, 1280))
    assert cycles == 780_799
    assert (a.sram_ifmap_reads, a.dram_ifmap_reads, a.dram_filter_reads) == (
        5_120_000, 32_000, 409_600,
    )  # fmt: skip
    # T = 700 on 32x32: the inputs (224,000) exceed half the SRAM, re-read per column fold
    cycles, a = _scaled(runs, ("32x32", "ws"), GemmShape(700, 320, 32), GemmShape(700, 320, 1280))
    assert cycles == 317_599
    assert (a.dram_ifmap_reads, a.dram_filter_reads) == (8_960_000, 409_600)
    cycles, a = _scaled(runs, ("8x8", "os"), GemmShape(1, 640, 64), GemmShape(1, 640, 1280))
    assert cycles == 104_639
    assert (a.sram_ifmap_reads, a.sram_filter_reads, a.sram_ofmap_writes) == (
        102_400, 819_200, 3_840,
    )  # fmt: skip


@needs_scalesim
def test_the_inputs_and_reports_are_kept(runs: Any) -> None:
    work, layers = runs[("8x8", "is")]
    names = {p.name for p in work.iterdir()}
    assert {"scalesim.cfg", "topology.csv", "layout.csv", "scalesim.log", "out"} <= names
    again = parse_reports(work / "out" / scalesim.RUN_NAME, len(TINY))
    assert again == tuple(layers.values())
    with pytest.raises(BackendError, match="SCALE-Sim reported 3 layers for the 4 of"):
        parse_reports(work / "out" / scalesim.RUN_NAME, 4)
    with pytest.raises(BackendError, match=r"SCALE-Sim wrote no COMPUTE_REPORT\.csv"):
        parse_reports(work, 3)


@needs_scalesim
def test_inputs_over_half_the_sram_are_read_once_per_column_fold(runs: Any) -> None:
    """What ``scale_layer`` assumes of a one-fold sample: output stationary re-reads inputs
    of 100 x 400 (over 32 KiB) at each of its 2 column folds, and reads 40 x 400 once."""
    _, layers = runs[("16x4", "os")]
    assert layers[GemmShape(100, 400, 8)].accesses.dram_ifmap_reads == 2 * 40_000
    assert layers[GemmShape(40, 400, 8)].accesses.dram_ifmap_reads == 16_000
    # and the scaled one-fold sample agrees with the two-fold run
    _, a = scale_layer(
        _layer(1, 1, 1, 40_000, 1, 1),
        Sample(GemmShape(100, 400, 8), GemmShape(100, 400, 4), 14, 7),
        OS,
    )
    assert a.dram_ifmap_reads == 80_000
