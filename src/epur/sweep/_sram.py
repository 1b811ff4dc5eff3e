"""SRAM figures resolved before the points run: CACTI once per distinct configuration.

Each distinct architecture is dry-run through banking for the clock and the energy
table against the figures known so far; the SRAMs it asks for that are not known yet
are computed together (in parallel on the executor, CACTI through its on-disk cache),
and the dry runs repeat until every architecture has all its figures (banking asks
for a doubled bank count only once it has seen the cycle time of the last). Workers
then answer from these figures (``ResolvedSram``): every row is computed from the same
numbers whichever worker, machine or cache served it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable

from epur.arch import ArchConfig
from epur.energy import SramResult, SramSpec, bank_for_clock, energy_table, memory_specs
from epur.errors import EpurError
from epur.evaluation import Design
from epur.sweep._work import ResolvedSram, SramAnswer, compute_sram
from epur.sweep.executors import Executor

__all__ = ["SramPlan", "resolve_sram"]


class _Missing(Exception):
    """A dry run asked for an SRAM not known yet."""


class _Recorder:
    def __init__(self, name: str, known: dict[SramSpec, SramAnswer]) -> None:
        self.name = name
        self.known = known
        self.used: set[SramSpec] = set()
        self.missing: set[SramSpec] = set()

    def sram(self, spec: SramSpec) -> SramResult:
        self.used.add(spec)
        answer = self.known.get(spec)
        if answer is None:
            self.missing.add(spec)
            raise _Missing
        return answer.get()

    def config_text(self, spec: SramSpec) -> str | None:
        return None


class SramPlan:
    """The resolved figures, and which SRAMs each design's architecture uses."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.answers: dict[SramSpec, SramAnswer] = {}
        self.used: dict[tuple[str, bool], frozenset[SramSpec]] = {}

    def for_designs(self, designs: Iterable[Design]) -> ResolvedSram:
        """The figures the ``designs`` need, and no others (a worker's share)."""
        specs: set[SramSpec] = set()
        for d in designs:
            specs |= self.used.get(_key(d.arch, d.bank_for_clock), frozenset())
        return ResolvedSram(self.name, {s: self.answers[s] for s in specs})


def _key(arch: ArchConfig, bank: bool) -> tuple[str, bool]:
    return arch.model_dump_json(), bank


def _dry_run(arch: ArchConfig, bank: bool, rec: _Recorder) -> bool:
    """Whether every figure ``arch`` needs is known (errors count as known: the point
    reports them when it runs)."""
    try:
        if bank:
            arch, _ = bank_for_clock(arch, rec)
        energy_table(arch, rec)
    except _Missing:
        return False
    except EpurError:
        pass
    return True


def resolve_sram(name: str, designs: Iterable[Design], executor: Executor) -> SramPlan:
    """Every SRAM figure the ``designs`` need, from the backend called ``name`` (``cacti``:
    computed on the executor, each configuration once; ``table``: looked up here)."""
    plan = SramPlan(name)
    todo: dict[tuple[str, bool], tuple[ArchConfig, bool]] = {}
    first: set[SramSpec] = set()
    for d in designs:
        key = _key(d.arch, d.bank_for_clock)
        if key not in todo:
            todo[key] = (d.arch, d.bank_for_clock)
            with contextlib.suppress(EpurError):
                first |= set(memory_specs(d.arch).values())
    missing = first
    while True:
        jobs = [(name, spec) for spec in sorted(missing, key=repr)]
        if len(jobs) > 1 and name == "cacti":
            plan.answers.update(executor.map(compute_sram, jobs))
        else:
            plan.answers.update(map(compute_sram, jobs))
        missing = set()
        for key, (arch, bank) in list(todo.items()):
            rec = _Recorder(name, plan.answers)
            if _dry_run(arch, bank, rec):
                plan.used[key] = frozenset(rec.used)
                del todo[key]
            else:
                missing |= rec.missing
        if not todo:
            return plan
