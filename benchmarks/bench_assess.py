"""`mlops-ladder assess` on a generated 10,000-file repository, against `grep -r` for the same keywords.

The grep baseline is what a user might write instead: search the whole tree for the tool names the
catalogue looks for. It finds words (comments and READMEs included) and skips nothing; assess parses
what it reads and skips data, environments and .git. Target: assess under 2 s on 2 cores.

Assess parses a Python file only when it may hold evidence still wanted, so a usual repository (where
common evidence fills up early) is cheap. `--every-file-parsed` is the worst case: every module imports
FastAPI for a type annotation without creating an app, so every one of them has to be parsed.

Run: python benchmarks/bench_assess.py [--files 10000] [--rounds 5] [--every-file-parsed]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from timing import REPO, alternate, console, report

from mlops_ladder.assess_catalogue import load_catalogue
from mlops_ladder.assess_detect import PythonIndex

# Share of the files by kind, like a mid-sized ML monorepo with its data and an environment checked out.
MIX = {
    "module": 0.40,
    "test": 0.15,
    "notebook": 0.03,
    "yaml": 0.08,
    "markdown": 0.10,
    "csv": 0.15,
    "binary": 0.04,
    "venv": 0.05,
}
TARGET_SECONDS = 2.0


def module_text(rng: random.Random, number: int, worst_case: bool = False) -> str:
    imports = ["import numpy as np", "import pandas as pd"]
    if rng.random() < 0.2:
        imports.append("from sklearn.ensemble import RandomForestClassifier")
    if rng.random() < 0.02:
        imports.append("import mlflow")
    body = [f'"""Module {number}: feature helpers."""', "", *imports, ""]
    for function in range(8):
        body += [
            f"def transform_{function}(frame: pd.DataFrame, scale: float = {rng.random():.3f}) -> pd.DataFrame:",
            '    """Scale the numeric columns and fill the gaps."""',
            "    numeric = frame.select_dtypes(include=np.number)",
            "    filled = numeric.fillna(numeric.median())",
            f"    return filled * scale + {function}",
            "",
        ]
    if "import mlflow" in imports:
        body += ["def log(run_params):", "    mlflow.log_params(run_params)", ""]
    if worst_case:
        body[3:3] = ["from fastapi import FastAPI"]
        body += ["def routes(app: FastAPI) -> None:", "    app.get('/health')(lambda: {'ok': True})", ""]
    return "\n".join(body)


def test_text(number: int) -> str:
    tests = [f"def test_case_{i}():\n    assert {number} + {i} == {number + i}\n" for i in range(5)]
    return "\n".join(tests)


def notebook_text(rng: random.Random) -> str:
    cells = [{"cell_type": "markdown", "metadata": {}, "source": ["# Exploration\n", "We try MLflow later.\n"]}]
    for i in range(10):
        source = ["import pandas as pd\n", f"frame = pd.DataFrame({{'x': range({i + 10})}})\n", "frame.describe()\n"]
        if i == 3 and rng.random() < 0.5:
            source = ["%matplotlib inline\n", "from sklearn.linear_model import LogisticRegression\n"]
        cells.append({"cell_type": "code", "metadata": {}, "execution_count": i, "outputs": [], "source": source})
    return json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5})


def yaml_text(number: int) -> str:
    return "\n".join(
        [
            "apiVersion: apps/v1",
            "kind: Deployment",
            f"metadata:\n  name: service-{number}\n  labels:\n    app: service-{number}",
            "spec:\n  replicas: 2\n  template:\n    spec:\n      containers:",
            f"        - name: app\n          image: registry.local/app:{number}",
            "          ports:\n            - containerPort: 8000",
        ]
    )


def generate(root: Path, files: int, seed: int = 7, worst_case: bool = False) -> None:
    rng = random.Random(seed)
    counts = {kind: int(files * share) for kind, share in MIX.items()}
    counts["module"] += files - sum(counts.values())
    writers = {
        "module": lambda i: (f"src/pkg{i % 40}/module_{i}.py", module_text(rng, i, worst_case)),
        "test": lambda i: (f"tests/unit_{i % 20}/test_module_{i}.py", test_text(i)),
        "notebook": lambda i: (f"notebooks/analysis_{i}.ipynb", notebook_text(rng)),
        "yaml": lambda i: (f"deploy/service_{i}.yaml", yaml_text(i)),
        "markdown": lambda i: (f"docs/page_{i}.md", f"# Page {i}\n\nWe use mlflow.log_params and Prefect flows.\n"),
        "csv": lambda i: (f"data/raw/part_{i}.csv", "a,b,c\n" + "1,2,3\n" * 200),
        "binary": lambda i: (f"assets/image_{i}.png", rng.randbytes(2048)),
        "venv": lambda i: (f".venv/lib/python3.11/site-packages/lib{i}.py", "import mlflow\nmlflow.log_params({})\n"),
    }
    for kind, count in counts.items():
        for i in range(count):
            rel, content = writers[kind](i)
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content, encoding="utf-8")
    (root / ".venv" / "pyvenv.cfg").write_text("home = /usr/bin\n")
    for i in range(40):
        (root / f"src/pkg{i}/__init__.py").write_text("")


def keywords() -> str:
    """The words assess's Python detectors look for, as one extended regular expression for grep."""
    index = PythonIndex(load_catalogue().practices)
    return "|".join(sorted({word for needs in index.needs.values() for need in needs for word in need}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--every-file-parsed", action="store_true", help="the worst case: every module is parsed")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="bench-assess-"))
    repo = scratch / "repo"
    generate(repo, args.files, worst_case=args.every_file_parsed)
    total = sum(1 for path in repo.rglob("*") if path.is_file())
    console.print(f"Generated {total:,} files in {repo}")
    assess = [sys.executable, "-m", "mlops_ladder", "assess", str(repo), "--json"]
    grep = ["grep", "-rlwE", keywords(), str(repo)]
    output = json.loads(subprocess.run(assess, capture_output=True, check=True, text=True, cwd=REPO).stdout)
    console.print(f"assess: level {output['level']}, {output['scan']['files']:,} files seen")
    contenders = {
        "mlops-ladder assess": (lambda i: None, lambda i: subprocess.run(assess, capture_output=True, check=True)),
        "grep -rlwE keywords": (lambda i: None, lambda i: subprocess.run(grep, capture_output=True)),
    }
    samples = alternate(contenders, args.rounds)
    report(f"Assessing {total:,} files", samples, "mlops-ladder assess", "grep -rlwE keywords", "assess < 2 s")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(assess, capture_output=True, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    console.print(f"assess CPU time, one run: {cpu:.2f} s (wall time above includes waiting for a busy machine)")
    best = min(samples["mlops-ladder assess"])
    median = sorted(samples["mlops-ladder assess"])[len(samples["mlops-ladder assess"]) // 2]
    verdict = "[green]met[/]" if median < TARGET_SECONDS else "[red]missed[/]"
    console.print(f"assess median {median:.2f} s (best {best:.2f} s): target {TARGET_SECONDS} s {verdict}")
    shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
