"""False alarms and power of level 4's performance threshold (performance.max_relative_drop).

    python benchmarks/bench_performance_threshold.py [--trials 20000]

A window is "degraded" when its accuracy is more than `max_relative_drop` (10%) below the accuracy
on the training holdout, judged only with at least `min_labels` labels. Both accuracies are
estimates: the holdout's from its few hundred rows, the window's from its labels. This simulates
both draws (each prediction right with its true probability) and prints, per holdout accuracy and
window size:

- false alarms: the share of windows called degraded when the model is exactly as good as on the
  holdout;
- power: the share called degraded when the true accuracy fell by 15% and by 25% (relative).
"""

from __future__ import annotations

import argparse

import numpy as np

MAX_RELATIVE_DROP = 0.1  # params.yaml performance.max_relative_drop
HOLDOUT_ROWS = (114, 1000)  # breast_cancer's test split; a larger project's
WINDOW_LABELS = (50, 100, 200, 1000)


def degraded_share(rng, accuracy: float, holdout_accuracy: float, holdout_rows: int, labels: int, trials: int):
    holdout = rng.binomial(holdout_rows, holdout_accuracy, trials) / holdout_rows
    window = rng.binomial(labels, accuracy, trials) / labels
    return float(((holdout - window) / holdout > MAX_RELATIVE_DROP).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20000)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    print(f"threshold: accuracy over {MAX_RELATIVE_DROP:.0%} below the holdout's; {args.trials} windows per cell")
    print(
        f"{'holdout acc':>11} {'holdout n':>9} {'labels':>6} {'false alarms':>12} {'power -15%':>10} {'power -25%':>10}"
    )
    for accuracy in (0.95, 0.8):
        for holdout_rows in HOLDOUT_ROWS:
            for labels in WINDOW_LABELS:
                cells = [
                    degraded_share(rng, accuracy * (1 - drop), accuracy, holdout_rows, labels, args.trials)
                    for drop in (0.0, 0.15, 0.25)
                ]
                shares = f"{cells[0]:>12.1%} {cells[1]:>10.1%} {cells[2]:>10.1%}"
                print(f"{accuracy:>11.2f} {holdout_rows:>9} {labels:>6} {shares}")


if __name__ == "__main__":
    main()
