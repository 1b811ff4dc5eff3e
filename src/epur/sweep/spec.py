"""A sweep spec (YAML or TOML), validated whole before any point runs.

``load_sweep_spec(path)`` reads the file and ``parse_sweep_spec`` checks every field:
a mistake is one ``ConfigError`` naming the field (``axes.dpu.lanes: ...``). Axes are
the dotted architecture keys of ``--set`` plus the special axes ``dataflow``,
``format``, ``activation``, ``tile_rows`` and ``bank_for_clock``; each value of each
axis is applied to the base architecture here, so an out-of-range value is refused
before the sweep starts. ``SweepSpec.to_json`` is what ``DIR/spec.json`` holds.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from epur._files import read_mapping
from epur._validation import shown
from epur.arch import ArchConfig, apply_overrides, load_arch
from epur.arch.overrides import leaf_keys
from epur.errors import ConfigError, EpurError
from epur.evaluation import SramSource
from epur.report.tegra import SCENARIOS
from epur.sweep._spec_outputs import (
    OUTPUTS,
    RATE_OUTPUTS,
    TEGRA_OUTPUTS,
    _constraints,
    _fail,
    _integer,
    _known,
    _mapping,
    _objectives,
)
from epur.sweep.rows import Constraint, Objective
from epur.sweep.sampling import (
    MAX_POINTS,
    SPECIAL_AXES,
    Axis,
    SamplingMethod,
    parse_axis,
    sample_count,
)
from epur.workload import ZOO_NAMES, Network, load_network, zoo_network

__all__ = [
    "MEMORIES",
    "OUTPUTS",
    "RATE_OUTPUTS",
    "TEGRA_OUTPUTS",
    "Accuracy",
    "NetworkRef",
    "Sampling",
    "SweepSpec",
    "load_sweep_spec",
    "parse_sweep_spec",
]

MEMORIES = ("weight_buffer", "input_buffer", "intermediate_memory")
_KEYS = (
    "name",
    "networks",
    "base",
    "sram",
    "sampling",
    "axes",
    "derived",
    "constraints",
    "objectives",
    "accuracy",
    "compare_tegra",
)
_MAX_STEPS = 2**24
# a real-time bound does not apply to a network without a frame rate (no factor)


@dataclass(frozen=True)
class NetworkRef:
    """One network of the sweep: its name in the rows and where it comes from (a zoo
    name, or the resolved path of a network file)."""

    name: str
    source: str

    def load(self) -> Network:
        return zoo_network(self.source) if self.source in ZOO_NAMES else load_network(self.source)


@dataclass(frozen=True)
class Sampling:
    method: SamplingMethod = SamplingMethod.GRID
    points: int | None = None  # random/lhs: how many
    seed: int = 0


@dataclass(frozen=True)
class Accuracy:
    """Run the functional model for ``steps`` time steps on random weights and inputs."""

    steps: int = 50
    seed: int = 0


@dataclass(frozen=True)
class SweepSpec:
    """A validated sweep spec (module docstring)."""

    name: str
    networks: tuple[NetworkRef, ...]
    base: str  # "paper" or the resolved path of an architecture file
    sram: SramSource
    sampling: Sampling
    axes: tuple[Axis, ...]
    derived: tuple[str, ...] = ()  # memories sized for each network and dataflow
    constraints: tuple[Constraint, ...] = ()
    objectives: tuple[Objective, ...] = (Objective.LATENCY, Objective.ENERGY, Objective.AREA)
    accuracy: Accuracy | None = None
    compare_tegra: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()  # what validation changed (an axis a derived field replaces)

    def base_arch(self) -> ArchConfig:
        return load_arch(None if self.base == "paper" else self.base)

    @property
    def axis_names(self) -> tuple[str, ...]:
        return tuple(a.name for a in self.axes)

    def point_count(self) -> int:
        """Axis points per network (before duplicates are merged)."""
        return sample_count(self.axes, self.sampling.method, self.sampling.points)

    def to_json(self) -> dict[str, Any]:
        """The validated spec as plain JSON data (``DIR/spec.json``)."""
        return {
            "name": self.name,
            "networks": [{"name": n.name, "source": n.source} for n in self.networks],
            "base": self.base,
            "sram": self.sram.value,
            "sampling": {
                "method": self.sampling.method.value,
                "points": self.sampling.points,
                "seed": self.sampling.seed,
            },
            "axes": {a.name: a.to_json() for a in self.axes},
            "derived": {m: "sized" for m in self.derived},
            "constraints": [
                {"output": c.output, "min": c.min, "max": c.max} for c in self.constraints
            ],
            "objectives": [o.value for o in self.objectives],
            "accuracy": None
            if self.accuracy is None
            else {"steps": self.accuracy.steps, "seed": self.accuracy.seed},
            "compare_tegra": list(self.compare_tegra),
        }


def load_sweep_spec(path: str | Path) -> SweepSpec:
    """Read and validate the sweep spec at ``path`` (YAML or TOML)."""
    path = Path(path)
    data = read_mapping(path, "sweep spec")
    try:
        return parse_sweep_spec(data, path.stem, path.parent)
    except ConfigError as exc:
        raise ConfigError(f"sweep spec {path}: {exc}") from None


def parse_sweep_spec(data: Mapping[str, Any], default_name: str, folder: Path) -> SweepSpec:
    """Validate a spec's mapping; relative file paths are taken from ``folder`` (the
    spec's own), else from the working folder."""
    _known(data, _KEYS, "")
    name = data.get("name", default_name)
    if not isinstance(name, str) or not name.strip():
        raise _fail("name", f"must be a non-empty string, not {shown(name)}")
    networks = _networks(data.get("networks"), folder)
    base = _base(data.get("base", "paper"), folder)
    arch = base[1]
    sram_text = data.get("sram", "auto")
    try:
        sram = SramSource(sram_text)
    except ValueError:
        choices = ", ".join(s.value for s in SramSource)
        raise _fail("sram", f"must be one of {choices}, not {shown(sram_text)}") from None
    sampling = _sampling(data.get("sampling", {}))
    derived = _derived(data.get("derived", {}))
    axes, notes = _axes(data.get("axes"), arch, derived)
    count = sample_count(axes, sampling.method, sampling.points)
    if count * len(networks) > MAX_POINTS:
        raise _fail("axes", f"{count * len(networks):,} points; at most {MAX_POINTS:,} allowed")
    accuracy = _accuracy(data.get("accuracy"))
    tegra = _tegra(data.get("compare_tegra", []))
    constraints = _constraints(data.get("constraints", {}), sram, accuracy, tegra, networks)
    objectives = _objectives(data.get("objectives"), sram, accuracy)
    return SweepSpec(
        name.strip(),
        networks,
        base[0],
        sram,
        sampling,
        axes,
        derived,
        constraints,
        objectives,
        accuracy,
        tegra,
        notes,
    )


