"""Random team histories, then an upgrade: it must keep every team change, or change nothing recoverable.

A sequence of team operations (edit, add, delete, rename a file or a folder, amend, squash, ignore
a local file, revert a commit, upgrade then revert the upgrade) runs on a copy of a real scaffold
with real git; then `mlops-ladder upgrade` runs through the CLI. The outcome must be one of:
- committed: a new commit with no merge left open, holding every team change (each line the team
  added, each file it added with its content, each file it deleted still deleted), untracked files untouched;
- conflicts: exit 1, every unmerged path listed, and the printed `git reset --hard` restores the project;
- refused: exit 2, and nothing at all changed.
Used by tests/test_upgrade_properties.py (a few sequences) and benchmarks/bench_upgrade_properties.py.
"""

from __future__ import annotations

import difflib
import random
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from upgrade_helpers import files, fresh_render, git, scaffold, state, upgrade

from mlops_ladder.answers import read_answers
from mlops_ladder.errors import ExitCode, LadderError
from mlops_ladder.gitrepo import Git
from mlops_ladder.pristine import render_tree
from mlops_ladder.upgrade import upgrade_project

ANSWERS = ".copier-answers.yml"
TEXT_SUFFIXES = {".py", ".md", ".toml", ".yml", ".yaml", ".txt", ".cfg", ""}
OPERATIONS = {  # weight of each operation in a random sequence
    "edit": 4,
    "add": 2,
    "delete": 1,
    "rename_file": 1,
    "rename_folder": 1,
    "amend": 1,
    "squash": 1,
    "ignore": 1,
    "revert": 1,
    "upgrade_and_revert": 1,
}


@dataclass
class Outcome:
    kind: str  # committed, conflicts, refused, failed
    operations: list[str]
    problems: list[str] = field(default_factory=list)


