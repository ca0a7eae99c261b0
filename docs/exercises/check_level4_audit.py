"""Level 4, exercise 1: tamper with one audit entry and let `audit verify` catch it.

python -m pytest docs/exercises/check_level4_audit.py --project=PATH
"""

import subprocess
import sys
from pathlib import Path

FIRST_BAD_ENTRY = """
from {package} import audit
from {package}.config import load_params
print(audit.verify(load_params()).bad_seq)
"""


def project_python(project: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=project, capture_output=True, text=True)


def test_audit_verify_catches_the_edit(project: Path, answers: dict):
    verify = project_python(project, "-m", answers["package_name"], "audit", "verify")
    assert "verifies" not in verify.stdout or verify.returncode != 0, (
        "`audit verify` still says the trail verifies: edit one value in an entry of audit/audit.jsonl "
        "(not the last one), then run it again."
    )
    assert verify.returncode == 1, f"`audit verify` did not run: {verify.stdout}{verify.stderr[-2000:]}"


def test_tampered_txt_names_the_first_bad_entry(project: Path, answers: dict):
    found = project_python(project, "-c", FIRST_BAD_ENTRY.format(package=answers["package_name"]))
    assert found.returncode == 0, found.stderr[-2000:]
    first_bad = found.stdout.strip()
    note = project / "TAMPERED.txt"
    assert note.is_file(), "No TAMPERED.txt: write the number of the entry `audit verify` says is the first bad one."
    assert first_bad != "None", "The trail verifies: edit an entry of audit/audit.jsonl first."
    assert note.read_text(encoding="utf-8").split() == [first_bad], (
        "TAMPERED.txt should hold just the number of the first bad entry, as `audit verify` names it."
    )
