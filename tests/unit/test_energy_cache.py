"""The CACTI cache is checked, not trusted: a bad entry costs one CACTI run and one note.

Every test runs the real CACTI binary on a small SRAM with its own cache folder
(``tmp_path``), and compares with the figures of a run in an empty cache folder.
"""

from __future__ import annotations

import builtins
import dataclasses
import errno
import io
import json
import math
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from epur.energy.cacti import SramResult, SramSpec, find_cacti, run_cacti

SPEC = SramSpec(4096, 64)
OTHER = SramSpec(8192, 128)

Corrupt = Callable[[Path, str], object]  # (entry path, a valid entry's text) -> None


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> tuple[SramResult, Path]:
    """CACTI's figures for SPEC from an empty cache folder, and the entry that run wrote."""
    folder = tmp_path_factory.mktemp("clean")
    result = run_cacti(SPEC, cache_dir=folder)
    (entry,) = folder.glob("*.json")
    return result, entry


def _figures(entry: dict[str, Any]) -> dict[str, Any]:
    """The JSON object of an entry that holds the figures, wherever the format puts it."""
    if "area_mm2" in entry:
        return entry
    (inner,) = (v for v in entry.values() if isinstance(v, dict) and "area_mm2" in v)
    return inner


def _edit(change: Callable[[dict[str, Any]], object]) -> Corrupt:
    def corrupt(path: Path, valid: str) -> None:
        entry = json.loads(valid)
        change(entry)
        path.write_text(json.dumps(entry))  # json writes NaN and Infinity, as Python reads them

    return corrupt


def _set(field: str, value: object) -> Corrupt:
    return _edit(lambda entry: _figures(entry).__setitem__(field, value))


def _text(text: str) -> Corrupt:
    return lambda path, valid: path.write_text(text)


