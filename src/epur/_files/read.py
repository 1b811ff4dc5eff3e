"""Reading: every file the CLI reads, refused before it can hurt (see ``epur._files``)."""

from __future__ import annotations

import math
import os
import re
import stat
import tomllib
import zipfile
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import yaml

from epur._files._common import Pathish, kind, one_line, reason, shown, size_text
from epur.errors import ConfigError

if TYPE_CHECKING:
    import numpy as np

# yaml.safe_load's loader, compiled (libyaml) where PyYAML has it: the same safe subset,
# about ten times faster on large network files


class _SafeLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """The safe loader, reading ``2e8`` and ``1E-3`` as numbers as YAML 1.2 does (YAML
    1.1, PyYAML's, wants a dot and a signed exponent, and reads them as strings)."""


_SafeLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)
_SAFE_LOADER = _SafeLoader

__all__ = [
    "MAX_ARRAY_BYTES",
    "MAX_MAPPING_BYTES",
    "MAX_MAPPING_DEPTH",
    "MAX_MAPPING_VALUES",
    "MAX_NPZ_MEMBERS",
    "read_arrays",
    "read_mapping",
    "regular_file",
]

MAX_MAPPING_BYTES = 16 * 2**20
MAX_MAPPING_DEPTH = 64
MAX_MAPPING_VALUES = 1_000_000
MAX_ARRAY_BYTES = 4 * 2**30
MAX_NPZ_MEMBERS = 1024


def _refusal(st: os.stat_result, limit: int | None) -> str | None:
    if stat.S_ISDIR(st.st_mode):
        return "it is a folder, not a file"
    if not stat.S_ISREG(st.st_mode):
        return f"it is {kind(st.st_mode)}, not a regular file"
    if limit is not None and st.st_size > limit:
        return f"it is {size_text(st.st_size)}, more than the {size_text(limit)} allowed"
    return None


def regular_file(path: Pathish, what: str, limit: int | None = None) -> int:
    """The size of ``path``, refused (``ConfigError``) unless it is a regular file (after
    symbolic links) of at most ``limit`` bytes. Nothing is opened: a FIFO would block."""
    try:
        st = os.stat(path)
    except OSError as exc:
        raise ConfigError(f"cannot read {what} {shown(path)}: {reason(exc)}") from None
    refused = _refusal(st, limit)
    if refused:
        raise ConfigError(f"cannot read {what} {shown(path)}: {refused}")
    return st.st_size


def _open(path: Pathish, what: str, limit: int | None) -> IO[bytes]:
    """``path`` opened for reading, once ``regular_file`` allows it (checked again on the
    open file, which may have been swapped in between)."""
    regular_file(path, what, limit)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise ConfigError(f"cannot read {what} {shown(path)}: {reason(exc)}") from None
    refused = _refusal(os.fstat(fd), limit)
    if refused:
        os.close(fd)
        raise ConfigError(f"cannot read {what} {shown(path)}: {refused}")
    return os.fdopen(fd, "rb")


def read_mapping(path: Path, what: str) -> dict[str, Any]:
    """Read a YAML (``.yaml``/``.yml``) or TOML (``.toml``) file holding a mapping."""
    where = f"{what} file {shown(path)}"
    suffix = path.suffix.lower()
    if suffix not in {".yaml", ".yml", ".toml"}:
        raise ConfigError(f"{where} must end in .yaml, .yml or .toml, not {suffix!r}")
    with _open(path, f"{what} file", MAX_MAPPING_BYTES) as handle:
        raw = handle.read(MAX_MAPPING_BYTES + 1)
    if len(raw) > MAX_MAPPING_BYTES:  # it grew after the check
        raise ConfigError(f"{where} is larger than the {size_text(MAX_MAPPING_BYTES)} allowed")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{where} is not UTF-8 text") from None
    try:
        data = tomllib.loads(text) if suffix == ".toml" else yaml.load(text, Loader=_SAFE_LOADER)
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
        detail = " ".join(str(exc).split())
        if "maximum nesting depth" in detail:  # libyaml's own limit, reached first
            raise ConfigError(
                f"{where} nests deeper than the {MAX_MAPPING_DEPTH} levels allowed"
            ) from None
        raise ConfigError(f"{where} is malformed: {detail}") from None
    except RecursionError:  # the parsers recurse once per level
        raise ConfigError(
            f"{where} nests deeper than the {MAX_MAPPING_DEPTH} levels allowed"
        ) from None
    if not isinstance(data, dict):
        raise ConfigError(f"{where} must hold a mapping, not {type(data).__name__}")
    _check_tree(data, where)
    return data


