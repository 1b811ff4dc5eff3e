"""The ``epur`` parser as a user meets it: help, defaults, version, repeated and useless flags."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

import epur
from epur.api import MAX_THREADS
from epur.cli import COMMANDS, main
from epur.cli import _parser as cli_parser
from epur.energy.backend import BACKENDS
from epur.schedule import Dataflow
from epur.workload import ZOO_NAMES
from epur.workload.network import MAX_SIZE


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as exc:  # argparse's own exits: --help, --version, usage errors
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def test_the_parser_offers_exactly_the_library_sets() -> None:
    """The parser spells the closed sets itself (to stay light); they must not drift."""
    assert cli_parser.ZOO_NAMES == ZOO_NAMES
    assert tuple(d.value for d in Dataflow) == cli_parser.DATAFLOWS
    assert tuple(BACKENDS) == cli_parser.BACKENDS
    assert set(_subparsers(cli_parser.build_parser("0"))) == set(COMMANDS)
    assert cli_parser.MAX_COUNT == MAX_SIZE
    assert cli_parser.MAX_THREADS == MAX_THREADS


def test_every_option_has_help_text() -> None:
    parser = cli_parser.build_parser("0")
    for name, sub in _subparsers(parser).items():
        for action in sub._actions:
            assert action.help, f"epur {name} {action.option_strings} has no help text"


def test_help_shows_the_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "simulate", "--help")
    assert code == 0
    text = " ".join(out.split())
    assert "(default: mwl)" in text
    assert "(default: auto)" in text
    code, out, _ = run(capsys, "run", "--help")
    assert "(default: mwl)" in " ".join(out.split()) and "(default: 0)" in out


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--version")
    assert code == 0
    assert out.strip() == f"epur {version('epur')}" == f"epur {epur.__version__}"


@pytest.mark.parametrize(
    "argv",
    [
        ["simulate", "--network", "eesen", "--dataflow", "mwl", "--dataflow", "baseline"],
        ["simulate", "--network", "eesen", "--seq-len", "10", "--seq-len", "20"],
        ["simulate", "--network", "gmat", "--known-inputs", "--known-inputs"],
        ["reproduce", "--out", "a", "--out", "b"],
        ["size", "--network", "eesen", "--json", "a.json", "--json", "b.json"],
    ],
)
def test_a_single_valued_option_given_twice_is_an_error(
    capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert "given more than once" in err and len(err.strip().splitlines()) == 1


def test_repeatable_options_stay_repeatable(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "size", "--network", "eesen", "--network", "bysdne",
        "--dataflow", "baseline", "--dataflow", "mwl", "--set", "dpu.lanes=32", "--set",
        "clock_hz=1e9",
    )  # fmt: skip
    assert code == 0 and "EESEN" in out and "BYSDNE" in out


def test_tile_rows_with_the_baseline_is_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(
        capsys, "simulate", "--network", "eesen", "--dataflow", "baseline", "--tile-rows", "8",
        "--energy-backend", "none",
    )  # fmt: skip
    assert code == 2 and out == ""
    assert "--tile-rows" in err and "mwl" in err


def test_known_inputs_without_a_decoder_says_it_changes_nothing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    plain, known = tmp_path / "plain.json", tmp_path / "known.json"
    common = ["simulate", "--network", "eesen", "--energy-backend", "none", "--json"]
    assert run(capsys, *common, str(plain))[0] == 0
    code, _, err = run(capsys, *common, str(known), "--known-inputs")
    assert code == 0
    assert "--known-inputs changes nothing" in err and "no autoregressive stack" in err
    a, b = json.loads(plain.read_text()), json.loads(known.read_text())
    assert a["total"] == b["total"]


def test_mwl_is_the_default_dataflow(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out = tmp_path / "o.json"
    code, _, _ = run(
        capsys, "simulate", "--network", "bysdne", "--energy-backend", "none", "--json", str(out)
    )
    assert code == 0
    assert json.loads(out.read_text())["dataflow"] == "mwl"


def test_imported_models_need_a_sequence_length(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    torch = pytest.importorskip("torch")
    path = tmp_path / "lstm.pt"
    torch.save(torch.nn.LSTM(8, 16).state_dict(), path)
    code, out, err = run(capsys, "simulate", "--torch", str(path), "--energy-backend", "none")
    assert code == 2 and out == ""
    assert "--seq-len is required" in err
    code, out, _ = run(
        capsys, "simulate", "--torch", str(path), "--seq-len", "50", "--energy-backend", "none"
    )
    assert code == 0


@pytest.mark.parametrize("argv", [["--help"], ["simulate", "--help"], ["run", "--help"]])
def test_help_loads_no_numerical_library(argv: list[str]) -> None:
    """``epur --help`` must answer at once: no numpy, pydantic, ONNX or PyTorch."""
    code = (
        "import sys\nfrom epur.cli import main\n"
        f"try:\n    main({argv!r})\nexcept SystemExit:\n    pass\n"
        "heavy = sorted({'numpy', 'pydantic', 'onnx', 'torch', 'matplotlib'} & set(sys.modules))\n"
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"


@pytest.mark.parametrize(
    ("flag", "value"),
    [("--seq-len", str(2**24 + 1)), ("--batch", "0"), ("--tile-rows", "1e3"), ("--seq-len", "")],
)
def test_counts_out_of_range_name_the_flag(
    capsys: pytest.CaptureFixture[str], flag: str, value: str
) -> None:
    code, out, err = run(capsys, "simulate", "--network", "eesen", flag, value)
    assert code == 2 and out == ""
    assert f"argument {flag}: must be an integer from 1 to 16,777,216" in err
