"""Evidence is code and config read by their parsers: never a comment, a string, a Markdown cell or a README."""

from __future__ import annotations

import json

import pytest
from assess_helpers import assess_files, evidence, found

from mlops_ladder.assess_catalogue import NamePattern, key_path_regex
from mlops_ladder.assess_python import parse_python


def notebook(*cells: tuple[str, str]) -> str:
    return json.dumps(
        {
            "cells": [{"cell_type": kind, "metadata": {}, "source": source} for kind, source in cells],
            "metadata": {},
            "nbformat": 4,
            "nbformat_minor": 5,
        }
    )


def test_a_commented_out_call_a_string_and_a_readme_are_never_evidence(tmp_path):
    result = assess_files(
        tmp_path,
        {
            "README.md": "We track every run with mlflow.log_params and serve with FastAPI().\n",
            "train.py": (
                "import mlflow\n"
                "# mlflow.log_params({'alpha': 1})\n"
                "NOTE = 'mlflow.log_metric(\"rmse\", 1)'\n"
                '"""mlflow.start_run() in a docstring"""\n'
            ),
            "docs/guide.md": "```python\nfrom prefect import flow\n@flow\ndef train(): ...\n```\n",
        },
    )
    assert "experiment-tracking" not in found(result)
    assert "orchestration" not in found(result)
    assert "serving-app" not in found(result)


def test_a_real_call_is_evidence_with_its_file_and_line(tmp_path):
    result = assess_files(
        tmp_path, {"src/train.py": "import mlflow\n\n\ndef run():\n    mlflow.log_params({'a': 1})\n"}
    )
    assert evidence(result, "experiment-tracking") == ["src/train.py:5 call mlflow.log_params(...)"]


@pytest.mark.parametrize(
    "code",
    [
        "import mlflow as mf\nmf.log_metric('a', 1)\n",
        "from mlflow import log_metric as record\nrecord('a', 1)\n",
        "import mlflow.sklearn\nmlflow.sklearn.autolog()\n",
        "from mlflow import sklearn as flavour\nflavour.autolog()\n",
        "import wandb\nwandb.init(project='p')\n",
    ],
)
def test_calls_are_resolved_through_any_import_form(tmp_path, code):
    assert "experiment-tracking" in found(assess_files(tmp_path, {"track.py": code}))


def test_a_local_function_with_a_tracker_name_is_not_a_tracker(tmp_path):
    code = "def log_metric(name, value):\n    print(name, value)\n\n\nlog_metric('a', 1)\n"
    assert "experiment-tracking" not in found(assess_files(tmp_path, {"track.py": code}))


def test_decorators_and_base_classes_resolve_through_imports(tmp_path):
    result = assess_files(
        tmp_path,
        {
            "flows.py": "from prefect import flow as pipeline\n\n\n@pipeline(name='x')\ndef train():\n    pass\n",
            "meta.py": "import metaflow\n\n\nclass Train(metaflow.FlowSpec):\n    pass\n",
        },
    )
    assert sorted(evidence(result, "orchestration")) == [
        "flows.py:4 @prefect.flow(...)",
        "meta.py:4 subclass of metaflow.FlowSpec(...)",
    ]


def test_a_keyword_named_in_the_catalogue_is_required(tmp_path):
    plain = "from prefect import flow\n\n\n@flow\ndef train():\n    pass\n\n\ntrain.serve(name='x')\n"
    scheduled = plain.replace("serve(name='x')", "serve(name='x', cron='0 * * * *')")
    assert "triggered-retraining" not in found(assess_files(tmp_path / "plain", {"flows.py": plain}))
    assert "triggered-retraining" in found(assess_files(tmp_path / "scheduled", {"flows.py": scheduled}))


def test_test_code_is_evidence_of_tests_only(tmp_path):
    result = assess_files(
        tmp_path,
        {
            "tests/test_train.py": "import mlflow\n\n\ndef test_tracks():\n    mlflow.log_params({})\n",
            "tests/conftest.py": "from fastapi import FastAPI\n\napp = FastAPI()\n",
        },
    )
    assert found(result) == {"tests"}
    assert evidence(result, "tests") == ["tests/test_train.py:4 test test_tracks"]


