"""Level 4's drift statistics on a 1M-row window x 10 features, next to what a user would run instead.

    python benchmarks/bench_monitor_scale.py [--rows 1000000] [--reference-rows 100000]
        [--end-to-end [--rounds N] | --only-end-to-end [--rounds N]]

Each contender runs in a fresh process on the same synthetic data (10 normal features, two of them
shifted by 0.3 sigma; the training reference has `--reference-rows` rows), and reports its time
and the process's peak memory (data included; the `data only` line is that floor):

- ours: level 4's `drift_statistics.assess` (loaded by path from the template), i.e. KS against the
  saved 5,000-value reference sample, PSI over the saved bins, Holm, and the data-quality checks,
  from the reference summaries that training saves;
- evidently: a bare `Report([DataDriftPreset()]).run(current, reference)` (defaults: Wasserstein
  above 1,000 reference rows), no HTML, on the full reference;
- ks loop: `scipy.stats.ks_2samp(reference[c], current[c])` for each column, full reference.

Targets (issue 11): ours under 10 s and under 1 GB, at least 5x faster than bare Evidently.

With `--end-to-end` it also renders a level-4 regression project (diabetes: 10 numeric features),
trains its champion, fills its SQLite prediction log with `--rows` logged predictions, and times
`python -m <package> monitor` in a fresh process (the whole command: imports, MLflow, reading the
log, the statistics, the JSON summary), with the HTML off and on (its default 5,000-row sample,
drawn by a second process), `--rounds` times each, alternating. CPU time and peak memory count
every process the command starts (peak: the sum of each process's own peak, an upper bound of
what they held at once). Last, a bare Evidently `DataDriftPreset` runs in a fresh process on the
same window and the project's training split, handed over as ready frames (no log to read).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from project_harness import GeneratedProject

REPO = Path(__file__).resolve().parents[1]
MODULE = REPO / "templates" / "level4" / "src" / "{{package_name}}" / "drift_statistics.py"
FEATURES = 10
SHIFTED = ("f0", "f1")


def make_data(rows: int, reference_rows: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(0)
    columns = [f"f{i}" for i in range(FEATURES)]
    reference = pd.DataFrame(rng.normal(size=(reference_rows, FEATURES)), columns=columns)
    current = pd.DataFrame(rng.normal(size=(rows, FEATURES)), columns=columns)
    for name in SHIFTED:
        current[name] += 0.3
    return reference, current


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def run_ours(reference: pd.DataFrame, current: pd.DataFrame) -> float:
    sys.path.insert(0, str(Path(__file__).parent))
    from bench_drift_statistics import load_drift_statistics

    ds = load_drift_statistics()
    summaries = {}
    for name in reference.columns:  # what training saves, computed before the clock starts
        values = reference[name].to_numpy()
        summaries[name] = ds.summarize_numbers(values, values[: ds.REFERENCE_SAMPLE_ROWS])
    limits = {name: ds.Thresholds() for name in summaries}
    import scipy.stats  # noqa: F401  (the module imports it at its first test; not timed here)

    started = time.perf_counter()
    report = ds.assess(summaries, current, limits, alpha=0.01, min_rows=100)
    elapsed = time.perf_counter() - started
    drifted = sorted(name for name, column in report.items() if column["drift"]["verdict"] == ds.DRIFT)
    assert drifted == list(SHIFTED), drifted
    return elapsed


def run_evidently(reference: pd.DataFrame, current: pd.DataFrame) -> float:
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    definition = DataDefinition(numerical_columns=list(reference.columns))
    started = time.perf_counter()
    Report([DataDriftPreset()], include_tests=True).run(
        Dataset.from_pandas(current, data_definition=definition),
        Dataset.from_pandas(reference, data_definition=definition),
    )
    return time.perf_counter() - started


def run_ks_loop(reference: pd.DataFrame, current: pd.DataFrame) -> float:
    from scipy import stats

    started = time.perf_counter()
    for name in reference.columns:
        stats.ks_2samp(reference[name].to_numpy(), current[name].to_numpy())
    return time.perf_counter() - started


CONTENDERS = {"data only": None, "ours": run_ours, "evidently": run_evidently, "ks loop": run_ks_loop}


def child(name: str, rows: int, reference_rows: int) -> None:
    """Run one contender in this process and print its time and peak memory as JSON."""
    reference, current = make_data(rows, reference_rows)
    contender = CONTENDERS[name]
    seconds = contender(reference, current) if contender else 0.0
    print(json.dumps({"seconds": seconds, "peak_mb": peak_mb()}))


def measure(name: str, rows: int, reference_rows: int) -> dict:
    command = [sys.executable, __file__, "--child", name, "--rows", str(rows), "--reference-rows", str(reference_rows)]
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


# --- the whole `monitor` command on a real prediction log -----------------------------------------

FILL_LOG = """
import sqlite3, sys
import numpy as np
import orjson
import mlflow
import pandas as pd
from {package}.config import load_params, prediction_log_url
from {package}.data import load_training_data
from {package}.prediction_log import make_engine, metadata
from {package}.registry import get_champion
from {package}.tracking import tracking_uri

