"""The answers a project is rendered with: parsed from the command line, checked before rendering."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import SupportsIndex, SupportsInt

import yaml

from mlops_ladder.errors import LadderError
from mlops_ladder.levels import HIGHEST, LOWEST, all_levels
from mlops_ladder.names import NAME_RULE, check_package_name, derive_package_name
from mlops_ladder.templates import questions

ANSWERS_FILE = ".copier-answers.yml"
RESTORE_ANSWERS = f"Fix it by hand, or restore a good version from history (`git log -p -- {ANSWERS_FILE}`)."


# A data file is often another project's answers: the new project is named after its own folder.
NAMES_NOT_COPIED = ("project_name", "package_name")


def parse_data(pairs: list[str], data_file: Path | None = None, level: int | None = None) -> dict[str, object]:
    """Answers from a YAML file, then `--data key=value` pairs, then `--level`, refusing keys no template asks."""
    data: dict[str, object] = read_data_file(data_file) if data_file else {}
    given: dict[str, object] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise LadderError(f"--data {pair!r} is not of the form key=value.", "Write it as --data key=value.")
        given[key.strip()] = value
    if level is not None:
        if "level" in given and str(given["level"]).strip() != str(level):
            raise LadderError(
                f"--level {level} and --data level={given['level']} contradict each other.",
                "Give the level once, with --level N.",
            )
        given["level"] = level
    data.update(given)
    known = sorted(name for name, spec in questions().items() if spec.get("when") is not False)
    for key in data:
        if key not in known:
            raise LadderError(f"{key!r} is not a question of the templates.", f"Use one of: {', '.join(known)}.")
    return data


def read_data_file(path: Path) -> dict[str, object]:
    """Answers from a YAML file, without the names (NAMES_NOT_COPIED) and with its CSV path made usable here.

    A relative `csv_path` in the file is relative to the file's folder: in another project's answers
    file (`data/churn.csv`) that is the project the file belongs to.
    """
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        raise LadderError(f"Cannot read the answers file {path}.", "Check the path given to --data-file.") from None
    except yaml.YAMLError:
        raise LadderError(f"{path} is not valid YAML.", "Write one `question: answer` per line.") from None
    if not isinstance(data, dict):
        raise LadderError(f"{path} does not hold answers.", "Write one `question: answer` per line.")
    answers = {str(key): value for key, value in data.items() if not str(key).startswith("_")}
    for key in NAMES_NOT_COPIED:
        answers.pop(key, None)
    if isinstance(answers.get("csv_path"), str) and answers["csv_path"].strip():
        answers["csv_path"] = str(path.parent.resolve() / Path(answers["csv_path"]).expanduser())
    return answers


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


def fixed_answers(data: dict[str, object], project_dir: Path, interactive: bool) -> dict[str, object]:
    """The answers given, checked where the CLI can say more than Copier, before anything is asked or written.

    Everything else (the package name, task/dataset/metric consistency) is left to the templates'
    own validators, which Copier runs on every route.
    """
    answers = dict(data)
    if "level" in answers:
        answers["level"] = check_level(_as_int(answers["level"], "level"))
    if interactive:
        return answers  # the folder's name is offered as the project name, and every rule re-asks
    answers.setdefault("project_name", project_dir.name)
    if "package_name" not in answers and derive_package_name(str(answers["project_name"])) is None:
        raise LadderError(
            f"No Python package name can be made from the project name {answers['project_name']!r}.",
            f"Pass one with --data package_name=<name> ({NAME_RULE}), or choose another name.",
        )
    return answers


def _as_int(value: object, key: str) -> int:
    if isinstance(value, str | bytes | SupportsInt | SupportsIndex):  # what int() converts
        try:
            return int(value)
        except (TypeError, ValueError):
            pass
    raise LadderError(f"{key} must be a whole number, not {value!r}.", f"Pass --{key} N.")


def recorded_level(answers: Mapping[str, object]) -> int:
    """The level in answers that `read_answers` returned: it refuses anything but a whole number."""
    level = answers["level"]
    if not isinstance(level, int):
        raise TypeError(f"the answers' level {level!r} was not checked by read_answers")
    return level


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
    check_package_name(recorded["package_name"], RESTORE_ANSWERS)
    return recorded
