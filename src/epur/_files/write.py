"""Writing: outputs all or nothing (see ``epur._files``)."""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import tempfile
from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from epur._files._common import Pathish, held_signals, kind, reason, shown
from epur.errors import EpurError

if TYPE_CHECKING:
    import numpy as np

__all__ = [
    "check_output_file",
    "check_output_folder",
    "write_bytes",
    "write_folder",
    "write_npz",
    "write_text",
]


def _cannot(flag: str, path: Pathish, why: str) -> EpurError:
    return EpurError(f"cannot write {flag} {shown(path)}: {why}")


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _check_parent(path: Path, flag: str, shown_as: Pathish) -> None:
    """Refuse ``path`` when its folder is missing, not a folder or not writable, or its
    name is longer than the file system allows."""
    parent = path.parent
    try:
        st = os.stat(parent)
    except FileNotFoundError:
        raise _cannot(flag, shown_as, f"folder {shown(parent)} does not exist") from None
    except OSError as exc:
        raise _cannot(flag, shown_as, f"folder {shown(parent)}: {reason(exc)}") from None
    if not stat.S_ISDIR(st.st_mode):
        raise _cannot(flag, shown_as, f"{shown(parent)} is not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise _cannot(flag, shown_as, f"folder {shown(parent)} is not writable")
    try:
        name_max = os.pathconf(parent, "PC_NAME_MAX")
    except (OSError, ValueError):
        name_max = 255
    if not path.name:
        raise _cannot(flag, shown_as, "it names no file or folder")
    if len(os.fsencode(path.name)) > name_max:
        raise _cannot(
            flag, shown_as, f"its name is {len(os.fsencode(path.name))} bytes, more than "
            f"the {name_max} the file system allows"
        )  # fmt: skip


def check_output_file(path: Pathish, flag: str) -> None:
    """Refuse (``EpurError``) an output file that cannot be written: a folder or a device
    there, a missing or unwritable folder, a name too long."""
    target = Path(os.path.abspath(path))
    _check_parent(target, flag, path)
    try:
        st = os.stat(target)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise _cannot(flag, path, reason(exc)) from None
    if stat.S_ISDIR(st.st_mode):
        raise _cannot(flag, path, "it is a folder; give a file name")
    if not stat.S_ISREG(st.st_mode):
        raise _cannot(flag, path, f"it is {kind(st.st_mode)}, not a regular file")


def _fill(handle: IO[bytes], write: Callable[[IO[bytes]], object]) -> None:
    write(handle)
    handle.flush()
    os.fsync(handle.fileno())


def _write_file(path: Pathish, flag: str, write: Callable[[IO[bytes]], object]) -> None:
    """Write ``path`` through a temporary file in its folder and a rename: a failure
    leaves no partial file (an earlier file there is kept) and no temporary file."""
    check_output_file(path, flag)
    target = Path(os.path.abspath(path))
    tmp: str | None = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name[:40]}.", suffix=".tmp",
                                   dir=target.parent)  # fmt: skip
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600; outputs are user files
            _fill(handle, write)
        os.replace(tmp, target)
        tmp = None
    except OSError as exc:
        raise _cannot(flag, path, reason(exc)) from None
    finally:
        if tmp is not None:
            with held_signals(), contextlib.suppress(OSError):
                os.unlink(tmp)


def write_text(path: Pathish, text: str, flag: str) -> None:
    """Write ``text`` (UTF-8) to the file ``path`` of option ``flag``, all or nothing."""
    _write_file(path, flag, lambda handle: handle.write(text.encode("utf-8")))


def write_bytes(path: Pathish, data: bytes, flag: str) -> None:
    """Write ``data`` to the file ``path`` of option ``flag``, all or nothing."""
    _write_file(path, flag, lambda handle: handle.write(data))


def write_npz(path: Pathish, arrays: Mapping[str, np.ndarray[Any, Any]], flag: str) -> None:
    """Write ``arrays`` to the ``.npz`` file ``path`` of option ``flag``, all or nothing."""
    import numpy as np  # only the functional commands need numpy

    named: dict[str, Any] = dict(arrays)
    _write_file(path, flag, lambda handle: np.savez(handle, **named))


