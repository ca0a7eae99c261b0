"""The answers a project is rendered with: parsed from the command line, checked before rendering."""

from __future__ import annotations

import csv
from pathlib import Path

import yaml

from mlops_ladder.errors import LadderError
from mlops_ladder.levels import HIGHEST, LOWEST, all_levels
from mlops_ladder.names import check_package_name, derive_package_name
from mlops_ladder.templates import questions

ANSWERS_FILE = ".copier-answers.yml"
RESTORE_ANSWERS = f"Fix it by hand, or restore a good version from history (`git log -p -- {ANSWERS_FILE}`)."


def parse_data(pairs: list[str], data_file: Path | None = None) -> dict[str, object]:
    """Answers from a YAML file, then `["task=regression", ...]` on top, refusing keys no template asks."""
    data: dict[str, object] = _read_data_file(data_file) if data_file else {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise LadderError(f"--data {pair!r} is not of the form key=value.", "Write it as --data key=value.")
        data[key] = value
    known = sorted(name for name, spec in questions().items() if spec.get("type") != "yaml")
    for key in data:
        if key not in known:
            raise LadderError(f"{key!r} is not a question of the templates.", f"Use one of: {', '.join(known)}.")
    return data


def _read_data_file(path: Path) -> dict[str, object]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError:
        raise LadderError(f"Cannot read the answers file {path}.", "Check the path given to --data-file.") from None
    except yaml.YAMLError:
        raise LadderError(f"{path} is not valid YAML.", "Write one `question: answer` per line.") from None
    if not isinstance(data, dict):
        raise LadderError(f"{path} does not hold answers.", "Write one `question: answer` per line.")
    return {key: value for key, value in data.items() if not str(key).startswith("_")}


def check_level(level: int) -> int:
    """Refuse levels outside the ladder, and levels this version has no template for yet."""
    if not LOWEST <= level <= HIGHEST:
        raise LadderError(
            f"Level {level} does not exist.", f"Choose a level from {LOWEST} to {HIGHEST} (`mlops-ladder levels`)."
        )
    if not all_levels()[level].built:
        built = [n for n, facts in all_levels().items() if facts.built]
        raise LadderError(
            f"Level {level} is not available in this version of mlops-ladder.",
            f"Choose one of {', '.join(map(str, built))}, or upgrade mlops-ladder.",
        )
    return level


def complete_answers(data: dict[str, object], project_dir: Path) -> dict[str, object]:
    """Fill the names from the project directory and check everything Copier cannot check itself."""
    answers = dict(data)
    if "level" in answers:
        answers["level"] = check_level(_as_int(answers["level"], "level"))
    answers.setdefault("project_name", project_dir.name)
    if "package_name" in answers:
        check_package_name(str(answers["package_name"]))
    else:
        answers["package_name"] = derive_package_name(str(answers["project_name"]))
    if answers.get("dataset") == "csv":
        answers["csv_path"] = str(_checked_csv(answers))
    return answers


def _as_int(value: object, key: str) -> int:
    try:
        return int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise LadderError(f"{key} must be a whole number, not {value!r}.", f"Pass --{key} N.") from None


def _checked_csv(answers: dict[str, object]) -> Path:
    """The CSV must exist and have the target column, or training would fail much later."""
    if "csv_path" not in answers:
        raise LadderError("dataset=csv needs the CSV's path.", "Add --data csv_path=<file.csv>.")
    path = Path(str(answers["csv_path"])).expanduser().resolve()
    if not path.is_file():
        raise LadderError(f"The CSV file {path} does not exist.", "Check the path given in --data csv_path.")
    target = str(answers.get("target_column", questions()["target_column"]["default"]))
    with path.open(newline="", encoding="utf-8") as file:
        header = next(csv.reader(file), [])
    if target not in header:
        raise LadderError(
            f"The CSV {path.name} has no column {target!r} (it has: {', '.join(header[:10]) or 'no header'}).",
            "Pass the column to predict with --data target_column=<column>.",
        )
    return path


def read_answers(project: Path) -> dict[str, object]:
    """The answers a project was rendered with, checked well enough to render it again."""
    path = project / ANSWERS_FILE
    if not path.is_file():
        raise LadderError(
            f"{project} has no {ANSWERS_FILE}, so it was not made by mlops-ladder or Copier.",
            "Run upgrade inside a project made with `mlops-ladder new`.",
        )

    try:
        recorded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise LadderError(f"{ANSWERS_FILE} is not valid YAML{where}.", RESTORE_ANSWERS) from None
    if not isinstance(recorded, dict):
        raise LadderError(f"{ANSWERS_FILE} does not hold answers (key: value lines).", RESTORE_ANSWERS)
    if "level" not in recorded:
        raise LadderError(
            f"{ANSWERS_FILE} records no level.",
            f"Add the line `level: N` (the level the project was made at) to {ANSWERS_FILE}.",
        )
    level = recorded["level"]
    if isinstance(level, bool) or not isinstance(level, int) or not LOWEST <= level <= HIGHEST:
        raise LadderError(
            f"{ANSWERS_FILE} has an invalid level: {level!r}.",
            f"Set `level:` to the level the project is at, a number from {LOWEST} to {HIGHEST}.",
        )
    for key in ("project_name", "package_name"):
        if not isinstance(recorded.get(key), str) or not recorded[key]:
            raise LadderError(f"{ANSWERS_FILE} has no valid {key}.", RESTORE_ANSWERS)
    check_package_name(recorded["package_name"])
    return recorded
