"""``epur sweep``: design-space exploration over a sweep spec, or its HTML report."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from epur.cli._common import note
from epur.errors import ConfigError

__all__ = ["main"]


def main(args: argparse.Namespace) -> None:
    if args.report is not None:
        for flag in ("spec", "out", "resume", "workers", "scheduler"):
            if getattr(args, flag) not in (None, False):
                shown = "SPEC" if flag == "spec" else f"--{flag}"
                raise ConfigError(f"--report renders a finished sweep: {shown} does not apply")
        from epur.sweep.html import render_report

        print(render_report(Path(args.report)))
        return
    if args.spec is None or args.out is None:
        raise ConfigError("give a sweep spec and --out DIR (or --report DIR)")
    if args.workers is not None and args.scheduler is not None:
        raise ConfigError("--workers is for the local pool: a --scheduler has its own workers")
    from epur.sweep.executors import make_executor
    from epur.sweep.runner import run_sweep, write_sweep_summary
    from epur.sweep.spec import load_sweep_spec

    spec = load_sweep_spec(args.spec)  # all of it validated before any point runs
    for text in spec.notes:
        note(text)
    out = Path(args.out)
    with make_executor(args.workers, args.scheduler) as executor:
        outcome = run_sweep(spec, out, executor, resume=args.resume, progress=sys.stderr)
    counts = {
        s: sum(r.status.value == s for r in outcome.rows) for s in ("ok", "infeasible", "error")
    }
    skipped = f", {outcome.skipped} already stored" if outcome.skipped else ""
    print(
        f"{spec.name}: {outcome.points} points ({outcome.evaluated} evaluated{skipped}): "
        f"{counts['ok']} ok, {counts['infeasible']} infeasible, {counts['error']} errors; "
        f"results in {out / 'results.sqlite'}"
    )
    missing = write_sweep_summary(spec, out, outcome.rows)
    if missing is not None:
        note(missing)
