"""The README, run verbatim: every ``epur`` command of its tours and every Python block.

Commands run in a scratch folder holding the repository's ``examples/`` and the files
``python examples/make_models.py`` writes (as the README tells a user to run it). Each
command must exit 0, or 2 where its comment in the README says ``exit 2``.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from epur.cli import main

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text("utf-8")
INSTALL = "## Two commands"  # the install commands are CI's own (.ci/run)


def _blocks(language: str) -> list[str]:
    """Fenced blocks of ``language``, outside the install section."""
    body = re.sub(rf"{INSTALL}.*?\n## ", "\n## ", README, count=1, flags=re.S)
    return re.findall(rf"```{language}\n(.*?)```", body, flags=re.S)


def _commands() -> list[tuple[str, int]]:
    found = []
    for block in _blocks("sh"):
        for line in block.splitlines():
            command, _, comment = line.partition(" #")
            if line.startswith(("epur ", "python examples/")):
                found.append((command.strip(), 2 if "exit 2" in comment else 0))
    return found


COMMANDS = _commands()


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A user's folder: the examples, and the models ``make_models.py`` writes."""
    pytest.importorskip("torch")
    work = tmp_path_factory.mktemp("readme")
    shutil.copytree(ROOT / "examples", work / "examples")
    for command, _ in COMMANDS:
        if command.startswith("python "):
            subprocess.run([sys.executable, *shlex.split(command)[1:]], cwd=work, check=True)
    return work


def test_the_readme_has_tours() -> None:
    assert len(COMMANDS) >= 15
    assert any(c.startswith("epur run") for c, _ in COMMANDS)
    assert any(code == 2 for _, code in COMMANDS)


@pytest.mark.parametrize(("command", "code"), COMMANDS, ids=[c for c, _ in COMMANDS])
def test_readme_command(
    workdir: Path, command: str, code: int, capsys: pytest.CaptureFixture[str]
) -> None:
    if command.startswith("python "):
        return  # ran by the fixture
    old = Path.cwd()
    os.chdir(workdir)
    try:
        try:
            got = main(shlex.split(command)[1:])
        except SystemExit as exc:  # --help and --version
            got = int(exc.code or 0)
    finally:
        os.chdir(old)
    out, err = capsys.readouterr()
    assert got == code, f"{command!r} exited {got}, the README says {code}:\n{out}\n{err}"
    if code == 2:
        assert len(err.strip().splitlines()) == 1, err


@pytest.mark.parametrize("index", range(len(_blocks("python"))))
def test_readme_python_block(
    workdir: Path, index: int, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(workdir)
    source = _blocks("python")[index]
    exec(compile(source, f"README.md python block {index}", "exec"), {"__name__": "__readme__"})
    assert capsys.readouterr().out  # every block shows the user something
