"""``epur compare scalesim`` end to end on a small network: the text, the JSON, --out, and
the one-line errors (a wrong array, SCALE-Sim missing)."""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
from importlib import metadata
from pathlib import Path

import pytest

from epur.cli import main
from epur.peers import scalesim

SMALL = str(Path(__file__).resolve().parents[2] / "examples" / "small_lstm.yaml")
needs_scalesim = pytest.mark.skipif(
    importlib.util.find_spec("scalesim") is None, reason="SCALE-Sim (epur[peers]) not installed"
)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def compared(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, object], Path]:
    """One run on the small network, kept: its text, its JSON and its --out folder."""
    pytest.importorskip("scalesim")
    work = tmp_path_factory.mktemp("compare")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(
            ["compare", "scalesim", "--network", SMALL, "--sample-cycles", "10000",
             "--energy-backend", "none", "--json", str(work / "c.json"), "--out",
             str(work / "ss")]
        )  # fmt: skip
    assert code == 0
    return out.getvalue(), json.loads((work / "c.json").read_text()), work / "ss"


@needs_scalesim
def test_the_text_says_what_was_sampled(compared: tuple[str, dict[str, object], Path]) -> None:
    text, _, _ = compared
    assert "SCALE-Sim 3.0.0 beside E-PUR: kws-small, batch 1" in text
    assert "16x4 array (the default: lanes x CUs, 64 MACs, as many as E-PUR's)" in text
    assert "one step of each recurrent GEMV is simulated and counted 200 times" in text
    assert "at most 10,000 simulated cycles" in text
    assert "why they differ: SCALE-Sim needs" in text
    # the recurrent GEMV (1 x 128) . (128 x 512) on 16x4 WS: 8 x 128 folds of 35 cycles
    assert "L1 (fw) gates +1 more" in text
    assert f"{8 * 128 * 35 - 1:,}" in text


@needs_scalesim
def test_the_json(compared: tuple[str, dict[str, object], Path]) -> None:
    _, data, _ = compared
    assert data["schema"] == "epur-compare-scalesim/1"
    ss: dict[str, object] = data["scalesim"]  # type: ignore[assignment]
    assert ss["array"] == {"rows": 16, "cols": 4, "default": True}
    assert ss["dataflow"] == "ws" and ss["complete"] is True
    gemms: list[dict[str, object]] = ss["gemms"]  # type: ignore[assignment]
    assert [(g["kind"], g["m"], g["k"], g["n"], g["runs"]) for g in gemms] == [
        ("input", 100, 40, 512, 1),
        ("recurrent", 1, 128, 512, 200),
        ("input", 100, 128, 512, 1),
        ("feedforward", 100, 128, 12, 1),
    ]
    for g in gemms:
        assert g["cycles"] == g["closed_form_cycles"]
    totals: dict[str, float] = ss["totals"]  # type: ignore[assignment]
    epur: dict[str, float] = data["epur"]["totals"]  # type: ignore[index]
    assert totals["macs"] == epur["macs"] == 21_862_400
    cycles = sum(g["cycles"] * g["runs"] for g in gemms)  # type: ignore[operator]
    assert totals["cycles"] == cycles
    assert totals["mac_utilization"] == pytest.approx(21_862_400 / (cycles * 64))
    # SCALE-Sim re-reads the recurrent weights at each of the 200 steps (2 bytes a word)
    assert totals["dram_weight_read_bytes"] >= 200 * 128 * 512 * 2
    assert epur["dram_weight_read_bytes"] < totals["dram_weight_read_bytes"] / 10


@needs_scalesim
def test_out_keeps_scalesims_files(compared: tuple[str, dict[str, object], Path]) -> None:
    _, _, folder = compared
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        ["scalesim.cfg", "topology.csv", "layout.csv", "scalesim.log", *scalesim.REPORTS]
    )
    rows = (folder / "topology.csv").read_text().splitlines()
    assert rows[0] == "Layer,M,N,K," and all(r.endswith(",") for r in rows)


def test_without_the_extra_it_says_how_to_install(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def missing(name: str) -> str:
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(scalesim.metadata, "version", missing)
    code, out, err = run(capsys, "compare", "scalesim", "--network", SMALL)
    assert code == 2 and out == ""
    assert err.strip().splitlines() == [
        "epur compare: error: SCALE-Sim 3.0.0 is not installed: pip install 'epur[peers]' "
        "(in a source checkout: pip install -e '.[peers]')"
    ]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--array", "32x32"], "--array 32x32 has 1024 MACs but E-PUR has 64 (4 CUs x 16 "
         "lanes): give an array of 64 MACs, or --set dpu.lanes=256"),
        (["--array", "9x7"], "--array 9x7 has 63 MACs but E-PUR has 64 (4 CUs x 16 lanes): "
         "give an array of 64 MACs"),
        (["--array", "16by4"], "--array must be ROWSxCOLS (e.g. 16x4), not '16by4'"),
        (["--dataflow", "mwl"], "argument --dataflow: invalid choice: 'mwl'"),
        (["--sample-cycles", "10"], "must be an integer from 1,000 to 10,000,000, not '10'"),
    ],
)  # fmt: skip
def test_mistakes_are_one_line(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code, out, err = run(capsys, "compare", "scalesim", "--network", SMALL, *argv)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and message in err


def test_help(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "compare", "scalesim", "--help")
    assert code == 0
    for option in ("--array", "--dataflow", "--sample-cycles", "--json", "--out", "--onnx"):
        assert option in out