params = load_params()
mlflow.set_tracking_uri(tracking_uri(params))
version = str(get_champion(params).version)
split = load_training_data(params).split
x = split.x_test
url = prediction_log_url(params)
metadata.create_all(make_engine(url))  # the service's own table
rows, folder = int(sys.argv[1]), sys.argv[2]
rng = np.random.default_rng(0)
names = list(x.columns)
picked = x.to_numpy()[rng.integers(0, len(x), rows)] + rng.normal(0, 0.001, (rows, len(names)))
outputs = rng.normal(150, 50, rows)
# Straight through sqlite3: the service's batched writer would take minutes for a million rows.
with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
    db.executemany(
        "INSERT INTO predictions (request_id, row, model_version, created_at, inputs, prediction)"
        " VALUES (?, 0, ?, '2026-01-01 00:00:00.000000', ?, ?)",
        (
            (f"r{{i}}", version, orjson.dumps(dict(zip(names, values))).decode(), orjson.dumps(output).decode())
            for i, (values, output) in enumerate(zip(picked.tolist(), outputs.tolist()))
        ),
    )
# The same data as frames, for bare Evidently: the logged window and the training split.
pd.DataFrame(picked, columns=names).to_parquet(f"{{folder}}/window.parquet")
split.x_train.to_parquet(f"{{folder}}/reference.parquet")
"""


@dataclass
class Measured:
    """One process tree's wall time, CPU time (every process) and peak memory (every process)."""

    wall: float
    cpu: float
    peak_mb: float  # the sum of every process's own peak
    peaks_mb: list[float]  # each process's peak, largest first
    returncode: int
    stdout: str
    stderr: str


def descendants(pid: int) -> list[int]:
    """`pid` and every process below it, from Linux's /proc (children are listed per thread)."""
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        found.append(current)
        for children in Path(f"/proc/{current}/task").glob("*/children"):
            try:
                pending += [int(child) for child in children.read_text().split()]
            except OSError:  # the thread or the process just ended
                continue
    return found


def record_peaks(root: int, peaks: dict[int, float]) -> None:
    """Record the peak resident memory (VmHWM) so far of `root` and of each of its descendants.

    A child between fork and exec (`git`, started by the audit trail) still shows its parent's
    memory and command line: it is skipped until it runs its own program, or it would count the
    parent twice. (The HTML process is spawned: a program of its own from the start.)
    """
    for pid in descendants(root):
        try:
            status = Path(f"/proc/{pid}/status").read_text()
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
            parent = next(line.split()[1] for line in status.splitlines() if line.startswith("PPid:"))
            if pid != root and command == Path(f"/proc/{parent}/cmdline").read_bytes():
                continue
        except (OSError, StopIteration):
            continue
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                peaks[pid] = max(peaks.get(pid, 0.0), int(line.split()[1]) / 1024)