class Scaffolds:
    """One scaffold per level, copied for each sequence (a copy costs far less than a render)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._made: dict[int, Path] = {}
        self._next_paths: dict[int, set[str]] = {}

    def copy(self, level: int, name: str) -> Path:
        if level not in self._made:
            self._made[level] = scaffold(self.root / f"scaffold-{level}", level)
            self._next_paths[level] = set(fresh_render(self.root / f"render-{level}", level + 1))
        target = self.root / name / "team-project"
        shutil.copytree(self._made[level], target, symlinks=True)
        return target

    def next_level_paths(self, level: int) -> set[str]:
        return self._next_paths[level]


class TeamHistory:
    """Applies random team operations to a project, each one committed as a team would."""

    def __init__(self, project: Path, rng: random.Random, next_paths: set[str]) -> None:
        self.project = project
        self.rng = rng
        self.next_paths = next_paths
        self.counter = 0
        self.done: list[str] = []

    def token(self) -> str:
        self.counter += 1
        return f"team-change-{self.rng.randrange(10**9)}-{self.counter}"

    def run(self, count: int) -> list[str]:
        names, weights = zip(*OPERATIONS.items(), strict=True)
        for name in self.rng.choices(names, weights, k=count):
            if getattr(self, name)():
                self.done.append(name)
        return self.done

    # Helpers
    def tracked(self) -> list[str]:
        return sorted(path for path in git(self.project, "ls-files").splitlines() if path != ANSWERS)

    def text_files(self) -> list[str]:
        return [path for path in self.tracked() if Path(path).suffix in TEXT_SUFFIXES]

    def commit(self, message: str) -> None:
        git(self.project, "add", "-A")
        git(self.project, "commit", "-q", "--no-verify", "-m", message)

    def change_a_file(self) -> bool:
        candidates = self.text_files()
        if not candidates:
            return False
        path = self.project / self.rng.choice(candidates)
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
        new = f"# {self.token()}\n"
        where = self.rng.randrange(len(lines) + 1)
        if lines and self.rng.random() < 0.3:
            lines[min(where, len(lines) - 1)] = new
        else:
            lines.insert(where, new)
        path.write_text("".join(lines), encoding="utf-8")
        return True

    # Operations: each returns whether it did something
    def edit(self) -> bool:
        if self.change_a_file():
            self.commit("Team edit")
            return True
        return False

    def add(self) -> bool:
        if self.rng.random() < 0.2:  # where the next level adds a file: must become a conflict, never a loss
            path = self.rng.choice(sorted(self.next_paths - set(self.tracked())))
        else:
            folders = sorted({str(Path(p).parent) + "/" for p in self.tracked() if "/" in p})
            folder = self.rng.choice(["", "notes/", *folders])
            path = f"{folder}team_{self.counter}_{self.rng.randrange(1000)}.py"
        target = self.project / path
        if target.exists() or any((self.project / parent).is_file() for parent in Path(path).parents):
            return False
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("".join(f"# {self.token()}\n" for _ in range(self.rng.randint(1, 4))))
        self.commit("Team adds a file")
        return True

    def delete(self) -> bool:
        git(self.project, "rm", "-q", self.rng.choice(self.tracked()))
        self.commit("Team deletes a file")
        return True

    def rename_file(self) -> bool:
        path = Path(self.rng.choice(self.tracked()))
        git(self.project, "mv", str(path), str(path.with_name(f"{path.stem}_renamed{path.suffix}")))
        self.commit("Team renames a file")
        return True

    def rename_folder(self) -> bool:
        folders = sorted({str(Path(p).parent) for p in self.tracked() if "/" in p})
        if not folders:
            return False
        folder = self.rng.choice(folders)
        git(self.project, "mv", folder, f"{folder}_renamed")
        self.commit("Team renames a folder")
        return True

    def amend(self) -> bool:
        if self.change_a_file():
            git(self.project, "add", "-A")
            git(self.project, "commit", "-q", "--amend", "--no-edit", "--no-verify")
            return True
        return False

    def squash(self) -> bool:
        """Squash the whole history into one commit whose message copies every message, trailers included."""
        messages = git(self.project, "log", "--format=%B", "HEAD")
        squashed = git(self.project, "commit-tree", "HEAD^{tree}", "-m", f"Squashed history\n\n{messages}")
        git(self.project, "reset", "-q", "--soft", squashed)
        return True

    def ignore(self) -> bool:
        """Ignore a local file; sometimes at a path the next level adds, which upgrade must refuse."""
        free = sorted(p for p in self.next_paths - set(self.tracked()) if not (self.project / p).exists())
        path = self.rng.choice(free) if free and self.rng.random() < 0.5 else f"local/{self.token()}.txt"
        blocked = any((self.project / parent).is_file() for parent in Path(path).parents)
        if blocked or (self.project / path).exists():
            return False
        with (self.project / ".gitignore").open("a") as gitignore:
            gitignore.write(f"/{path}\n")
        self.commit("Team ignores a local file")
        (self.project / path).parent.mkdir(parents=True, exist_ok=True)
        (self.project / path).write_text(f"local only {self.token()}\n")
        return True

    def revert(self) -> bool:
        commits = git(self.project, "rev-list", "--first-parent", "--no-merges", "--min-parents=1", "HEAD")
        candidates = commits.splitlines()[:8]
        if not candidates:
            return False
        result = subprocess.run(
            ["git", "revert", "--no-edit", self.rng.choice(candidates)], cwd=self.project, capture_output=True
        )
        if result.returncode != 0:
            git(self.project, "revert", "--abort", check=False)
            git(self.project, "reset", "-q", "--hard", "HEAD")
            return False
        return True

    def upgrade_and_revert(self) -> bool:
        """Upgrade, then undo it the way a team undoes a pushed merge: `git revert -m 1`."""
        start = git(self.project, "rev-parse", "HEAD")
        try:
            result = upgrade_project(self.project)
        except LadderError:
            return False
        if result.conflicts:
            git(self.project, "merge", "--abort")
            git(self.project, "reset", "-q", "--hard", start)
            return False
        git(self.project, "revert", "--no-edit", "-m", "1", "HEAD")
        return True


@dataclass
class TeamChanges:
    """What the team changed relative to the scaffold's rendering, as git sees it (renames followed)."""

    added: dict[str, bytes]  # path -> content
    deleted: list[str]
    added_lines: dict[str, list[str]]  # path now -> lines the team wrote into a file of the scaffold

    @classmethod
    def since_rendering(cls, project: Path) -> TeamChanges:
        """Changes against a fresh rendering of the level HEAD's answers record (what the team started from)."""
        answers = read_answers(project)
        rendered = render_tree(Git(project), answers, int(answers["level"]))
        changes = cls({}, [], {})
        fields = git(project, "diff", "-M", "-z", "--name-status", rendered, "HEAD").split("\x00")
        i = 0
        while i < len(fields) - 1:
            status, old = fields[i], fields[i + 1]
            new = fields[i + 2] if status[0] in "RC" else old
            i += 3 if status[0] in "RC" else 2
            if status == "A":
                changes.added[new] = (project / new).read_bytes()
            elif status == "D":
                changes.deleted.append(old)
            else:
                before = git(project, "show", f"{rendered}:{old}").splitlines()
                after = (project / new).read_text(encoding="utf-8", errors="replace").splitlines()
                matcher = difflib.SequenceMatcher(None, before, after, autojunk=False)
                lines = [
                    line
                    for tag, _, _, j1, j2 in matcher.get_opcodes()
                    if tag in ("insert", "replace")
                    for line in after[j1:j2]
                    if line.strip()
                ]
                if lines:
                    changes.added_lines[new] = lines
        return changes

    def missing_from(self, project: Path) -> list[str]:
        problems = [f"team file {p} lost or changed" for p, body in self.added.items() if _read(project, p) != body]
        tracked = set(git(project, "ls-files").splitlines())
        problems += [f"deleted file {path} came back" for path in self.deleted if path in tracked]
        for path, lines in self.added_lines.items():
            text = _read(project, path)
            present = set(text.decode(errors="replace").splitlines()) if text is not None else set()
            problems += [f"team line {line!r} lost from {path}" for line in lines if line not in present]
        return problems


