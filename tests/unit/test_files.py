"""Unit tests for ``epur._files``: the one way files come in and the one way they go out.

Inputs that are not regular files are refused before they are opened; oversized, too
deep or malformed ones are one ``ConfigError`` line. Outputs are all or nothing: every
failure, at any point, leaves the complete result or what was there before, and no
temporary file or folder.
"""

from __future__ import annotations

import errno
import io
import os
import signal
import struct
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

import epur._files.write as writing
from epur._files import (
    MAX_MAPPING_DEPTH,
    check_output_file,
    read_arrays,
    read_mapping,
    regular_file,
    shown,
    write_bytes,
    write_folder,
    write_npz,
    write_text,
)
from epur.errors import ConfigError, EpurError

OWNED = frozenset({"a.txt", "b.txt", "c.txt", "d.txt", "results.json"})
FILES = {"results.json": b"{}\n", "a.txt": b"A", "b.txt": b"B", "c.txt": b"C"}


def one_line(exc: pytest.ExceptionInfo[BaseException]) -> str:
    text = str(exc.value)
    assert "\n" not in text and "\r" not in text, text
    return text


def tree(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


# ---- shown ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "expected"),
    [("plain/out.json", "plain/out.json"), ("with space.json", "with space.json"),
     ("a\nb.json", "'a\\nb.json'"), ("a\rb\x1b[2J.json", "'a\\rb\\x1b[2J.json'"),
     ("bad\udcff.json", "'bad\\udcff.json'"), ("", "''")],
)  # fmt: skip
def test_shown_quotes_only_what_would_break_the_line(path: str, expected: str) -> None:
    assert shown(path) == expected
    assert shown(Path(path)) == (expected if path else ".")


# ---- reading: what is not a regular file ----------------------------------------------------


def test_a_fifo_is_refused_without_being_opened(tmp_path: Path) -> None:
    fifo = tmp_path / "net.yaml"
    os.mkfifo(fifo)  # opening it for reading would block: no writer
    with pytest.raises(ConfigError, match=r"FIFO \(named pipe\), not a regular file$") as exc:
        read_mapping(fifo, "network")
    assert str(fifo) in one_line(exc)
    with pytest.raises(ConfigError, match=r"^cannot read --input file .*x\.npy: it is a FIFO"):
        os.mkfifo(tmp_path / "x.npy")
        read_arrays(tmp_path / "x.npy")


def test_a_device_behind_a_symlink_is_refused(tmp_path: Path) -> None:
    link = tmp_path / "arch.yaml"
    link.symlink_to("/dev/zero")
    with pytest.raises(ConfigError, match=r"it is a character device, not a regular file$"):
        read_mapping(link, "architecture")
    (tmp_path / "x.npz").symlink_to("/dev/zero")
    with pytest.raises(ConfigError, match=r"character device"):
        read_arrays(tmp_path / "x.npz")


def test_a_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "x.npy").mkdir()
    with pytest.raises(ConfigError, match=r"x\.npy: it is a folder, not a file$"):
        read_arrays(tmp_path / "x.npy")


def test_a_mapping_file_over_the_limit_is_refused_by_its_size(tmp_path: Path) -> None:
    big = tmp_path / "big.toml"
    with big.open("wb") as handle:
        handle.truncate(17 * 2**20)  # sparse: nothing written, nothing read
    with pytest.raises(ConfigError, match=r"it is 17 MiB, more than the 16 MiB allowed$"):
        read_mapping(big, "network")


def test_regular_file_gives_the_size(tmp_path: Path) -> None:
    (tmp_path / "m.onnx").write_bytes(b"12345")
    assert regular_file(tmp_path / "m.onnx", "ONNX file") == 5
    with pytest.raises(ConfigError, match=r"^cannot read ONNX file .*: No such file"):
        regular_file(tmp_path / "none.onnx", "ONNX file")


