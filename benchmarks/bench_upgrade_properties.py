"""Random team histories then `mlops-ladder upgrade`, a few hundred times: outcomes, failures (must be 0), time.

Each sequence copies a real scaffold, applies 2-6 random team operations with real git (edit, add,
delete, rename a file or folder, amend, squash, ignore a local file, revert, upgrade then revert it)
and upgrades; tests/upgrade_properties.py says what each outcome must satisfy.
Run: python benchmarks/bench_upgrade_properties.py [--sequences 200] [--first-seed 0]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from timing import REPO, console

sys.path.insert(0, str(REPO / "tests"))

from upgrade_helpers import STEPS
from upgrade_properties import Scaffolds, run_sequence


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sequences", type=int, default=200)
    parser.add_argument("--first-seed", type=int, default=0)
    args = parser.parse_args()
    levels = [level for level, _ in STEPS]
    outcomes: Counter[str] = Counter()
    operations: Counter[str] = Counter()
    failures, seconds = [], []
    with tempfile.TemporaryDirectory(prefix="bench-upgrade-properties-") as scratch:
        scaffolds = Scaffolds(Path(scratch))
        for seed in range(args.first_seed, args.first_seed + args.sequences):
            start = time.perf_counter()
            outcome = run_sequence(scaffolds, seed, levels)
            seconds.append(time.perf_counter() - start)
            outcomes[outcome.kind] += 1
            operations.update(outcome.operations[1:])
            if outcome.problems or outcome.kind == "failed":
                failures.append((seed, outcome))
    title = f"{args.sequences} random team histories, then upgrade (levels {levels}, seeds from {args.first_seed})"
    console.print(f"[bold]{title}[/]")
    for kind in ("committed", "conflicts", "refused", "failed"):
        console.print(f"  {kind:<10} {outcomes[kind]}")
    applied = ", ".join(f"{name} {count}" for name, count in sorted(operations.items()))
    console.print(f"  operations applied: {applied}", soft_wrap=True)
    console.print(
        f"  time per sequence: median {statistics.median(seconds):.2f} s, max {max(seconds):.2f} s, "
        f"total {sum(seconds):.0f} s"
    )
    console.print(f"[bold]failures: {len(failures)}[/] (must be 0)")
    for seed, outcome in failures:
        console.print(f"  seed {seed}, {outcome.kind} after {outcome.operations}: {outcome.problems}", soft_wrap=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
