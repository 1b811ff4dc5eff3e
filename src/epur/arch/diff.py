"""Which fields of an architecture differ from the paper preset, with both values.

Reports use this to say when they are not the paper's evaluation: ``epur reproduce``
and ``epur simulate`` on an architecture changed by ``--arch`` or ``--set`` list each
changed field with the preset's value and the one used, and mark it as set by the
user, or derived from a field the user set (``DERIVED``: ``dpu.latency_cycles``
follows ``dpu.lanes`` unless given). ``name`` (a label) and ``schema_version`` are not
architecture and never count.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from epur.arch.config import DERIVED, ArchConfig
from epur.arch.presets import paper_preset

__all__ = ["ArchChange", "Scalar", "arch_changes"]

Scalar = int | float | str | bool | None
_NOT_ARCHITECTURE = frozenset({"name", "schema_version"})


@dataclass(frozen=True, slots=True)
class ArchChange:
    """One dotted field (``dpu.lanes``) whose value differs from the base architecture's;
    ``derived_from`` names the field it follows when it was not given itself."""

    key: str
    preset: Scalar
    value: Scalar
    derived_from: str | None = None

    @property
    def provenance(self) -> str:
        """``user``, or ``derived from dpu.lanes`` for a field that follows another."""
        return "user" if self.derived_from is None else f"derived from {self.derived_from}"


def _leaves(tree: Mapping[str, Any], prefix: str = "") -> dict[str, Scalar]:
    out: dict[str, Scalar] = {}
    for key, value in tree.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out |= _leaves(value, path + ".")
        else:
            out[path] = value
    return out


def arch_changes(arch: ArchConfig, base: ArchConfig | None = None) -> tuple[ArchChange, ...]:
    """The fields of ``arch`` that differ from ``base`` (default: the paper preset), in
    the order of the configuration."""
    new = _leaves(arch.model_dump(mode="json"))
    old = _leaves((base if base is not None else paper_preset()).model_dump(mode="json"))
    return tuple(
        ArchChange(key, old[key], value, _derived_from(arch, key))
        for key, value in new.items()
        if key not in _NOT_ARCHITECTURE and old.get(key) != value
    )


def _derived_from(arch: ArchConfig, key: str) -> str | None:
    """The field ``key`` follows in ``arch``, if it is derived and was not given."""
    if key not in DERIVED:
        return None
    section, field = key.split(".")
    given = field in getattr(arch, section).model_fields_set
    return None if given else DERIVED[key]
