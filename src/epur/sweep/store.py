"""The results store of a sweep: ``DIR/results.sqlite``, one row per point.

One table, ``points``: ``point_id`` (primary key), every ``SweepRow`` field (``axes``
and ``extra`` as JSON) and one column per axis (``axis:<name>``, for queries). The
database runs in WAL mode and each completed point is written in its own
transaction, with Ctrl-C held until it commits: a killed or interrupted sweep leaves
only whole rows, and ``--resume`` skips them. A ``meta`` table records the validated
spec, so that a store is only ever resumed by the spec that began it.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import fields
from pathlib import Path
from types import TracebackType
from typing import Any

from epur._files._common import held_signals
from epur.errors import ConfigError
from epur.sweep.rows import RowStatus, SweepRow

__all__ = ["RESULTS_FILE", "SCHEMA_VERSION", "SweepStore", "read_rows"]

RESULTS_FILE = "results.sqlite"
SCHEMA_VERSION = 1
_JSON_FIELDS = ("axes", "extra")
_FIELDS = tuple(f.name for f in fields(SweepRow))
_TYPES = {
    "latency_s": "REAL",
    "energy_j": "REAL",
    "area_mm2": "REAL",
    "real_time_factor": "REAL",
    "accuracy_error": "REAL",
}


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, timeout=30.0)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")  # WAL: a killed process loses no commit
    return conn


class SweepStore:
    """An open results store; a context manager that closes it."""

    def __init__(self, conn: sqlite3.Connection, axis_names: tuple[str, ...]) -> None:
        self._conn = conn
        self._axes = axis_names
        columns = list(_FIELDS) + [f"axis:{a}" for a in axis_names]
        marks = ", ".join("?" for _ in columns)
        self._insert = (
            f"INSERT OR REPLACE INTO points ({', '.join(map(_quote, columns))}) VALUES ({marks})"
        )

    @classmethod
    def open(
        cls, out_dir: Path, spec_json: dict[str, Any], axis_names: tuple[str, ...], resume: bool
    ) -> SweepStore:
        """Create the store in ``out_dir``, or with ``resume`` reopen one begun by the same
        spec. A store already there without ``resume``, or begun by another spec, is a
        ``ConfigError``."""
        path = out_dir / RESULTS_FILE
        exists = path.exists()
        if exists and not resume:
            raise ConfigError(
                f"--out {out_dir} already holds a sweep ({RESULTS_FILE}): "
                "give --resume to finish it, or another --out"
            )
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
            conn = _connect(path)
        except (OSError, sqlite3.Error) as exc:
            raise ConfigError(f"--out {out_dir}: cannot open {RESULTS_FILE}: {exc}") from None
        text = json.dumps(spec_json, sort_keys=True)
        try:
            stored = _meta(conn)
            if stored is None:
                _create(conn, text, axis_names)
            elif stored.get("spec") != text:
                raise ConfigError(
                    f"--out {out_dir} holds a sweep of another spec: "
                    "resume it with the spec that began it, or give another --out"
                )
        except BaseException:
            conn.close()
            raise
        return cls(conn, axis_names)

    def done_ids(self) -> set[str]:
        """The points whose rows are stored."""
        return {r[0] for r in self._conn.execute("SELECT point_id FROM points")}

    def write(self, row: SweepRow) -> None:
        """Store one row in its own transaction (Ctrl-C waits until it commits)."""
        values = [_column(name, getattr(row, name)) for name in _FIELDS]
        values += [_scalar(row.axes.get(a)) for a in self._axes]
        with held_signals():
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                self._conn.execute(self._insert, values)
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise

    def rows(self) -> list[SweepRow]:
        return _rows(self._conn)

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> SweepStore:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def _meta(conn: sqlite3.Connection) -> dict[str, str] | None:
    found = conn.execute("SELECT name FROM sqlite_master WHERE type='table' AND name='meta'")
    if found.fetchone() is None:
        return None
    return dict(conn.execute("SELECT key, value FROM meta").fetchall())


def _create(conn: sqlite3.Connection, spec_text: str, axis_names: tuple[str, ...]) -> None:
    columns = [f"{_quote(n)} {_TYPES.get(n, 'TEXT')}" for n in _FIELDS if n != "point_id"]
    columns += [_quote(f"axis:{a}") for a in axis_names]
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute(f"CREATE TABLE points (point_id TEXT PRIMARY KEY, {', '.join(columns)})")
        conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        conn.executemany(
            "INSERT INTO meta VALUES (?, ?)", [("schema", str(SCHEMA_VERSION)), ("spec", spec_text)]
        )
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _column(name: str, value: Any) -> Any:
    if name in _JSON_FIELDS:
        return json.dumps(value)
    if name == "status":
        return RowStatus(value).value
    return value


def _scalar(value: Any) -> Any:
    return value if value is None or isinstance(value, int | float | str) else json.dumps(value)


def _rows(conn: sqlite3.Connection) -> list[SweepRow]:
    names = ", ".join(map(_quote, _FIELDS))
    out = []
    for record in conn.execute(f"SELECT {names} FROM points ORDER BY point_id"):
        data = dict(zip(_FIELDS, record, strict=True))
        for name in _JSON_FIELDS:
            data[name] = json.loads(data[name])
        data["status"] = RowStatus(data["status"])
        out.append(SweepRow(**data))
    return out


def read_rows(out_dir: Path) -> list[SweepRow]:
    """Every row of the sweep in ``out_dir``, sorted by ``point_id``."""
    path = Path(out_dir) / RESULTS_FILE
    if not path.is_file():
        raise ConfigError(f"{out_dir} holds no sweep results ({RESULTS_FILE})")
    try:
        conn = sqlite3.connect(path, timeout=30.0)
        try:
            return _rows(conn)
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None