def _truncated(path: Path, valid: str) -> None:
    path.write_text(valid[: len(valid) // 2])


def _not_utf8(path: Path, valid: str) -> None:
    path.write_bytes(b'{"area_mm2": "\xff\xfe"}')


def _a_folder(path: Path, valid: str) -> None:
    path.mkdir()
    (path / "inside.json").write_text(valid)


CORRUPTIONS: list[tuple[str, Corrupt, str]] = [
    ("empty file", _text(""), "empty file"),
    ("truncated JSON", _truncated, "not JSON"),
    ("a list", _text("[1.0, 2.0]"), "must be a JSON object, not an array"),
    ("a string", _text('"cacti"'), "must be a JSON object, not a string"),
    ("not UTF-8", _not_utf8, "not UTF-8 text"),
    ("missing field", _edit(lambda e: _figures(e).pop("cycle_time_s")), "has no cycle_time_s"),
    ("extra field", _set("bogus_j", 1e-12), "unknown fields bogus_j"),
    ("string number", _set("area_mm2", "0.005"), 'area_mm2 "0.005" must be a real number'),
    ("bool", _set("leakage_w", True), "leakage_w true must be a real number"),
    ("null", _set("read_energy_j", None), "read_energy_j null must be a real number"),
    ("NaN", _set("write_energy_j", math.nan), "write_energy_j NaN must be finite"),
    ("Infinity", _set("access_time_s", math.inf), "access_time_s Infinity must be finite"),
    ("negative area", _set("area_mm2", -3.0), "area_mm2 -3.0 must be positive"),
    ("zero cycle time", _set("cycle_time_s", 0.0), "cycle_time_s 0.0 must be positive"),
    ("negative leakage", _set("gate_leakage_w", -1e-6), "-1e-06 must be zero or positive"),
    ("another version", _edit(lambda e: e.__setitem__("version", 0)), "version 0 must be 2"),
    ("a folder", _a_folder, "a folder, not a file"),
]


def _assert_one_note(capsys: pytest.CaptureFixture[str], entry: Path, problem: str) -> None:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"note: CACTI cache entry {entry} was invalid ("), err
    assert problem in lines[0], err
    assert lines[0].endswith("); recomputed"), err


def _assert_served_from_cache(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    folder: Path,
    result: SramResult,
) -> None:
    """The entry is valid now: the next run takes it without running CACTI, silently."""

    def no_cacti(*args: object, **kwargs: object) -> None:
        raise AssertionError("CACTI ran: the entry was not taken from the cache")

    with monkeypatch.context() as patch:
        patch.setattr(subprocess, "run", no_cacti)
        assert run_cacti(SPEC, cache_dir=folder) == result
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize(
    ("corrupt", "problem"),
    [pytest.param(corrupt, problem, id=name) for name, corrupt, problem in CORRUPTIONS],
)
def test_a_bad_entry_is_recomputed_replaced_and_noted_once(
    corrupt: Corrupt,
    problem: str,
    clean: tuple[SramResult, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    result, valid = clean
    entry = tmp_path / valid.name
    corrupt(entry, valid.read_text())
    assert run_cacti(SPEC, cache_dir=tmp_path) == result
    _assert_one_note(capsys, entry, problem)
    assert entry.is_file()
    _assert_served_from_cache(monkeypatch, capsys, tmp_path, result)


def test_an_entry_of_another_configuration_renamed_to_this_key_is_a_miss(
    clean: tuple[SramResult, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    result, valid = clean
    other = run_cacti(OTHER, cache_dir=tmp_path / "other")
    assert other != result  # else the copy would not show
    (other_entry,) = (tmp_path / "other").glob("*.json")
    folder = tmp_path / "cache"
    folder.mkdir()
    shutil.copy(other_entry, folder / valid.name)
    assert run_cacti(SPEC, cache_dir=folder) == result
    _assert_one_note(capsys, folder / valid.name, "computed for another configuration")
    _assert_served_from_cache(monkeypatch, capsys, folder, result)


def test_an_entry_of_another_cacti_binary_is_not_used(
    clean: tuple[SramResult, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The key covers the binary: another build's figures (here doctored, to tell them
    apart) are never taken for this one's, though the configuration text is the same."""
    result, valid = clean
    entry = json.loads(valid.read_text())
    _figures(entry)["area_mm2"] *= 2
    (tmp_path / valid.name).write_text(json.dumps(entry))
    install = find_cacti()
    assert run_cacti(SPEC, install, cache_dir=tmp_path).area_mm2 == 2 * result.area_mm2
    binary = tmp_path / "build" / "cacti"
    binary.parent.mkdir()
    shutil.copy2(install.binary, binary)
    with binary.open("ab") as handle:
        handle.write(b"\0")  # another build: other bytes, the same program
    rebuilt = dataclasses.replace(install, binary=binary)
    assert run_cacti(SPEC, rebuilt, cache_dir=tmp_path) == result
    assert len(list(tmp_path.glob("*.json"))) == 2  # each CACTI its own entry
    assert capsys.readouterr().err == ""


def test_a_fifo_where_the_entry_should_be_is_not_opened(
    clean: tuple[SramResult, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Opening a FIFO for reading blocks until a writer comes: the cache must not."""
    result, valid = clean
    entry = tmp_path / valid.name
    os.mkfifo(entry)

    def blocked(signum: int, frame: object) -> None:
        raise TimeoutError("run_cacti blocked on the FIFO")

    previous = signal.signal(signal.SIGALRM, blocked)
    signal.setitimer(signal.ITIMER_REAL, 10.0)
    try:
        got = run_cacti(SPEC, cache_dir=tmp_path)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert got == result
    _assert_one_note(capsys, entry, "not a regular file")
    _assert_served_from_cache(monkeypatch, capsys, tmp_path, result)


OPENS = [(os, "open"), (io, "open"), (builtins, "open")]
LOOKS = [(os, "stat"), (os, "lstat"), (os, "mkdir"), (os, "scandir"), (os, "listdir")]


def _deny(monkeypatch: pytest.MonkeyPatch, under: Path, calls: list[tuple[Any, str]]) -> None:
    """Make ``calls`` on every path at or below ``under`` refuse access, as ``chmod 000``
    would for anyone but root (the tests may run as root, which permissions do not stop):
    on a file its opening, on a folder also looking inside it."""

    def guard(real: Callable[..., Any]) -> Callable[..., Any]:
        def refuse(path: Any, *args: Any, **kwargs: Any) -> Any:
            if isinstance(path, str | bytes | os.PathLike):
                name = os.fsdecode(path)
                if Path(name) == under or Path(name).is_relative_to(under):
                    raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), name)
            return real(path, *args, **kwargs)

        return refuse

    for module, name in calls:
        monkeypatch.setattr(module, name, guard(getattr(module, name)))


def test_an_entry_that_cannot_be_read_is_recomputed(
    clean: tuple[SramResult, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    result, valid = clean
    entry = tmp_path / valid.name
    shutil.copy(valid, entry)
    with monkeypatch.context() as patch:
        _deny(patch, entry, OPENS)
        assert run_cacti(SPEC, cache_dir=tmp_path) == result
    _assert_one_note(capsys, entry, "cannot be read: Permission denied")
    _assert_served_from_cache(monkeypatch, capsys, tmp_path, result)


def test_a_cache_folder_that_cannot_be_used_costs_only_time(
    clean: tuple[SramResult, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A file where the folder should be, or a folder without permissions: CACTI runs,
    nothing is stored, nothing is said, nothing breaks."""
    result, _ = clean
    a_file = tmp_path / "a file"
    a_file.write_text("not a folder")
    for folder in (a_file, a_file / "below"):
        assert run_cacti(SPEC, cache_dir=folder) == result
    assert a_file.read_text() == "not a folder"
    locked = tmp_path / "locked"
    locked.mkdir()
    with monkeypatch.context() as patch:
        _deny(patch, locked, OPENS + LOOKS)
        for folder in (locked, locked / "below"):
            assert run_cacti(SPEC, cache_dir=folder) == result
    assert list(locked.iterdir()) == []
    assert capsys.readouterr().err == ""


def test_an_entry_that_cannot_be_replaced_is_noted_once(
    clean: tuple[SramResult, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The same bad entry, looked up again in the same run, is not noted again."""
    result, valid = clean
    entry = tmp_path / valid.name
    entry.write_text("")

    def refuse(src: object, dst: object) -> None:
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(dst))

    monkeypatch.setattr(os, "replace", refuse)
    for _ in range(3):
        assert run_cacti(SPEC, cache_dir=tmp_path) == result
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1, err
    assert err.startswith(f"note: CACTI cache entry {entry} was invalid (empty file); "), err
    assert "could not replace it (Permission denied)" in err
    assert [p.name for p in tmp_path.iterdir()] == [entry.name]  # no temporary file left
    assert entry.read_text() == ""


def test_an_interrupted_write_leaves_nothing_a_later_run_reads(
    clean: tuple[SramResult, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    result, _ = clean

    def interrupted(src: object, dst: object) -> None:
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(os, "replace", interrupted)
        with pytest.raises(KeyboardInterrupt):
            run_cacti(SPEC, cache_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []  # no entry, and no temporary file either
    assert run_cacti(SPEC, cache_dir=tmp_path) == result
    assert capsys.readouterr().err == ""
    _assert_served_from_cache(monkeypatch, capsys, tmp_path, result)


def test_temporary_files_of_crashed_writes_are_ignored_then_removed(
    clean: tuple[SramResult, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A crash between write and rename leaves ``.<entry>.<random>.tmp``: never read, and
    removed by a later write once old enough that no running write can own it."""
    result, valid = clean
    stale = tmp_path / f".{valid.name}.k2j4h1.tmp"
    stale.write_text(valid.read_text()[:10])
    hours_ago = time.time() - 2 * 3600
    os.utime(stale, (hours_ago, hours_ago))
    running = tmp_path / f".{valid.name}.x8d7f0.tmp"  # a write still going on elsewhere
    running.write_text("{")
    assert run_cacti(SPEC, cache_dir=tmp_path) == result
    assert not stale.exists()
    assert running.exists()
    assert capsys.readouterr().err == ""
