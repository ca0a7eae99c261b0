"""`mlops-ladder upgrade`: move a project up one level at a time with a real 3-way merge.

base   = the newest verified pristine rendering of the current level in the project's own history
theirs = the pristine rendering of the next level, committed on top of base
ours   = the user's branch
git merges theirs into ours, so renames, inline conflict markers and `git merge --abort` are
git's own. The base travels with every clone of the project, so neither the old templates nor a
template git repository are needed. `--to <current level>` merges today's rendering of the current
level the same way, which brings a newer mlops-ladder's template fixes.

A project whose history holds no verified rendering (plain `copier copy`, a squashed history, or a
trailer copied onto the team's work by an amend or squash-merge) is adopted first: its level, rendered
today from its answers, is recorded as the base with an `ours` merge, which changes no file. Any
difference from it then counts as the team's edit, so it is kept or merged, never lost.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from mlops_ladder import __version__
from mlops_ladder.answers import ANSWERS_FILE, recorded_level
from mlops_ladder.dependency_merge import PYPROJECT, PackageOutcome, merge_pyproject
from mlops_ladder.gitrepo import Git, GitError, require_git
from mlops_ladder.level1_carry import PARAMS, TRAIN_SCRIPT, Moved, NotCarried, carry_params, moved_code
from mlops_ladder.preflight import (
    checked_answers,
    checked_repository,
    checked_target,
    refuse_files_in_the_way,
    uncommitted_paths,
)
from mlops_ladder.pristine import PRISTINE_BRANCH, commit_level, find_base, pristine_message, render_tree
from mlops_ladder.render import known_answers
from mlops_ladder.requirements_carry import REQUIREMENTS, carry_requirements

# What happened to each file, in the order the summary lists them.
ACTIONS = {
    "added": "new in the next level",
    "updated": "you never changed it, so it takes the next level's version",
    "merged": "you and the next level both changed it; both changes kept",
    "conflict": "git could not merge it (the reason follows each file)",
    "kept": "the next level drops it, but you changed it, so it stays",
    "removed": "the next level drops it and you never changed it",
    "kept-deleted": "you deleted it; it stays deleted",
}
# Why an unmerged index entry is a conflict, by the index stages git left (1 base, 2 ours, 3 theirs).
DEPENDENCY_CONFLICT = "you and the next level set different versions of the same package"
CONFLICT_KINDS = {
    frozenset("123"): "you and the next level changed the same lines",
    frozenset("23"): "you and the next level both added it",
    frozenset("3"): "the next level adds it in a folder you renamed; git put it here",
    frozenset("2"): "you added it in a folder the next level renamed",
}


@dataclass(frozen=True)
class FileChange:
    path: str  # where the file is in the work tree
    action: str
    detail: str = ""  # for conflicts: why git could not merge it


@dataclass
class StepResult:
    """One level step: what each file did, and the commit it produced (None when it stopped on conflicts)."""

    from_level: int
    to_level: int
    changes: list[FileChange] = field(default_factory=list)
    left_alone: int = 0
    commit: str | None = None
    carried: list[str] = field(default_factory=list)  # requirements.txt additions moved to pyproject.toml
    carried_params: list[str] = field(default_factory=list)  # train.py settings moved to params.yaml
    not_carried: list[NotCarried] = field(default_factory=list)  # what stayed behind, why, and where it belongs
    moved: list[Moved] = field(default_factory=list)  # changed files the next level no longer runs, and their new home
    dependencies: list[PackageOutcome] = field(default_factory=list)  # what the merge did to each package you touched
    up_to_date: bool = False  # today's rendering is the base's: nothing to merge

    @property
    def conflicts(self) -> list[str]:
        return [change.path for change in self.changes if change.action == "conflict"]


@dataclass
class AnswerChanges:
    """Answers edited since the base was rendered, and the files of the current level that change with them."""

    changed: dict[str, tuple[object, object]]
    files: list[str]


@dataclass
class UpgradeResult:
    start_commit: str
    steps: list[StepResult]
    dry_run: bool
    adopted: bool = False  # the history had no verified pristine rendering; one was recorded first
    adoption_reason: str = ""
    answer_changes: AnswerChanges | None = None
    uncommitted: list[str] = field(default_factory=list)  # dry run only: left out of what it merged

    @property
    def conflicts(self) -> list[str]:
        return self.steps[-1].conflicts if self.steps else []

    @property
    def up_to_date(self) -> bool:
        return bool(self.steps) and all(step.up_to_date for step in self.steps)


@dataclass(frozen=True)
class _Run:
    """What every step of one upgrade needs to know about the user's project."""

    project: Path  # the user's folder (a dry run merges in a throw-away worktree elsewhere)
    tracked: set[str]  # files git tracked when the upgrade started
    step: Callable[[str], None]
    move_pristine_branch: bool