def measure_command(command: list[str], cwd: Path, env: dict[str, str]) -> Measured:
    """Run `command`; its wall time, the CPU time of it and of every process it waited for, and
    the sum of every process's own peak memory (an upper bound of what they held at once)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peaks: dict[int, float] = {}
    outputs: list[str] = []  # stdout, stderr; read by a thread so that a full pipe never blocks
    reader = threading.Thread(target=lambda: outputs.extend(process.communicate()))
    reader.start()
    while reader.is_alive():
        record_peaks(process.pid, peaks)
        reader.join(0.02)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    each = sorted(peaks.values(), reverse=True)
    return Measured(wall, cpu, sum(each), each, process.returncode, *outputs)


BARE_EVIDENTLY = """
import json, resource, sys, time
started = time.perf_counter()
import pandas as pd
from evidently import DataDefinition, Dataset, Report
from evidently.presets import DataDriftPreset
imported = time.perf_counter()
window = pd.read_parquet(sys.argv[1] + "/window.parquet")
reference = pd.read_parquet(sys.argv[1] + "/reference.parquet")
definition = DataDefinition(numerical_columns=list(reference.columns))
loaded = time.perf_counter()
Report([DataDriftPreset()], include_tests=True).run(
    Dataset.from_pandas(window, data_definition=definition),
    Dataset.from_pandas(reference, data_definition=definition),
)
print(json.dumps({"import": imported - started, "run": time.perf_counter() - loaded}))
"""


def end_to_end(rows: int, rounds: int) -> None:
    """Render, train, fill the log; then time `monitor` with the HTML off and on, and a bare
    Evidently drift preset on the same window and training data, each in a fresh process."""
    sys.path.insert(0, str(REPO / "tests"))
    from project_harness import generate

    with tempfile.TemporaryDirectory() as folder:
        project = generate(4, Path(folder), task="regression", dataset="diabetes")
        project.run(project.python, "-m", project.package, "train", timeout=600)
        project.run(project.python, "-m", project.package, "promote", timeout=600)
        fill = FILL_LOG.format(package=project.package)
        project.run(project.python, "-c", fill, str(rows), folder, timeout=3600)
        print(f"\nThe whole `python -m {project.package} monitor` on a {rows:,}-row SQLite prediction log")
        print(f"(level 4, diabetes: 10 features + the prediction; load before: {load_average()})")
        print(f"{'run':<34} {'wall s':>7} {'CPU s':>7} {'peak MB':>8}  (CPU and memory: every process)")
        results: dict[str, list[Measured]] = {label: [] for label in RUNS}
        for _ in range(rounds):  # alternating, so a change in the machine's load hits both alike
            for label, html_rows in RUNS.items():
                result = run_monitor(project, rows, html_rows)
                results[label].append(result)
                processes = " + ".join(f"{megabytes:.0f}" for megabytes in result.peaks_mb)
                print(f"{label:<34} {result.wall:>7.2f} {result.cpu:>7.2f} {result.peak_mb:>8.0f}  ({processes})")
        bare = measure_command([project.python, "-c", BARE_EVIDENTLY, folder], project.path, project.env)
        assert bare.returncode == 0, bare.stderr
        seconds = json.loads(bare.stdout.strip().splitlines()[-1])
        print(
            f"{'bare Evidently DataDriftPreset':<34} {bare.wall:>7.2f} {bare.cpu:>7.2f} {bare.peak_mb:>8.0f}"
            f"  (import {seconds['import']:.2f} s, report {seconds['run']:.2f} s; data ready in memory, no HTML)"
        )
        for label, measured in results.items():
            wall = statistics.median(result.wall for result in measured)
            cpu = statistics.median(result.cpu for result in measured)
            peak = max(result.peak_mb for result in measured)
            print(
                f"{label}: {wall:.2f} s wall (target < 10 s), {cpu:.2f} s CPU, {peak:.0f} MB (target < 1024 MB); "
                f"bare Evidently took {bare.wall / wall:.1f}x its wall, {bare.cpu / cpu:.1f}x its CPU (target >= 5x)"
            )
        print(f"load after: {load_average()}")


RUNS = {"monitor, JSON only": 0, "monitor, JSON + HTML (default)": 5000}  # label: html_sample_rows


def run_monitor(project: GeneratedProject, rows: int, html_rows: int) -> Measured:
    """`python -m <package> monitor` on the newest `rows` rows, with `html_rows` in the HTML."""
    params = project.path / "params.yaml"
    text = params.read_text(encoding="utf-8")
    text = re.sub(r"window_rows: \d+ ", f"window_rows: {rows} ", text)
    text = re.sub(r"html_sample_rows: \d+ ", f"html_sample_rows: {html_rows} ", text)
    params.write_text(text, encoding="utf-8")
    reports = project.path / "reports"
    shutil.rmtree(reports, ignore_errors=True)
    result = measure_command([project.python, "-m", project.package, "monitor"], project.path, project.env)
    assert result.returncode in (0, 1, 3), result.stderr  # quiet, alarm, not enough data
    assert f"Checked {rows} logged predictions" in result.stdout, result.stdout
    assert (reports / "drift_report.html").exists() == bool(html_rows)
    return result


def load_average() -> str:
    return ", ".join(f"{value:.2f}" for value in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--reference-rows", type=int, default=100_000)
    parser.add_argument("--end-to-end", action="store_true", help="also time the monitor command")
    parser.add_argument("--rounds", type=int, default=1, help="end-to-end runs of each kind, alternating")
    parser.add_argument("--only-end-to-end", action="store_true", help="skip the synthetic contenders")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.rows, args.reference_rows)
        return
    if args.only_end_to_end:
        end_to_end(args.rows, args.rounds)
        return
    print(f"{args.rows:,} rows x {FEATURES} features, reference {args.reference_rows:,} rows, cores: {os.cpu_count()}")
    results = {name: measure(name, args.rows, args.reference_rows) for name in CONTENDERS}
    ours = results["ours"]["seconds"]
    print(f"{'contender':<24} {'seconds':>9} {'peak MB':>9} {'time / ours':>12}")
    for name, result in results.items():
        ratio = f"{result['seconds'] / ours:.1f}x" if name != "data only" else ""
        print(f"{name:<24} {result['seconds']:>9.2f} {result['peak_mb']:>9.0f} {ratio:>12}")
    print(
        f"ours: {ours:.2f} s (target < 10 s), peak {results['ours']['peak_mb']:.0f} MB (target < 1024 MB), "
        f"{results['evidently']['seconds'] / ours:.1f}x faster than bare Evidently (target >= 5x)"
    )
    if args.end_to_end:
        end_to_end(args.rows, args.rounds)


if __name__ == "__main__":
    main()
