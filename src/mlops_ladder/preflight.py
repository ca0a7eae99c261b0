"""What `upgrade` checks before it changes anything: each problem is refused with its fix, nothing written."""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

from mlops_ladder.answers import ANSWERS_FILE, check_level, read_answers
from mlops_ladder.errors import LadderError
from mlops_ladder.gitrepo import Git
from mlops_ladder.levels import HIGHEST
from mlops_ladder.pristine import PRISTINE_BRANCH

SHOWN = 10  # paths named in a refusal; the rest are counted


def checked_repository(project: Path, dry_run: bool) -> Git:
    """A git work tree at its root, on a branch, with a commit, no merge in progress, and (unless a dry run) clean."""
    git = Git(project)
    if not project.is_dir() or not git.ok("rev-parse", "--is-inside-work-tree"):
        raise LadderError(
            f"{project} is not a git work tree.", "Run upgrade in a project made with `mlops-ladder new`."
        )
    if Path(git.run("rev-parse", "--show-toplevel")).resolve() != project:
        raise LadderError(
            f"{project} is not the top of its git repository.", "Run upgrade on the project's root folder."
        )
    if not git.ok("rev-parse", "--verify", "--quiet", "HEAD"):
        raise LadderError(f"{project} has no commit yet.", "Commit its files first: `git add -A && git commit`.")
    if git.ok("rev-parse", "--verify", "--quiet", "MERGE_HEAD"):
        raise LadderError(
            "A git merge is already in progress.", "Finish it with `git commit`, or cancel it with `git merge --abort`."
        )
    if not git.ok("symbolic-ref", "--quiet", "HEAD"):
        raise LadderError("HEAD is detached, so there is no branch to put the upgrade on.", _switch_fix(git))
    if not dry_run and (dirty := uncommitted_paths(git)):
        raise LadderError(
            f"The project has uncommitted changes ({', '.join(dirty[:3])}).",
            "Commit or stash them first (`git add -A && git commit` or `git stash -u`).",
        )
    return git


def _switch_fix(git: Git) -> str:
    here = git.run("for-each-ref", "--points-at", "HEAD", "--format=%(refname:short)", "refs/heads", check=False)
    branches = [name for name in here.splitlines() if name != PRISTINE_BRANCH]
    if branches:
        return f"Switch to the branch to upgrade: `git switch {branches[0]}`."
    return (
        "Switch to the branch to upgrade (`git switch <branch>`), "
        "or keep these commits on a new one: `git switch -c <new-branch>`."
    )


def uncommitted_paths(git: Git) -> list[str]:
    status = git.run("status", "--porcelain", "-z", "--untracked-files=all", "--no-renames")
    return [entry[3:] for entry in status.split("\x00") if entry]


def checked_answers(work: Git, project: Path) -> dict[str, object]:
    """The answers the project was rendered with; a deleted answers file is found in history with its fix.

    `work` may be a throw-away worktree (dry run); messages name the user's `project`.
    """
    if not (work.cwd / ANSWERS_FILE).is_file():
        raise _missing_answers(work, project)
    return read_answers(work.cwd)


def _missing_answers(git: Git, project: Path) -> LadderError:
    deleted_in = git.run("log", "-1", "--format=%H", "HEAD", "--", ANSWERS_FILE, check=False)
    parents = git.run("rev-parse", f"{deleted_in}^@", check=False).split() if deleted_in else []
    holder = next((parent for parent in parents if git.ok("cat-file", "-e", f"{parent}:{ANSWERS_FILE}")), None)
    if holder is None:
        return LadderError(
            f"{project} has no {ANSWERS_FILE}, so it was not made by mlops-ladder or Copier.",
            "Run upgrade inside a project made with `mlops-ladder new`.",
        )
    return LadderError(
        f"{project} has no {ANSWERS_FILE}: commit {deleted_in[:12]} deleted it, and upgrade reads the level from it.",
        f"Restore it with `git checkout {holder[:12]} -- {ANSWERS_FILE}`, commit it, then run upgrade again.",
    )


def checked_target(current: int, to_level: int | None) -> int:
    """The level to reach: the next one by default; the current one re-renders it with today's templates."""
    if to_level is None:
        if current >= HIGHEST:
            raise LadderError(
                f"The project is already at level {HIGHEST}, the top of the ladder.",
                "Beyond it lie feature stores, multi-model platforms and online learning: see docs/levels.md.",
            )
        to_level = current + 1
    if not current <= to_level <= HIGHEST:
        raise LadderError(
            f"--to {to_level} is not a level from {current} (the project's) to {HIGHEST}.",
            f"Choose --to {current} to take today's templates of the current level, or a level up to {HIGHEST}.",
        )
    for level in range(current, to_level + 1):
        check_level(level)
    return to_level


def refuse_files_in_the_way(work: Git, theirs: str, project: Path, tracked_at_start: set[str]) -> None:
    """Refuse when merging `theirs` would write where an untracked or ignored file (or folder) is.

    git overwrites ignored files without a word, so they are found first: the merge result is
    computed without touching anything (`git merge-tree`), and every path it adds to HEAD is
    checked in the user's `project` folder, also where a file stands where a folder must go.
    """
    merged = work.run("merge-tree", "--write-tree", "--name-only", "HEAD", theirs, check=False).split("\n", 1)[0]
    result_tree = merged if _is_object_id(merged) else theirs  # git older than 2.38: theirs' files
    written = _files(work, result_tree) - _files(work, "HEAD")
    in_the_way = sorted({hit for path in written if (hit := _obstacle(project, path, tracked_at_start))})
    if in_the_way:
        more = len(in_the_way) - SHOWN
        shown = ", ".join(in_the_way[:SHOWN]) + (f" and {more} more" if more > 0 else "")
        raise LadderError(
            f"The next level writes where you have files git does not track (untracked or ignored): {shown}.",
            "Move them out of the project, or commit them (`git add --force <path> && git commit`) so upgrade "
            "merges them, then run upgrade again. Nothing was changed.",
        )


def _is_object_id(text: str) -> bool:
    return len(text) in (40, 64) and all(char in "0123456789abcdef" for char in text)


def _files(git: Git, tree: str) -> set[str]:
    return set(filter(None, git.run("ls-tree", "-r", "-z", "--name-only", tree).split("\x00")))


def _obstacle(project: Path, path: str, tracked: set[str]) -> str | None:
    """What untracked thing in `project` stands where `path` will be written, if anything."""
    if path not in tracked and os.path.lexists(project / path):
        return path
    for folder in reversed(PurePosixPath(path).parents[:-1]):  # a file where a folder must go
        place = project / folder
        if str(folder) not in tracked and (place.is_symlink() or (place.exists() and not place.is_dir())):
            return str(folder)
    return None
