"""Render a level into a temp dir and run the generated project's own commands in a subprocess."""

from __future__ import annotations

import os
import site
import subprocess
import sys
import sysconfig
import time
import venv
from dataclasses import dataclass
from pathlib import Path

import copier

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
# Prefect gives its temporary server 20 s to start; on a loaded 2-core CI machine it took longer and
# every flow run failed ("Timed out while attempting to connect to ephemeral Prefect API server").
EPHEMERAL_STARTUP_TIMEOUT = "120"


@dataclass
class GeneratedProject:
    """A rendered project plus the environment its commands run in."""

    path: Path
    env: dict[str, str]

    def run(self, *args: str, timeout: float = 300, check: bool = True) -> subprocess.CompletedProcess:
        """Run a command inside the project; on failure show its output in the assertion."""
        result = subprocess.run(args, cwd=self.path, env=self.env, capture_output=True, text=True, timeout=timeout)
        if check:
            assert result.returncode == 0, (
                f"{' '.join(args)} exited {result.returncode}\n"
                f"--- stdout ---\n{result.stdout[-6000:]}\n--- stderr ---\n{result.stderr[-6000:]}"
            )
        return result

    def run_own_tests(self, timeout: float = 300) -> subprocess.CompletedProcess:
        """The project's own test suite, the way its README runs it; how long it took is printed,
        not asserted (a busy CI machine would fail a suite that passes)."""
        started = time.monotonic()
        result = self.run(self.python, "-m", "pytest", "-q", "-p", "no:cacheprovider", timeout=timeout)
        print(f"{self.path.name}: its own suite took {time.monotonic() - started:.0f} s")
        return result

    @property
    def python(self) -> str:
        return self.env["PROJECT_PYTHON"]

    @property
    def package(self) -> str:
        """The import name of the project's package: the one folder under src/."""
        return next(path.name for path in (self.path / "src").iterdir() if path.is_dir())

    def with_env(self, **overrides: str) -> GeneratedProject:
        """The same project, its commands run with these extra environment variables."""
        return GeneratedProject(self.path, {**self.env, **overrides})


def render(level: int, dest: Path, **data: object) -> Path:
    """Render templates/levelN with non-interactive defaults plus `data`."""
    copier.run_copy(str(TEMPLATES), dest, data={"level": level, **data}, defaults=True, quiet=True, unsafe=False)
    return dest


def host_site_dirs() -> list[str]:
    """The site-packages folders of the interpreter running the tests: where the stack is installed.

    Works the same whether pytest runs from a venv, from the base interpreter, or beside a wheel
    install of mlops-ladder, because it asks the running interpreter rather than guessing.
    """
    dirs = [*site.getsitepackages(), *sysconfig.get_paths().values()]
    if site.ENABLE_USER_SITE:
        dirs.append(site.getusersitepackages())
    wanted = ("site-packages", "dist-packages")
    return list(dict.fromkeys(str(Path(d)) for d in dirs if Path(d).name in wanted and Path(d).is_dir()))


def stack_venv(venv_dir: Path) -> Path:
    """A venv of its own that also sees the running interpreter's packages; returns its python.

    Not `system_site_packages=True`: from inside a venv that points at the *base* interpreter, not at
    the venv holding the stack (shared/STACK.md). A `.pth` file in the new venv calls `site.addsitedir`
    on each host site folder instead: its entries come after the venv's own (so the project's editable
    install wins), and the host folders' own `.pth` files (editable installs) are processed too.
    """
    venv.create(venv_dir, with_pip=False)
    python = venv_dir / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    lines = [f"import site; site.addsitedir({folder!r})" for folder in host_site_dirs()]
    (Path(purelib) / "_mlops_ladder_host_stack.pth").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return python


def isolated_env(project: Path, install: bool) -> dict[str, str]:
    """A venv that sees the already-installed stack but holds the project's own editable install.

    Reusing the stack installed for these tests means nothing is re-resolved; each project gets its
    own venv so editable installs never collide.
    """
    venv_dir = project.parent / f"{project.name}-venv"
    python = str(stack_venv(venv_dir))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "PREFECT_"))}
    env["PATH"] = f"{venv_dir / 'bin'}{os.pathsep}{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    env["PROJECT_PYTHON"] = python
    env["PREFECT_HOME"] = str(project.parent / f"{project.name}-prefect")
    env["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
    env["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"] = EPHEMERAL_STARTUP_TIMEOUT
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    if install:
        subprocess.run(
            [python, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "-e", str(project)],
            check=True,
            capture_output=True,
            env=env,
        )
    return env


def generate(level: int, tmp_path: Path, install: bool = True, **data: object) -> GeneratedProject:
    """Render a project named after its level and task, and prepare its environment."""
    task = str(data.get("task", "classification"))
    name = data.pop("project_name", f"Level{level} {task.title()}")
    path = render(level, tmp_path / "project", project_name=name, **data)
    subprocess.run(["git", "init", "-q"], cwd=path, check=True)
    subprocess.run(["git", "add", "-A"], cwd=path, check=True)
    subprocess.run(["git", "commit", "-qm", "Scaffold"], cwd=path, check=True)
    return GeneratedProject(path, isolated_env(path, install))
