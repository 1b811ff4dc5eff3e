"""Every case of the corpus of user mistakes, each as its own ``epur`` process.

Run: ``python benchmarks/fuzz_cli.py [--jobs N] [--only TEXT] [--json FILE]``

The CI test (``tests/fuzz/test_corpus.py``) runs most cases inside one process for
speed; this runs each as a user would (a fresh interpreter, its real exit code and
stderr), and reports per class how many ended as they must: exit code 2, one line on
stderr, no traceback, no output left, no payload run.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.fuzz.corpus import Case, cases, problems, run_as_process


def judge(case: Case) -> tuple[Case, list[str], str]:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        case.make(folder)
        outcome = run_as_process(case, folder)
        return case, problems(case, folder, outcome), outcome.stderr.strip()[-300:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2, help="cases run at once")
    parser.add_argument("--only", default="", help="only cases whose id contains this")
    parser.add_argument("--json", metavar="FILE", help="write the failures as JSON")
    args = parser.parse_args()
    selected = [c for c in cases() if args.only in c.id]
    start = time.perf_counter()
    with ThreadPoolExecutor(args.jobs) as pool:
        results = list(pool.map(judge, selected))
    elapsed = time.perf_counter() - start
    total: Counter[str] = Counter()
    bad: Counter[str] = Counter()
    failures = []
    for case, found, stderr in results:
        for tag in case.tags or {"other"}:
            total[tag] += 1
            bad[tag] += bool(found)
        if found:
            failures.append({"case": case.id, "problems": found, "stderr": stderr})
            print(f"FAIL {case.id}: {'; '.join(found)}\n     {stderr[-200:]}")
    print(f"\n{'class':10s} {'cases':>6s} {'wrong':>6s}")
    for tag in sorted(total):
        print(f"{tag:10s} {total[tag]:6d} {bad[tag]:6d}")
    print(f"{len(results) - len(failures)} passed, {len(failures)} failed in {elapsed:.0f} s")
    if args.json:
        Path(args.json).write_text(json.dumps(failures, indent=2) + "\n")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
