"""A cache of computed figures on disk that is checked on every read, never trusted.

One entry is one JSON file ``<folder>/<key[:32]>.json`` holding::

    {"kind": "cacti-sram", "version": 1, "key": "<64 hex digits>", "values": {...}}

The key is the SHA-256 of everything the figures depend on (``cache_key``: the
schema's kind, version, fields and ranges, and the inputs the caller names, such as
the configuration text and the identity of the tool that computed it). ``read_entry``
takes an entry only if it is a regular file of at most ``MAX_ENTRY_BYTES`` that holds
exactly those four fields, this schema's kind and version, the very key being looked
up (an entry copied under another name is a miss) and exactly the schema's values,
each a finite real number (not a bool, string or null) in its range. Anything else
is a miss: the caller recomputes and ``write_entry`` replaces the entry and says so
once per process on stderr, one line naming the file and what was wrong.

Writes go through a temporary file in the same folder and ``os.replace``, so an
entry is never partial: an interrupted write removes its temporary file, a crash
between write and rename leaves only ``.<name>.<random>.tmp``, which reads never look
at and later writes remove once it is ``STALE_TEMP_S`` old. A folder that cannot be
read or written (a file where it should be, permissions) only costs time: every
lookup misses and nothing is stored, without a note.
"""

from __future__ import annotations

import errno
import hashlib
import json
import math
import os
import shutil
import stat
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

__all__ = [
    "MAX_ENTRY_BYTES",
    "STALE_TEMP_S",
    "EntrySchema",
    "Lookup",
    "Range",
    "cache_key",
    "read_entry",
    "user_cache_dir",
    "write_entry",
]

MAX_ENTRY_BYTES = 64 * 1024  # an entry is a few hundred bytes; more is not one of ours
STALE_TEMP_S = 3600.0  # a temporary file this old belongs to no write still running
_ENVELOPE = ("kind", "version", "key", "values")


class Range(Enum):
    """What one cached number may be, besides finite."""

    POSITIVE = "must be positive"
    NON_NEGATIVE = "must be zero or positive"

    def allows(self, value: float) -> bool:
        return value > 0 if self is Range.POSITIVE else value >= 0


@dataclass(frozen=True, slots=True)
class EntrySchema:
    """What one kind of entry holds: named real numbers, each with its range."""

    label: str  # in notes: "CACTI cache entry ..."
    kind: str
    version: int  # bump when the meaning of the values changes
    fields: tuple[tuple[str, Range], ...]


@dataclass(frozen=True, slots=True)
class Lookup:
    """The outcome of ``read_entry``: the values on a hit, else why there were none."""

    schema: EntrySchema
    path: Path
    key: str
    values: dict[str, float] | None  # None: a miss
    problem: str | None = None  # what was wrong with an entry that was there


def user_cache_dir(name: str) -> Path | None:
    """``$XDG_CACHE_HOME/epur/<name>`` (``~/.cache`` by default); None without a home."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(base):  # the XDG rule: a relative value is ignored
        try:
            base = str(Path.home() / ".cache")
        except RuntimeError:
            return None
    return Path(base) / "epur" / name


def cache_key(schema: EntrySchema, inputs: Mapping[str, str]) -> str:
    """The SHA-256 (hex) of the schema and of every input the values depend on."""
    fields = [[name, bound.name] for name, bound in schema.fields]
    text = json.dumps(
        {"kind": schema.kind, "version": schema.version, "fields": fields, "inputs": inputs},
        sort_keys=True,
    )
    return hashlib.sha256(text.encode()).hexdigest()


def read_entry(folder: Path, schema: EntrySchema, inputs: Mapping[str, str]) -> Lookup:
    """The entry for ``inputs`` in ``folder`` if it is there and valid; never raises."""
    key = cache_key(schema, inputs)
    path = folder / f"{key[:32]}.json"
    try:
        return Lookup(schema, path, key, _check(_read_text(path), schema, key))
    except (FileNotFoundError, _Unusable):  # no entry, or a folder it cannot be read from
        return Lookup(schema, path, key, None)
    except _Invalid as exc:
        return Lookup(schema, path, key, None, str(exc))


def write_entry(lookup: Lookup, values: Mapping[str, float]) -> bool:
    """Store ``values`` (computed after ``lookup`` missed) atomically; never raises.

    An entry that was there and invalid is replaced, and a note says so on stderr,
    once per entry per process. Values outside the schema are not stored (they would
    miss on every read). True if the entry was written.
    """
    entry = {"kind": lookup.schema.kind, "version": lookup.schema.version, "key": lookup.key}
    text = json.dumps({**entry, "values": dict(values)})
    try:
        _check(text, lookup.schema, lookup.key)
    except _Invalid:
        return False
    failure: OSError | None = None
    try:
        lookup.path.parent.mkdir(parents=True, exist_ok=True)
        if lookup.problem is not None:
            _remove_folder(lookup.path)  # os.replace cannot put a file over a folder
        _write_atomically(lookup.path, text)
    except OSError as exc:
        failure = exc
    else:
        _remove_stale_temps(lookup.path.parent)
    if lookup.problem is not None:
        _note_once(lookup, failure)
    return failure is None


_NOTED: set[Path] = set()


def _note_once(lookup: Lookup, failure: OSError | None) -> None:
    if lookup.path in _NOTED:
        return
    _NOTED.add(lookup.path)
    what = "recomputed"
    if failure is not None:
        what += f", but could not replace it ({failure.strerror or failure})"
    print(
        f"note: {lookup.schema.label} cache entry {lookup.path} was invalid "
        f"({lookup.problem}); {what}",
        file=sys.stderr,
    )


class _Invalid(Exception):
    """What is wrong with an entry (the message goes into the note)."""


class _Unusable(Exception):
    """The cache folder cannot be read: not the entry's fault."""


