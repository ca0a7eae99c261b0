"""`mlops-ladder new`: render a level into a fresh git repository, all or nothing."""

from __future__ import annotations

import csv
import shutil
import tempfile
from collections.abc import Callable
from itertools import islice
from pathlib import Path

from mlops_ladder.answers import fixed_answers, read_answers, recorded_level
from mlops_ladder.errors import LadderError
from mlops_ladder.gitrepo import Git, require_git
from mlops_ladder.pristine import PRISTINE_BRANCH, commit_rendering
from mlops_ladder.render import known_answers, render_level
from mlops_ladder.training_csv import check_training_csv

# Where `new` puts the user's CSV inside the project; the answers record `data/<file name>`.
DATA_FOLDER = "data"
# What `make predict` scores when given no file (levels 2 and up).
SAMPLE_ROWS = "examples/sample_rows.csv"
# The questions asked again when the CSV they point to is refused (the task may be what is wrong).
DATA_QUESTIONS = ("task", "dataset", "csv_path", "target_column", "primary_metric")


def new_project(
    target: Path,
    data: dict[str, object],
    interactive: bool = False,
    step: Callable[[str], None] = lambda _: None,
    refused: Callable[[LadderError], None] | None = None,
) -> dict[str, object]:
    """Render the project into a staging folder beside `target`, then move it into place.

    Interactively, a CSV the checks refuse is reported with `refused` and its questions asked again.

    Nothing appears at `target` unless every step succeeded, Ctrl-C included. A CSV dataset is
    checked, copied into the project as `data/<file name>` and committed right after the pristine
    scaffold commit, so that commit stays exactly the template's rendering.
    """
    require_git()
    target = target.expanduser().resolve()
    answers = fixed_answers(data, target, interactive)  # before asking anything or writing anything
    # Asked interactively, the CSV path is known only after the questions: then checked again below.
    _check_target(target, None if interactive else _training_data_source(answers), answers_known=not interactive)
    suggested: dict[str, object] = {"project_name": target.name}
    created_parents = _make_parents(target.parent)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", suffix=".partial", dir=target.parent))
    try:
        if interactive:
            step("Asking the questions")
            answers = _asked_answers(answers, suggested, staging, refused)
            _check_target(target, _training_data_source(answers))
        data_source = _training_data_source(answers)
        if data_source:
            answers["csv_path"] = f"{DATA_FOLDER}/{data_source.name}"  # relative, POSIX: any clone finds it
        step("Rendering the template")
        # Always rendered from answers alone, as `upgrade` renders it again to verify and merge.
        render_level(staging, answers, suggested=suggested)
        level = _rendered_level(staging)
        if data_source and not interactive:  # asked answers were checked while asking
            _check_csv_answers(read_answers(staging), data_source)
        step("Creating the git repository")
        _first_commit(staging, level)
        if data_source:
            step("Adding the training data")
            target_column = str(answers.get("target_column", "target"))
            _commit_training_data(staging, data_source, str(answers["csv_path"]), target_column)
        _move_into_place(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        for folder in created_parents:
            shutil.rmtree(folder, ignore_errors=True)
        raise
    return {"level": level, "path": target, "data": data_source and (data_source, answers["csv_path"])}


def _asked_answers(
    given: dict[str, object],
    suggested: dict[str, object],
    staging: Path,
    refused: Callable[[LadderError], None] | None,
) -> dict[str, object]:
    """Ask the questions with Copier's own prompts (which re-ask a refused answer) and return the answers.

    A CSV the checks refuse sends the user back to the data questions, their last answers offered,
    unless the CSV was given on the command line (then it is refused like any given answer).
    """
    fixed, offered = dict(given), dict(suggested)
    while True:
        scratch = staging / ".asking"
        render_level(scratch, fixed, suggested=offered, interactive=True)
        answers = known_answers(read_answers(scratch))
        shutil.rmtree(scratch)
        source = _training_data_source(answers)
        try:
            if source:
                _check_csv_answers(answers, source)
            return answers
        except LadderError as error:
            if refused is None or "csv_path" in given:
                raise
            refused(error)
        fixed = {key: value for key, value in answers.items() if key not in DATA_QUESTIONS or key in given}
        offered = {**suggested, **{key: answers[key] for key in DATA_QUESTIONS if key in answers}}


def _check_csv_answers(answers: dict[str, object], source: Path) -> None:
    check_training_csv(source, str(answers["target_column"]), str(answers["task"]))


def _training_data_source(answers: dict[str, object]) -> Path | None:
    """The user's CSV file, when the dataset is one; a relative path starts from the current folder."""
    if answers.get("dataset") != "csv":
        return None
    given = str(answers.get("csv_path") or "").strip()
    if not given:
        raise LadderError("dataset=csv needs the CSV file's path.", "Add --data csv_path=<file.csv>.")
    return Path(given).expanduser().resolve()


def _check_target(target: Path, training_data: Path | None, answers_known: bool = True) -> None:
    """The target must be new or empty, or hold nothing but the training CSV (which then moves into data/)."""
    if not target.exists():
        return
    if target.is_dir():
        files = list(islice((path for path in target.rglob("*") if not path.is_dir()), 2))
        if not files or files == [training_data] or (not answers_known and len(files) == 1):
            return
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
    return recorded_level(read_answers(project))


def _first_commit(project: Path, level: int) -> None:
    git = Git(project)
    git.run("init", "--quiet", "--initial-branch", "main")
    # Committed as rendered, past every ignore rule: this commit is the base of the first upgrade.
    commit = commit_rendering(git, project, level, f"Scaffold level {level} with mlops-ladder", parents=[])
    git.run("update-ref", "refs/heads/main", commit)
    git.run("reset", "--quiet")  # the index takes the commit's files, so nothing shows as changed
    git.run("branch", PRISTINE_BRANCH)


def _commit_training_data(project: Path, source: Path, relative: str, target_column: str) -> None:
    """Copy the CSV into the project and commit it on its own, after the pristine scaffold commit.

    From level 2 up, `make predict` scores examples/sample_rows.csv when given no file: for a
    bundled dataset the template ships it; for the team's own data it is cut from their CSV here.
    """
    copy = project / relative
    if copy.exists():
        raise LadderError(
            f"The template already has a file {relative}, the name your CSV would get in the project.",
            "Rename your CSV file (say, to training.csv) and run the command again.",
        )
    copy.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, copy)
    added = [relative]
    if (project / "Makefile").is_file() and not (project / SAMPLE_ROWS).exists():
        _write_sample_rows(copy, project / SAMPLE_ROWS, target_column)
        added.append(SAMPLE_ROWS)
    git = Git(project)
    # Forced and literal: a global `*.csv` ignore rule or a `*` in the file name must not change what is added.
    literal = {"GIT_LITERAL_PATHSPECS": "1"}
    git.run("add", "--force", "--", *added, env=literal)
    git.run("commit", "--quiet", "-m", f"Add training data {' and '.join(added)}", "--", *added, env=literal)


def _write_sample_rows(data: Path, sample: Path, target_column: str, rows: int = 5) -> None:
    """The first rows of the training CSV without the column to predict: what `make predict` scores."""
    with data.open(newline="", encoding="utf-8-sig") as file:
        table = list(islice(csv.reader(file), rows + 1))
    keep = [index for index, name in enumerate(table[0]) if name != target_column]
    sample.parent.mkdir(parents=True, exist_ok=True)
    with sample.open("w", newline="", encoding="utf-8") as file:
        csv.writer(file).writerows([[row[index] for index in keep] for row in table])


def _move_into_place(staging: Path, target: Path) -> None:
    """Swap the finished project in; a target that held the training CSV goes away only once it is in."""
    if not target.exists():
        staging.rename(target)
        return
    aside = target.with_name(f".{target.name}-replaced-{staging.name}")
    target.rename(aside)
    try:
        staging.rename(target)
    except BaseException:
        aside.rename(target)
        raise
    shutil.rmtree(aside)