def _folder(path: Pathish) -> Path:
    """The folder ``path`` names, absolute; a symbolic link's target."""
    return Path(os.path.realpath(path) if os.path.islink(path) else os.path.abspath(path))


def _earlier(folder: Path, flag: str, shown_as: Pathish, owned: Collection[str],
             marker: str) -> bool:  # fmt: skip
    """Whether ``folder`` exists (an empty one, or an earlier result: it holds ``marker``
    and only regular files named in ``owned``); anything else there is refused."""
    try:
        st = os.stat(folder)
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise _cannot(flag, shown_as, reason(exc)) from None
    if not stat.S_ISDIR(st.st_mode):
        raise _cannot(flag, shown_as, "it is a file; give a folder")
    try:
        names = sorted(os.listdir(folder))
        foreign = [n for n in names if n not in owned or not (folder / n).is_file()]
    except OSError as exc:
        raise _cannot(flag, shown_as, reason(exc)) from None
    if foreign:
        listed = ", ".join(shown(n) for n in foreign[:5]) + (", ..." if len(foreign) > 5 else "")
        raise _cannot(
            flag, shown_as, f"it holds files epur did not write ({listed}); give a new or "
            "empty folder, or an earlier result to replace"
        )  # fmt: skip
    if names and marker not in names:
        raise _cannot(
            flag, shown_as, f"it is not empty and not an earlier epur result (no {marker}); "
            "give a new or empty folder, or an earlier result to replace"
        )  # fmt: skip
    return True


def check_output_folder(path: Pathish, flag: str, owned: Collection[str], marker: str) -> None:
    """Refuse (``EpurError``) an output folder ``write_folder`` would refuse: a file there,
    a folder holding other files than an earlier result, an unwritable parent."""
    folder = _folder(path)
    _check_parent(folder, flag, path)
    _earlier(folder, flag, path, owned, marker)


def _write_member(path: Path, data: bytes) -> None:
    with open(path, "xb") as handle:
        _fill(handle, lambda h: h.write(data))


def write_folder(
    path: Pathish, files: Mapping[str, bytes], flag: str, owned: Collection[str], marker: str
) -> None:
    """Write ``files`` (name -> content) as the folder ``path`` of option ``flag``.

    They are written into a temporary sibling folder (``.NAME.tmp-XXXX``) renamed into
    place as the last step. A missing or empty ``path`` is replaced by it; an earlier
    result (``marker`` and only files named in ``owned``) is renamed aside, replaced and
    deleted, Ctrl-C held meanwhile; anything else there is refused. A failure or Ctrl-C
    at any point leaves the complete result or what was there before, and no temporary
    folder."""
    folder = _folder(path)
    owned = {*owned, *files}
    check_output_folder(path, flag, owned, marker)
    tmp: Path | None = None
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name[:40]}.tmp-", dir=folder.parent))
        os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes 0700
        for name, data in files.items():
            _write_member(tmp / name, data)
        with held_signals():
            _swap_in(tmp, folder, _earlier(folder, flag, path, owned, marker))
            tmp = None
    except OSError as exc:
        raise _cannot(flag, path, reason(exc)) from None
    finally:
        if tmp is not None:
            with held_signals():
                shutil.rmtree(tmp, ignore_errors=True)


def _swap_in(new: Path, folder: Path, exists: bool) -> None:
    """Rename ``new`` to ``folder``; an existing ``folder`` is renamed aside first (and
    back on a failure), then deleted."""
    if not exists or not os.listdir(folder):
        os.rename(new, folder)  # an empty folder there is replaced
        return
    old = Path(tempfile.mkdtemp(prefix=f".{folder.name[:40]}.old-", dir=folder.parent))
    try:
        os.rename(folder, old)  # onto the empty ``old``
    except BaseException:
        old.rmdir()
        raise
    try:
        os.rename(new, folder)
    except BaseException:
        os.rename(old, folder)
        raise
    shutil.rmtree(old, ignore_errors=True)
