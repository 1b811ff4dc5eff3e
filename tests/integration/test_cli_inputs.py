"""Every file the ``epur`` command line reads is refused before it can hurt.

``--network`` and ``--arch`` files (YAML/TOML) and ``--input`` arrays (``.npy``/``.npz``):
what is not a regular file is refused without being opened (a FIFO would block,
``/dev/zero`` never ends), oversized, too deep and malformed files are one line naming the
flag or file and the limit, and YAML tags and pickles never run.
"""

from __future__ import annotations

import io
import os
import resource
import struct
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from epur.cli import main

NET = "schema_version: 1\nname: n\nseq_len: 4\nlayers:\n  - {type: lstm, input: 3, hidden: 5}\n"
DEEP_YAML = "name: n\nx: " + "[" * 3000 + "]" * 3000 + "\n"
DEEP_TOML = 'name = "n"\nx = ' + "[" * 3000 + "]" * 3000 + "\n"
DEEP_TABLES = "[" + ".".join(["dpu"] * 200) + "]\nlanes = 4\n"  # flat to parse, deep to walk


def call(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def in_process(tmp_path: Path, capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """``epur *argv`` must fail with one line on stderr and exit 2, writing nothing."""
    before = sorted(tmp_path.rglob("*"))
    code, _, err = call(capsys, *argv)
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err, err
    assert sorted(tmp_path.rglob("*")) == before
    return err


def as_process(tmp_path: Path, *argv: str) -> str:
    """``epur *argv`` as its own process, which a blocking read or an endless one cannot
    hang or exhaust: 60 s and 4 GiB of address space."""

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (4 * 2**30, 4 * 2**30))

    done = subprocess.run(
        [sys.executable, "-m", "epur", *argv], capture_output=True, text=True, timeout=60,
        cwd=tmp_path, preexec_fn=limit, check=False,
    )  # fmt: skip
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    return done.stderr


def small_run(tmp_path: Path, *argv: str) -> list[str]:
    (tmp_path / "n.yaml").write_text(NET)
    return ["run", "--network", str(tmp_path / "n.yaml"), *argv, "--out", str(tmp_path / "y.npz")]


# ---- what is not a regular file -------------------------------------------------------------


@pytest.mark.parametrize("special", ["fifo", "dev-zero"])
@pytest.mark.parametrize("flag", ["--network", "--arch", "--input"])
def test_special_files_are_refused_without_reading_them(
    tmp_path: Path, special: str, flag: str
) -> None:
    name = {"--network": "net.yaml", "--arch": "arch.toml", "--input": "x.npy"}[flag]
    path = tmp_path / name
    if special == "fifo":
        os.mkfifo(path)  # no writer: opening it would block for ever
        reason = "it is a FIFO (named pipe), not a regular file"
    else:
        path.symlink_to("/dev/zero")  # reading it would never end
        reason = "it is a character device, not a regular file"
    argv = {
        "--network": ["simulate", "--network", name, "--energy-backend", "none"],
        "--arch": ["size", "--network", "eesen", "--arch", name],
        "--input": small_run(tmp_path, "--input", name),
    }[flag]
    err = as_process(tmp_path, *argv)
    what = {"--network": "network file", "--arch": "architecture file", "--input": "--input file"}
    assert err.endswith(f"cannot read {what[flag]} {name}: {reason}\n"), err


@pytest.mark.parametrize("flag", ["--network", "--arch", "--input"])
def test_a_folder_is_refused_as_such(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], flag: str
) -> None:
    name = {"--network": "net.yaml", "--arch": "arch.yaml", "--input": "x.npz"}[flag]
    (tmp_path / name).mkdir()
    argv = {
        "--network": ["size", "--network", str(tmp_path / name)],
        "--arch": ["size", "--network", "eesen", "--arch", str(tmp_path / name)],
        "--input": small_run(tmp_path, "--input", str(tmp_path / name)),
    }[flag]
    err = in_process(tmp_path, capsys, *argv)
    assert err.endswith(f"{tmp_path / name}: it is a folder, not a file\n"), err


@pytest.mark.parametrize("flag", ["--network", "--arch"])
def test_a_file_over_16_mib_is_refused_unread(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], flag: str
) -> None:
    path = tmp_path / "big.yaml"
    with path.open("wb") as handle:
        handle.truncate(20 * 2**20)  # sparse
    argv = ["size", "--network", str(path)] if flag == "--network" else [
        "size", "--network", "eesen", "--arch", str(path)]  # fmt: skip
    err = in_process(tmp_path, capsys, *argv)
    assert err.endswith("big.yaml: it is 20 MiB, more than the 16 MiB allowed\n"), err


# ---- too deep, too many values, tags --------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "text"),
    [("deep.yaml", DEEP_YAML), ("deep.toml", DEEP_TOML), ("tables.toml", DEEP_TABLES),
     ("maps.yaml", "name: n\nx: " + "{a: " * 2000 + "1" + "}" * 2000 + "\n")],
)  # fmt: skip
@pytest.mark.parametrize("flag", ["--network", "--arch"])
def test_deep_nesting_is_one_line_naming_the_file_and_the_limit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, text: str, flag: str
) -> None:
    path = tmp_path / name
    path.write_text(text)
    argv = ["size", "--network", str(path)] if flag == "--network" else [
        "size", "--network", "eesen", "--arch", str(path)]  # fmt: skip
    err = in_process(tmp_path, capsys, *argv)
    what = "network" if flag == "--network" else "architecture"
    assert err.endswith(f"{what} file {path} nests deeper than the 64 levels allowed\n"), err