def upgrade_project(
    project: Path, to_level: int | None = None, dry_run: bool = False, step: Callable[[str], None] = lambda _: None
) -> UpgradeResult:
    """Upgrade `project` to `to_level` (default: the next level), one level per merge.

    All or nothing: a refusal or a failure leaves HEAD, the work tree and the pristine branch as they were.
    """
    require_git()
    project = project.expanduser().resolve()
    git = checked_repository(project, dry_run)
    start = git.run("rev-parse", "HEAD")
    tracked = set(filter(None, git.run("ls-files", "-z").split("\x00")))
    if dry_run:
        uncommitted = uncommitted_paths(git)
        with _throwaway_worktree(git, start) as work:
            result = _upgrade(work, _Run(project, tracked, step, move_pristine_branch=False), start, to_level, True)
        result.uncommitted = uncommitted
        return result
    pristine_before = git.run("rev-parse", "--verify", "--quiet", PRISTINE_BRANCH, check=False)
    try:
        result = _upgrade(git, _Run(project, tracked, step, move_pristine_branch=True), start, to_level, False)
    except BaseException:
        _restore(git, start, pristine_before)
        raise
    if result.up_to_date:  # an adoption alone is not worth a commit
        _restore(git, start, pristine_before)
    return result


@contextmanager
def _throwaway_worktree(git: Git, start: str) -> Iterator[Git]:
    """A detached worktree of `start` beside the project, removed afterwards: a dry run merges there."""
    scratch = Path(tempfile.mkdtemp(prefix="mlops-ladder-dry-run-"))
    worktree = scratch / "project"
    try:
        git.run("worktree", "add", "--quiet", "--detach", str(worktree), start)
        yield Git(worktree)
    finally:
        git.run("worktree", "remove", "--force", str(worktree), check=False)
        git.run("worktree", "prune", check=False)
        shutil.rmtree(scratch, ignore_errors=True)


def _upgrade(work: Git, run: _Run, start: str, to_level: int | None, dry_run: bool) -> UpgradeResult:
    answers = checked_answers(work, run.project)
    current = recorded_level(answers)
    target = checked_target(current, to_level)
    base = find_base(work, answers, current)
    result = UpgradeResult(start, [], dry_run, adopted=base.commit is None, adoption_reason=base.adoption_reason)
    if base.commit is None:
        run.step(f"Recording level {current} as the base ({base.adoption_reason})")
        base_commit = _adopt_base(work, answers, current)
    else:
        base_commit = base.commit
        result.answer_changes = _answer_changes(work, base_commit, answers, current)
    result.steps = _climb(work, run, answers, base_commit, current, target)
    return result


def _climb(work: Git, run: _Run, answers: dict[str, object], base: str, current: int, target: int) -> list[StepResult]:
    steps = []
    pairs = [(current, current)] if target == current else [(level, level + 1) for level in range(current, target)]
    for from_level, to_level in pairs:
        run.step(f"Rendering level {to_level}")
        theirs = _commit_theirs(work, answers, to_level, base)
        if _tree(work, theirs) == _tree(work, base):
            steps.append(StepResult(from_level, to_level, up_to_date=True))
            break
        refuse_files_in_the_way(work, theirs, run.project, run.tracked)
        if run.move_pristine_branch:  # merging the branch by name labels the conflict markers with it
            work.run("branch", "--force", PRISTINE_BRANCH, theirs)
        run.step(f"Merging level {to_level} into your branch")
        result = _merge(work, base, PRISTINE_BRANCH if run.move_pristine_branch else theirs, from_level, to_level)
        steps.append(result)
        if result.commit is None:
            break
        base = theirs
    return steps


def _commit_theirs(work: Git, answers: dict[str, object], level: int, base: str) -> str:
    """The pristine rendering of `level` on top of `base`, as a commit HEAD does not already hold.

    After a reverted upgrade, the same rendering made within the same second would be the very
    commit the revert undid, and git would call the merge "already up to date".
    """
    theirs = commit_level(work, answers, level, parents=[base])
    if work.ok("merge-base", "--is-ancestor", theirs, "HEAD"):
        tree = _tree(work, theirs)
        message = pristine_message(level, f"Pristine rendering of level {level}, made again", tree)
        theirs = work.commit_tree(tree, message, [base])
    return theirs


