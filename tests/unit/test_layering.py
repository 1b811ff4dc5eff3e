"""Imports flow one way (the project's style guide, rule 1): each module imports only the
layers below it.

Every module under ``src/epur`` is checked, the top-level ones (``api.py``,
``__init__.py``, ``__main__.py``, ``_validation.py``, ``_files/``) included; relative
imports are resolved to the package they name; an import of a part of epur that the
table below does not list for the importing part fails, and so does a module that
belongs to no part of the table.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "epur"

# part -> the parts of epur it may import (besides itself); each layer may use what the
# layer it builds on may, and that layer
_CORE = {"errors", "units"}
ALLOWED: dict[str, set[str]] = {
    "errors": set(),
    "units": set(),
    "numerics": set(),
    "_validation": {"errors"},  # pydantic errors -> ConfigError
    "_files": {"errors"},  # reading and writing files, for every layer
}
_PRIVATE = {"_files", "_validation"}  # helpers every layer above the core may use
ALLOWED["workload"] = _CORE | _PRIVATE
ALLOWED["arch"] = ALLOWED["workload"] | {"numerics"}
ALLOWED["baselines"] = ALLOWED["workload"] | {"workload"}
ALLOWED["schedule"] = ALLOWED["arch"] | {"workload", "arch"}
ALLOWED["timing"] = ALLOWED["schedule"] | {"schedule"}
ALLOWED["energy"] = ALLOWED["timing"] | {"timing"}
ALLOWED["evaluation"] = ALLOWED["energy"] | {"energy"}
ALLOWED["report"] = ALLOWED["evaluation"] | {"evaluation", "baselines"}
ALLOWED["functional"] = ALLOWED["schedule"] | {"schedule"}
ALLOWED["api"] = ALLOWED["functional"] | {"functional"}
# epur.evaluate: the analytical models and, given an input, the functional model's accuracy
ALLOWED["assess"] = ALLOWED["evaluation"] | ALLOWED["api"] | {"evaluation", "functional"}
ALLOWED["sweep"] = ALLOWED["report"] | ALLOWED["api"] | {"report", "functional", "api"}
# peer simulators (SCALE-Sim) beside an evaluation: what evaluation and report may use
ALLOWED["peers"] = ALLOWED["report"] | {"evaluation", "report"}
# the RTL: circuits built from the numerics, the architecture, the schedule and the
# timing model's latencies (the functional and timing models check it from the tests)
ALLOWED["rtl"] = ALLOWED["timing"] | {"timing"}
ALLOWED["cli"] = ALLOWED["sweep"] | {"sweep", "rtl", "peers"}  # the top: every part
# the package itself re-exports the public API (lazily) and runs the command line
ALLOWED["__init__"] = ALLOWED["api"] | {"api", "assess", "evaluation", "timing", "workload", "arch"}
ALLOWED["__main__"] = {"cli"}


def part_of(path: Path) -> str:
    """The part of epur a module belongs to: its top-level package or module."""
    rel = path.relative_to(SRC)
    return rel.parts[0].removesuffix(".py")


def module_name(path: Path) -> list[str]:
    """``epur.energy.model`` of ``src/epur/energy/model.py``, as its parts."""
    parts = ["epur", *path.relative_to(SRC).with_suffix("").parts]
    return parts[:-1] if parts[-1] == "__init__" else parts


def imported_modules(path: Path) -> set[str]:
    """Every module ``path`` imports (dotted names), relative imports resolved."""
    module = module_name(path)
    package = module if path.name == "__init__.py" else module[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                base = (node.module or "").split(".")
            else:
                assert node.level <= len(package), f"{path}: import above epur"
                base = package[: len(package) - node.level + 1]
                base += node.module.split(".") if node.module else []
            if base == ["epur"] or not node.module:  # ``from . import x``: modules
                # the package's metadata (``from epur import __version__``) is no layer
                names = [a.name for a in node.names]
                if base == ["epur"]:
                    names = [n for n in names if not n.startswith("__")]
                found |= {".".join([*base, n]) for n in names}
            else:
                found.add(".".join(base))
    return found


def epur_imports(path: Path) -> set[str]:
    """The parts of epur ``path`` imports."""
    parts = [n.split(".") for n in imported_modules(path)]
    return {_part(p[1]) if len(p) > 1 else "__init__" for p in parts if p[0] == "epur"}


def _part(name: str) -> str:
    """The part called ``name``, or ``__init__`` for a name the package itself defines
    (``from epur import evaluate``: the lazily re-exported public API)."""
    exists = (SRC / name).is_dir() or (SRC / f"{name}.py").exists()
    return name if exists else "__init__"


MODULES = sorted(SRC.rglob("*.py"))


def test_every_module_is_checked() -> None:
    """A new top-level module or package needs its own entry in the table."""
    missing = {str(p.relative_to(SRC)) for p in MODULES if part_of(p) not in ALLOWED}
    assert not missing, f"add these to ALLOWED: {sorted(missing)}"
    assert len(MODULES) > 100  # the walk found the source tree


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(SRC)))
def test_imports_flow_downward(path: Path) -> None:
    part = part_of(path)
    bad = epur_imports(path) - ALLOWED.get(part, set()) - {part}
    assert not bad, f"{path.relative_to(SRC)} imports {sorted(bad)}"


def _module(tmp: Path, rel: str, text: str) -> Path:
    path = tmp / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("rel", "text", "expected"),
    [
        ("energy/model.py", "from . import banking\n", {"epur.energy.banking"}),
        ("energy/model.py", "from .cacti import x\n", {"epur.energy.cacti"}),
        ("energy/model.py", "from ..timing import y\n", {"epur.timing"}),
        ("energy/model.py", "from .. import report\n", {"epur.report"}),
        ("energy/__init__.py", "from .model import z\n", {"epur.energy.model"}),
        ("energy/__init__.py", "from ..cli.run import z\n", {"epur.cli.run"}),
        ("api.py", "from . import cli\n", {"epur.cli"}),
        ("api.py", "import epur.report.html\n", {"epur.report.html"}),
        ("api.py", "from epur import evaluation\n", {"epur.evaluation"}),
        ("sweep/runner.py", "from epur import __version__\n", set()),
        ("sweep/runner.py", "from epur import evaluate\n", {"epur.evaluate"}),
    ],
)
def test_relative_imports_are_resolved(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, rel: str, text: str, expected: set[str]
) -> None:
    monkeypatch.setattr(__import__(__name__, fromlist=["SRC"]), "SRC", tmp_path)
    assert imported_modules(_module(tmp_path, rel, text)) == expected


def test_an_upward_relative_import_is_rejected(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(__import__(__name__, fromlist=["SRC"]), "SRC", tmp_path)
    _module(tmp_path, "energy/__init__.py", "")
    path = _module(tmp_path, "timing/model.py", "from ..energy import energy\n")
    assert epur_imports(path) - ALLOWED["timing"] - {"timing"} == {"energy"}
