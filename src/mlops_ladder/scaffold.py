"""`mlops-ladder new`: render a level into a fresh git repository, all or nothing."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from mlops_ladder.answers import complete_answers, read_answers
from mlops_ladder.errors import LadderError
from mlops_ladder.gitrepo import Git, require_git
from mlops_ladder.pristine import PRISTINE_BRANCH, commit_rendering
from mlops_ladder.render import render_level


def new_project(
    target: Path,
    data: dict[str, object],
    interactive: bool = False,
    step: Callable[[str], None] = lambda _: None,
) -> dict[str, object]:
    """Render the project into a staging folder beside `target`, then move it into place.

    Nothing appears at `target` unless every step succeeded, Ctrl-C included.
    """
    require_git()
    target = target.expanduser().resolve()
    _check_target(target)
    checked = complete_answers(data, target)  # before asking anything or writing anything
    # In a terminal only what was given is fixed; the names derived from the folder are offered.
    answers = {key: checked[key] for key in data} if interactive else checked
    created_parents = _make_parents(target.parent)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", suffix=".partial", dir=target.parent))
    try:
        step("Rendering the template")
        render_level(staging, answers, suggested={"project_name": target.name}, interactive=interactive)
        step("Creating the git repository")
        level = _rendered_level(staging)
        _first_commit(staging, level)
        _move_into_place(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        for folder in created_parents:
            shutil.rmtree(folder, ignore_errors=True)
        raise
    return {"level": level, "path": target}


def _check_target(target: Path) -> None:
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise LadderError(
            f"{target} already exists and is not empty.",
            "Choose a new directory, or use `mlops-ladder upgrade` to grow an existing project.",
        )


def _make_parents(parent: Path) -> list[Path]:
    """Create missing parent folders and return them (outermost first) so a failure can remove them."""
    missing = [folder for folder in [parent, *parent.parents] if not folder.exists()]
    parent.mkdir(parents=True, exist_ok=True)
    return list(reversed(missing))


def _rendered_level(project: Path) -> int:
    return int(read_answers(project)["level"])


def _first_commit(project: Path, level: int) -> None:
    git = Git(project)
    git.run("init", "--quiet", "--initial-branch", "main")
    # Committed as rendered, past every ignore rule: this commit is the base of the first upgrade.
    commit = commit_rendering(git, project, level, f"Scaffold level {level} with mlops-ladder", parents=[])
    git.run("update-ref", "refs/heads/main", commit)
    git.run("reset", "--quiet")  # the index takes the commit's files, so nothing shows as changed
    git.run("branch", PRISTINE_BRANCH)


def _move_into_place(staging: Path, target: Path) -> None:
    if target.exists():
        target.rmdir()  # checked empty above
    staging.rename(target)