def _tree(git: Git, commit: str) -> str:
    return git.run("rev-parse", f"{commit}^{{tree}}")


def _adopt_base(git: Git, answers: dict[str, object], level: int) -> str:
    """Render `level` as today's templates make it and record it as an ancestor of HEAD.

    The `ours` merge keeps every file exactly as it is; it only tells git where the project
    started, so the next merge has a base.
    """
    base = commit_level(git, answers, level, parents=[])
    message = f"Record level {level} as rendered today as the base for mlops-ladder upgrades"
    git.run("merge", "--quiet", "--no-verify", "--allow-unrelated-histories", "-s", "ours", "-m", message, base)
    return base


def _answer_changes(work: Git, base: str, answers: dict[str, object], level: int) -> AnswerChanges | None:
    """Answers edited by hand since `base` was rendered, with the files they change at the current level."""
    try:
        recorded = yaml.safe_load(work.run("show", f"{base}:{ANSWERS_FILE}", check=False, strip=False))
    except yaml.YAMLError:
        return None
    if not isinstance(recorded, dict):
        return None
    before, now = known_answers(recorded), known_answers(answers)
    changed = {
        key: (before.get(key), now.get(key))
        for key in sorted(before.keys() | now.keys())
        if key != "level" and before.get(key) != now.get(key)
    }
    if not changed:
        return None
    rendered = render_tree(work, answers, level)
    files = work.run("diff", "--name-only", "-z", base, rendered).split("\x00")
    return AnswerChanges(changed, sorted(path for path in files if path and path != ANSWERS_FILE))


def _merge(git: Git, base: str, theirs: str, from_level: int, to_level: int) -> StepResult:
    result = StepResult(from_level, to_level)
    template_changes = _changes(git, base, theirs)
    user_changes = _changes(git, base, "HEAD")
    if to_level == from_level:
        message = f"Update level {from_level} to the templates of mlops-ladder {__version__}"
    else:
        message = f"Upgrade from level {from_level} to level {to_level} with mlops-ladder"
    git.run("merge", "--no-ff", "--no-commit", "--no-verify", "-m", message, theirs, check=False)
    conflicts = _settle_deletions(git, result)
    if template_changes.get(PYPROJECT, ("",))[0] == user_changes.get(PYPROJECT, ("",))[0] == "M":
        _merge_dependencies(git, base, theirs, result, conflicts)
    settled = {change.path for change in result.changes} | set(conflicts)
    for path, (status, _) in template_changes.items():
        here = user_changes[path][1] if path in user_changes else path  # where the team's rename put it
        if here not in settled and path not in settled:
            result.changes.append(FileChange(here, _action(status, user_changes.get(path, (None,))[0])))
    result.changes += [FileChange(path, "conflict", detail) for path, detail in sorted(conflicts.items())]
    result.left_alone = len(set(user_changes) - set(template_changes))
    if PYPROJECT not in conflicts:  # also when other files conflict: the team commits what is staged
        _carry_requirements(git, base, result)
    if PARAMS not in conflicts:
        _carry_params(git, base, result)
    if not conflicts:
        result.commit = _commit_merge(git, message)
    return result


def _commit_merge(git: Git, message: str) -> str:
    """Commit the finished merge with an explicit message (git's own would list settled conflicts)."""
    git.run("commit", "--quiet", "--no-verify", "-m", message)
    if git.ok("rev-parse", "--verify", "--quiet", "MERGE_HEAD") or git.run("ls-files", "--unmerged"):
        raise GitError("git left the merge unfinished after committing it")
    return git.run("rev-parse", "HEAD")


def _settle_deletions(git: Git, result: StepResult) -> dict[str, str]:
    """Resolve modify/delete conflicts by policy; return every other unmerged path with why it conflicts.

    A file the user deleted stays deleted; a file the next level drops stays if the user changed it.
    Every other unmerged entry (content, add/add, rename and directory-rename cases) is a conflict,
    listed at its real path in the work tree.
    """
    stages: dict[str, set[str]] = {}
    for line in git.run("ls-files", "--unmerged", "-z").split("\x00"):
        if line:
            info, path = line.split("\t", 1)
            stages.setdefault(path, set()).add(info.split()[2])
    conflicts = {}
    for path, present in stages.items():  # also at a renamed path: you renamed it, the next level drops it
        if present == {"1", "3"}:
            git.run("rm", "--quiet", "--force", "--", path)
            result.changes.append(FileChange(path, "kept-deleted"))
        elif present == {"1", "2"}:
            git.run("add", "--", path)
            result.changes.append(FileChange(path, "kept"))
        else:
            conflicts[path] = CONFLICT_KINDS.get(frozenset(present), "renamed or changed differently on each side")
    return conflicts


