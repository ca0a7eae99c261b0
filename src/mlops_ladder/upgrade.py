"""`mlops-ladder upgrade`: move a project up one level at a time with a real 3-way merge.

base   = the pristine rendering of the current level, found in the project's own history
theirs = the pristine rendering of the next level, committed on top of base
ours   = the user's branch
git merges theirs into ours, so renames, inline conflict markers and `git merge --abort` are
git's own. The base travels with every clone of the project, so neither the old templates nor a
template git repository are needed.

A project whose history holds no pristine rendering (made with plain `copier copy`, or with its
history squashed) is adopted first: its level, rendered today from its answers, is recorded as the
base with an `ours` merge, which changes no file. Any difference from it then counts as the team's
edit, so it is kept or merged, never lost.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from mlops_ladder.answers import ANSWERS_FILE, check_level, read_answers
from mlops_ladder.dependency_merge import PYPROJECT, REQUIREMENTS, carry_requirements, merge_pyproject
from mlops_ladder.errors import LadderError
from mlops_ladder.gitrepo import Git, GitError, require_git
from mlops_ladder.levels import HIGHEST
from mlops_ladder.render import known_answers, render_level
from mlops_ladder.scaffold import PRISTINE_BRANCH, PRISTINE_TRAILER, pristine_message

# What happened to each file, in the order the summary lists them.
ACTIONS = {
    "added": "new in the next level",
    "updated": "you never changed it, so it takes the next level's version",
    "merged": "you and the next level both changed it; both changes kept",
    "conflict": "you and the next level changed the same lines",
    "kept": "the next level drops it, but you changed it, so it stays",
    "removed": "the next level drops it and you never changed it",
    "kept-deleted": "you deleted it; it stays deleted",
}


@dataclass(frozen=True)
class FileChange:
    path: str
    action: str


@dataclass
class StepResult:
    """One level step: what each file did, and the commit it produced (None when it stopped on conflicts)."""

    from_level: int
    to_level: int
    changes: list[FileChange] = field(default_factory=list)
    left_alone: int = 0
    commit: str | None = None
    carried: list[str] = field(default_factory=list)  # requirements.txt additions moved to pyproject.toml

    @property
    def conflicts(self) -> list[str]:
        return [change.path for change in self.changes if change.action == "conflict"]


@dataclass
class UpgradeResult:
    start_commit: str
    steps: list[StepResult]
    dry_run: bool
    adopted: bool = False  # the history had no pristine rendering; one was recorded first

    @property
    def conflicts(self) -> list[str]:
        return self.steps[-1].conflicts if self.steps else []


def upgrade_project(
    project: Path, to_level: int | None = None, dry_run: bool = False, step: Callable[[str], None] = lambda _: None
) -> UpgradeResult:
    """Upgrade `project` to `to_level` (default: the next level), one level per merge."""
    require_git()
    project = project.expanduser().resolve()
    git = _checked_repository(project)
    answers = read_answers(project)
    current = int(answers["level"])
    target = _checked_target(current, to_level)
    base = _pristine_base(git, current)
    start = git.run("rev-parse", "HEAD")
    if dry_run:
        steps = _dry_run(git, answers, base, current, target, start, step)
        return UpgradeResult(start, steps, dry_run=True, adopted=base is None)
    pristine_before = git.run("rev-parse", "--verify", "--quiet", PRISTINE_BRANCH, check=False)
    try:
        steps = _climb(git, answers, base, current, target, step, move_pristine_branch=True)
    except BaseException:
        _restore(git, start, pristine_before)
        raise
    return UpgradeResult(start, steps, dry_run=False, adopted=base is None)


def _climb(
    git: Git,
    answers: dict,
    base: str | None,
    current: int,
    target: int,
    step: Callable[[str], None],
    move_pristine_branch: bool,
) -> list[StepResult]:
    if base is None:
        step(f"Recording level {current} as the base (the history holds no pristine rendering)")
        base = _adopt_base(git, answers, current)
    steps = []
    for level in range(current, target):
        step(f"Rendering level {level + 1}")
        theirs = _commit_pristine(git, answers, level + 1, parents=[base])
        if move_pristine_branch:  # merging the branch by name labels the conflict markers with it
            git.run("branch", "--force", PRISTINE_BRANCH, theirs)
        step(f"Merging level {level + 1} into your branch")
        result = _merge(git, base, PRISTINE_BRANCH if move_pristine_branch else theirs, level)
        steps.append(result)
        if result.commit is None:
            break
        base = theirs
    return steps


def _dry_run(
    git: Git, answers: dict, base: str | None, current: int, target: int, start: str, step
) -> list[StepResult]:
    """Run the very same upgrade in a throw-away worktree, so the project itself is never touched."""
    scratch = Path(tempfile.mkdtemp(prefix="mlops-ladder-dry-run-"))
    worktree = scratch / "project"
    try:
        git.run("worktree", "add", "--quiet", "--detach", str(worktree), start)
        steps = _climb(Git(worktree), answers, base, current, target, step, move_pristine_branch=False)
    finally:
        git.run("worktree", "remove", "--force", str(worktree), check=False)
        git.run("worktree", "prune", check=False)
        shutil.rmtree(scratch, ignore_errors=True)
    return steps


def _checked_repository(project: Path) -> Git:
    git = Git(project)
    if not project.is_dir() or not git.ok("rev-parse", "--is-inside-work-tree"):
        raise LadderError(
            f"{project} is not a git work tree.", "Run upgrade in a project made with `mlops-ladder new`."
        )
    if Path(git.run("rev-parse", "--show-toplevel")).resolve() != project:
        raise LadderError(
            f"{project} is not the top of its git repository.", "Run upgrade on the project's root folder."
        )
    if git.ok("rev-parse", "--verify", "--quiet", "MERGE_HEAD"):
        raise LadderError(
            "A git merge is already in progress.", "Finish it with `git commit`, or cancel it with `git merge --abort`."
        )
    if dirty := git.run("status", "--porcelain", "--untracked-files=all"):
        files = ", ".join(line.split(maxsplit=1)[-1] for line in dirty.splitlines()[:3])
        raise LadderError(
            f"The project has uncommitted changes ({files}).",
            "Commit or stash them first (`git add -A && git commit` or `git stash -u`).",
        )
    return git


def _checked_target(current: int, to_level: int | None) -> int:
    if current >= HIGHEST:
        raise LadderError(
            f"The project is already at level {HIGHEST}, the top of the ladder.",
            "Beyond it lie feature stores, multi-model platforms and online learning: see docs/levels.md.",
        )
    target = current + 1 if to_level is None else to_level
    if target <= current or target > HIGHEST:
        raise LadderError(
            f"--to {target} is not above the project's level ({current}) and within the ladder.",
            f"Choose a level from {current + 1} to {HIGHEST}.",
        )
    for level in range(current + 1, target + 1):
        check_level(level)
    return target


def _pristine_base(git: Git, current: int) -> str | None:
    """The newest pristine rendering in HEAD's history (the merge base of the next step), if any."""
    found = git.run("log", "-1", "--format=%H%x00%B", f"--grep=^{PRISTINE_TRAILER}: ", "HEAD", check=False)
    if not found:
        return None
    commit, message = found.split("\x00", 1)
    match = re.search(rf"^{PRISTINE_TRAILER}: level (\d+)", message, re.MULTILINE)
    if not match or int(match.group(1)) != current:
        raise LadderError(
            f"{ANSWERS_FILE} says level {current}, but the project's last rendering is level "
            f"{match.group(1) if match else '?'}.",
            f"Restore the level in {ANSWERS_FILE} with `git checkout {commit[:12]} -- {ANSWERS_FILE}`.",
        )
    return commit


