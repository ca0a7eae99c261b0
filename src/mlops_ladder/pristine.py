"""Pristine renderings: the untouched template output that a project's history carries as the base of upgrades.

Each one is a commit whose message ends with a trailer naming the level and the tree it recorded:

    Mlops-Ladder-Pristine: level 2, mlops-ladder 0.1.0, tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904

A commit counts as a pristine rendering only when its own tree is the recorded one. An amend, a
squash, a fixup or a squash-merge copies the trailer onto a commit that holds the team's work too;
git must never take such a commit as a merge base, or it would read the team's edits as the template's.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from mlops_ladder import __version__
from mlops_ladder.answers import ANSWERS_FILE
from mlops_ladder.gitrepo import Git
from mlops_ladder.render import known_answers, render_level

# The branch that holds the untouched renderings; `upgrade` merges the next one from here.
PRISTINE_BRANCH = "mlops-ladder/pristine"
# Marks a pristine rendering in history, so the merge base travels with any clone of the project.
PRISTINE_TRAILER = "Mlops-Ladder-Pristine"
# Indented too: `git merge --squash` copies each message indented, trailers included.
_TRAILER_LINE = re.compile(rf"^[ \t]*{PRISTINE_TRAILER}: level (\d+)\b(.*)$", re.MULTILINE)
_RECORDED_TREE = re.compile(r"\btree ([0-9a-f]{40,64})\b")


def pristine_message(level: int, summary: str, tree: str) -> str:
    return f"{summary}\n\n{PRISTINE_TRAILER}: level {level}, mlops-ladder {__version__}, tree {tree}"


def commit_rendering(git: Git, folder: Path, level: int, summary: str, parents: list[str]) -> str:
    """Commit the rendered `folder` exactly as rendered (no ignore rule applies) with its trailer."""
    tree = git.snapshot_tree(folder)
    return git.commit_tree(tree, pristine_message(level, summary, tree), parents)


@dataclass(frozen=True)
class Claim:
    """A commit whose message says it is the pristine rendering of `level`."""

    commit: str
    tree: str  # the commit's own tree
    level: int
    recorded_tree: str | None  # None: written by an mlops-ladder that did not record trees yet

    @property
    def verified(self) -> bool:
        return self.recorded_tree == self.tree


def claims_in_history(git: Git, revision: str = "HEAD") -> list[Claim]:
    """Every pristine claim reachable from `revision`, newest first (a squashed message may hold several)."""
    log = git.run("log", "-z", "--format=%H %T%n%B", f"--grep=^[[:space:]]*{PRISTINE_TRAILER}: ", revision, check=False)
    claims = []
    for entry in filter(None, log.split("\x00")):
        header, _, message = entry.strip("\n").partition("\n")
        commit, tree = header.split()
        for match in _TRAILER_LINE.finditer(message):
            recorded = _RECORDED_TREE.search(match.group(2))
            claims.append(Claim(commit, tree, int(match.group(1)), recorded.group(1) if recorded else None))
    return claims


def render_tree(git: Git, answers: dict[str, object], level: int) -> str:
    """The tree of `level` rendered today with `answers`, written into the repository (nothing committed)."""
    with tempfile.TemporaryDirectory(prefix="mlops-ladder-render-") as scratch:
        rendered = Path(scratch) / "project"
        render_level(rendered, {**known_answers(answers), "level": level})
        return git.snapshot_tree(rendered)


def commit_level(git: Git, answers: dict[str, object], level: int, parents: list[str], summary: str = "") -> str:
    """Render `level` today with `answers` and commit it, unattached to any branch, as a pristine rendering."""
    tree = render_tree(git, answers, level)
    message = pristine_message(level, summary or f"Pristine rendering of level {level}", tree)
    return git.commit_tree(tree, message, parents)


@dataclass(frozen=True)
class Base:
    """The merge base of the next upgrade step; `commit` is None when the project must be adopted first."""

    commit: str | None
    adoption_reason: str = ""


def find_base(git: Git, answers: dict[str, object], level: int) -> Base:
    """The newest verified pristine rendering of `level` reachable from HEAD.

    A trailer written before mlops-ladder recorded trees counts when its tree is what today's
    templates render. With no verified rendering the project is adopted, which keeps every file.
    """
    claims = claims_in_history(git)
    fresh_tree = None
    for claim in (claim for claim in claims if claim.level == level):
        if claim.verified:
            return Base(claim.commit)
        if claim.recorded_tree is None:
            fresh_tree = fresh_tree or render_tree(git, answers, level)
            if claim.tree == fresh_tree:
                return Base(claim.commit)
    same_level = [claim for claim in claims if claim.level == level]
    if same_level:
        newest = same_level[0]
        if newest.recorded_tree:
            why = (
                f"commit {newest.commit[:12]} says it is the pristine level-{level} rendering but holds other "
                "changes too (an amend, squash, fixup or squash-merge)"
            )
        else:
            why = f"the level-{level} rendering an older mlops-ladder recorded differs from today's rendering"
        return Base(None, why)
    if verified := next((claim for claim in claims if claim.verified), None):
        # A squash-merge that dropped the trailers looks like this, and so does a level edited by hand.
        return Base(
            None,
            f"the history holds no rendering of level {level}, only of level {verified.level} "
            f"(commit {verified.commit[:12]}); if you edited the level in {ANSWERS_FILE} by hand, undo this and "
            f"restore it instead: `git checkout {verified.commit[:12]} -- {ANSWERS_FILE}`",
        )
    return Base(None, "the history holds no pristine rendering (plain `copier copy`, or a squashed history)")
