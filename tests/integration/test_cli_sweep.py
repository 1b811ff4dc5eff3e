"""``epur sweep``: a bad spec is one line and exit 2 before any point runs; a sweep
writes its store and summary, and ``--report`` renders it."""

from __future__ import annotations

from pathlib import Path

import pytest

from epur.cli import main

GOOD = """networks: [bysdne]
sram: table
axes:
  dpu.lanes: [4, 8]
  dataflow: [mwl, baseline]
"""


@pytest.mark.parametrize(
    ("text", "field"),
    [
        (GOOD.replace("dpu.lanes", "dpu.lanse"), "axes.dpu.lanse: unknown field"),
        (GOOD.replace("[4, 8]", "[]"), "axes.dpu.lanes: empty axis"),
        (GOOD.replace("[4, 8]", "[4, -8]"), "axes.dpu.lanes: value -8"),
        (GOOD + "constraints: {latency_s: {min: 2, max: 1}}\n", "contradictory"),
        (GOOD.replace("[bysdne]", "[bysdnf]"), "networks[0]: unknown network"),
    ],
)
def test_a_bad_spec_is_refused_before_any_point(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, field: str
) -> None:
    spec = tmp_path / "bad.yaml"
    spec.write_text(text)
    assert main(["sweep", str(spec), "--out", str(tmp_path / "out"), "--workers", "1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and field in err, err
    assert not (tmp_path / "out").exists()


def test_sweep_then_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "small.yaml"
    spec.write_text(GOOD)
    out = tmp_path / "out"
    assert main(["sweep", str(spec), "--out", str(out), "--workers", "1"]) == 0
    assert "4 points" in capsys.readouterr().out
    assert (out / "results.sqlite").is_file() and (out / "spec.json").is_file()
    assert main(["sweep", str(spec), "--out", str(out), "--workers", "1"]) == 2  # no --resume
    assert "--resume" in capsys.readouterr().err
    assert main(["sweep", str(spec), "--out", str(out), "--resume", "--workers", "1"]) == 0
    assert "4 already stored" in capsys.readouterr().out
    if (out / "summary.json").is_file():
        assert main(["sweep", "--report", str(out)]) == 0
        assert Path(capsys.readouterr().out.strip()).is_file()
