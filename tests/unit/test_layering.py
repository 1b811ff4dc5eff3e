"""Imports flow one way (the project's style guide, rule 1): each package imports only the
layers below it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "epur"

# package -> epur packages it may import (besides itself and the private helpers)
ALLOWED: dict[str, set[str]] = {
    "errors": set(),
    "units": set(),
    "numerics": set(),
    "workload": {"errors", "units"},
    "arch": {"errors", "units", "numerics"},
    "schedule": {"errors", "units", "numerics", "workload", "arch"},
    "timing": {"errors", "units", "numerics", "workload", "arch", "schedule"},
    "evaluation": {
        "errors",
        "units",
        "numerics",
        "workload",
        "arch",
        "schedule",
        "timing",
        "energy",
    },
    "report": {
        "errors",
        "units",
        "numerics",
        "workload",
        "arch",
        "schedule",
        "timing",
        "energy",
        "evaluation",
        "baselines",
    },
    "baselines": {"errors", "units", "workload"},
    "functional": {"errors", "units", "numerics", "workload", "arch", "schedule"},
    "energy": {"errors", "units", "numerics", "workload", "arch", "schedule", "timing"},
    "api": {"errors", "units", "numerics", "workload", "arch", "schedule", "functional"},
    "cli": {
        "errors",
        "units",
        "numerics",
        "workload",
        "arch",
        "schedule",
        "timing",
        "energy",
        "evaluation",
        "baselines",
        "report",
        "functional",
        "api",
    },
}
PRIVATE = {"_files", "_validation"}


def epur_imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        found |= {n.split(".")[1] for n in names if n.startswith("epur.")}
    return found


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_imports_flow_downward(package: str) -> None:
    paths = [SRC / f"{package}.py"] if (SRC / f"{package}.py").exists() else []
    paths += sorted((SRC / package).rglob("*.py")) if (SRC / package).is_dir() else []
    assert paths, package
    for path in paths:
        bad = epur_imports(path) - ALLOWED[package] - PRIVATE - {package}
        assert not bad, f"{path.relative_to(SRC)} imports {sorted(bad)}"
