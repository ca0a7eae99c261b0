"""`mlops-ladder upgrade` against `copier update` of the same change on a tagged git template.

Both start from the same project at level N carrying the same team edits and move it to N+1.
Copier needs the template as a git repository holding the old commit; mlops-ladder does not.
Run: python benchmarks/bench_upgrade.py [--level 2] [--rounds 7]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

from timing import TEMPLATES, alternate, console, report, sh


def team_edits(project: Path) -> str:
    """The same edits in both projects, committed; returns the commit to reset to between rounds."""
    (project / "notes").mkdir(exist_ok=True)
    (project / "notes" / "team.md").write_text("Decisions we made about this model.\n")
    with (project / ".gitignore").open("a") as file:
        file.write("scratch/\n")
    sh("git", "add", "--all", cwd=project)
    sh("git", "commit", "--quiet", "-m", "Team edits", cwd=project)
    return subprocess_out(["git", "rev-parse", "HEAD"], project)


def subprocess_out(args: list[str], cwd: Path) -> str:
    import subprocess

    return subprocess.run(args, cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def tagged_template_repo(scratch: Path) -> Path:
    repo = scratch / "template-repo"
    shutil.copytree(TEMPLATES, repo)
    sh("git", "init", "--quiet", cwd=repo)
    sh("git", "add", "--all", cwd=repo)
    sh("git", "commit", "--quiet", "-m", "Templates", cwd=repo)
    sh("git", "tag", "v1.0.0", cwd=repo)
    return repo


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--level", type=int, default=2, help="level to upgrade from")
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="bench-upgrade-"))
    try:
        template = tagged_template_repo(scratch)
        by_copier = scratch / "copier" / "team-project"
        sh("copier", "copy", "--defaults", "--quiet", "--data", f"level={args.level}", str(template), str(by_copier))
        sh("git", "init", "--quiet", cwd=by_copier)
        sh("git", "add", "--all", cwd=by_copier)
        sh("git", "commit", "--quiet", "-m", "Scaffold", cwd=by_copier)
        by_ladder = scratch / "ladder" / "team-project"
        sh("mlops-ladder", "new", str(by_ladder), "--level", str(args.level), "--defaults")
        starts = {by_copier: team_edits(by_copier), by_ladder: team_edits(by_ladder)}

        def reset(project: Path):
            def prepare(_: int) -> None:
                sh("git", "reset", "--quiet", "--hard", starts[project], cwd=project)
                sh("git", "clean", "-fdxq", cwd=project)

            return prepare

        def ladder(_: int) -> None:
            sh("mlops-ladder", "upgrade", str(by_ladder))

        def copier_update(_: int) -> None:
            sh(
                "copier",
                "update",
                "--defaults",
                "--quiet",
                "--conflict",
                "inline",
                "--data",
                f"level={args.level + 1}",
                cwd=by_copier,
            )

        samples = alternate(
            {"mlops-ladder upgrade": (reset(by_ladder), ladder), "copier update": (reset(by_copier), copier_update)},
            args.rounds,
        )
        title = f"Upgrade an edited project from level {args.level} to {args.level + 1}"
        report(title, samples, "mlops-ladder upgrade", "copier update", "<= 1.50x, and under 3 s")
        changed = subprocess_out(["git", "status", "--porcelain"], by_copier).count("\n") + 1
        console.print(f"(copier update left {changed} uncommitted paths; mlops-ladder upgrade committed its merge)")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
