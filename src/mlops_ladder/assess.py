"""`mlops-ladder assess`: where a repository stands on the ladder, from its code and, optionally, a questionnaire."""

from __future__ import annotations

from pathlib import Path

from mlops_ladder.assess_catalogue import load_catalogue
from mlops_ladder.assess_detect import find_evidence
from mlops_ladder.assess_questionnaire import QuestionnaireResult
from mlops_ladder.assess_result import Assessment, assessment
from mlops_ladder.errors import LadderError
from mlops_ladder.levels import all_levels

BELOW_LEVEL_1 = "below level 1: no model code found"


def assess_project(path: Path) -> Assessment:
    """Read the repository at `path` (never importing or running it) and place it on the ladder."""
    if not path.exists():
        raise LadderError(f"{path} does not exist.", "Give the folder of the repository to assess.")
    if not path.is_dir():
        raise LadderError(f"{path} is not a folder.", "Give the folder of the repository to assess, not a file.")
    catalogue = load_catalogue()
    return assessment(path, catalogue, find_evidence(path, catalogue))


def overall_level(result: Assessment, questionnaire: QuestionnaireResult | None) -> int:
    """The code's level, held back by the organisation's when the questionnaire was answered."""
    return min(result.level, questionnaire.level) if questionnaire else result.level


def level_title(level: int) -> str:
    return f"level {level}: {all_levels()[level].name}" if level else BELOW_LEVEL_1