def _merge_dependencies(git: Git, base: str, theirs: str, result: StepResult, conflicts: dict[str, str]) -> None:
    """Merge pyproject.toml's dependency lists by package, whether or not git's line merge conflicted.

    A clean line merge can still hold two requirements for one package. Where both sides set a
    version for the same package differently, the file gets markers around that entry and stays a
    git conflict; otherwise the merged file is staged.
    """
    base_text, our_text, their_text = (
        git.run("show", f"{commit}:{PYPROJECT}", strip=False) for commit in (base, "HEAD", theirs)
    )
    merged = merge_pyproject(base_text, our_text, their_text, label=f"level {result.to_level}")
    if merged is None:  # lines outside the dependency lists conflict: git's own merge stands
        return
    (git.cwd / PYPROJECT).write_text(merged.text, encoding="utf-8")
    result.dependencies = merged.packages
    if not merged.conflicted:
        git.run("add", "--", PYPROJECT)
        conflicts.pop(PYPROJECT, None)
        return
    if PYPROJECT not in conflicts:  # git merged the lines cleanly: record the file as unmerged again
        stages = "".join(
            f"100644 {git.run('rev-parse', f'{commit}:{PYPROJECT}')} {stage}\t{PYPROJECT}\n"
            for stage, commit in ((1, base), (2, "HEAD"), (3, theirs))
        )
        git.run("update-index", "--index-info", input=f"0 {'0' * 40}\t{PYPROJECT}\n{stages}")
        conflicts[PYPROJECT] = DEPENDENCY_CONFLICT


def _carry_requirements(git: Git, base: str, result: StepResult) -> None:
    """When the next level drops a requirements.txt the team changed, move their additions to pyproject.toml."""
    pyproject = git.cwd / PYPROJECT
    if FileChange(REQUIREMENTS, "kept") not in result.changes or not pyproject.exists():
        return
    base_requirements = git.run("show", f"{base}:{REQUIREMENTS}", strip=False)
    our_requirements = (git.cwd / REQUIREMENTS).read_text(encoding="utf-8")
    carry = carry_requirements(base_requirements, our_requirements, pyproject.read_text(encoding="utf-8"))
    result.carried, result.not_carried = carry.carried, result.not_carried + carry.not_carried
    if carry.carried:
        pyproject.write_text(carry.text, encoding="utf-8")
        git.run("add", "--", PYPROJECT)


def _carry_params(git: Git, base: str, result: StepResult) -> None:
    """When the next level stops running level 1's scripts, move the settings the team changed in train.py
    to params.yaml, and say where the code of each changed script lives now."""
    kept = [change.path for change in result.changes if change.action == "kept"]
    answers = yaml.safe_load(git.run("show", f"{base}:{ANSWERS_FILE}"))  # the pristine one: never conflicted
    result.moved = moved_code(kept, answers["package_name"]) if result.from_level == 1 else []
    params = git.cwd / PARAMS
    if TRAIN_SCRIPT not in kept or not params.exists():
        return
    carry = carry_params(
        git.run("show", f"{base}:{TRAIN_SCRIPT}", strip=False),
        (git.cwd / TRAIN_SCRIPT).read_text(encoding="utf-8"),
        params.read_text(encoding="utf-8"),
        package=answers["package_name"],
        task=answers["task"],
    )
    result.carried_params, result.not_carried = carry.carried, result.not_carried + carry.not_carried
    if carry.carried:
        params.write_text(carry.text, encoding="utf-8")
        git.run("add", "--", PARAMS)


def _changes(git: Git, old: str, new: str) -> dict[str, tuple[str, str]]:
    """Changed paths between two commits: old path -> (status letter, path in `new`), renames followed."""
    changes = {}
    fields = git.run("diff", "--name-status", "-z", "-M", old, new).split("\x00")
    i = 0
    while i < len(fields) - 1:
        status = fields[i]
        if status.startswith(("R", "C")):
            changes[fields[i + 1]] = ("R", fields[i + 2])
            i += 3
        else:
            changes[fields[i + 1]] = (status[0], fields[i + 1])
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
