"""Which fields of an architecture differ from the paper preset, with both values.

Reports use this to say when they are not the paper's evaluation: ``epur reproduce``
and ``epur simulate`` on an architecture changed by ``--arch`` or ``--set`` list each
changed field with the preset's value and the one used, and mark it as set by the
user. ``name`` (a label) and ``schema_version`` are not architecture and never count.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from epur.arch.config import ArchConfig
from epur.arch.presets import paper_preset

__all__ = ["ArchChange", "Scalar", "arch_changes"]

Scalar = int | float | str | bool | None
_NOT_ARCHITECTURE = frozenset({"name", "schema_version"})


@dataclass(frozen=True, slots=True)
class ArchChange:
    """One dotted field (``dpu.lanes``) whose value differs from the base architecture's."""

    key: str
    preset: Scalar
    value: Scalar


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
        ArchChange(key, old[key], value)
        for key, value in new.items()
        if key not in _NOT_ARCHITECTURE and old.get(key) != value
    )