# ---- reading: mappings nested too deep or too large -----------------------------------------


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("lists.yaml", "a: " + "[" * 3000 + "]" * 3000 + "\n"),  # the parser recurses
        ("maps.yaml", "a: " + "{a: " * 3000 + "1" + "}" * 3000 + "\n"),
        ("block.yaml", "".join(f"{'  ' * i}a:\n" for i in range(200)) + "  " * 200 + "b: 1\n"),
        ("lists.toml", "a = " + "[" * 3000 + "]" * 3000 + "\n"),
        ("inline.toml", "a = " + "{a = " * 3000 + "1" + "}" * 3000 + "\n"),
        ("tables.toml", "[" + ".".join(["a"] * 300) + "]\nb = 1\n"),  # parsed flat, deep dict
        ("arrays.toml", "a = " + "[" * 100 + "1" + "]" * 100 + "\n"),
    ],
)
def test_deep_nesting_is_an_error_naming_the_file_and_limit(
    tmp_path: Path, name: str, text: str
) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(ConfigError) as exc:
        read_mapping(path, "network")
    assert one_line(exc) == (
        f"network file {path} nests deeper than the {MAX_MAPPING_DEPTH} levels allowed"
    )


def test_nesting_up_to_the_limit_is_read(tmp_path: Path) -> None:
    path = tmp_path / "ok.yaml"
    path.write_text("a: " + "[" * (MAX_MAPPING_DEPTH - 1) + "]" * (MAX_MAPPING_DEPTH - 1))
    assert read_mapping(path, "network")["a"] is not None


def test_yaml_aliases_expanding_to_millions_of_values_are_refused(tmp_path: Path) -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 8)]
    path = tmp_path / "laughs.yaml"
    path.write_text("\n".join(lines) + "\n")  # 10^8 values once expanded
    with pytest.raises(ConfigError, match=r"holds more than the 1,000,000 values allowed"):
        read_mapping(path, "network")


def test_a_cyclic_yaml_alias_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "cycle.yaml"
    path.write_text("a: &a [*a]\n")
    with pytest.raises(ConfigError, match=r"nests deeper than the 64 levels allowed$"):
        read_mapping(path, "network")


def test_a_python_tag_runs_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "evil.yaml"
    path.write_text("a: !!python/object/apply:os.system ['touch PAYLOAD_RAN']\n")
    with pytest.raises(ConfigError, match=r"is malformed: could not determine a constructor"):
        read_mapping(path, "network")
    assert not (tmp_path / "PAYLOAD_RAN").exists()


# ---- reading: .npy and .npz -----------------------------------------------------------------


def npy_header(shape: tuple[int, ...], descr: str = "<f8", version: int = 1) -> bytes:
    header = repr({"descr": descr, "fortran_order": False, "shape": shape}).encode()
    header += b" " * (63 - (len(header) + 10) % 64) + b"\n"
    if version == 1:
        return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header
    return b"\x93NUMPY\x02\x00" + struct.pack("<I", len(header)) + header


