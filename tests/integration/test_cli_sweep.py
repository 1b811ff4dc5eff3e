"""``epur sweep``: a bad spec is one line and exit 2 before any point runs; a sweep
writes its store and summary, and ``--report`` renders it."""

from __future__ import annotations

import sqlite3
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


KILLED = """networks: [eesen, bysdne]
sram: none
axes:
  dpu.lanes: [2, 4, 8, 16, 32, 64]
  weight_buffer.banks: [4, 8, 16, 32]
  dataflow: [mwl, baseline]
"""


def _stored(out: Path) -> int:
    """Rows in a sweep's store, read while another process writes it (0 before)."""
    db = out / "results.sqlite"
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(db, timeout=1) as con:
            tables = con.execute("SELECT name FROM sqlite_master WHERE type='table'").fetchall()
            return int(con.execute(f"SELECT COUNT(*) FROM {tables[0][0]}").fetchone()[0])
    except (sqlite3.Error, IndexError):  # not created yet
        return 0


def test_a_sweep_killed_part_way_and_resumed_has_the_rows_of_a_whole_one(tmp_path: Path) -> None:
    """SIGKILL (no clean-up runs) while points are being stored, then ``--resume``: the
    store is whole and ends with exactly the rows of an uninterrupted sweep."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from epur.sweep.store import read_rows

    spec = tmp_path / "s.yaml"
    spec.write_text(KILLED)
    whole, cut = tmp_path / "whole", tmp_path / "cut"
    command = [sys.executable, "-m", "epur", "sweep", str(spec), "--workers", "1", "--out"]
    subprocess.run([*command, str(whole)], check=True, capture_output=True)
    total = len(read_rows(whole))
    child = subprocess.Popen([*command, str(cut)], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)  # fmt: skip
    deadline = time.monotonic() + 60
    while _stored(cut) < 5 and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    stored = _stored(cut)
    assert 0 < stored < total, (stored, total)  # killed part-way
    assert main(["sweep", str(spec), "--workers", "1", "--resume", "--out", str(cut)]) == 0
    assert read_rows(cut) == read_rows(whole)
