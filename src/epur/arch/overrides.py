"""Build an ``ArchConfig`` from a preset, an optional file and ``--set`` overrides.

``load_arch(path, ["dpu.lanes=32", "weight_buffer.capacity_bytes=4MiB"])`` starts from
the ``paper`` preset, deep-merges the file's mapping over it, then applies each
dotted ``KEY=VALUE`` (values are read as YAML scalars: ``32``, ``fp16``, ``2MiB``,
``null``). Unknown keys and bad values raise ``ConfigError`` naming the key. Fields
derived from others (``dpu.latency_cycles`` from ``dpu.lanes``) follow their source
unless set; ``null`` makes a set one derived again.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from epur._files import read_mapping
from epur._files import shown as shown_path
from epur._validation import config_error, shown
from epur.arch.config import ArchConfig
from epur.arch.presets import PRESETS
from epur.errors import ConfigError

__all__ = ["apply_overrides", "leaf_keys", "load_arch"]


def leaf_keys(tree: Mapping[str, Any], prefix: str = "") -> list[str]:
    """Every dotted leaf key of a nested mapping, in order."""
    keys: list[str] = []
    for key, value in tree.items():
        path = f"{prefix}{key}"
        keys.extend(leaf_keys(value, path + ".") if isinstance(value, Mapping) else [path])
    return keys


def _merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _parse_assignment(text: str) -> tuple[str, Any]:
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ConfigError(f"--set takes KEY=VALUE (e.g. dpu.lanes=32), not {text!r}")
    try:
        value = yaml.safe_load(raw) if raw.strip() else raw
    except yaml.YAMLError:
        value = raw
    return key, value


def apply_overrides(arch: ArchConfig, assignments: Iterable[str]) -> ArchConfig:
    """``arch`` with each dotted ``KEY=VALUE`` applied, validated as a whole."""
    tree = arch.settings()  # derived fields left out follow their source
    known = leaf_keys(arch.model_dump())
    for text in assignments:
        key, value = _parse_assignment(text)
        if key not in known:
            raise ConfigError(f"--set key must be one of the architecture keys, not {shown(key)}"
                              f"{_suggestions(key, known)}")  # fmt: skip
        *parents, leaf = key.split(".")
        node = tree
        for part in parents:
            node = node[part]
        node[leaf] = value  # a derived key left out of ``tree`` is set here, explicitly
    return _validate(tree, "--set")


def _suggestions(key: str, known: list[str]) -> str:
    """A short hint for an unknown key: the close matches, else the keys of its section,
    else the sections and top-level keys (never all of them: the line stays short)."""
    close = difflib.get_close_matches(key, known, n=3, cutoff=0.6)
    if close:
        return f"; did you mean {' or '.join(close)}?"
    section = key.split(".")[0]
    inside = [k for k in known if k.startswith(section + ".")]
    if len(inside) > 6:
        return f" ({section} has {', '.join(inside[:4])}, ... ({len(inside)} keys))"
    if inside:
        return f" ({section} has {', '.join(inside)})"
    tops = list(dict.fromkeys(k.split(".")[0] for k in known))
    return f" (the keys start with {', '.join(tops)})"


def _validate(tree: Mapping[str, Any], source: str) -> ArchConfig:
    try:
        return ArchConfig.model_validate(tree)
    except ValidationError as exc:
        raise config_error(exc, source) from None


def load_arch(
    path: str | Path | None = None, assignments: Iterable[str] = (), preset: str = "paper"
) -> ArchConfig:
    """The ``preset`` architecture, overridden by the file at ``path`` and by ``assignments``."""
    if preset not in PRESETS:
        raise ConfigError(f"preset must be one of {', '.join(PRESETS)}, not {preset!r}")
    arch = PRESETS[preset]()
    if path is not None:
        over = read_mapping(Path(path), "architecture")
        arch = _validate(_merge(arch.settings(), over), shown_path(path))
    return apply_overrides(arch, assignments)
