"""`mlops-ladder diff`: what one level adds or changes over a lower one, for the same answers."""

from __future__ import annotations

import difflib
import tempfile
from dataclasses import dataclass
from pathlib import Path

from mlops_ladder.answers import check_level, parse_data
from mlops_ladder.errors import LadderError
from mlops_ladder.render import render_level

# The project name used when the answers give none: both renderings need one, and it only shows in names.
DEFAULT_PROJECT_NAME = "my-project"
# Where `new` puts a CSV dataset; the rendering records this path, so diff records the same one.
DATA_FOLDER = "data"


@dataclass(frozen=True)
class FileChange:
    """One file that differs between the two renderings; `diff` is the unified diff's lines."""

    path: str
    kind: str  # "added", "changed" or "removed"
    lines_added: int
    lines_removed: int
    diff: tuple[str, ...]


@dataclass(frozen=True)
class LevelDiff:
    lower: int
    higher: int
    changes: tuple[FileChange, ...]

    def of_kind(self, kind: str) -> list[FileChange]:
        return [change for change in self.changes if change.kind == kind]


def diff_levels(lower: int, higher: int, answers: dict[str, object]) -> LevelDiff:
    """Render both levels with the same answers in a temporary folder (removed after) and compare them."""
    check_level(lower)
    check_level(higher)
    if lower >= higher:
        lower_first = f"{higher} {lower}" if lower > higher else f"{lower} {lower + 1}"
        raise LadderError(
            f"diff {lower} {higher}: the first level must be below the second.",
            f"Give the lower level first, for example `mlops-ladder diff {lower_first}`.",
        )
    shared = _rendering_answers(answers)
    with tempfile.TemporaryDirectory(prefix="mlops-ladder-diff-") as scratch:
        old, new = Path(scratch) / f"level{lower}", Path(scratch) / f"level{higher}"
        render_level(old, {**shared, "level": lower})
        render_level(new, {**shared, "level": higher})
        return LevelDiff(lower, higher, tuple(_compare(old, new, lower, higher)))


def diff_answers(pairs: list[str], data_file: Path | None) -> dict[str, object]:
    """The answers both levels are rendered with: an answers file's `level` is dropped, a `--data level` refused."""
    if any(pair.partition("=")[0].strip() == "level" for pair in pairs):
        raise LadderError(
            "diff renders both levels it is given, so `level` is not an answer it takes.",
            "Drop --data level=...: the two levels are the command's arguments.",
        )
    answers = parse_data(pairs, data_file)
    answers.pop("level", None)  # a project's .copier-answers.yml records its own level
    return answers


def _rendering_answers(answers: dict[str, object]) -> dict[str, object]:
    """The answers as `new` would render them: a project name, and a CSV recorded at its place in the project."""
    shared = {"project_name": DEFAULT_PROJECT_NAME, **answers}
    if shared.get("dataset") == "csv":
        given = str(shared.get("csv_path") or "").strip()
        if not given:
            raise LadderError("dataset=csv needs the CSV file's path.", "Add --data csv_path=<file.csv>.")
        if not Path(given).expanduser().is_file():
            raise LadderError(f"The CSV file {given} does not exist.", "Check the path given as csv_path.")
        shared["csv_path"] = f"{DATA_FOLDER}/{Path(given).name}"
    return shared


def _files(root: Path) -> dict[str, Path]:
    return {path.relative_to(root).as_posix(): path for path in sorted(root.rglob("*")) if path.is_file()}


def _compare(old_root: Path, new_root: Path, lower: int, higher: int) -> list[FileChange]:
    old, new = _files(old_root), _files(new_root)
    changes = []
    for path in sorted(old.keys() | new.keys()):
        before = _lines(old[path]) if path in old else []
        after = _lines(new[path]) if path in new else []
        if path in old and path in new and old[path].read_bytes() == new[path].read_bytes():
            continue
        kind = "added" if path not in old else "removed" if path not in new else "changed"
        diff = tuple(
            difflib.unified_diff(
                before,
                after,
                fromfile=f"level{lower}/{path}" if path in old else "/dev/null",
                tofile=f"level{higher}/{path}" if path in new else "/dev/null",
                lineterm="",
            )
        )
        added = sum(1 for line in diff[2:] if line.startswith("+"))
        removed = sum(1 for line in diff[2:] if line.startswith("-"))
        changes.append(FileChange(path, kind, added, removed, diff))
    return changes


def _lines(path: Path) -> list[str]:
    """A file's lines without their endings; a file that is not text shows as one line saying so."""
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError:
        return [f"(binary file, {path.stat().st_size} bytes)"]


def stat_text(result: LevelDiff) -> str:
    """The summary: each file added, changed or removed with its line counts, then the totals."""
    width = max((len(change.path) for change in result.changes), default=0)
    lines = [f"Level {result.lower} -> level {result.higher}"]
    for kind, mark in (("added", "+"), ("changed", "~"), ("removed", "-")):
        changes = result.of_kind(kind)
        if not changes:
            continue
        lines += ["", f"{kind} ({len(changes)}):"]
        for change in changes:
            counts = " ".join(
                part
                for part in (
                    f"+{change.lines_added}" if change.kind != "removed" else "",
                    f"-{change.lines_removed}" if change.kind != "added" else "",
                )
                if part
            )
            lines.append(f"  {mark} {change.path.ljust(width)}  {counts}")
    added = sum(change.lines_added for change in result.changes)
    removed = sum(change.lines_removed for change in result.changes)
    counts = ", ".join(f"{len(result.of_kind(kind))} {kind}" for kind in ("added", "changed", "removed"))
    lines += ["", f"{len(result.changes)} files differ ({counts}); {added} lines added, {removed} removed."]
    return "\n".join(lines) + "\n"
