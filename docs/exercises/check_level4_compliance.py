"""Level 4, exercise 2: make the compliance gate refuse the champion, and name the rule it broke.

python -m pytest docs/exercises/check_level4_compliance.py --project=PATH
"""

import re
import subprocess
import sys
from pathlib import Path


def compliance(project: Path, package: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", package, "compliance", "--version", "champion"]
    return subprocess.run(command, cwd=project, capture_output=True, text=True)


def test_the_gate_refuses_the_champion(project: Path, answers: dict):
    result = compliance(project, answers["package_name"])
    assert result.returncode != 2, f"`compliance` could not run: {result.stdout}{result.stderr[-2000:]}"
    assert result.returncode == 1, (
        "`compliance --version champion` still passes: set governance.compliance.min_score in params.yaml "
        "to a score the champion does not reach, then run it again."
    )


def test_refused_by_txt_names_the_failed_rules(project: Path, answers: dict):
    result = compliance(project, answers["package_name"])
    failed = sorted(re.findall(r"^FAIL\s+(\w+)", result.stdout, re.MULTILINE))
    note = project / "REFUSED_BY.txt"
    assert note.is_file(), "No REFUSED_BY.txt: write the name of each rule the gate says FAIL, one per line."
    assert sorted(note.read_text(encoding="utf-8").split()) == failed, (
        f"REFUSED_BY.txt should name exactly the rules that FAIL ({', '.join(failed) or 'none yet'})."
    )