def _resolve(text: str, folder: Path) -> Path:
    """A relative path from the spec's folder if a file is there, else as given."""
    path = Path(text)
    if not path.is_absolute() and (folder / path).exists():
        return (folder / path).resolve()
    return path.resolve()


def _networks(data: object, folder: Path) -> tuple[NetworkRef, ...]:
    if not isinstance(data, list) or not data:
        raise _fail(
            "networks", f"must be a non-empty list of zoo names or files, not {shown(data)}"
        )
    refs: list[NetworkRef] = []
    for k, item in enumerate(data):
        field = f"networks[{k}]"
        if not isinstance(item, str) or not item:
            raise _fail(field, f"must be a zoo name or a network file, not {shown(item)}")
        if item.lower() in ZOO_NAMES:
            ref = NetworkRef(item.lower(), item.lower())
        elif Path(item).suffix.lower() in {".yaml", ".yml", ".toml"}:
            path = _resolve(item, folder)
            try:
                network = load_network(path)
            except EpurError as exc:
                raise _fail(field, str(exc)) from None
            ref = NetworkRef(network.name, str(path))
        else:
            raise _fail(
                field,
                f"unknown network {shown(item)}: the zoo has "
                f"{', '.join(ZOO_NAMES)}, or give a .yaml/.toml network file",
            )
        if any(r.name == ref.name for r in refs):
            raise _fail(field, f"network {ref.name!r} is listed twice")
        refs.append(ref)
    return tuple(refs)


def _base(data: object, folder: Path) -> tuple[str, ArchConfig]:
    if data == "paper":
        return "paper", load_arch()
    if not isinstance(data, str) or not data:
        raise _fail("base", f"must be 'paper' or an architecture file, not {shown(data)}")
    path = _resolve(data, folder)
    try:
        return str(path), load_arch(path)
    except EpurError as exc:
        raise _fail("base", str(exc)) from None


