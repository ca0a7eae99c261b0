"""Every shell command the docs and READMEs show runs, in order, in a scratch folder: the docs cannot go stale.

Sources: docs/**/*.md (the exercise pages excepted: tests/test_exercises.py solves them), this repo's
README.md (not its first block: CI runs that one itself, .ci/run), and the README of each built level,
rendered. Each document's commands run in one bash session (so `cd` and `export` carry on, as for a
reader), in a scratch folder, with a venv that already holds the stack. A command that cannot run
offline, starts a server, or repeats what another test already runs in full is listed in RULES with
why; any other command that fails, fails the test, naming it.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from project_harness import EPHEMERAL_STARTUP_TIMEOUT, stack_venv

from mlops_ladder.render import render_level
from mlops_ladder.scaffold import new_project
from mlops_ladder.templates import built_levels

REPO = Path(__file__).resolve().parents[1]
FENCE = re.compile(r"^```(?:bash|sh|shell|console)[ \t]*\n(.*?)^```", re.MULTILINE | re.DOTALL)

# What to do with a command instead of running it as written: ("skip", why), ("dry-run", why): `make -n`,
# which checks the target exists without running it, or ("instead", replacement, why).
VENV = "the test runs in a venv of its own that already holds the stack (creating and filling one needs PyPI)"
SERVER = "starts a long-running server"
SUITE = "the project's own test suite: tests/generated/test_levelN.py and examples/walkthrough.py run it"
HEAVY = "trains, registers and runs a Prefect flow (a minute or more): tests/generated/test_levelN.py runs it"
INSTALL_PROJECT = "python -m pip install -q --no-deps --no-build-isolation -e ."
LIVE = "needs a champion, a canary and labelled live traffic: the level's tests/test_canary_rollback.py runs it"
README_SETUP = "the README's set-up command: .ci/run runs it, in a fresh venv, from the README itself"
NO_SERVICE = "talks to `make serve`, which is not started (tests/serving.py tests the service)"
RULES: list[tuple[str, tuple[str, ...]]] = [
    (r"^python -m venv \.venv( && \. \.venv/bin/activate)?$", ("skip", VENV)),
    # The README's two set-up commands, repeated on the getting-started page: .ci/run runs them.
    (r"^python -m pip install \. && cd ", ("skip", README_SETUP)),
    (r"^python -m pip install -e '\.\[dev\]' && python -m pytest", ("skip", README_SETUP)),
    (r"^(source|\.) \.venv/bin/activate$", ("skip", VENV)),
    (r"^pip install -r requirements\.txt$", ("skip", VENV)),
    (r"^python -m pip install \.$", ("skip", "installs mlops-ladder itself; the test runs the checkout's")),
    (r"^make setup$", ("instead", INSTALL_PROJECT, VENV)),
    (r"^python -m pip install -e '\.\[dev\]'$", ("instead", INSTALL_PROJECT, VENV)),
    (r"^make (serve|ui|loop)$", ("skip", SERVER)),
    (r"^(mlflow server|prefect server start) ", ("skip", SERVER)),
    (r"^mkdocs serve", ("skip", SERVER)),
    (r"^mkdocs build", ("skip", "builds this checkout's site: tests/test_docs_site.py runs it with --strict")),
    (r"^curl .*(localhost|127\.0\.0\.1):8000", ("skip", NO_SERVICE)),
    (r"^export (MLFLOW_TRACKING_URI|PREFECT_API_URL)=", ("skip", "points at the server skipped above")),
    (r"^make test$", ("dry-run", SUITE)),
    (r"^python -m pytest -q$", ("instead", "python -m pytest -q --collect-only -p no:cacheprovider", SUITE)),
    (r"^make test && ", ("dry-run-first", SUITE)),
    (r"^make (demo|pipeline|monitor|simulate|tune)$", ("dry-run-above-2", HEAVY)),
    (r"^python -m \w+ (canary|rollback) ", ("skip", LIVE)),
    (r"^python -m \w+ lineage --version 3$", ("skip", "needs three registered versions (the level's tests run it)")),
    (r"^python -m \w+ lineage$", ("skip", "needs a champion, which the dry-run `make demo` above did not train")),
    (r"^mlops-ladder assess \. --questionnaire$", ("skip", "asks in a terminal (tests/test_assess_cli.py)")),
    (r"^mlops-ladder new churn-model --level 2 --defaults +--data", ("alone", "an alternative to the `new` above it")),
    (r"^git push", ("skip", "needs a remote")),
    (r"^git add -A && git commit$", ("skip", "finishes a conflicted upgrade (tests/test_upgrade.py does)")),
]


@dataclass
class Document:
    name: str
    commands: list[str]
    cwd: Path
    level: int  # the project's level the commands start at (0: none)


def commands(markdown: str, skip_first_block: bool = False) -> list[str]:
    """The commands of the fenced shell blocks: continuation lines joined, comments dropped."""
    found = []
    for number, block in enumerate(FENCE.findall(markdown)):
        if skip_first_block and number == 0:
            continue
        for line in re.sub(r"\s*\\\n\s*", " ", block).splitlines():
            command = strip_comment(line).strip()
            if command:
                found.append(command)
    return found


def strip_comment(line: str) -> str:
    """The line without a trailing `# comment` (a `#` inside quotes stays)."""
    index = line.find(" #")
    while index != -1:
        before = line[:index]
        if before.count("'") % 2 == 0 and before.count('"') % 2 == 0:
            return before
        index = line.find(" #", index + 1)
    return "" if line.lstrip().startswith("#") else line


def rule(command: str) -> tuple[str, ...] | None:
    return next((action for pattern, action in RULES if re.search(pattern, command)), None)


def as_run(command: str, level: int) -> tuple[str | None, str]:
    """The shell text to run for a command (None: skipped) and what the log says about it."""
    action = rule(command)
    if action is None:
        return command, "run"
    kind = action[0]
    if kind == "skip":
        return None, f"skipped: {action[1]}"
    if kind == "instead":
        return action[1], f"ran `{action[1]}` instead: {action[2]}"
    if kind == "dry-run" or (kind == "dry-run-above-2" and level > 2):
        target = command.split()[-1] if command.startswith("make") else "test"
        return f"make -n {target} >/dev/null", f"dry run (`make -n`): {action[1]}"
    if kind == "dry-run-first":
        rest = command.split("&&", 1)[1]
        return f"make -n test >/dev/null && {rest}", f"`make test` dry run: {action[1]}"
    if kind == "alone":
        alone = 'alone=$(mktemp -d) && cp -r "$DOCUMENT_ROOT/data" "$alone"/ && cd "$alone"'
        return f"({alone} && {command})", f"run alone: {action[1]}"
    return command, "run"


def level_after(command: str, level: int) -> int:
    """The project's level once a command ran: `new --level N`, `upgrade [--to N]` move it."""
    if command.startswith("mlops-ladder new") and (given := re.search(r"--level (\d)", command)):
        return int(given[1]) if rule(command) is None else level
    if command.startswith("mlops-ladder upgrade") and "--dry-run" not in command:
        target = re.search(r"--to (\d)", command)
        return int(target[1]) if target else level + 1
    return level


