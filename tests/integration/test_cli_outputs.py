"""Every output of the ``epur`` command line is all or nothing.

``simulate --json``, ``size --json``, ``networks --json``, ``run --out`` and
``reproduce --out DIR``: a path that cannot be written is one line naming the flag, the
path and the reason, exit 2, and nothing is left behind; where it can be known, before
the work starts. ``reproduce --out DIR`` leaves the complete result or what was there
before, whatever fails between two files.
"""

from __future__ import annotations

import errno
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from epur.cli import main
from epur.cli.reproduce import REPORT_FILES
from tests.unit.test_files import full_disk

NET = "schema_version: 1\nname: n\nseq_len: 4\nlayers:\n  - {type: lstm, input: 3, hidden: 5}\n"


def call(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def snapshot(folder: Path) -> dict[str, bytes | None]:
    """Every path under ``folder`` (hidden ones too) with its content."""
    return {
        str(p.relative_to(folder)): p.read_bytes() if p.is_file() else None
        for p in sorted(folder.rglob("*"))
    }


def writers(work: Path) -> dict[str, Callable[[str], list[str]]]:
    """Each command that writes one file, given where."""
    (work / "n.yaml").write_text(NET)
    np.save(work / "x.npy", np.ones((4, 3)))
    return {
        "simulate": lambda out: ["simulate", "--network", "eesen", "--energy-backend", "none",
                                 "--json", out],
        "size": lambda out: ["size", "--network", "eesen", "--json", out],
        "networks": lambda out: ["networks", "--json", out],
        "run": lambda out: ["run", "--network", str(work / "n.yaml"), "--input",
                            str(work / "x.npy"), "--out", out],
    }  # fmt: skip


FLAG = {"simulate": "--json", "size": "--json", "networks": "--json", "run": "--out"}
COMMANDS = sorted(FLAG)

UNWRITABLE: list[tuple[str, Callable[[Path], object], str, str]] = [
    ("folder", lambda d: (d / "o").mkdir(), "o", r"it is a folder; give a file name"),
    ("fifo", lambda d: os.mkfifo(d / "o"), "o", r"it is a FIFO \(named pipe\), not a regular file"),
    ("missing-parent", lambda d: None, "no/o", r"folder \S*/no does not exist"),
    ("under-a-file", lambda d: (d / "f").write_text("x"), "f/o", r"\S*/f is not a folder"),
    ("deep-under-a-file", lambda d: (d / "f").write_text("x"), "f/g/o",
     r"folder \S*/f/g: Not a directory"),
    ("name-too-long", lambda d: None, "o" * 300,
     r"its name is 300 bytes, more than the 255 the file system allows"),
    ("newline", lambda d: None, "a\nb/o", r"folder '\S*/a\\nb' does not exist"),
]  # fmt: skip


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize(
    ("make", "target", "reason"), [c[1:] for c in UNWRITABLE], ids=[c[0] for c in UNWRITABLE]
)
def test_an_unwritable_output_is_one_line_exit_2_and_leaves_nothing(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    command: str,
    make: Callable[[Path], object],
    target: str,
    reason: str,
) -> None:
    argv = writers(tmp_path)[command]
    out = tmp_path / "w"
    out.mkdir()
    make(out)
    before = snapshot(tmp_path)
    code, _, err = call(capsys, *argv(str(out / target)))
    assert code == 2 and err.count("\n") == 1, err
    shown = repr(str(out / target)) if "\n" in target else str(out / target)
    prefix = f"epur {command}: error: cannot write {FLAG[command]} {shown}: "
    assert err.startswith(prefix), err
    assert re.fullmatch(reason, err[len(prefix) : -1]), err
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("command", COMMANDS)
def test_a_full_disk_is_one_line_and_keeps_the_old_file(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    command: str,
) -> None:
    argv = writers(tmp_path)[command]
    out = tmp_path / "o"
    out.write_text("previous")
    before = snapshot(tmp_path)
    full_disk(monkeypatch)
    code, _, err = call(capsys, *argv(str(out)))
    assert code == 2 and err.count("\n") == 1, err
    assert err.endswith(f"cannot write {FLAG[command]} {out}: No space left on device\n"), err
    assert snapshot(tmp_path) == before


def test_run_refuses_its_output_before_running(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("the run started before --out was checked")

    monkeypatch.setattr("epur.api.run", never)
    argv = writers(tmp_path)["run"]
    code, _, err = call(capsys, *argv(str(tmp_path / "missing" / "y.npz")))
    assert code == 2 and "cannot write --out" in err and "does not exist" in err


# ---- reproduce --out DIR --------------------------------------------------------------------

SMALL = {"results.json": b"{}\n", "results.md": b"# r\n", "report.html": b"<html>",
         "energy_breakdown.png": b"\x89PNG", "energy_breakdown.svg": b"<svg/>"}  # fmt: skip


class FailingFiles(dict[str, bytes]):
    """The rendered files, whose ``k``-th item raises ``error`` when they are written."""

    def __init__(self, files: dict[str, bytes], k: int, error: BaseException) -> None:
        super().__init__(files)
        self.k, self.error = k, error

    def items(self) -> Iterator[tuple[str, bytes]]:  # type: ignore[override]
        for i, item in enumerate(super().items()):
            if i == self.k:
                raise self.error
            yield item


@pytest.fixture
def rendered(monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    """``reproduce`` renders ``SMALL`` (or what ``rendered["files"]`` is set to) at once."""
    box: dict[str, object] = {"files": SMALL}
    monkeypatch.setattr("epur.report.html.report_files", lambda *args: box["files"])
    return box


def reproduce(capsys: pytest.CaptureFixture[str], out: Path) -> tuple[int, str, str]:
    return call(capsys, "reproduce", "--energy-backend", "table", "--out", str(out))


def test_reproduce_writes_every_file_it_may_write_and_no_other(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "results"
    code, _, err = reproduce(capsys, out)
    assert code == 0, err
    assert {p.name for p in out.iterdir()} == REPORT_FILES  # REPORT_FILES is complete
    assert [p.name for p in tmp_path.iterdir()] == ["results"]
    (out / "results.md").write_text("edited")
    code, _, err = reproduce(capsys, out)  # an earlier result is replaced
    assert code == 0 and (out / "results.md").read_text() != "edited", err
    assert [p.name for p in tmp_path.iterdir()] == ["results"]


@pytest.mark.parametrize("earlier", [None, {"results.json": b"old", "vs_tegra_x1.png": b"old"}])
@pytest.mark.parametrize("error", [OSError(errno.EIO, "Input/output error"), KeyboardInterrupt()])
def test_reproduce_stopped_between_any_two_files_leaves_all_or_nothing(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    rendered: dict[str, object],
    earlier: dict[str, bytes] | None,
    error: BaseException,
) -> None:
    out = tmp_path / "results"
    if earlier is not None:
        out.mkdir()
        for name, data in earlier.items():
            (out / name).write_bytes(data)
    before = snapshot(tmp_path)
    for k in range(len(SMALL)):
        rendered["files"] = FailingFiles(SMALL, k, error)
        code, _, err = reproduce(capsys, out)
        if isinstance(error, OSError):
            assert code == 2 and err.endswith(f"--out {out}: Input/output error\n"), err
        else:
            assert code == 130, err
        assert snapshot(tmp_path) == before, k  # the earlier result, or nothing; no temporary
    rendered["files"] = SMALL
    assert reproduce(capsys, out)[0] == 0
    assert {p.name: p.read_bytes() for p in out.iterdir()} == SMALL  # nothing stale kept


@pytest.mark.parametrize(
    ("make", "target", "reason"),
    [
        (lambda d: None, "no/results", r"folder \S*/no does not exist"),
        (lambda d: (d / "results").write_text("mine"), "results", r"it is a file; give a folder"),
        (lambda d: (d / "f").write_text("x"), "f/results", r"\S*/f is not a folder"),
        (lambda d: None, "r" * 300, r"its name is 300 bytes, more than the 255 .*"),
        (lambda d: (d / "results").mkdir() or (d / "results" / "thesis.tex").write_text("x"),
         "results", r"it holds files epur did not write \(thesis\.tex\); give a new or empty "
         "folder, or an earlier result to replace"),
        (lambda d: (d / "results").mkdir() or (d / "results" / "results.md").write_text("x"),
         "results", r"it is not empty and not an earlier epur result \(no results\.json\); .*"),
    ],
    ids=["missing-parent", "a-file", "under-a-file", "name-too-long", "foreign", "no-marker"],
)  # fmt: skip
def test_reproduce_refuses_its_output_folder_before_computing(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    make: Callable[[Path], object],
    target: str,
    reason: str,
) -> None:
    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("the evaluation started before --out was checked")

    monkeypatch.setattr("epur.cli.reproduce.reproduce", never)
    make(tmp_path)
    before = snapshot(tmp_path)
    code, text, err = reproduce(capsys, tmp_path / target)
    assert (code, text) == (2, "") and err.count("\n") == 1, err
    prefix = f"epur reproduce: error: cannot write --out {tmp_path / target}: "
    assert err.startswith(prefix) and re.fullmatch(reason, err[len(prefix) : -1])
    assert snapshot(tmp_path) == before


def test_reproduce_refuses_a_folder_that_gained_other_files_while_it_ran(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    rendered: dict[str, object],
) -> None:
    out = tmp_path / "results"
    out.mkdir()
    (out / "results.json").write_text("old")  # an earlier result: checked, fine

    def text(data: object, changes: object) -> str:  # meanwhile, the user saves a file there
        (out / "notes.txt").write_text("mine")
        return "text"

    monkeypatch.setattr("epur.cli.reproduce.reproduction_text", text)
    code, _, err = reproduce(capsys, out)
    assert code == 2 and "it holds files epur did not write (notes.txt)" in err, err
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt", "results.json"]
    assert [p.name for p in tmp_path.iterdir()] == ["results"]