def _read_text(path: Path) -> str:
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise
    except OSError as exc:
        if exc.errno in (errno.ENOTDIR, errno.EACCES, errno.EPERM, errno.ENAMETOOLONG):
            raise _Unusable from None  # a file where a folder should be, or permissions
        raise _Invalid(f"cannot be read: {exc.strerror}") from None
    _check_file(info)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise _Invalid(f"cannot be read: {exc.strerror}") from None
    try:
        _check_file(os.fstat(fd))  # it may have changed since the stat
        data = os.read(fd, MAX_ENTRY_BYTES + 1)
    except OSError as exc:
        raise _Invalid(f"cannot be read: {exc.strerror}") from None
    finally:
        os.close(fd)
    if len(data) > MAX_ENTRY_BYTES:
        raise _Invalid(f"larger than {MAX_ENTRY_BYTES} bytes")
    if not data.strip():
        raise _Invalid("empty file")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise _Invalid("not UTF-8 text") from None


def _check_file(info: os.stat_result) -> None:
    if stat.S_ISDIR(info.st_mode):
        raise _Invalid("a folder, not a file")
    if not stat.S_ISREG(info.st_mode):
        raise _Invalid("not a regular file")


def _check(text: str, schema: EntrySchema, key: str) -> dict[str, float]:
    """The values of a valid entry's ``text``; ``_Invalid`` naming what is wrong."""
    try:
        entry = json.loads(text)
    except (ValueError, RecursionError) as exc:
        detail = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
        raise _Invalid(f"not JSON: {detail}") from None
    _check_fields(entry, _ENVELOPE, "the entry")
    if entry["kind"] != schema.kind:
        raise _Invalid(f"kind {_show(entry['kind'])} must be {_show(schema.kind)}")
    version = entry["version"]
    if type(version) is not int or version != schema.version:
        raise _Invalid(f"version {_show(version)} must be {schema.version}")
    if entry["key"] != key:
        raise _Invalid(
            f"computed for another configuration: key {_show(entry['key'])}, not {_show(key)}"
        )
    names = tuple(name for name, _ in schema.fields)
    _check_fields(entry["values"], names, "values")
    values = {}
    for name, bound in schema.fields:
        value = entry["values"][name]
        if type(value) not in (int, float):  # bool is an int: excluded by the exact type
            raise _Invalid(f"{name} {_show(value)} must be a real number")
        try:
            number = float(value)
        except OverflowError:
            number = math.inf
        if not math.isfinite(number):
            raise _Invalid(f"{name} {_show(value)} must be finite")
        if not bound.allows(number):
            raise _Invalid(f"{name} {_show(value)} {bound.value}")
        values[name] = number
    return values


def _check_fields(data: object, names: tuple[str, ...], what: str) -> None:
    if not isinstance(data, dict):
        raise _Invalid(f"{what} must be a JSON object, not {_json_type(data)}")
    missing = [name for name in names if name not in data]
    if missing:
        raise _Invalid(f"{what} has no {', '.join(missing)}")
    extra = sorted(str(name) for name in data if name not in names)
    if extra:
        raise _Invalid(f"{what} has unknown fields {', '.join(extra)}")


def _json_type(data: object) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}
    if data is None:
        return "null"
    return names.get(type(data), "a number")


def _show(value: object) -> str:
    """``value`` as it reads in JSON (null, true, NaN), shortened."""
    text = json.dumps(value)
    return text if len(text) <= 40 else f"{text[:37]}..."


def _write_atomically(path: Path, text: str) -> None:
    """``path`` holds ``text`` or what it held before, never part of it; no temporary
    file is left behind unless the process dies between the write and the rename."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            os.fchmod(handle.fileno(), 0o644)  # mkstemp makes 0600; an entry is a plain file
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:  # Ctrl-C included
        Path(tmp).unlink(missing_ok=True)
        raise


def _remove_folder(path: Path) -> None:
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return
    if stat.S_ISDIR(info.st_mode):
        shutil.rmtree(path)


def _remove_stale_temps(folder: Path) -> None:
    """Remove temporary files that crashed writes left behind (best effort)."""
    cutoff = time.time() - STALE_TEMP_S
    try:
        with os.scandir(folder) as entries:
            for item in entries:
                if item.name.startswith(".") and item.name.endswith(".tmp"):
                    try:
                        if item.is_file(follow_symlinks=False) and (
                            item.stat(follow_symlinks=False).st_mtime < cutoff
                        ):
                            os.unlink(item.path)
                    except OSError:
                        pass
    except OSError:
        pass