def script(document: Document) -> str:
    """One bash session running the document's commands in order, reporting the first that fails."""
    lines = ["set -uo pipefail", 'DOCUMENT_ROOT="$PWD"']  # where the document's data was put
    level = document.level
    for number, command in enumerate(document.commands):
        text, note = as_run(command, level)
        lines.append(f"echo {shlex.quote(f'::{number} {note}: {command}')}")
        if text is not None:
            lines += [text, f"status=$?; [ $status -eq 0 ] || echo ::failed {number} $status"]
        level = level_after(command, level)
    return "\n".join(lines) + "\necho ::done\n"


def run_document(document: Document, env: dict[str, str]) -> tuple[str, float]:
    start = time.monotonic()
    result = subprocess.run(
        ["bash", "-c", script(document)],
        cwd=document.cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
        stdin=subprocess.DEVNULL,
    )
    log = result.stdout
    failed = [
        f"`{document.commands[int(number)]}` (exit {status})"
        for number, status in re.findall(r"^::failed (\d+) (\d+)$", log, re.MULTILINE)
    ]
    if failed or "::done" not in log:
        pytest.fail(
            f"{document.name}: {'; '.join(failed) or 'the session stopped'} failed. Fix the docs, or add a rule "
            f"saying why it cannot run here.\n--- log ---\n{log[-5000:]}\n--- stderr ---\n{result.stderr[-5000:]}"
        )
    return log, time.monotonic() - start