def _read(project: Path, path: str) -> bytes | None:
    target = project / path
    return target.read_bytes() if target.is_file() else None


def untracked_files(project: Path) -> dict[str, bytes]:
    listed = git(project, "ls-files", "--others", "-z").split("\x00")
    return {path: (project / path).read_bytes() for path in listed if path}


def run_sequence(scaffolds: Scaffolds, seed: int, levels: list[int]) -> Outcome:
    rng = random.Random(seed)
    level = rng.choice(levels)
    project = scaffolds.copy(level, f"seq-{seed}")
    history = TeamHistory(project, rng, scaffolds.next_level_paths(level))
    operations = [f"level {level}", *history.run(rng.randint(2, 6))]
    before = state(project)
    team = TeamChanges.since_rendering(project)
    local = untracked_files(project)
    result = upgrade(project)
    outcome = _judge(project, result, before, team, local, operations)
    shutil.rmtree(project.parent, ignore_errors=True)
    return outcome


def _judge(project, result, before, team: TeamChanges, local: dict[str, bytes], operations) -> Outcome:
    merge_open = (project / ".git" / "MERGE_HEAD").exists()
    if result.exit_code == ExitCode.SUCCESS:
        outcome = Outcome("committed", operations)
        if git(project, "rev-parse", "HEAD") == before.head:
            outcome.problems.append("exit 0 without a new commit")
        if merge_open or git(project, "status", "--porcelain"):
            outcome.problems.append("exit 0 with a merge still open or uncommitted changes")
        outcome.problems += team.missing_from(project)
        outcome.problems += [f"untracked {p} touched" for p, body in local.items() if _read(project, p) != body]
        return outcome
    if result.exit_code == ExitCode.CONFLICTS:
        outcome = Outcome("conflicts", operations)
        unmerged = set(git(project, "diff", "--name-only", "--diff-filter=U").splitlines())
        listed = {line.split()[0] for line in result.output.splitlines() if line.startswith("    ")}
        if not merge_open or not unmerged <= listed:
            outcome.problems.append(f"conflicts not all listed ({sorted(unmerged - listed)}) or no merge open")
        undo = re.search(r"git reset --hard [0-9a-f]{12}", result.output)
        if undo is None:
            outcome.problems.append("no undo command printed")
        else:
            subprocess.run(undo.group(0).split(), cwd=project, check=True, capture_output=True)
            after = state(project)
            if (after.head, after.status, after.tree) != (before.head, before.status, before.tree):
                outcome.problems.append("the printed undo command did not restore the project")
        return outcome
    if result.exit_code == ExitCode.REFUSED:
        outcome = Outcome("refused", operations)
        if state(project) != before:
            outcome.problems.append("refused but changed the project")
        return outcome
    return Outcome("failed", operations, [f"exit {result.exit_code}: {' '.join(result.output.split())[:300]}"])


__all__ = ["Outcome", "Scaffolds", "files", "run_sequence"]