def _adopt_base(git: Git, answers: dict, level: int) -> str:
    """Render `level` as today's templates make it and record it as an ancestor of HEAD.

    The `ours` merge keeps every file exactly as it is; it only tells git where the project
    started, so the next merge has a base.
    """
    base = _commit_pristine(git, answers, level, parents=[])
    message = f"Record level {level} as rendered today as the base for mlops-ladder upgrades"
    git.run("merge", "--quiet", "--no-verify", "--allow-unrelated-histories", "-s", "ours", "-m", message, base)
    return base


def _commit_pristine(git: Git, answers: dict, level: int, parents: list[str]) -> str:
    with tempfile.TemporaryDirectory(prefix="mlops-ladder-render-") as scratch:
        rendered = Path(scratch) / "project"
        render_level(rendered, {**known_answers(answers), "level": level})
        message = pristine_message(level, f"Pristine rendering of level {level}")
        return git.commit_snapshot(rendered, message, parents=parents)


def _merge(git: Git, base: str, theirs: str, level: int) -> StepResult:
    result = StepResult(level, level + 1)
    template_changes = _name_status(git, base, theirs)
    user_changes = _name_status(git, base, "HEAD")
    message = f"Upgrade from level {level} to level {level + 1} with mlops-ladder"
    git.run("merge", "--no-ff", "--no-commit", "--no-verify", "-m", message, theirs, check=False)
    conflicts = _settle_deletions(git, result)
    if PYPROJECT in conflicts and _merge_dependencies(git):
        conflicts.remove(PYPROJECT)
    settled = {change.path for change in result.changes}
    for path, status in template_changes.items():
        if path in conflicts:
            result.changes.append(FileChange(path, "conflict"))
        elif path not in settled:
            result.changes.append(FileChange(path, _action(status, user_changes.get(path))))
    result.left_alone = len(set(user_changes) - set(template_changes))
    if PYPROJECT not in conflicts:  # also when other files conflict: the team commits what is staged
        result.carried = _carry_requirements(git, base, result)
    if not conflicts:
        git.run("commit", "--quiet", "--no-verify", "--no-edit")
        result.commit = git.run("rev-parse", "HEAD")
    return result


