"""The corpus of user mistakes (``tests/fuzz/corpus.py``), every case in CI.

Cases that cannot block run in this process (fast); the others (FIFOs, ``/dev/zero``,
huge declared sizes) each run as their own process with a timeout.
``benchmarks/fuzz_cli.py`` runs every case as its own process.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fuzz.corpus import Case, cases, problems, run_as_process, run_in_process

CASES = cases()


def test_the_corpus_is_large_and_covers_every_class() -> None:
    assert len(CASES) >= 300
    tags = set().union(*(c.tags for c in CASES))
    assert tags >= {"set", "arch", "network", "input", "torch", "onnx", "output", "flag"}


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_a_user_mistake_ends_in_one_line_and_exit_2(case: Case, tmp_path: Path) -> None:
    if case.tags & {"torch"}:
        pytest.importorskip("torch")
    case.make(tmp_path)
    outcome = run_as_process(case, tmp_path) if case.isolate else run_in_process(case, tmp_path)
    found = problems(case, tmp_path, outcome)
    assert not found, f"{case.id}: {'; '.join(found)}\nstderr: {outcome.stderr[-2000:]}"
