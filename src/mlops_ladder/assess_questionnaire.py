"""The questions code cannot answer (roles, reviews, incidents, governance, training), asked or read from YAML."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml

from mlops_ladder.assess_catalogue import Catalogue, Question
from mlops_ladder.errors import LadderError
from mlops_ladder.levels import HIGHEST, LOWEST

YES = {"yes", "y", "true"}
NO = {"no", "n", "false"}


@dataclass(frozen=True)
class QuestionnaireResult:
    answers: dict[str, bool]  # question id -> yes or no
    catalogue: Catalogue

    @property
    def level(self) -> int:
        """The highest level whose questions, and those of every level below, are all answered yes."""
        reached = 0
        for level in range(LOWEST, HIGHEST + 1):
            if any(not self.answers[q.id] for q in self.catalogue.questions if q.level == level):
                break
            reached = level
        return reached

    def aspects(self) -> dict[str, tuple[int, int]]:
        """Per aspect: (questions answered yes, questions asked)."""
        counts: dict[str, tuple[int, int]] = {}
        for question in self.catalogue.questions:
            yes, asked = counts.get(question.aspect, (0, 0))
            counts[question.aspect] = (yes + self.answers[question.id], asked + 1)
        return counts

    def missing(self, up_to: int) -> list[Question]:
        return [q for q in self.catalogue.questions if q.level <= up_to and not self.answers[q.id]]


def read_answers_file(path: Path, catalogue: Catalogue) -> dict[str, bool]:
    """Answers from YAML (`question-id: yes`); an unknown id or a value that is not yes/no is refused."""
    fix = "Write one `question-id: yes` or `question-id: no` per line (ids: `mlops-ladder assess --docs-page`)."
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        raise LadderError(f"Cannot read the answers file {path}.", "Check the path given to --answers.") from None
    except yaml.YAMLError:
        raise LadderError(f"{path} is not valid YAML.", fix) from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise LadderError(f"{path} does not hold answers.", fix)
    known = {question.id for question in catalogue.questions}
    answers = {}
    for key, value in raw.items():
        if key not in known:
            raise LadderError(f"{key!r} in {path} is not a question of the questionnaire.", fix)
        answers[key] = _as_bool(value, key, path, fix)
    return answers


def _as_bool(value: object, key: str, path: Path, fix: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in YES | NO:
        return text in YES
    raise LadderError(f"The answer to {key} in {path} is {value!r}, not yes or no.", fix)


def complete_answers(
    catalogue: Catalogue, given: dict[str, bool], ask: Callable[[Question, int, int], bool] | None
) -> QuestionnaireResult:
    """Ask what `given` leaves open, one question at a time; without a way to ask, refuse."""
    open_questions = [question for question in catalogue.questions if question.id not in given]
    if open_questions and ask is None:
        names = ", ".join(question.id for question in open_questions)
        raise LadderError(
            f"The questionnaire needs answers to {names}, and there is no terminal to ask them in.",
            "Run it in a terminal, or give every answer in a YAML file with --answers FILE.",
        )
    answers = dict(given)
    for number, question in enumerate(open_questions, start=1):
        answers[question.id] = ask(question, number, len(open_questions))  # type: ignore[misc]
    return QuestionnaireResult(answers, catalogue)
