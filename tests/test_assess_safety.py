"""Assess is safe on any input: it never crashes, never hangs, never imports or runs the code it reads."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from assess_helpers import assess_files, found, write_repo

from mlops_ladder import assess_walk
from mlops_ladder.assess import assess_project

SRC = Path(__file__).resolve().parents[1] / "src"
TRACKING = "import mlflow\nmlflow.log_params({'a': 1})\n"


def test_an_empty_folder_is_below_level_1(tmp_path):
    result = assess_project(tmp_path)
    assert result.level == 0
    assert result.scanned == 0
    assert result.next_steps().level == 1


def test_the_code_is_never_imported_or_run(tmp_path):
    marker = tmp_path / "ran"
    payload = f"open({str(marker)!r}, 'w').write('ran')\nimport mlflow\nmlflow.log_params({{}})\n"
    write_repo(tmp_path / "repo", {"setup.py": payload, "conftest.py": payload, "train.py": payload})
    result = assess_project(tmp_path / "repo")
    assert "experiment-tracking" in found(result)
    assert not marker.exists()
    assert "mlflow" not in sys.modules or sys.modules["mlflow"].__file__ != str(tmp_path / "repo" / "mlflow.py")


def test_binary_files_and_bad_encodings(tmp_path):
    result = assess_files(
        tmp_path,
        {
            "weights.py": b"\x00\x01\x02import mlflow\nmlflow.log_params({})\n",
            "latin.py": "# caf\xe9\nimport mlflow\nmlflow.log_params({})\n".encode("latin-1"),
            "broken.yaml": b"\xff\xfe: [unclosed\n",
            "notebook.ipynb": b"\x89PNG not json",
        },
    )
    assert [found.file for item in result.practices for found in item.evidence] == ["latin.py"]
    skipped = dict(result.skipped)
    assert skipped["weights.py"] == "binary"
    assert skipped["notebook.ipynb"] == "not a notebook (invalid JSON)"


def test_files_over_the_size_limit_are_skipped_unread(tmp_path, monkeypatch):
    monkeypatch.setattr(assess_walk, "MAX_FILE_BYTES", 1000)
    result = assess_files(tmp_path, {"huge.py": TRACKING + "#" * 2000 + "\n", "small.py": TRACKING})
    assert {found.file for item in result.practices for found in item.evidence} == {"small.py"}
    assert dict(result.skipped)["huge.py"] == "larger than 1,000 bytes"


def test_symlink_loops_and_links_are_never_followed(tmp_path):
    repo = write_repo(tmp_path / "repo", {"src/train.py": TRACKING})
    (repo / "src" / "loop").symlink_to(repo / "src")
    (repo / "a").symlink_to(repo / "b")
    (repo / "b").symlink_to(repo / "a")
    (repo / "outside.py").symlink_to(write_repo(tmp_path / "elsewhere", {"t.py": TRACKING}) / "t.py")
    result = assess_project(repo)
    assert {found.file for item in result.practices for found in item.evidence} == {"src/train.py"}


def test_a_fifo_is_never_opened(tmp_path):
    """Opening a FIFO blocks until someone writes to it: the walk must not even try."""
    repo = write_repo(tmp_path / "repo", {"train.py": TRACKING})
    os.mkfifo(repo / "pipe.py")
    assert "experiment-tracking" in found(assess_project(repo))


def test_vendored_environment_and_data_folders_are_skipped(tmp_path):
    result = assess_files(
        tmp_path,
        {
            ".git/hooks/track.py": TRACKING,
            ".venv/lib/site.py": TRACKING,
            "env/pyvenv.cfg": "home = /usr/bin\n",
            "env/lib/track.py": TRACKING,
            "conda/conda-meta/history": "",
            "conda/lib/track.py": TRACKING,
            "node_modules/x/track.py": TRACKING,
            "data/raw/track.py": TRACKING,
            "pkg.egg-info/track.py": TRACKING,
        },
    )
    assert found(result) == set()


def test_yaml_bombs_and_deep_nesting_are_bounded(tmp_path):
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8)
    )
    deep = "x = " + "[" * 5000 + "]" * 5000 + "\nmlflow.log_params(x)\n"
    result = assess_files(tmp_path, {"bomb.yml": bomb + "canary: true\n", "deep.py": "import mlflow\n" + deep})
    assert "canary-shadow" in found(result)
    assert dict(result.skipped).get("deep.py") == "not valid Python 3"


def test_the_walk_stops_at_its_file_limit_and_says_so(tmp_path, monkeypatch):
    monkeypatch.setattr(assess_walk, "MAX_FILES", 5)
    result = assess_files(tmp_path, {f"f{i}.txt": "" for i in range(10)})
    assert result.truncated
    assert result.scanned == 5


@pytest.mark.skipif(not hasattr(os, "geteuid"), reason="POSIX users")
def test_unreadable_files_and_folders_are_listed_not_fatal():
    """chmod 000 does not stop root, so when run as root the CLI runs as `nobody` (setpriv) instead."""
    as_root = os.geteuid() == 0
    if as_root and not shutil.which("setpriv"):
        pytest.skip("running as root without setpriv: cannot drop privileges to make a file unreadable")
    scratch = Path(tempfile.mkdtemp(prefix="assess-unreadable-"))
    try:
        repo = write_repo(scratch / "repo", {"train.py": TRACKING, "secret.py": TRACKING, "locked/x.py": TRACKING})
        for path in (scratch, repo, repo / "train.py"):
            path.chmod(0o755 if path.is_dir() else 0o644)
        (repo / "secret.py").chmod(0o000)
        (repo / "locked").chmod(0o000)
        command = [sys.executable, "-m", "mlops_ladder", "assess", str(repo), "--json"]
        env = {**os.environ, "PYTHONPATH": str(SRC), "HOME": str(scratch)}
        if as_root:
            command = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *command]
            # `nobody` must be able to run mlops-ladder itself: a checkout or venv in a private
            # folder (mode 700, as `mktemp -d` makes them) cannot be read once privileges drop.
            probe = [*command[:4], sys.executable, "-c", "import mlops_ladder.cli"]
            if subprocess.run(probe, capture_output=True, env=env, cwd=scratch, timeout=120).returncode:
                pytest.skip("this checkout or its venv is not readable by `nobody`, the user the test drops to")
        run = subprocess.run(command, capture_output=True, text=True, env=env, cwd=scratch, timeout=120)
        assert run.returncode == 0, run.stderr
        import json

        report = json.loads(run.stdout)
        skipped = {item["file"]: item["reason"] for item in report["scan"]["skipped"]}
        assert skipped["secret.py"].startswith("not readable")
        assert skipped["locked"].startswith("folder not readable")
        tracking = next(item for item in report["practices"] if item["id"] == "experiment-tracking")
        assert [item["file"] for item in tracking["evidence"]] == ["train.py"]
    finally:
        for path in scratch.rglob("*"):
            if not path.is_symlink():
                path.chmod(0o755)
        shutil.rmtree(scratch)
