"""Level 5's `make simulate` at its default setting: end-to-end time, and drift onset to the new
champion serving.

    python benchmarks/bench_simulate.py [--dataset breast_cancer] [--task classification] [--runs 2]

It renders a level-5 project (git-initialised: the compliance gate checks the code's commit), then
runs `python -m <package> simulate` as a fresh process `--runs` times, as a user would. Each run
replays the default stream (40 batches of 50 rows, 3 columns drifting from batch 12, labels 2 batches late)
through the real service, monitoring, retraining with both gates, reload and rollback. It prints
the wall time of each run, the simulation's own figures (batches and seconds from drift onset to
the new champion serving, seconds from the bad model's promotion to its rollback), and whether the
runs took the same decisions (same seed: they must).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import copier

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
PACKAGE = "bench_simulate"
METRICS = {"classification": "f1", "regression": "rmse"}


def render(folder: Path, dataset: str, task: str) -> Path:
    project = folder / "project"
    answers = {
        "level": 5,
        "project_name": "Bench Simulate",
        "package_name": PACKAGE,
        "task": task,
        "dataset": dataset,
        "primary_metric": METRICS[task],
    }
    copier.run_copy(str(TEMPLATES), project, data=answers, defaults=True, quiet=True, unsafe=False)
    for command in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "Scaffold"]):
        subprocess.run(["git", *command], cwd=project, check=True)
    return project


def simulate(project: Path) -> tuple[float, dict]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "PREFECT_"))}
    env["PYTHONPATH"] = str(project / "src")
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", PACKAGE, "simulate"], cwd=project, env=env, capture_output=True, text=True
    )
    elapsed = time.perf_counter() - started
    if result.returncode not in (0, 1):  # 1: a check of the loop failed (named in the summary); still a result
        sys.exit(f"simulate exited {result.returncode}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    summary = json.loads((project / "reports" / "simulation" / "simulation.json").read_text("utf-8"))
    return elapsed, summary


def decisions(summary: dict) -> dict:
    """What must repeat with the same seed: everything but wall times and file paths."""
    events = [{k: v for k, v in event.items() if k != "seconds"} for event in summary["events"]]
    return {"batches": summary["batches"], "events": events, "retrains": summary["retrains"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="breast_cancer", choices=["breast_cancer", "wine", "diabetes"])
    parser.add_argument("--task", default="classification", choices=sorted(METRICS))
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        project = render(Path(folder), args.dataset, args.task)
        runs = [simulate(project) for _ in range(args.runs)]
        figures = [(project / "reports" / "simulation" / "simulation.png").read_bytes()]
    for number, (elapsed, summary) in enumerate(runs, start=1):
        champion, rollback = summary["new_champion"], summary["rollback"] or {}
        onset = (
            "no new champion"
            if champion is None
            else f"{champion['batches_after_onset']} batches, {champion['seconds_after_onset']:.1f} s"
        )
        print(
            f"run {number}: {elapsed:.1f} s end to end ({summary['seconds']:.1f} s inside the simulation); "
            f"drift onset -> new champion serving: {onset}; detected at batch {summary['detected_batch']} "
            f"(onset {summary['drift']['onset_batch']}), {summary['false_alarms_before_onset']} alarm(s) before; "
            f"retrains {len(summary['retrains'])} ({sum(r['promoted'] for r in summary['retrains'])} promoted); "
            f"bad model rolled back after {rollback.get('seconds_to_rollback')} s "
            f"(batch {rollback.get('promoted_batch')} -> {rollback.get('rolled_back_batch')})"
        )
        damage = summary["drift"]["champion_holdout"]
        print(
            f"       drifted {', '.join(summary['drift']['features'])}: first champion's holdout "
            f"{summary['metric']} {damage['before']} -> {damage['drifted']} ({damage['worse_by']:+.1%} worse)"
        )
        print(f"       mean {summary['metric']} per phase: {summary['mean_metric']}")
        failed = [check["check"] for check in summary["checks"] if not check["passed"]]
        print(f"       checks: {'all passed (exit 0)' if not failed else 'FAILED: ' + '; '.join(failed)}")
    same = all(decisions(summary) == decisions(runs[0][1]) for _, summary in runs)
    print(f"same decisions, metrics and drift scores in all {len(runs)} runs: {same}; figure {len(figures[0])} bytes")


if __name__ == "__main__":
    main()
