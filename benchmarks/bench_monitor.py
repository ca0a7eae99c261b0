"""Level 3's drift report (`python -m <package> monitor`) vs a bare Evidently call on the same data.

    python benchmarks/bench_monitor.py [--rounds 5] [--rows 500]

It renders a level-3 project, trains a champion, and fills the prediction log with `--rows`
logged inputs (rows of the holdout split, as the service would log them). Then, alternating:

- ours: `python -m <package> monitor`: reads the window from the log, rebuilds the training
  reference, runs Evidently's data-drift preset, writes the HTML report and the JSON summary;
- bare: the script a user would write instead: read the same window from the same SQLite file
  with pandas, split the same scikit-learn dataset the same way, run the same preset and save
  the HTML report.

Both run as fresh processes, so both pay their imports, as a scheduled job would.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from bench_serving import PACKAGE, holdout_rows, render_and_train, run
from timing import alternate, report

BARE_SCRIPT = """
import json, sqlite3, sys
import pandas as pd
from evidently import DataDefinition, Dataset, Report
from evidently.presets import DataDriftPreset
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split

rows = int(sys.argv[1])
with sqlite3.connect("predictions.db") as db:
    logged = pd.read_sql(f"SELECT inputs FROM predictions ORDER BY id DESC LIMIT {rows}", db)
current = pd.DataFrame([json.loads(text) for text in logged["inputs"][::-1]])
x, y = load_breast_cancer(return_X_y=True, as_frame=True)
x.columns = [name.replace(" ", "_") for name in x.columns]  # the names the project logs
reference = train_test_split(x, y, test_size=0.2, random_state=42, stratify=y)[0]
definition = DataDefinition(numerical_columns=list(reference.columns))
snapshot = Report([DataDriftPreset(drift_share=0.5)], include_tests=True).run(
    Dataset.from_pandas(current[reference.columns], data_definition=definition),
    Dataset.from_pandas(reference, data_definition=definition),
)
snapshot.save_html("bare_report.html")
"""

FILL_LOG = """
import json, sys, time
import numpy as np
from {package}.config import load_params, prediction_log_url
from {package}.prediction_log import PredictionLog, Served

rows = json.loads(sys.stdin.read())
count = int(sys.argv[1])
features = list(rows[0])
log = PredictionLog(prediction_log_url(load_params()), features)
log.start()
for index in range(count):
    values = np.array([[rows[index % len(rows)][name] for name in features]], dtype=np.float64)
    log.record(Served(f"bench-{{index}}", "1", time.time(), values, [0]))
log.close()
"""


def fill_prediction_log(project: Path, env: dict[str, str], count: int) -> None:
    """Write `count` holdout rows into the project's prediction log, the way the service does."""
    rows = holdout_rows(project, env)
    run([sys.executable, "-c", FILL_LOG.format(package=PACKAGE), str(count)], project, env, input=json.dumps(rows))


def no_setup(_round: int) -> None:
    """Nothing to prepare between rounds: both only read the log and write a report."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--rows", type=int, default=500, help="logged predictions in the window")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-monitor-") as tmp:
        project, env = render_and_train(Path(tmp), None)
        fill_prediction_log(project, env, args.rows)
        monitor = [sys.executable, "-m", PACKAGE, "monitor"]
        bare = [sys.executable, "-c", BARE_SCRIPT, str(args.rows)]
        samples = alternate(
            {
                # monitor exits 1 when it detects drift: a verdict, not a failure
                "monitor command": (no_setup, lambda _: run(monitor, project, env, allowed=(0, 1))),
                "bare Evidently script": (no_setup, lambda _: run(bare, project, env)),
            },
            args.rounds,
        )
    report(
        f"Drift report over {args.rows} logged predictions, {args.rounds} rounds",
        samples,
        ours="monitor command",
        theirs="bare Evidently script",
        target="< 1.2x: the log, the summary and the checks add little to Evidently itself",
    )


if __name__ == "__main__":
    main()
