"""``epur``'s top-level names: each imports, is what it says, and is typed for checkers."""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
from importlib.metadata import version

import pytest

import epur


@pytest.mark.parametrize("name", [n for n in epur.__all__ if n != "__version__"])
def test_every_public_name_is_a_function(name: str) -> None:
    value = getattr(epur, name)
    assert inspect.isfunction(value), f"epur.{name} is {value!r}"


def test_from_epur_import_evaluate_is_the_function_even_after_the_module_loads() -> None:
    """``epur/evaluate.py`` used to shadow the function once anything imported it."""
    code = (
        "import inspect\nimport epur.report\nfrom epur import evaluate\n"
        "print(inspect.isfunction(evaluate), evaluate.__name__)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "evaluate"]


def test_version_is_the_installed_one() -> None:
    assert epur.__version__ == version("epur")


def test_type_checkers_see_the_real_signatures() -> None:
    """With lazy names typed ``Any``, mypy would accept a function assigned to an int."""
    api = pytest.importorskip("mypy.api")
    source = "import epur\nx: int = epur.evaluate\ny: int = epur.from_torch\nz: int = epur.run\n"
    flags = ["--config-file", os.devnull, "--no-incremental", "--follow-imports=silent"]
    out, _, code = api.run([*flags, "-c", source])
    assert code == 1, out
    lines = out.splitlines()
    for line, returned in zip(lines, ("Evaluation", "TorchModel", "RunOutput"), strict=False):
        assert "Incompatible types" in line and returned in line, out


@pytest.mark.parametrize("name", ["evaluate", "run"])
def test_mwl_is_the_default_dataflow_of_the_api(name: str) -> None:
    """MWL is E-PUR's dataflow: the API defaults to it, as the CLI does."""
    from epur.schedule import Dataflow

    default = inspect.signature(getattr(epur, name)).parameters["dataflow"].default
    assert default == Dataflow.MWL
