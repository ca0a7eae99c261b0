"""Level 5, exercise 1: upgrade from level 4 through a conflict, and resolve it keeping your edit.

python -m pytest docs/exercises/check_level5_upgrade_conflict.py --project=PATH
"""

import subprocess
from pathlib import Path

PRISTINE = "mlops-ladder/pristine"
MARKERS = ("<<<<<<< ", ">>>>>>> ")


def git(project: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=project, capture_output=True, text=True, check=check)


def conflicted_upgrades(project: Path) -> dict[str, list[str]]:
    """Merge commits of a pristine rendering into your branch whose two sides really conflicted: their files."""
    found = {}
    for line in git(project, "log", "--merges", "--format=%H %P").stdout.splitlines():
        commit, ours, theirs = line.split()[:3]
        if git(project, "merge-base", "--is-ancestor", theirs, PRISTINE, check=False).returncode != 0:
            continue
        merged = git(project, "merge-tree", "--write-tree", "--name-only", ours, theirs, check=False)
        if merged.returncode == 1:  # the conflicted files follow the tree id, up to a blank line
            found[commit] = merged.stdout.split("\n\n")[0].splitlines()[1:]
    return found


def test_the_project_reached_level_5(answers: dict):
    assert answers["level"] == 5, f"The project is at level {answers['level']}: run `mlops-ladder upgrade`."


def test_no_merge_is_left_half_done(project: Path):
    assert not (project / ".git" / "MERGE_HEAD").exists(), (
        "A merge is in progress: resolve, `git add -A && git commit`."
    )
    tracked = git(project, "ls-files").stdout.splitlines()
    marked = [
        path
        for path in tracked
        if (project / path).is_file()
        and any(marker in (project / path).read_text(encoding="utf-8", errors="replace") for marker in MARKERS)
    ]
    assert not marked, f"Conflict markers left in: {', '.join(marked)}."


def test_an_upgrade_conflict_was_resolved_keeping_your_edit(project: Path):
    upgrades = conflicted_upgrades(project)
    assert upgrades, (
        "No upgrade in your history had a conflict: before upgrading, edit a line that level 5 changes "
        "(`mlops-ladder diff 4 5` shows them) and commit it."
    )
    merge, conflicted = next(iter(upgrades.items()))
    kept = git(project, "diff", "--name-only", f"{merge}^2", merge, "--", *conflicted).stdout.split()
    assert kept, (
        f"Your resolution of {', '.join(conflicted)} took level 5's version whole: your edit was dropped. "
        "Undo it (`git reset --hard HEAD^`) and resolve again, keeping your line."
    )
