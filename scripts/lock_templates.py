"""Regenerate the lock files that levels 2 and up ship, with the generated projects' own `make lock`.

    python scripts/lock_templates.py            # keep today's pins where they still fit
    python scripts/lock_templates.py --upgrade  # move every package to its newest allowed version

Templates are static, so each level's lock is written here, at authoring time: the level is rendered
with its default answers, its current lock files are copied in (so unchanged pins stay), `make lock`
runs inside the rendering exactly as a team would run it, and the lock files are copied back.
Run it after changing a level's dependencies in pyproject.toml.jinja; tests/test_lock_files.py fails
until the locks cover them.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import copier

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
LOCK_FILES = ("requirements-dev.lock", "requirements.lock")


def locked_levels() -> list[int]:
    """The levels whose Makefile has a `lock` target."""
    return [
        int(path.parent.name.removeprefix("level"))
        for path in sorted(TEMPLATES.glob("level*/Makefile.jinja"))
        if "\nlock:" in path.read_text(encoding="utf-8")
    ]


def lock_level(level: int, upgrade: bool) -> list[str]:
    """Render `level`, run its `make lock`, copy the lock files back; return their names."""
    template = TEMPLATES / f"level{level}"
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp) / "project"
        copier.run_copy(str(TEMPLATES), project, data={"level": level}, defaults=True, quiet=True)
        for name in LOCK_FILES:
            if (template / name).exists():
                shutil.copy2(template / name, project / name)
        command = ["make", "lock", f"PYTHON={sys.executable}"]
        if upgrade:
            command.append("LOCK_OPTIONS=--upgrade")
        subprocess.run(command, cwd=project, check=True)
        written = [name for name in LOCK_FILES if (project / name).exists()]
        for name in written:
            shutil.copy2(project / name, template / name)
    return written


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--upgrade", action="store_true", help="re-resolve every package to its newest allowed version")
    args = parser.parse_args()
    for level in locked_levels():
        started = time.perf_counter()
        written = lock_level(level, args.upgrade)
        print(f"level {level}: wrote {', '.join(written)} in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
