"""Climb the ladder with one example project: scaffold it at level 1, then upgrade it level by level.

    python examples/walkthrough.py examples/churn-csv.yml            # to the highest built level
    python examples/walkthrough.py examples/house-prices-regression.yml --to 3 --dir /tmp/climb

At every level the project's own test suite runs. A team's edits made at the start (a notes file at
level 1; a tuned parameter and a test of their own at level 2) must survive every upgrade: the script
checks them at each step and stops, saying what broke, the moment anything fails.

The project's tests run in a virtual environment of its own (inside --dir) that reuses the packages
of the Python running this script, so the climb works offline once mlops-ladder is installed with
its `dev` extras; only the project itself is installed into it, at each level.
"""

from __future__ import annotations

import argparse
import os
import re
import site
import subprocess
import sys
import tempfile
import time
import venv
from collections.abc import Callable
from functools import partial
from pathlib import Path

import yaml

NOTES = "# Team notes\n\nWe started at level 1.\n"
TUNED = 150  # the team's n_estimators, set at level 2
TEAM_TEST = '''"""The team's own test: it must survive every upgrade and keep passing."""

from {package}.config import load_params


def test_we_train_with_{trees}_trees():
    assert load_params().model.n_estimators == {trees}
'''


class StepFailed(Exception):
    """A step of the climb failed; the message says which and shows the output."""


def run(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        output = f"{result.stdout[-4000:]}\n{result.stderr[-4000:]}".strip()
        raise StepFailed(f"`{' '.join(command)}` exited {result.returncode}:\n{output}")
    return result.stdout


def ladder(*args: str) -> list[str]:
    """The mlops-ladder command, run by this Python, so the checkout or install running the script is used."""
    return [sys.executable, "-m", "mlops_ladder", *args]


def built_levels() -> list[int]:
    from mlops_ladder.templates import built_levels as levels

    return levels()


def project_venv(folder: Path) -> Path:
    """A venv that sees this interpreter's packages (the stack) after its own; returns its python.

    A `.pth` file adds this interpreter's site-packages folders to the venv's path, so only the
    project itself needs installing (`--system-site-packages` would see the base Python instead when
    this script runs from a venv).
    """
    venv.create(folder, with_pip=False)
    python = folder / "bin" / "python"
    purelib = run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], folder).strip()
    here = [path for path in site.getsitepackages() if Path(path).is_dir()]
    lines = [f"import site; site.addsitedir({path!r})" for path in here]
    (Path(purelib) / "_walkthrough_stack.pth").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return python


def project_env(work: Path, venv_python: Path) -> dict[str, str]:
    """The project's commands' environment: its venv first, its own Prefect home, no outside tracking server."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("MLFLOW_", "PREFECT_"))}
    env["PATH"] = f"{venv_python.parent}{os.pathsep}{env.get('PATH', '')}"
    env["PREFECT_HOME"] = str(work / "prefect-home")
    env["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
    # Prefect gives its temporary server 20 s to start; a loaded 2-core machine needs more.
    env["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"] = "120"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def run_own_tests(project: Path, level: int, venv_python: Path, env: dict[str, str]) -> None:
    if level >= 2:  # from level 2 the project is a package: install it (editable, its dependencies are here)
        run(
            [str(venv_python), "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "-e", "."],
            project,
            env,
        )
    run([str(venv_python), "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider"], project, env)


def team_edits(project: Path, level: int) -> None:
    """What a team does: notes at level 1; from level 2, more trees in params.yaml and a test that holds it."""
    if level == 1:
        (project / "NOTES.md").write_text(NOTES, encoding="utf-8")
    elif level == 2:
        params = project / "params.yaml"
        text, count = re.subn(r"(?m)^(\s*n_estimators:) \d+", rf"\1 {TUNED}", params.read_text(encoding="utf-8"))
        if count != 1:
            raise StepFailed("params.yaml should hold model.n_estimators once")
        params.write_text(text, encoding="utf-8")
        package = yaml.safe_load((project / ".copier-answers.yml").read_text(encoding="utf-8"))["package_name"]
        (project / "tests" / "test_team.py").write_text(TEAM_TEST.format(package=package, trees=TUNED))
    else:
        return
    run(["git", "add", "-A"], project)
    run(["git", "commit", "-qm", f"Team edits at level {level}"], project)


def check_edits_survived(project: Path, level: int) -> None:
    if (project / "NOTES.md").read_text(encoding="utf-8") != NOTES:
        raise StepFailed(f"NOTES.md (written at level 1) changed at level {level}")
    if level > 2:
        if not re.search(rf"(?m)^\s*n_estimators: {TUNED}$", (project / "params.yaml").read_text(encoding="utf-8")):
            raise StepFailed(f"the team's n_estimators: {TUNED} was lost at level {level}")
        if not (project / "tests" / "test_team.py").is_file():
            raise StepFailed(f"the team's tests/test_team.py was lost at level {level}")
    if run(["git", "status", "--porcelain"], project).strip():
        raise StepFailed(f"the upgrade to level {level} left uncommitted changes")


def climb(answers: Path, top: int, work: Path) -> Path:
    project = work / answers.stem
    say(f"level 1: mlops-ladder new {project} --data-file {answers}")
    run(ladder("new", str(project), "--level", "1", "--defaults", "--data-file", str(answers)), work)
    venv_python = project_venv(work / "venv")
    env = project_env(work, venv_python)
    team_edits(project, 1)
    timed("level 1: the project's own tests", lambda: run_own_tests(project, 1, venv_python, env))
    for level in range(2, top + 1):
        timed(f"level {level}: mlops-ladder upgrade", lambda: run(ladder("upgrade", str(project)), work))
        check_edits_survived(project, level)
        team_edits(project, level)
        own_tests = partial(run_own_tests, project, level, venv_python, env)
        timed(f"level {level}: the project's own tests", own_tests)
    return project


def say(text: str) -> None:
    print(text, flush=True)


def timed(what: str, step: Callable[[], object]) -> None:
    start = time.monotonic()
    step()
    say(f"{what}: ok ({time.monotonic() - start:.0f} s)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("answers", type=Path, help="an answers file, such as examples/churn-csv.yml")
    parser.add_argument("--to", type=int, help="the level to climb to (default: the highest built level)")
    parser.add_argument("--dir", type=Path, help="an empty or new folder to work in (default: a temporary one)")
    args = parser.parse_args(argv)
    levels = built_levels()
    top = args.to or levels[-1]
    if top not in levels or top < 2:
        parser.error(f"--to {top}: choose a built level from 2 to {levels[-1]}")
    if not args.answers.is_file():
        parser.error(f"{args.answers} is not a file: give an answers file such as examples/churn-csv.yml")
    work = (args.dir or Path(tempfile.mkdtemp(prefix="mlops-ladder-walkthrough-"))).resolve()
    work.mkdir(parents=True, exist_ok=True)
    if any(work.iterdir()):
        parser.error(f"--dir {work} is not empty: give a new or empty folder")
    try:
        project = climb(args.answers.resolve(), top, work)
    except StepFailed as failure:
        say(f"FAILED: {failure}")
        return 1
    say(f"Done: {project} is at level {top}, the team's edits intact and its own tests passing.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
