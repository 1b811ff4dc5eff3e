"""Architecture parameters as reports show them: values used, with units, per design;
their provenance (published, assumed, or set by the user); the report's title.

An architecture changed by ``--arch`` or ``--set`` is not the paper's evaluation: its
reports say so in their title, list every field changed from the paper preset with
both values (``arch_changes``) and mark those fields' provenance ``user``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from epur.arch import PROVENANCE, ArchChange, ArchConfig, MemoryConfig, arch_changes
from epur.arch.diff import Scalar
from epur.energy.logic import AREA_SCALE, ENERGY_SCALE
from epur.evaluation import Evaluation
from epur.report._format import sig

__all__ = [
    "CHANGES_HEADERS",
    "PAPER_TITLE",
    "PARAMETER_HEADERS",
    "ParameterRow",
    "changes_json",
    "changes_rows",
    "changes_summary",
    "display",
    "parameter_rows",
    "report_title",
    "unit",
    "user_changes",
]

PAPER_TITLE = "E-PUR: the paper's evaluation, reproduced by epur"
_SCALING = "Stillmaker & Baas, Integration 2017"
_NOT_PARAMETERS = frozenset({"name", "schema_version"})

# (suffix of the dotted key, unit shown, factor from the config's SI value to the unit)
_UNITS: tuple[tuple[str, str, float], ...] = (
    ("bytes_per_s", "GB/s", 1e-9),
    ("energy_per_bit_j", "pJ/bit", 1e12),
    ("capacity_bytes", "B", 1.0),
    ("port_bits", "bits", 1.0),
    ("clock_hz", "MHz", 1e-6),
    ("latency_cycles", "cycles", 1.0),
    ("latency_ns", "ns", 1.0),
    ("node_nm", "nm", 1.0),
    ("temperature_k", "K", 1.0),
    ("_pj", "pJ at 45 nm", 1.0),
    ("_um2", "µm² at 45 nm", 1.0),
    ("_ns", "ns", 1.0),
    ("_w", "mW", 1e3),
)


def _unit(key: str) -> tuple[str, float]:
    for suffix, name, factor in _UNITS:
        if key.endswith(suffix):
            return name, factor
    return "", 1.0


def unit(key: str) -> str:
    """The unit a configuration value of ``key`` is shown in (``""``: a count or a name)."""
    return _unit(key)[0]


def display(key: str, value: Scalar) -> str:
    """A configuration value of ``key`` in the unit of ``unit(key)`` (``None``: "auto")."""
    if value is None:
        return "auto"
    if isinstance(value, bool | str):
        return str(value)
    shown = value * _unit(key)[1]
    if float(shown).is_integer():
        return f"{int(shown):,}"
    return f"{shown:.6g}"


def user_changes(ev: Evaluation) -> tuple[ArchChange, ...]:
    """The fields the user changed from the paper preset in the architecture ``ev`` ran
    on: its own bank counts where ``evaluate`` banked memories for the clock (banking
    is epur's doing, reported in its notes)."""
    arch = ev.arch
    for b in ev.banking:
        arch = b.memory.with_banks(arch, b.given_banks)
    return arch_changes(arch)


def report_title(changes: Sequence[ArchChange]) -> str:
    """The paper's evaluation, or an evaluation on a modified architecture saying so."""
    if not changes:
        return PAPER_TITLE
    return f"E-PUR evaluation on a modified architecture ({_count(changes)})"


def _count(changes: Sequence[ArchChange]) -> str:
    n = len(changes)
    return f"{n} field{'s' if n != 1 else ''} changed from the paper preset"


def changes_json(changes: Sequence[ArchChange]) -> list[dict[str, Any]]:
    """Each changed field: its preset and new value (SI, as configured), unit, provenance."""
    return [
        {"key": c.key, "preset": c.preset, "value": c.value, "unit": unit(c.key),
         "provenance": c.provenance}
        for c in changes
    ]  # fmt: skip


CHANGES_HEADERS = ["parameter", "unit", "paper preset", "used here", "provenance"]


def changes_rows(changes: Sequence[ArchChange]) -> list[list[str]]:
    """Rows under ``CHANGES_HEADERS``: each field changed from the paper preset."""
    return [
        [c.key, unit(c.key), display(c.key, c.preset), display(c.key, c.value), c.provenance]
        for c in changes
    ]


def changes_summary(changes: Sequence[ArchChange]) -> str:
    """One line: ``the paper preset`` or the changed fields with both values."""
    if not changes:
        return "the paper preset"
    fields = ", ".join(
        f"{c.key} {display(c.key, c.preset)} -> {display(c.key, c.value)}"
        + (f" {unit(c.key)}" if unit(c.key) else "")
        + (f" ({c.provenance})" if c.derived_from else "")
        for c in changes
    )
    return f"modified, {_count(changes)}: {fields}"


@dataclass(frozen=True, slots=True)
class ParameterRow:
    """One architecture parameter as used by every design: ``values`` pairs the designs
    (joined by ", ") with the value they use, one pair when all agree."""

    key: str
    unit: str
    values: tuple[tuple[str, str], ...]
    status: str
    source: str

    def cells(self) -> list[str]:
        if len(self.values) == 1:
            value = self.values[0][1]
        else:
            value = "; ".join(f"{designs}: {v}" for designs, v in self.values)
        return [self.key, self.unit, value, self.status, self.source]


PARAMETER_HEADERS = ["parameter", "unit", "value used", "status", "source"]


def _leaves(tree: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in tree.items():
        if isinstance(value, Mapping):
            out |= _leaves(value, f"{prefix}{key}.")
        else:
            out[f"{prefix}{key}"] = value
    return out


def _node_scaled(key: str) -> bool:
    """A logic energy or area given at 45 nm and scaled to the node (not the overhead)."""
    return key.startswith("logic.") and key.endswith(("_pj", "_um2"))


def _used(arch: ArchConfig, key: str, value: Scalar) -> tuple[str, str]:
    """The value the models use for ``key`` and its unit: node-scaled logic figures,
    the port width an ``auto`` port gets."""
    node = arch.technology.node_nm
    if _node_scaled(key) and isinstance(value, int | float):
        scale, name = (ENERGY_SCALE, "pJ") if key.endswith("_pj") else (AREA_SCALE, "µm²")
        return sig(value * scale[node], 3), f"{name} at {node} nm"
    if key.endswith(".port_bits") and value is None:
        memory = getattr(arch, key.split(".")[0])
        assert isinstance(memory, MemoryConfig)
        return f"{arch.port_bits(memory):,} (auto)", "bits"
    return display(key, value), unit(key)


def parameter_rows(
    designs: Mapping[str, ArchConfig], changes: Sequence[ArchChange]
) -> list[ParameterRow]:
    """Every parameter with the value each design uses (grouped where designs agree),
    its provenance (``user`` for a field in ``changes``) and its source."""
    changed = {c.key: c for c in changes}
    trees = {name: _leaves(arch.model_dump(mode="json")) for name, arch in designs.items()}
    first = next(iter(trees.values()))
    rows = []
    for key in first:
        if key in _NOT_PARAMETERS:
            continue
        grouped: dict[str, list[str]] = {}
        units = set()
        for name, arch in designs.items():
            value, shown_unit = _used(arch, key, trees[name][key])
            grouped.setdefault(value, []).append(name)
            units.add(shown_unit)
        values = tuple((", ".join(names), value) for value, names in grouped.items())
        if key in changed:
            c = changed[key]
            status = c.provenance
            how = "set by --arch/--set" if c.derived_from is None else "follows it"
            source = f"{how}; paper preset: {display(key, c.preset)}"
        else:
            p = PROVENANCE.get(key)
            status, source = (p.status, p.source) if p is not None else ("", "")
        if _node_scaled(key):
            arch = next(iter(designs.values()))
            node = arch.technology.node_nm
            scale = (ENERGY_SCALE if key.endswith("_pj") else AREA_SCALE)[node]
            raw = trees[next(iter(designs))][key]
            source += f"; {display(key, raw)} {unit(key)} x{scale:g} to {node} nm ({_SCALING})"
        if len(values) > 1:
            source += "; the designs differ: epur sizes and banks each for its dataflow"
        rows.append(ParameterRow(key, " / ".join(sorted(units)), values, status, source))
    return rows
