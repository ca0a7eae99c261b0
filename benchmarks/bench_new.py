"""`mlops-ladder new` against what a user would do by hand: raw `copier copy` plus `git init` and a commit.

Run: python benchmarks/bench_new.py [--level 2] [--rounds 7]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

from timing import TEMPLATES, alternate, report, sh


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--level", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="bench-new-"))

    def target(kind: str, i: int) -> Path:
        return scratch / kind / f"project-{i}"

    def clean(kind: str):
        return lambda i: shutil.rmtree(target(kind, i), ignore_errors=True)

    def ladder(i: int) -> None:
        sh("mlops-ladder", "new", str(target("ladder", i)), "--level", str(args.level), "--defaults")

    def copier_and_git(i: int) -> None:
        project = target("copier", i)
        sh(
            "copier",
            "copy",
            "--defaults",
            "--quiet",
            "--data",
            f"level={args.level}",
            "--data",
            f"project_name=project-{i}",
            str(TEMPLATES),
            str(project),
        )
        sh("git", "init", "--quiet", cwd=project)
        sh("git", "add", "--all", cwd=project)
        sh("git", "commit", "--quiet", "-m", "Scaffold", cwd=project)

    try:
        contenders = {
            "mlops-ladder new": (clean("ladder"), ladder),
            "copier copy + git commit": (clean("copier"), copier_and_git),
        }
        samples = alternate(contenders, args.rounds)
        report(f"Scaffold level {args.level}", samples, "mlops-ladder new", "copier copy + git commit", "< 1.20x")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
