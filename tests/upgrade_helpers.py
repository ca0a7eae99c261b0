"""Real projects, real git, real renders: the pieces the upgrade tests are built from."""

from __future__ import annotations

import difflib
import subprocess
from dataclasses import dataclass
from pathlib import Path

from project_harness import isolated_env
from typer.testing import CliRunner

from mlops_ladder.cli import app
from mlops_ladder.render import render_level
from mlops_ladder.scaffold import PRISTINE_BRANCH, new_project
from mlops_ladder.templates import built_levels

STEPS = [(n, n + 1) for n in built_levels() if n + 1 in built_levels()]
COMMENT = {"": "# ", ".py": "# ", ".toml": "# ", ".yml": "# ", ".yaml": "# ", ".cfg": "# ", ".md": "", ".txt": "# "}


def git(project: Path, *args: str, check: bool = True) -> str:
    result = subprocess.run(["git", *args], cwd=project, capture_output=True, text=True, check=check)
    return result.stdout.strip()


def scaffold(parent: Path, level: int, name: str = "team-project", **data: object) -> Path:
    return Path(new_project(parent / name, {"level": level, **data})["path"])


def commit_all(project: Path, message: str = "Team edits") -> None:
    git(project, "add", "-A")
    git(project, "commit", "-qm", message)


def upgrade(project: Path, *args: str):
    return CliRunner().invoke(app, ["upgrade", str(project), *args], catch_exceptions=False)


def files(root: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(root)): path.read_bytes()
        for path in root.rglob("*")
        if path.is_file() and ".git" not in path.relative_to(root).parts
    }


def fresh_render(parent: Path, level: int, name: str = "team-project", **data: object) -> dict[str, bytes]:
    """What `new` renders for this level and answers, without git."""
    target = parent / f"fresh-{level}" / name
    render_level(target, {"level": level, "project_name": name, "package_name": name.replace("-", "_"), **data})
    return files(target)


@dataclass
class State:
    """Everything `upgrade` must leave alone when it refuses or fails."""

    head: str
    refs: str
    status: str
    tree: dict[str, bytes]


def state(project: Path) -> State:
    return State(
        git(project, "rev-parse", "HEAD"),
        git(project, "for-each-ref", "--format=%(refname) %(objectname)"),
        git(project, "status", "--porcelain", "--untracked-files=all"),
        files(project),
    )


@dataclass
class LevelDiff:
    """How the pristine renderings of two levels differ, per file."""

    base: dict[str, bytes]
    theirs: dict[str, bytes]

    @property
    def unchanged(self) -> list[str]:
        return sorted(p for p in self.base if self.theirs.get(p) == self.base[p])

    @property
    def changed(self) -> list[str]:
        return sorted(p for p in self.base if p in self.theirs and self.theirs[p] != self.base[p])

    @property
    def added(self) -> list[str]:
        return sorted(p for p in self.theirs if p not in self.base)

    @property
    def dropped(self) -> list[str]:
        return sorted(p for p in self.base if p not in self.theirs)

    def editable(self, path: str) -> bool:
        return Path(path).suffix in COMMENT and path != ".copier-answers.yml"

    def quiet_spot(self) -> tuple[str, int] | None:
        """A changed file and a line index far (>= 3 lines) from every line the next level changes."""
        for path in filter(self.editable, self.changed):
            old, new = self.base[path].decode().splitlines(), self.theirs[path].decode().splitlines()
            for tag, i1, i2, _, _ in difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
                if tag == "equal" and i2 - i1 >= 8:
                    return path, i1 + 4
        return None

    def contested_line(self) -> tuple[str, int] | None:
        """A changed file and a line index that the next level rewrites."""
        for path in filter(self.editable, self.changed):
            old, new = self.base[path].decode().splitlines(), self.theirs[path].decode().splitlines()
            for tag, i1, _, _, _ in difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
                if tag in ("replace", "delete") and old[i1].strip():
                    return path, i1
        return None


def level_diff(parent: Path, step: tuple[int, int]) -> LevelDiff:
    return LevelDiff(fresh_render(parent, step[0]), fresh_render(parent, step[1]))


def team_line(path: str) -> str:
    return f"{COMMENT[Path(path).suffix]}Team note: we rely on this, keep it."


def insert_line(project: Path, path: str, index: int, line: str) -> None:
    lines = (project / path).read_text().splitlines(keepends=True)
    lines.insert(index, line + "\n")
    (project / path).write_text("".join(lines))


def replace_line(project: Path, path: str, index: int, line: str) -> None:
    lines = (project / path).read_text().splitlines(keepends=True)
    lines[index] = line + "\n"
    (project / path).write_text("".join(lines))


__all__ = ["PRISTINE_BRANCH", "STEPS"]


def run_own_tests(project: Path, level: int) -> None:
    """Run a project's own test suite in a venv of its own (installed from level 2 on)."""
    env = isolated_env(project, install=level >= 2)
    result = subprocess.run(
        [env["PROJECT_PYTHON"], "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, f"level {level} tests failed:\n{result.stdout[-5000:]}\n{result.stderr[-3000:]}"