def npz(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def with_declared_size(zipped: bytes, size: int) -> bytes:
    """``zipped`` with every member's uncompressed size (local and central) set to ``size``."""
    out = bytearray(zipped)
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = out.find(signature)
        while at >= 0:
            out[at + offset : at + offset + 4] = struct.pack("<I", size)
            at = out.find(signature, at + 4)
    return bytes(out)


def saved(array: np.ndarray) -> bytes:  # type: ignore[type-arg]
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


OK = saved(np.ones((4, 3)))
BAD_INPUTS: list[tuple[str, bytes, str]] = [
    ("empty.npy", b"", r"is not a readable numpy file: it is empty$"),
    ("garbage.npy", b"hello, not numpy", r"is not a readable numpy file: .*magic"),
    ("magic-only.npy", b"\x93NUMPY\x01\x00", r"is not a readable numpy file: .+"),
    ("bad-header.npy", b"\x93NUMPY\x01\x00\x10\x00{'descr': (((((", r"not a readable numpy"),
    ("version-9.npy", b"\x93NUMPY\x09\x00" + OK[8:], r"format version 9\.0 is not 1\.0 or 2\.0"),
    ("truncated.npy", OK[:-8],
     r"it is truncated: its header declares 96 bytes of data, the file holds 88$"),
    ("terabytes.npy", npy_header((2**40,)) + b"\0" * 64,
     r"declares an array of 8192 GiB \(\[1099511627776\] float64\), more than the 4 GiB"),
    ("terabytes-v2.npy", npy_header((2**20, 2**20), version=2),
     r"declares an array of 8192 GiB"),
    ("negative.npy", npy_header((-5, 3)) + b"\0" * 64, r"negative dimension, shape \[-5, 3\]"),
    ("objects.npy", saved(np.array([{"a": 1}, None], dtype=object)),
     r"holds Python objects \(dtype object\); epur loads no pickles$"),
    ("empty.npz", b"", r"it is empty$"),
    ("garbage.npz", b"PK\x03\x04 but not really a zip", r"is not a readable numpy file: .+"),
    ("truncated.npz", npz({"x.npy": OK})[:60], r"is not a readable numpy file: .+"),
    ("not-npy.npz", npz({"x.npy": OK, "notes.txt": b"hi"}),
     r"holds 'notes\.txt', which is not a \.npy array$"),
    ("member-terabytes.npz", npz({"x.npy": npy_header((2**40,))}),
     r"\(member 'x'\) declares an array of 8192 GiB"),
    ("member-truncated.npz", npz({"x.npy": OK[:-1]}), r"\(member 'x'\) .*it is truncated"),
    ("member-objects.npz", npz({"x.npy": saved(np.array([None], dtype=object))}),
     r"\(member 'x'\) holds Python objects"),
    ("bomb.npz", with_declared_size(npz({"x.npy": OK, "y.npy": OK}), 0xF000_0000),
     r"declares 7\.5 GiB of uncompressed data, more than the 4 GiB epur reads$"),
    ("lying.npz", with_declared_size(npz({"x.npy": OK}), 200), r"not a readable numpy file"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "data", "pattern"), BAD_INPUTS, ids=[c[0] for c in BAD_INPUTS])
def test_bad_numpy_inputs_are_one_line_naming_flag_and_file(
    tmp_path: Path, name: str, data: bytes, pattern: str
) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(ConfigError, match=pattern) as exc:
        read_arrays(path, "--input")
    assert one_line(exc).startswith(f"--input file {path} ")


def test_good_numpy_inputs_are_read(tmp_path: Path) -> None:
    x = np.arange(12, dtype=np.float32).reshape(4, 3)
    np.save(tmp_path / "x.npy", np.asfortranarray(x))
    np.save(tmp_path / "e.npy", np.zeros((0, 3)))
    np.savez_compressed(tmp_path / "x.npz", X=x, sequence_lens=np.array([4], dtype=np.int32))
    assert np.array_equal(read_arrays(tmp_path / "x.npy"), x)
    assert read_arrays(tmp_path / "e.npy").shape == (0, 3)
    both = read_arrays(tmp_path / "x.npz")
    assert sorted(both) == ["X", "sequence_lens"] and np.array_equal(both["X"], x)


def test_a_pickled_array_runs_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)

    class Payload:
        def __reduce__(self) -> tuple[Callable[[str], int], tuple[str]]:
            return os.system, ("touch PAYLOAD_RAN",)

    np.save(tmp_path / "x.npy", np.array([Payload()], dtype=object), allow_pickle=True)
    np.savez(tmp_path / "x.npz", x=np.array([Payload()], dtype=object))
    for name in ("x.npy", "x.npz"):
        with pytest.raises(ConfigError, match=r"holds Python objects"):
            read_arrays(tmp_path / name)
    assert not (tmp_path / "PAYLOAD_RAN").exists()


# ---- writing one file -----------------------------------------------------------------------