def test_yaml_aliases_that_expand_to_millions_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    (tmp_path / "laughs.yaml").write_text("\n".join(lines) + "\n")
    err = in_process(tmp_path, capsys, "size", "--network", str(tmp_path / "laughs.yaml"))
    assert "holds more than the 1,000,000 values allowed (YAML aliases expanded)" in err


@pytest.mark.parametrize("flag", ["--network", "--arch"])
def test_a_python_tag_runs_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, flag: str
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "evil.yaml").write_text(
        "name: !!python/object/apply:os.system ['touch PAYLOAD_RAN']\nseq_len: 4\n"
    )
    argv = ["size", "--network", "evil.yaml"] if flag == "--network" else [
        "size", "--network", "eesen", "--arch", "evil.yaml"]  # fmt: skip
    err = in_process(tmp_path, capsys, *argv)
    assert "evil.yaml is malformed: could not determine a constructor" in err, err
    assert not (tmp_path / "PAYLOAD_RAN").exists()


# ---- .npy and .npz inputs -------------------------------------------------------------------


def header(shape: tuple[int, ...]) -> bytes:
    text = repr({"descr": "<f8", "fortran_order": False, "shape": shape}).encode()
    text += b" " * (63 - (len(text) + 10) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text


def npz(members: dict[str, bytes], declared: int | None = None) -> bytes:
    """A zip of ``members``, each one's uncompressed size claimed to be ``declared``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    out = bytearray(buffer.getvalue())
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = out.find(signature)
        while declared is not None and at >= 0:
            out[at + offset : at + offset + 4] = struct.pack("<I", declared)
            at = out.find(signature, at + 4)
    return bytes(out)


def saved(array: np.ndarray) -> bytes:  # type: ignore[type-arg]
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=True)
    return buffer.getvalue()


class Payload:
    """Unpickled, it creates the file ``PAYLOAD_RAN`` in the working folder."""

    def __reduce__(self) -> tuple[Callable[[str], int], tuple[str]]:
        return os.system, ("touch PAYLOAD_RAN",)


OK = saved(np.ones((4, 3)))
INPUTS: list[tuple[str, bytes, str]] = [
    ("terabytes.npy", header((2**40,)),
     r"declares an array of 8192 GiB \(\[1099511627776\] float64\), more than the 4 GiB epur "
     r"reads"),
    ("truncated.npy", OK[:-8], r"is not a readable numpy file: it is truncated: its header "
     r"declares 96 bytes of data, the file holds 88"),
    ("empty.npy", b"", r"is not a readable numpy file: it is empty"),
    ("pickle.npy", saved(np.array([Payload()], dtype=object)),
     r"holds Python objects \(dtype object\); epur loads no pickles"),
    ("truncated.npz", npz({"x.npy": OK})[:100], r"is not a readable numpy file: .+"),
    ("bomb.npz", npz({"x.npy": OK, "y.npy": OK}, declared=0xF000_0000),
     r"declares 7\.5 GiB of uncompressed data, more than the 4 GiB epur reads"),
    ("member-terabytes.npz", npz({"main.npy": header((2**40,))}),
     r"\(member 'main'\) declares an array of 8192 GiB .*"),
    ("pickle.npz", npz({"main.npy": saved(np.array([Payload()], dtype=object))}),
     r"\(member 'main'\) holds Python objects \(dtype object\); epur loads no pickles"),
    ("text.npz", npz({"main.npy": OK, "readme.txt": b"hi"}),
     r"holds 'readme\.txt', which is not a \.npy array"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "data", "pattern"), INPUTS, ids=[c[0] for c in INPUTS])
def test_a_bad_input_is_one_line_naming_input_and_the_file(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    data: bytes,
    pattern: str,
) -> None:
    import re

    monkeypatch.chdir(tmp_path)
    (tmp_path / name).write_bytes(data)
    err = in_process(tmp_path, capsys, *small_run(tmp_path, "--input", str(tmp_path / name)))
    prefix = f"epur run: error: --input file {tmp_path / name} "
    assert err.startswith(prefix) and re.fullmatch(pattern, err[len(prefix) : -1]), err
    assert not (tmp_path / "PAYLOAD_RAN").exists()


# ---- paths that would break the line --------------------------------------------------------


@pytest.mark.parametrize("flag", ["--network", "--arch", "--input"])
def test_a_path_with_a_newline_is_quoted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], flag: str
) -> None:
    name = {"--network": "a\nb.yaml", "--arch": "a\rb\x1b[2J.yaml", "--input": "a\nb.npy"}[flag]
    path = str(tmp_path / name)
    argv = {
        "--network": ["size", "--network", path],
        "--arch": ["size", "--network", "eesen", "--arch", path],
        "--input": small_run(tmp_path, "--input", path),
    }[flag]
    err = in_process(tmp_path, capsys, *argv)
    assert f" {path!r}: No such file or directory\n" in err, err


@pytest.mark.parametrize("flag", ["--onnx", "--torch"])
def test_a_model_that_is_a_folder_or_fifo_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], flag: str
) -> None:
    """Not 'does not exist': the model path is there, but it is not a regular file."""
    folder = tmp_path / "model"
    folder.mkdir()
    code = main(["simulate", flag, str(folder), "--seq-len", "4", "--energy-backend", "none"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert "folder" in err and "does not exist" not in err