def _settle_deletions(git: Git, result: StepResult) -> set[str]:
    """Resolve modify/delete conflicts by policy and return the paths that truly conflict.

    A file the user deleted stays deleted; a file the next level drops stays if the user changed it.
    """
    stages: dict[str, set[str]] = {}
    for line in git.run("ls-files", "--unmerged", "-z").split("\x00"):
        if line:
            info, path = line.split("\t", 1)
            stages.setdefault(path, set()).add(info.split()[2])
    conflicts = set()
    for path, present in stages.items():
        if present == {"1", "3"}:
            git.run("rm", "--quiet", "--force", "--", path)
            result.changes.append(FileChange(path, "kept-deleted"))
        elif present == {"1", "2"}:
            git.run("add", "--", path)
            result.changes.append(FileChange(path, "kept"))
        else:
            conflicts.add(path)
    return conflicts


def _merge_dependencies(git: Git) -> bool:
    """Resolve a pyproject.toml conflict that only dependency lists caused; True when resolved."""
    try:
        base, ours, theirs = (git.run("show", f":{stage}:{PYPROJECT}", strip=False) for stage in (1, 2, 3))
    except GitError:  # added on both sides: no base to merge from
        return False
    merged = merge_pyproject(base, ours, theirs)
    if merged is None:
        return False
    (git.cwd / PYPROJECT).write_text(merged, encoding="utf-8")
    git.run("add", "--", PYPROJECT)
    return True


def _carry_requirements(git: Git, base: str, result: StepResult) -> list[str]:
    """When the next level drops a requirements.txt the team changed, move their additions to pyproject.toml."""
    pyproject = git.cwd / PYPROJECT
    if FileChange(REQUIREMENTS, "kept") not in result.changes or not pyproject.exists():
        return []
    base_requirements = git.run("show", f"{base}:{REQUIREMENTS}", strip=False)
    our_requirements = (git.cwd / REQUIREMENTS).read_text(encoding="utf-8")
    text, carried = carry_requirements(base_requirements, our_requirements, pyproject.read_text(encoding="utf-8"))
    if carried:
        pyproject.write_text(text, encoding="utf-8")
        git.run("add", "--", PYPROJECT)
    return carried


def _name_status(git: Git, old: str, new: str) -> dict[str, str]:
    """Changed paths between two commits, keyed by their path in `old` (renames by their old name)."""
    changes = {}
    fields = git.run("diff", "--name-status", "-z", "-M", old, new).split("\x00")
    i = 0
    while i < len(fields) - 1:
        status = fields[i]
        if status.startswith(("R", "C")):
            changes[fields[i + 1]] = "R"
            i += 3
        else:
            changes[fields[i + 1]] = status[0]
            i += 2
    return changes


def _action(template_status: str, user_status: str | None) -> str:
    if template_status == "A":
        return "merged" if user_status else "added"
    if template_status == "D":
        return "removed"
    return "updated" if user_status is None else "merged"


def _restore(git: Git, start: str, pristine_before: str) -> None:
    """Put HEAD, the work tree and the pristine branch back exactly as they were."""
    if git.ok("rev-parse", "--verify", "--quiet", "MERGE_HEAD"):
        git.run("merge", "--abort", check=False)
    git.run("reset", "--hard", "--quiet", start, check=False)
    if pristine_before:
        git.run("branch", "--force", PRISTINE_BRANCH, pristine_before, check=False)
    else:
        git.run("branch", "--delete", "--force", PRISTINE_BRANCH, check=False)