def test_notebooks_count_code_cells_only_and_tolerate_magics(tmp_path):
    result = assess_files(
        tmp_path,
        {
            "explore.ipynb": notebook(
                ("markdown", "We call `mlflow.log_metric('a', 1)` later.\nimport mlflow\n"),
                ("code", ["%matplotlib inline\n", "!pip install mlflow\n", "import mlflow as m\n"]),
                ("code", "# m.log_metric('commented', 1)\nimport sklearn\n"),
                ("code", "%%bash\nmlflow ui\n"),
            )
        },
    )
    assert found(result) == {"ml-code"}
    assert evidence(result, "ml-code") == ["explore.ipynb cell 3:2 import sklearn"]


def test_an_alias_imported_in_an_earlier_cell_resolves_in_a_later_one(tmp_path):
    cells = [("code", "import mlflow as m\n"), ("code", "x = 1\n\nm.log_metric('a', x)\n")]
    result = assess_files(tmp_path, {"track.ipynb": notebook(*cells)})
    assert evidence(result, "experiment-tracking") == ["track.ipynb cell 2:3 call mlflow.log_metric(...)"]


def test_config_keys_values_and_lines_come_from_the_parsed_file(tmp_path):
    workflow = (
        "name: CI\non:\n  push:\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - uses: actions/checkout@v4\n      # - run: pytest\n      - run: echo pytest is not run here\n"
    )
    result = assess_files(tmp_path / "comment", {".github/workflows/ci.yml": workflow})
    # `echo pytest` is a run step that mentions pytest: the value regex sees it, the comment it does not.
    assert evidence(result, "ci-workflow") == [
        ".github/workflows/ci.yml:10 jobs.test.steps.1.run: echo pytest is not run here"
    ]
    quiet = workflow.replace("      - run: echo pytest is not run here\n", "")
    assert "ci-workflow" not in found(assess_files(tmp_path / "quiet", {".github/workflows/ci.yml": quiet}))


def test_prometheus_alert_rules_and_canary_keys_are_config_evidence(tmp_path):
    result = assess_files(
        tmp_path,
        {
            "deploy/rules.yml": "groups:\n  - name: model\n    rules:\n      - alert: DriftHigh\n        expr: drift\n",
            "deploy/rollout.yaml": "service:\n  release:\n    canary:\n      weight: 10\n",
            "notes.yaml": "text: we want a canary some day\n",
        },
    )
    assert evidence(result, "alerts") == ["deploy/rules.yml:4 groups.0.rules.0.alert: DriftHigh"]
    assert evidence(result, "canary-shadow") == ["deploy/rollout.yaml:3 key service.release.canary"]


def test_pyproject_setup_cfg_and_requirements(tmp_path):
    result = assess_files(
        tmp_path,
        {
            "pyproject.toml": "[tool.ruff]\nline-length = 99\n\n[project]\nname = 'x'\ndependencies = ['pandas']\n",
            "requirements-dev.txt": "# tools\n-r requirements.txt\n\npytest==8.3\n",
        },
    )
    assert evidence(result, "package-layout") == ["pyproject.toml:4 project.name: x"]
    assert "requirements-dev.txt:4 requirement pytest==8.3" in evidence(result, "dependencies")
    tool_only = assess_files(tmp_path / "tool", {"pyproject.toml": "[tool.ruff]\nline-length = 99\n"})
    assert "package-layout" not in found(tool_only)


def test_a_dockerfile_counts_by_its_from_instruction_not_its_comments(tmp_path):
    assert "container-image" not in found(assess_files(tmp_path / "a", {"Dockerfile": "# FROM python:3.11\n"}))
    result = assess_files(tmp_path / "b", {"Dockerfile": "# base\nFROM python:3.11-slim AS app\n"})
    assert evidence(result, "container-image") == ["Dockerfile:2 FROM python:3.11-slim AS app"]


def test_name_patterns_and_key_paths():
    assert NamePattern.parse("mlflow.*.autolog").matches("mlflow.sklearn.autolog", ())
    assert not NamePattern.parse("mlflow.*.autolog").matches("mlflow.autolog", ())
    assert NamePattern.parse("airflow.DAG(schedule)").matches("airflow.DAG", ("dag_id", "schedule"))
    assert not NamePattern.parse("airflow.DAG(schedule)").matches("airflow.DAG", ("dag_id",))
    sep = "\x1f"
    assert key_path_regex("**.canary").fullmatch(f"a{sep}b{sep}canary")
    assert key_path_regex("**.canary").fullmatch("canary")
    assert not key_path_regex("jobs.*.steps").fullmatch(f"jobs{sep}a{sep}b{sep}steps")


def test_python_that_does_not_parse_is_skipped_not_guessed():
    assert parse_python("print 'python 2'\nimport mlflow\nmlflow.log_param('a', 1)\n") is None