def _sampling(data: object) -> Sampling:
    tree = _mapping(data, "sampling")
    _known(tree, ("method", "points", "seed"), "sampling")
    try:
        method = SamplingMethod(tree.get("method", "grid"))
    except ValueError:
        choices = ", ".join(m.value for m in SamplingMethod)
        raise _fail(
            "sampling.method", f"must be one of {choices}, not {shown(tree['method'])}"
        ) from None
    if method is SamplingMethod.GRID:
        for key in ("points", "seed"):
            if key in tree:
                raise _fail(f"sampling.{key}", "applies to random and lhs sampling, not grid")
        return Sampling(method)
    if "points" not in tree:
        raise _fail("sampling.points", f"required with {method.value} sampling")
    points = _integer(tree["points"], "sampling.points", 1, MAX_POINTS)
    seed = _integer(tree.get("seed", 0), "sampling.seed", 0, 2**32 - 1)
    return Sampling(method, points, seed)


def _derived(data: object) -> tuple[str, ...]:
    tree = _mapping(data, "derived")
    _known(tree, MEMORIES, "derived")
    for key, value in tree.items():
        if value != "sized":
            raise _fail(f"derived.{key}", f"must be 'sized', not {shown(value)}")
    return tuple(m for m in MEMORIES if m in tree)


def _integral_if_the_field_is(axis: Axis, arch: ArchConfig) -> Axis:
    """A range over an integer field (``clock_hz``, ``dpu.lanes``, ...) gives integers,
    whatever numbers its bounds are written as (``2e8`` is a float in YAML)."""
    if axis.range is None or axis.range.integer:
        return axis
    node: Any = arch.settings()
    for part in axis.name.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    if not isinstance(node, int) or isinstance(node, bool):
        return axis
    r = axis.range
    whole = replace(r, min=math.ceil(r.min), max=math.floor(r.max), integer=True)
    return replace(axis, range=whole)


def _axes(
    data: object, arch: ArchConfig, derived: tuple[str, ...]
) -> tuple[tuple[Axis, ...], tuple[str, ...]]:
    tree = _mapping(data, "axes")
    if not tree:
        raise _fail("axes", "must name at least one axis")
    known = leaf_keys(arch.model_dump())
    axes: list[Axis] = []
    notes: list[str] = []
    for name, values in tree.items():
        field = f"axes.{name}"
        if name not in SPECIAL_AXES and name not in known:
            try:
                apply_overrides(arch, [f"{name}=0"])
            except ConfigError as exc:
                hint = str(exc).partition(shown(name))[2]
                raise _fail(
                    field,
                    f"unknown field: an axis is one of {', '.join(SPECIAL_AXES)} "
                    f"or an architecture key{hint}",
                ) from None
        axis = _integral_if_the_field_is(parse_axis(name, values, field), arch)
        for value in axis.levels():
            try:
                apply_overrides(arch, axis.settings(value))
            except EpurError as exc:
                raise _fail(field, f"value {shown(value)}: {exc}") from None
        if any(name == f"{m}.capacity_bytes" for m in derived):
            notes.append(f"axis {name} is ignored: derived sizes that memory for each network")
            continue
        axes.append(axis)
    names = {a.name for a in axes}
    if "format" in names and any(n.startswith("formats.") for n in names):
        raise _fail("axes.format", "sets formats.*: give the format axis or formats.* axes")
    if "activation" in names and "mfu.activation" in names:
        raise _fail("axes.activation", "sets mfu.activation: give one of the two axes")
    return tuple(axes), tuple(notes)


def _accuracy(data: object) -> Accuracy | None:
    if data is None:
        return None
    tree = _mapping(data, "accuracy")
    _known(tree, ("steps", "seed"), "accuracy")
    steps = _integer(tree.get("steps", 50), "accuracy.steps", 1, _MAX_STEPS)
    return Accuracy(steps, _integer(tree.get("seed", 0), "accuracy.seed", 0, 2**32 - 1))


def _tegra(data: object) -> tuple[str, ...]:
    if not isinstance(data, list):
        raise _fail("compare_tegra", f"must be a list of scenarios, not {shown(data)}")
    for k, item in enumerate(data):
        if item not in SCENARIOS:
            raise _fail(
                f"compare_tegra[{k}]", f"must be one of {', '.join(SCENARIOS)}, not {shown(item)}"
            )
    if len(set(data)) != len(data):
        raise _fail("compare_tegra", "lists a scenario twice")
    return tuple(data)