def _check_tree(data: object, where: str) -> None:
    """Refuse mappings nested deeper than ``MAX_MAPPING_DEPTH`` or holding more than
    ``MAX_MAPPING_VALUES`` values (an iterative walk: YAML aliases may make it cyclic)."""
    todo: list[tuple[object, int]] = [(data, 1)]
    seen = 0
    while todo:
        node, depth = todo.pop()
        seen += 1
        if seen > MAX_MAPPING_VALUES:
            raise ConfigError(
                f"{where} holds more than the {MAX_MAPPING_VALUES:,} values allowed "
                "(YAML aliases expanded)"
            )
        if not isinstance(node, dict | list):
            continue
        if depth > MAX_MAPPING_DEPTH:
            raise ConfigError(f"{where} nests deeper than the {MAX_MAPPING_DEPTH} levels allowed")
        children = node.values() if isinstance(node, dict) else node
        todo.extend((child, depth + 1) for child in children)


def read_arrays(path: Pathish, flag: str = "--input") -> Any:
    """The array of a ``.npy`` file, or the name -> array mapping of a ``.npz`` file."""
    suffix = Path(path).suffix.lower()
    if suffix not in {".npy", ".npz"}:
        raise ConfigError(f"{flag} must be a .npy or .npz file, not {shown(path)}")
    where = f"{flag} file {shown(path)}"
    with _open(path, f"{flag} file", None) as handle:
        size = os.fstat(handle.fileno()).st_size
        if size == 0:
            raise ConfigError(f"{where} is not a readable numpy file: it is empty")
        if suffix == ".npy":
            return _read_npy(handle, size, where, MAX_ARRAY_BYTES)
        return _read_npz(handle, where)


def _read_npy(handle: IO[bytes], size: int, where: str, budget: int) -> np.ndarray[Any, Any]:
    """One array from ``handle`` holding ``size`` bytes, its header checked before any
    allocation: no objects, at most ``budget`` bytes, no more than ``handle`` holds."""
    import numpy as np
    from numpy.lib import format as npy

    bad = f"{where} is not a readable numpy file"
    try:
        version = npy.read_magic(handle)
        if version == (1, 0):
            shape, _, dtype = npy.read_array_header_1_0(handle)
        elif version == (2, 0):
            shape, _, dtype = npy.read_array_header_2_0(handle)
        else:
            raise ValueError(f"format version {version[0]}.{version[1]} is not 1.0 or 2.0")
        start = handle.tell()
        if any(d < 0 for d in shape):
            raise ValueError(f"its header declares a negative dimension, shape {list(shape)}")
    except Exception as exc:  # untrusted bytes: ValueError, SyntaxError, RecursionError...
        raise ConfigError(f"{bad}: {one_line(exc)}") from None
    if dtype.hasobject:
        raise ConfigError(f"{where} holds Python objects (dtype {dtype}); epur loads no pickles")
    declared = math.prod(shape) * dtype.itemsize
    if declared > budget:
        raise ConfigError(
            f"{where} declares an array of {size_text(declared)} ({list(shape)} {dtype}), "
            f"more than the {size_text(budget)} epur reads"
        )
    if declared > size - start:
        raise ConfigError(
            f"{bad}: it is truncated: its header declares {declared:,} bytes of data, "
            f"the file holds {max(size - start, 0):,}"
        )
    try:
        handle.seek(0)
        array: np.ndarray[Any, Any] = npy.read_array(handle, allow_pickle=False)
    except Exception as exc:
        raise ConfigError(f"{bad}: {one_line(exc)}") from None
    return np.asarray(array)


def _read_npz(handle: IO[bytes], where: str) -> dict[str, Any]:
    """Every array of a ``.npz`` file, each member's declared sizes checked first."""
    bad = f"{where} is not a readable numpy file"
    arrays: dict[str, Any] = {}
    try:
        archive = zipfile.ZipFile(handle)
    except Exception as exc:  # BadZipFile, OSError, ValueError on garbage
        raise ConfigError(f"{bad}: {one_line(exc)}") from None
    with archive:
        members = archive.infolist()
        if len(members) > MAX_NPZ_MEMBERS:
            raise ConfigError(f"{where} holds {len(members)} members, more than {MAX_NPZ_MEMBERS}")
        declared = sum(info.file_size for info in members)
        if declared > MAX_ARRAY_BYTES:
            raise ConfigError(
                f"{where} declares {size_text(declared)} of uncompressed data, more than the "
                f"{size_text(MAX_ARRAY_BYTES)} epur reads"
            )
        for info in members:
            if not info.filename.endswith(".npy"):
                raise ConfigError(f"{where} holds {info.filename!r}, which is not a .npy array")
            name = info.filename[: -len(".npy")]
            try:
                member = archive.open(info)
            except Exception as exc:  # encrypted, unsupported compression...
                raise ConfigError(f"{bad}: member {name!r}: {one_line(exc)}") from None
            with member:
                arrays[name] = _read_npy(member, info.file_size, f"{where} (member {name!r})",
                                         MAX_ARRAY_BYTES)  # fmt: skip
    return arrays
