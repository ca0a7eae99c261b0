"""A thin wrapper over the git command line: the only place mlops-ladder runs git."""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

from mlops_ladder.errors import LadderError

# Used only when the user has no git identity yet, so a fresh machine can still commit.
FALLBACK_IDENTITY = {"user.name": "mlops-ladder", "user.email": "mlops-ladder@localhost"}


class GitError(RuntimeError):
    """git failed in a way the user did not cause."""


class Git:
    def __init__(self, cwd: Path) -> None:
        self.cwd = cwd
        self._identity_args: list[str] | None = None

    def run(
        self,
        *args: str,
        check: bool = True,
        env: dict[str, str] | None = None,
        strip: bool = True,
        input: str | None = None,
    ) -> str:
        result = subprocess.run(
            ["git", *self._identity(), *args],
            cwd=self.cwd,
            capture_output=True,
            text=True,
            env={**os.environ, **(env or {})},
            input=input,
        )
        if check and result.returncode != 0:
            raise GitError(f"git {' '.join(args)} failed: {result.stderr.strip() or result.stdout.strip()}")
        return result.stdout.strip() if strip else result.stdout

    def ok(self, *args: str) -> bool:
        return subprocess.run(["git", *args], cwd=self.cwd, capture_output=True).returncode == 0

    def _identity(self) -> list[str]:
        if self._identity_args is None:
            missing = [key for key in FALLBACK_IDENTITY if not self.ok("config", key)]
            self._identity_args = [arg for key in missing for arg in ("-c", f"{key}={FALLBACK_IDENTITY[key]}")]
        return self._identity_args

    def snapshot_tree(self, folder: Path) -> str:
        """Write every file of `folder` as a tree of this repository; its index and work tree stay untouched.

        `--force` because a rendering is recorded exactly as rendered: the template's `.gitignore`,
        this repository's `.git/info/exclude` and the user's global excludes must not filter it
        (a package named `models` or `build` would otherwise vanish from the base of every upgrade).
        """
        with tempfile.TemporaryDirectory(prefix="mlops-ladder-index-") as scratch:
            env = {"GIT_INDEX_FILE": str(Path(scratch) / "index"), "GIT_WORK_TREE": str(folder)}
            self.run("add", "--all", "--force", ".", env=env)
            return self.run("write-tree", env=env)

    def commit_tree(self, tree: str, message: str, parents: list[str]) -> str:
        parent_args = [arg for parent in parents for arg in ("-p", parent)]
        return self.run("commit-tree", tree, *parent_args, "-m", message)


def require_git() -> None:
    try:
        subprocess.run(["git", "--version"], capture_output=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        raise LadderError("git is not installed or not on PATH.", "Install git, then run the command again.") from None


def merge_texts(base: str, ours: str, theirs: str) -> str | None:
    """A line-based 3-way merge of three texts (`git merge-file`); None when they conflict."""
    with tempfile.TemporaryDirectory(prefix="mlops-ladder-merge-") as scratch:
        files = []
        for name, text in (("ours", ours), ("base", base), ("theirs", theirs)):
            path = Path(scratch) / name
            path.write_text(text, encoding="utf-8")
            files.append(str(path))
        result = subprocess.run(["git", "merge-file", "-p", *files], capture_output=True, text=True)
    return result.stdout if result.returncode == 0 else None