def shell_env(venv: Path, home: Path) -> dict[str, str]:
    """The reader's shell: the scratch venv first (stack + what they install), then mlops-ladder's own."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("MLFLOW_", "PREFECT_"))}
    env["PATH"] = os.pathsep.join([str(venv.parent), str(Path(sys.executable).parent), env["PATH"]])
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO / "src"), env.get("PYTHONPATH")]))
    env["PREFECT_HOME"] = str(home / "prefect")
    env["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
    env["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"] = EPHEMERAL_STARTUP_TIMEOUT
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["GIT_EDITOR"] = "true"  # a `git commit` that opens an editor takes the prepared message
    for variable in ("GIT_AUTHOR_NAME", "GIT_COMMITTER_NAME"):
        env.setdefault(variable, "Docs Reader")
    for variable in ("GIT_AUTHOR_EMAIL", "GIT_COMMITTER_EMAIL"):
        env.setdefault(variable, "reader@example.com")
    return env


def repo_documents(scratch: Path) -> list[Document]:
    """docs/*.md and README.md, each run from a scratch copy of the checkout's examples/ and data it names."""
    documents = []
    pages = [path for path in sorted((REPO / "docs").rglob("*.md")) if "exercises" not in path.parts]
    for page in [*pages, REPO / "README.md"]:
        found = commands(page.read_text(encoding="utf-8"), skip_first_block=page.name == "README.md")
        if not found:
            continue
        level = 0
        folder = scratch / page.relative_to(REPO).with_suffix("").as_posix().replace("/", "-") / "checkout"
        shutil.copytree(REPO / "examples", folder / "examples")
        (folder / "data").mkdir()
        shutil.copyfile(REPO / "examples" / "churn.csv", folder / "data" / "churn.csv")
        if page.name == "upgrade.md":  # the upgrade guide is read inside a project about to climb
            folder = Path(new_project(folder / "project", {"level": 2})["path"])
            level = 2
        if page.name == "assess.md":  # assess reads the folder it is given: give it a level-3 project
            new_project(folder / "project", {"level": 3})
            folder = folder / "project"
            (folder / "answers.yml").write_text(all_yes_answers(), encoding="utf-8")
            shutil.copytree(folder, folder / "path" / "to" / "repo", ignore=shutil.ignore_patterns(".git", "path"))
        documents.append(Document(page.relative_to(REPO).as_posix(), found, folder, level))
    return documents


def all_yes_answers() -> str:
    from mlops_ladder.assess_catalogue import load_catalogue

    return "".join(f"{question.id}: yes\n" for question in load_catalogue().questions)


def readme_documents(scratch: Path) -> list[Document]:
    """Each built level's README, its commands run inside a project of that level made by `new`."""
    documents = []
    for level in built_levels():
        project = Path(new_project(scratch / f"level{level}" / "my-project", {"level": level})["path"])
        if (project / "examples" / "sample_rows.csv").is_file():  # the README's `new_rows.csv`: the reader's rows
            shutil.copyfile(project / "examples" / "sample_rows.csv", project / "new_rows.csv")
        found = commands((project / "README.md").read_text(encoding="utf-8"))
        documents.append(Document(f"level {level} README.md", found, project, level))
    return documents


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("docs-commands")


def test_commands_are_read_from_fenced_shell_blocks():
    markdown = "```bash\nmake demo    # the demo\n# a comment\nmlops-ladder new x \\\n    --level 2\n```\n"
    markdown += "```python\nprint('not shell')\n```\n```bash\necho '# kept' # dropped\n```\n"
    assert commands(markdown) == ["make demo", "mlops-ladder new x --level 2", "echo '# kept'"]
    assert commands(markdown, skip_first_block=True) == ["echo '# kept'"]


def test_every_rule_says_why():
    assert all(len(action[-1]) > 10 for _, action in RULES)


@pytest.mark.slow
def test_every_documented_command_runs(scratch):
    """Runs every document, each in its own scratch folder and venv; reports each one's time."""
    documents = repo_documents(scratch / "repo") + readme_documents(scratch / "levels")
    timings = []
    for number, document in enumerate(documents):
        home = scratch / f"session-{number}"
        venv_python = stack_venv(home / "venv")
        log, seconds = run_document(document, shell_env(venv_python, home))
        timings.append(f"{document.name}: {len(document.commands)} commands, {seconds:.0f} s")
        ran = re.findall(r"^::\d+ (?!skipped:)", log, re.MULTILINE)
        assert ran, f"{document.name}: every command was skipped"
    print("\n".join(timings))


def test_a_failing_command_is_reported_by_name(tmp_path):
    document = Document("example.md", ["true", "ls no-such-file", "echo never"], tmp_path, 0)
    with pytest.raises(pytest.fail.Exception, match=r"`ls no-such-file` \(exit 2\) failed"):
        run_document(document, dict(os.environ))


def test_rendered_readme_commands_are_found():
    """Guard against a README format change that would leave the slow test with nothing to run."""
    for level in built_levels():
        target = Path(os.environ.get("TMPDIR", "/tmp")) / f"readme-probe-{os.getpid()}-{level}"
        try:
            render_level(target, {"level": level, "project_name": "probe"})
            assert commands((target / "README.md").read_text(encoding="utf-8")), (
                f"level {level} README shows no command"
            )
        finally:
            shutil.rmtree(target, ignore_errors=True)
