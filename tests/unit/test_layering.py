"""Imports flow one way (the project's style guide, rule 1): each package imports only the
layers below it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "epur"

# package -> epur packages it may import (besides itself and the private helpers); each
# layer may use what the layer it builds on may, and that layer
_CORE = {"errors", "units"}
ALLOWED: dict[str, set[str]] = {
    "errors": set(),
    "units": set(),
    "numerics": set(),
    "workload": _CORE,
    "arch": _CORE | {"numerics"},
    "baselines": _CORE | {"workload"},
}
ALLOWED["schedule"] = ALLOWED["arch"] | {"workload", "arch"}
ALLOWED["timing"] = ALLOWED["schedule"] | {"schedule"}
ALLOWED["energy"] = ALLOWED["timing"] | {"timing"}
ALLOWED["evaluation"] = ALLOWED["energy"] | {"energy"}
ALLOWED["report"] = ALLOWED["evaluation"] | {"evaluation", "baselines"}
ALLOWED["functional"] = ALLOWED["schedule"] | {"schedule"}
ALLOWED["api"] = ALLOWED["functional"] | {"functional"}
ALLOWED["sweep"] = ALLOWED["report"] | ALLOWED["api"] | {"report", "functional", "api"}
ALLOWED["cli"] = ALLOWED["sweep"] | {"sweep"}  # the top: every part
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
