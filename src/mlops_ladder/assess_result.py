"""An assessment as data: each practice found or missing, the level reached, and what the next level takes."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from mlops_ladder.assess_catalogue import Catalogue, Practice
from mlops_ladder.assess_detect import Evidence, Findings
from mlops_ladder.levels import HIGHEST, LOWEST, all_levels

ANSWERS_FILE = ".copier-answers.yml"


@dataclass(frozen=True)
class PracticeResult:
    practice: Practice
    evidence: tuple[Evidence, ...]

    @property
    def found(self) -> bool:
        return bool(self.evidence)


@dataclass(frozen=True)
class NextSteps:
    """What reaching `level` takes: the missing practices, and how this project can get them."""

    level: int
    missing: tuple[Practice, ...]
    upgrade_command: str | None  # set when `mlops-ladder upgrade` does it (a project it made, a built level)
    why_not_upgrade: str | None
    read: tuple[str, ...]  # template files to read, for any other repository


@dataclass(frozen=True)
class Assessment:
    root: Path
    practices: tuple[PracticeResult, ...]
    scanned: int
    skipped: tuple[tuple[str, str], ...]
    truncated: bool
    ladder_level: int | None  # the level recorded by mlops-ladder, when it made this project

    @property
    def level(self) -> int:
        """The highest level whose practices, and those of every level below, are all found (0: none)."""
        reached = 0
        for level in range(LOWEST, HIGHEST + 1):
            if any(not result.found for result in self.practices if result.practice.level == level):
                break
            reached = level
        return reached

    def missing_up_to(self, level: int) -> list[PracticeResult]:
        return [result for result in self.practices if result.practice.level <= level and not result.found]

    def next_steps(self) -> NextSteps | None:
        if self.level >= HIGHEST:
            return None
        target = self.level + 1
        missing = tuple(result.practice for result in self.missing_up_to(target))
        command, why_not = self._upgrade(target)
        read = tuple(dict.fromkeys(path for practice in missing for path in practice.read))
        return NextSteps(target, missing, command, why_not, read)

    def _upgrade(self, target: int) -> tuple[str | None, str | None]:
        if self.ladder_level is None:
            return None, "this repository was not made by mlops-ladder"
        if self.ladder_level >= target:
            # Made at this level, but practices were removed since: upgrade adds levels, it does not restore files.
            return None, f"the project is recorded at level {self.ladder_level}; restore the missing practices by hand"
        if not all_levels()[target].built:
            return None, f"level {target} is not built in this version of mlops-ladder yet"
        climb = f" --to {target}" if target > self.ladder_level + 1 else ""
        return f"mlops-ladder upgrade {self.root}{climb}", None


def assessment(root: Path, catalogue: Catalogue, findings: Findings) -> Assessment:
    return Assessment(
        root=root,
        practices=tuple(
            PracticeResult(practice, tuple(findings.evidence[practice.id])) for practice in catalogue.practices
        ),
        scanned=findings.scanned,
        skipped=tuple(findings.skipped.files),
        truncated=findings.skipped.truncated,
        ladder_level=recorded_ladder_level(root),
    )


def recorded_ladder_level(root: Path) -> int | None:
    """The level in .copier-answers.yml when mlops-ladder made the project; None otherwise (never an error)."""
    path = root / ANSWERS_FILE
    try:
        if path.is_symlink() or not path.is_file() or path.stat().st_size > 100_000:
            return None
        answers = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None
    if not isinstance(answers, dict) or "package_name" not in answers:
        return None
    level = answers.get("level")
    return level if isinstance(level, int) and LOWEST <= level <= HIGHEST else None
