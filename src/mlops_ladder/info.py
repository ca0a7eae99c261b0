"""`mlops-ladder info`: where a project stands on the ladder, and what `upgrade` would do next."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mlops_ladder.answers import ANSWERS_FILE, read_answers
from mlops_ladder.errors import LadderError
from mlops_ladder.levels import Level, all_levels


@dataclass(frozen=True)
class ProjectInfo:
    path: Path
    level: Level
    answers: dict[str, object]  # the questions' answers, without Copier's own `_` keys
    next_level: Level | None  # None at the top of the levels this version has built


def require_directory(path: Path) -> Path:
    """The resolved folder, or a clear refusal when it is missing or is a file (shared by info and upgrade)."""
    resolved = path.expanduser().resolve()
    if not resolved.exists():
        raise LadderError(f"{path} does not exist.", "Check the path, or create a project with `mlops-ladder new`.")
    if not resolved.is_dir():
        raise LadderError(f"{path} is a file, not a project folder.", "Give the project's folder.")
    return resolved


def project_info(path: Path) -> ProjectInfo:
    """Read a project's recorded answers and look up its level and the next built one."""
    project = require_directory(path)
    if not (project / ANSWERS_FILE).is_file():
        raise LadderError(
            f"{project} is not an mlops-ladder project: it has no {ANSWERS_FILE}.",
            "Give the folder of a project made with `mlops-ladder new` (or plain `copier copy`).",
        )
    recorded = read_answers(project)
    number = recorded["level"]
    assert isinstance(number, int)  # read_answers refuses anything else
    levels = all_levels()
    level = levels[number]
    upcoming = levels.get(level.number + 1)
    return ProjectInfo(
        path=project,
        level=level,
        answers={key: value for key, value in recorded.items() if not str(key).startswith("_")},
        next_level=upcoming if upcoming is not None and upcoming.built else None,
    )
