"""``epur reproduce``'s report: figures a reader can read, one spelling, sources in the
repository, the SRAM and workload tables, and a modified architecture said to be one."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET

import pytest

from epur.arch import ArchConfig, apply_overrides, paper_preset
from epur.energy import sram_backend
from epur.report.html import report_files
from epur.report.reproduce import DESIGNS, Reproduction, reproduce, reproduction_results
from epur.report.results import reproduction_text

SVG = "{http://www.w3.org/2000/svg}"
FIGURES = ("energy_breakdown", "vs_tegra_x1", "area_breakdown", "tornado_energy_reduction",
           "tornado_speedup")  # fmt: skip


def _render(arch: ArchConfig) -> tuple[Reproduction, dict[str, bytes]]:
    rep = reproduce(arch, sram_backend("table"))
    results = reproduction_results(rep)
    return rep, report_files(rep, results, reproduction_text(results, rep.changes))


@pytest.fixture(scope="module")
def paper() -> tuple[Reproduction, dict[str, bytes]]:
    return _render(paper_preset())


@pytest.fixture(scope="module")
def page(paper: tuple[Reproduction, dict[str, bytes]]) -> str:
    return paper[1]["report.html"].decode("utf-8").replace("<wbr>", "")  # break hints


def _svgs(page: str) -> list[ET.Element]:
    return [ET.fromstring(s) for s in re.findall(r"<svg.*?</svg>", page, flags=re.DOTALL)]


def _texts(element: ET.Element) -> list[str]:
    return ["".join(t.itertext()).strip() for t in element.iter(f"{SVG}text")]


def test_every_axes_of_every_figure_has_both_axis_labels(page: str) -> None:
    svgs = _svgs(page)
    assert len(svgs) == len(FIGURES)
    for svg in svgs:
        axes = [g for g in svg.iter(f"{SVG}g") if re.fullmatch(r"axes_\d+", g.get("id", ""))]
        assert axes
        for ax in axes:
            rotated = [t for t in ax.iter(f"{SVG}text") if "rotate(-90" in t.get("transform", "")]
            assert any("".join(t.itertext()).strip() for t in rotated), "no y-axis label"
            xlabels = [g for g in ax.iter(f"{SVG}g") if "-xlabel" in g.get("id", "")]
            assert xlabels and all(_texts(g) != [""] for g in xlabels), "no x-axis label"


def test_designs_are_spelled_one_way(page: str) -> None:
    legend = set(_texts(_svgs(page)[1]))  # vs_tegra_x1: one bar series per design
    assert set(DESIGNS) <= legend
    for other in ("MWL buffers", "baseline, MWL", ">MWL<"):
        assert other not in page
    rows = re.findall(r"<tr><td[^>]*>[^<]*</td><td[^>]*>([^<]*)</td>", page.split("Results")[1])
    designs = {r for r in rows if r in DESIGNS or r.startswith("tegra_x1")}
    assert designs == {*DESIGNS, "tegra_x1 (modelled)"}


def test_gmat_with_known_inputs_is_in_the_figures(page: str) -> None:
    energy, versus, *_ = _svgs(page)
    for svg in (energy, versus):
        assert "GMAT (known inputs)" in _texts(svg)


def test_energy_totals_keep_three_significant_figures(
    paper: tuple[Reproduction, dict[str, bytes]], page: str
) -> None:
    rep, _ = paper
    shown = [float(t) for t in _texts(_svgs(page)[0]) if re.fullmatch(r"[\d.]+", t)]
    energies = [c.designs[d].energy for c in rep.cases for d in DESIGNS]
    expected = [e.total_j * 1e3 for e in energies if e is not None]
    assert len(shown) >= len(expected)
    totals = shown[-len(expected) :] if len(shown) > len(expected) else shown
    assert totals == pytest.approx(expected, rel=5e-3)  # 3 figures: within 0.5 %


def test_no_source_is_cited_outside_the_repository(page: str) -> None:
    for outside in ("shared/", "DESIGN.md", "STYLE.md", "energy.md"):
        assert outside not in page
    assert "docs/sources.md" in page and "Horowitz, ISSCC 2014" in page


def test_sram_table_gives_cacti_s_figures_for_each_design(
    paper: tuple[Reproduction, dict[str, bytes]], page: str
) -> None:
    rep, files = paper
    section = page.split("<h2>SRAMs (CACTI)</h2>")[1].split("<h2>")[0]
    backend = sram_backend("table")
    for design in DESIGNS:
        table = rep.cases[0].designs[design].energy_table
        assert table is not None
        for m in table.memories:
            recorded = backend.sram(m.spec)  # the recorded CACTI run, not the report's
            row = next(r for r in section.split("<tr>") if f">{m.spec.capacity_bytes:,}<" in r
                       and f">{m.name}<" in r and f">{m.spec.banks}<" in r)  # fmt: skip
            assert design in row
            for value in (recorded.read_energy_j * 1e12, recorded.cycle_time_s * 1e9):
                cells = [float(c.replace(",", "")) for c in re.findall(r">([\d.,]+)<", row)]
                assert any(c == pytest.approx(value, rel=5e-3) for c in cells), (m.name, value)
    memories = json.loads(files["results.json"])["memories"]
    assert {m["memory"] for m in memories} == {"weight_buffer", "input_buffer",
                                                "intermediate_memory"}  # fmt: skip


def test_workload_table_gives_each_network_s_sizes(page: str) -> None:
    section = page.split("<h2>Workloads</h2>")[1].split("<h2>")[0]
    # src/epur/workload/data/networks.json: lstm_params of EESEN and GMAT
    eesen = next(r for r in section.split("<tr>") if ">EESEN<" in r)
    gmat = next(r for r in section.split("<tr>") if ">GMAT<" in r)
    assert ">10.98<" in eesen and ">800<" in eesen  # 10,979,200 parameters, 800 steps
    assert ">180.4<" in gmat and ">27 + 28<" in gmat and "autoregressive" in gmat


def test_parameters_are_the_values_used_with_units_for_every_design(
    paper: tuple[Reproduction, dict[str, bytes]], page: str
) -> None:
    rep, _ = paper
    section = page.split("<h2>Architecture parameters")[1]
    row = next(r for r in section.split("<tr>") if ">logic.mul_fp16_pj<" in r)
    # Horowitz's 1.1 pJ at 45 nm x Stillmaker & Baas's 0.42 for 28 nm
    assert ">pJ at 28 nm<" in row and ">0.462<" in row
    row = next(r for r in section.split("<tr>") if ">weight_buffer.capacity_bytes<" in r)
    assert ">B<" in row
    assert f"baseline: {rep.baseline_arch.weight_buffer.capacity_bytes:,}" in row
    assert f"mwl, baseline_on_mwl_buffers: {2 * 2**20:,}" in row
    assert ">MHz<" in next(r for r in section.split("<tr>") if ">clock_hz<" in r)


def test_wide_tables_scroll_and_figures_shrink(page: str) -> None:
    assert page.count("<table>") == page.count('<div class="scroll"><table>') > 0
    assert re.search(r"\.scroll\{overflow-x:auto", page)
    assert "figure svg{max-width:100%" in page


def test_one_colour_per_component_in_every_figure(
    paper: tuple[Reproduction, dict[str, bytes]],
) -> None:
    fills: dict[str, set[str]] = {}
    for name in ("energy_breakdown", "area_breakdown"):
        svg = ET.fromstring(paper[1][f"{name}.svg"])
        for g in svg.iter(f"{SVG}g"):
            match = re.fullmatch(rf"{name}-bar-(\w+)-\d+", g.get("id", ""))
            if match:
                style = next(g.iter(f"{SVG}path")).get("style", "")
                fills.setdefault(match.group(1), set()).add(style.split("fill: ")[1][:7])
    for memory in ("weight_buffer", "input_buffer", "intermediate_memory"):
        assert len(fills[memory]) == 1, (memory, fills[memory])
    assert len({next(iter(fills[m])) for m in ("weight_buffer", "input_buffer", "dram")}) == 3


def test_the_paper_preset_is_the_paper_s_evaluation(page: str) -> None:
    assert "<title>E-PUR: the paper's evaluation, reproduced by epur</title>" in page
    assert "Changed from the paper preset" not in page


def test_a_modified_architecture_is_said_to_be_one() -> None:
    arch = apply_overrides(paper_preset(), ["dram.energy_per_bit_j=5e-12", "mfu.latency_cycles=10"])
    _, files = _render(arch)  # neither change touches an SRAM: the recorded table serves
    title = "E-PUR evaluation on a modified architecture (2 fields changed from the paper preset)"
    page = files["report.html"].decode("utf-8").replace("<wbr>", "")
    assert f"<title>{title}</title>" in page and f"<h1>{title}</h1>" in page
    section = page.split("<h2>Changed from the paper preset</h2>")[1].split("<h2>")[0]
    rows = [re.findall(r"<td[^>]*>([^<]*)</td>", r) for r in section.split("<tr>")[2:]]
    assert rows == [
        ["mfu.latency_cycles", "cycles", "8", "10", "user"],
        ["dram.energy_per_bit_j", "pJ/bit", "10", "5", "user"],
    ]
    params = page.split("<h2>Architecture parameters")[1]
    row = next(r for r in params.split("<tr>") if ">mfu.latency_cycles<" in r)
    assert ">user<" in row and ">10<" in row
    data = json.loads(files["results.json"])
    assert data["title"] == title
    assert [(c["key"], c["preset"], c["value"], c["provenance"]) for c in data["arch_changes"]] == [
        ("mfu.latency_cycles", 8, 10, "user"),
        ("dram.energy_per_bit_j", 10e-12, 5e-12, "user"),
    ]
    assert data["arch_provenance"]["mfu.latency_cycles"]["status"] == "user"
    markdown = files["results.md"].decode("utf-8")
    assert markdown.startswith(title) and "mfu.latency_cycles" in markdown


def test_the_tegra_rows_show_its_own_real_time_factor(
    paper: tuple[Reproduction, dict[str, bytes]],
) -> None:
    """The results table gives the modelled TX1's real-time factor, as the scenarios do."""
    data = json.loads(paper[1]["results.json"])
    from epur.report.results import result_rows

    rows = result_rows(reproduction_results(paper[0]))
    tegra = {row[0]: row[3] for row in rows if row[1].startswith("tegra_x1")}
    eesen = data["networks"]["eesen"]["tegra_x1"]["real_time_factor"]
    assert tegra["EESEN"] == f"{eesen:.4f}" and tegra["BYSDNE"] == "n/a"
