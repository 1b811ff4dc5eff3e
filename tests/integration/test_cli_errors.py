"""What the user sees when things go wrong: one line, the right exit code, never a traceback."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import epur.cli
from epur.cli import MAX_MESSAGE, main, one_line
from epur.errors import ConfigError


def test_one_line_folds_newlines_and_caps_the_length() -> None:
    assert one_line("a\nb\r\n  c\td") == "a b c d"
    long = one_line("x" * 5000)
    assert len(long) == MAX_MESSAGE and long.endswith("...")


def test_an_error_message_with_a_newline_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def fail(args: object) -> None:
        raise ConfigError("--network file a\nb.yaml does not exist\n" + "y" * 2000)

    monkeypatch.setattr("epur.cli.networks.main", fail)
    assert main(["networks"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and len(err) <= MAX_MESSAGE + 40
    assert err.startswith("epur networks: error: --network file a b.yaml does not exist")


def test_ctrl_c_while_starting_is_one_line_and_130(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def interrupted(version: str) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("epur.cli._parser.build_parser", interrupted)
    assert main(["networks"]) == 130
    assert capsys.readouterr().err == "epur: interrupted\n"


def test_ctrl_c_during_a_command_is_one_line_and_130(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def interrupted(args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("epur.cli.size.main", interrupted)
    assert main(["size", "--network", "eesen"]) == 130
    assert capsys.readouterr().err == "epur size: interrupted\n"


def test_an_internal_error_is_one_line_and_exit_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def bug(args: object) -> None:
        raise ZeroDivisionError("division by zero")

    monkeypatch.delenv("EPUR_DEBUG", raising=False)
    monkeypatch.setattr("epur.cli.networks.main", bug)
    assert main(["networks"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "internal error (ZeroDivisionError" in err
    assert "EPUR_DEBUG=1" in err
    monkeypatch.setenv("EPUR_DEBUG", "1")
    with pytest.raises(ZeroDivisionError):
        main(["networks"])


def _epur() -> list[str]:
    return [sys.executable, "-c", "import sys; from epur.cli import main; sys.exit(main())"]


def test_sigint_to_a_running_command_prints_one_line(tmp_path: Path) -> None:
    """A real Ctrl-C: SIGINT once the command has started working (its first progress line)."""
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path)}  # CACTI runs: seconds of work
    with subprocess.Popen(
        [*_epur(), "reproduce", "--out", str(tmp_path / "out")],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env,
    ) as proc:  # fmt: skip
        assert proc.stderr is not None
        first = proc.stderr.readline()  # the progress line: the work has begun
        proc.send_signal(signal.SIGINT)
        rest = proc.stderr.read()
        code = proc.wait(timeout=60)
    assert code == 130, first + rest
    assert "Traceback" not in rest
    assert rest.strip().splitlines()[-1] == "epur reproduce: interrupted"
    assert not (tmp_path / "out").exists()


def test_a_closed_pipe_is_not_a_traceback(tmp_path: Path) -> None:
    """``epur simulate ... | head -c 10`` on a long table: the reader goes away early."""
    layers = "".join("  - {type: lstm, input: 8, hidden: 8}\n" for _ in range(2000))
    net = tmp_path / "deep.yaml"
    net.write_text(f"schema_version: 1\nname: deep\nseq_len: 2\nlayers:\n{layers}")
    command = " ".join(f"'{part}'" for part in _epur())
    command += f" simulate --network '{net}' --energy-backend none | head -c 10"
    out = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=120)
    assert len(out.stdout) == 10
    assert "Traceback" not in out.stderr and "BrokenPipe" not in out.stderr, out.stderr


def test_the_cli_module_imports_nothing_heavy_before_parsing() -> None:
    """Ctrl-C at start-up lands in main's handler only if importing the CLI is quick."""
    code = "import sys, epur.cli; print(sorted(m for m in sys.modules if m.startswith('epur')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['epur', 'epur.cli']"
    assert epur.cli.COMMANDS