def full_disk(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every file opened for writing fails its writes as a full disk does."""
    real = os.fdopen

    def fdopen(fd: int, mode: str = "r", *args: object, **kwargs: object) -> object:
        handle = real(fd, mode, *args, **kwargs)  # type: ignore[call-overload]
        if "w" in mode:

            def write(data: object) -> int:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

            handle.write = write
        return handle

    monkeypatch.setattr(os, "fdopen", fdopen)


@pytest.mark.parametrize(
    "write",
    [lambda p: write_text(p, "{}", "--json"), lambda p: write_bytes(p, b"x", "--json"),
     lambda p: write_npz(p, {"y": np.ones(3)}, "--json")],
    ids=["text", "bytes", "npz"],
)  # fmt: skip
def test_a_full_disk_keeps_the_old_file_and_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, write: Callable[[Path], None]
) -> None:
    out = tmp_path / "out.json"
    out.write_text("previous")
    full_disk(monkeypatch)
    with pytest.raises(EpurError) as exc:
        write(out)
    assert one_line(exc) == f"cannot write --json {out}: No space left on device"
    assert out.read_text() == "previous" and list(tmp_path.iterdir()) == [out]


def test_ctrl_c_while_writing_leaves_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(handle: object, write: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(writing, "_fill", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_text(tmp_path / "out.json", "{}", "--json")
    assert list(tmp_path.iterdir()) == []


def test_a_name_that_just_fits_is_written(tmp_path: Path) -> None:
    out = tmp_path / ("n" * 250 + ".json")  # the temporary file's name must fit as well
    write_text(out, "{}", "--json")
    assert out.read_text() == "{}" and len(list(tmp_path.iterdir())) == 1


@pytest.mark.parametrize(
    ("make", "target", "reason"),
    [
        (lambda d: (d / "dir.json").mkdir(), "dir.json", r"it is a folder; give a file name"),
        (lambda d: os.mkfifo(d / "p.json"), "p.json", r"it is a FIFO \(named pipe\), not a"),
        (lambda d: None, "missing/out.json", r"folder .*missing does not exist"),
        (lambda d: (d / "f").write_text(""), "f/out.json", r".*/f is not a folder"),
        (lambda d: (d / "f").write_text(""), "f/sub/out.json", r"folder .*/f/sub: Not a dir"),
        (lambda d: None, "n" * 300, r"its name is 300 bytes, more than the 255 the file"),
    ],
)
def test_unwritable_outputs_are_refused_before_and_at_write_time(
    tmp_path: Path, make: Callable[[Path], None], target: str, reason: str
) -> None:
    make(tmp_path)
    before = sorted(os.listdir(tmp_path))
    pattern = rf"^cannot write --json {tmp_path}/{target}: {reason}"
    with pytest.raises(EpurError, match=pattern) as exc:
        check_output_file(tmp_path / target, "--json")
    one_line(exc)
    with pytest.raises(EpurError, match=pattern):
        write_text(tmp_path / target, "{}", "--json")
    assert sorted(os.listdir(tmp_path)) == before


def test_a_read_only_folder_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "access", lambda path, mode: False)  # root ignores chmod
    with pytest.raises(EpurError, match=rf"^cannot write --out .*: folder {tmp_path} is not wr"):
        write_npz(tmp_path / "y.npz", {"y": np.ones(2)}, "--out")
    monkeypatch.undo()

    def read_only(*args: object, **kwargs: object) -> object:
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    monkeypatch.setattr("tempfile.mkstemp", read_only)  # the folder turned read-only since
    with pytest.raises(EpurError, match=r"^cannot write --out .*y\.npz: Read-only file system$"):
        write_npz(tmp_path / "y.npz", {"y": np.ones(2)}, "--out")
    assert list(tmp_path.iterdir()) == []


# ---- writing a folder -----------------------------------------------------------------------


def write(out: Path, files: dict[str, bytes] | None = None) -> None:
    write_folder(out, FILES if files is None else files, "--out", OWNED, "results.json")


def leftovers(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name.startswith("."))


def test_a_new_folder_is_written_whole(tmp_path: Path) -> None:
    write(tmp_path / "res")
    assert tree(tmp_path / "res") == FILES and leftovers(tmp_path) == []
    assert oct((tmp_path / "res").stat().st_mode & 0o777) != oct(0o700)  # not mkdtemp's


@pytest.mark.parametrize("earlier", [None, {}, {"results.json": b"old", "d.txt": b"old"}])
@pytest.mark.parametrize("error", [OSError(errno.EIO, "Input/output error"), KeyboardInterrupt()])
def test_a_failure_between_any_two_files_leaves_all_or_nothing(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    earlier: dict[str, bytes] | None,
    error: BaseException,
) -> None:
    out = tmp_path / "res"
    real = writing._write_member
    for k in range(len(FILES)):
        if earlier is not None:
            out.mkdir(exist_ok=True)
            for name, data in earlier.items():
                (out / name).write_bytes(data)

        def member(path: Path, data: bytes, k: int = k, calls: list[int] = [0]) -> None:  # noqa: B006
            if calls[0] == k:
                raise error
            calls[0] += 1
            real(path, data)

        monkeypatch.setattr(writing, "_write_member", member)
        with pytest.raises((EpurError, KeyboardInterrupt)) as exc:
            write(out)
        if isinstance(error, OSError):
            assert one_line(exc) == f"cannot write --out {out}: Input/output error"
        assert (tree(out) == earlier) if earlier is not None else not out.exists()
        assert leftovers(tmp_path) == [], k
    monkeypatch.setattr(writing, "_write_member", real)
    write(out)
    assert tree(out) == FILES


@pytest.mark.parametrize("failing", [1, 2])
def test_a_failed_swap_keeps_the_earlier_result(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: int
) -> None:
    out = tmp_path / "res"
    write(out, {"results.json": b"old", "d.txt": b"old"})
    real, calls = os.rename, [0]

    def rename(src: object, dst: object) -> None:
        calls[0] += 1
        if calls[0] == failing:  # aside, or in
            raise OSError(errno.EXDEV, os.strerror(errno.EXDEV))
        real(src, dst)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "rename", rename)
    with pytest.raises(EpurError, match=r"Invalid cross-device link$"):
        write(out)
    assert tree(out) == {"results.json": b"old", "d.txt": b"old"}
    assert leftovers(tmp_path) == []


def test_ctrl_c_during_the_swap_waits_until_the_new_result_is_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "res"
    write(out, {"results.json": b"old"})
    real, calls = os.rename, [0]

    def rename(src: object, dst: object) -> None:
        calls[0] += 1
        if calls[0] == 1:  # the earlier result is aside, the new one not yet in
            signal.raise_signal(signal.SIGINT)
        real(src, dst)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "rename", rename)
    with pytest.raises(KeyboardInterrupt):
        write(out)
    assert calls[0] == 2 and tree(out) == FILES and leftovers(tmp_path) == []


def test_an_earlier_result_is_replaced_whole(tmp_path: Path) -> None:
    out = tmp_path / "res"
    write(out, {"results.json": b"old", "d.txt": b"stale"})
    write(out)
    assert tree(out) == FILES and leftovers(tmp_path) == []


def test_an_empty_folder_is_filled(tmp_path: Path) -> None:
    (tmp_path / "res").mkdir()
    write(tmp_path / "res")
    assert tree(tmp_path / "res") == FILES


def test_a_symlinked_folder_writes_its_target(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to("real")
    write(tmp_path / "link")
    assert (tmp_path / "link").is_symlink() and tree(tmp_path / "real") == FILES


@pytest.mark.parametrize(
    ("earlier", "reason"),
    [
        ({"results.json": b"{}", "thesis.tex": b"mine"},
         r"it holds files epur did not write \('thesis\.tex'|thesis\.tex\)"),
        ({"a.txt": b"A"}, r"it is not empty and not an earlier epur result \(no results\.json\)"),
    ],
)  # fmt: skip
def test_a_folder_holding_other_files_is_refused_untouched(
    tmp_path: Path, earlier: dict[str, bytes], reason: str
) -> None:
    out = tmp_path / "res"
    out.mkdir()
    for name, data in earlier.items():
        (out / name).write_bytes(data)
    with pytest.raises(EpurError, match=rf"^cannot write --out {out}: {reason}") as exc:
        write(out)
    one_line(exc)
    assert tree(out) == earlier and leftovers(tmp_path) == []


def test_a_subfolder_is_not_an_earlier_result(tmp_path: Path) -> None:
    out = tmp_path / "res"
    (out / "a.txt").mkdir(parents=True)
    (out / "results.json").write_text("{}")
    with pytest.raises(EpurError, match=r"it holds files epur did not write \(a\.txt\)"):
        write(out)


def test_a_file_where_the_folder_goes_is_refused(tmp_path: Path) -> None:
    (tmp_path / "res").write_text("mine")
    with pytest.raises(EpurError, match=r"^cannot write --out .*res: it is a file; give a folder$"):
        write(tmp_path / "res")
    assert (tmp_path / "res").read_text() == "mine"


def test_yaml_exponents_without_a_dot_are_numbers(tmp_path: Path) -> None:
    """``clock_hz: 1e9`` is a number, as in YAML 1.2 (PyYAML's YAML 1.1 reads a string)."""
    path = tmp_path / "a.yaml"
    path.write_text("a: 2e8\nb: -1E-3\nc: 1.5e+2\nd: 1e\ne: eesen\nf: 7\n")
    assert read_mapping(path, "a test file") == {
        "a": 2e8, "b": -1e-3, "c": 150.0, "d": "1e", "e": "eesen", "f": 7,
    }  # fmt: skip
