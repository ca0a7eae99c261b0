"""False aborts and power of level 5's canary decision (canary.py), by simulation.

    python benchmarks/bench_canary.py [--trials 4000]

The decision's statistics are the generated project's own: live_statistics.py is loaded from
templates/level5 and run with the project's defaults (canary.detect_worse_by 0.02 for
classification and 0.1 for regression, alpha 0.05, power 0.8). Each simulated canary:

1. the champion's holdout is drawn (its per-row errors or losses), and the required number of
   labelled rows N is computed from it, as `canary status` does;
2. N labelled canary rows and `ratio` x N labelled champion rows are drawn from the same live
   traffic (ratio 1: the smallest champion sample the rule accepts; 9: a 10% canary share);
3. the one-sided test decides: abort or promote.

Printed per setting: the mean N (and its range over holdout draws), the share of equally good
canaries aborted (false aborts) and of canaries worse by the stated difference aborted (power),
each with a 95% Wilson interval.
"""

from __future__ import annotations

import argparse

import numpy as np
from live_rules import errors, load_statistics, shown

ALPHA, POWER = 0.05, 0.8
CLASSIFICATION_WORSE_BY = 0.02  # params.yaml canary.detect_worse_by, classification
REGRESSION_WORSE_BY = 0.1  # ... regression: rmse 10% higher


def classification_cell(stats_module, rng, accuracy: float, holdout_rows: int, ratio: int, trials: int):
    """(rows needed per trial, false aborts, aborts of a canary two points worse)."""
    needed, false_aborts, caught = [], 0, 0
    error = 1 - accuracy
    for _ in range(trials):
        baseline = errors(rng, holdout_rows, error)
        n = stats_module.required_rows("error", baseline, CLASSIFICATION_WORSE_BY, ALPHA, POWER)
        needed.append(n)
        champion = errors(rng, n * ratio, error)
        _, p_equal = stats_module.worse_test("error", errors(rng, n, error), champion)
        _, p_worse = stats_module.worse_test("error", errors(rng, n, error + CLASSIFICATION_WORSE_BY), champion)
        false_aborts += p_equal < ALPHA
        caught += p_worse < ALPHA
    return needed, false_aborts, caught


def residuals(rng, rows: int, tails: str) -> np.ndarray:
    if tails == "normal":
        return rng.normal(0, 1, rows)
    return rng.standard_t(5, rows)  # heavier tails than normal: outliers in the squared errors


def regression_cell(stats_module, rng, tails: str, holdout_rows: int, ratio: int, trials: int):
    """The same for squared errors (rmse): a canary whose errors are 10% larger."""
    needed, false_aborts, caught = [], 0, 0
    scale = 1 + REGRESSION_WORSE_BY
    for _ in range(trials):
        baseline = residuals(rng, holdout_rows, tails) ** 2
        n = stats_module.required_rows("squared", baseline, REGRESSION_WORSE_BY, ALPHA, POWER)
        needed.append(n)
        champion = residuals(rng, n * ratio, tails) ** 2
        _, p_equal = stats_module.worse_test("squared", residuals(rng, n, tails) ** 2, champion)
        _, p_worse = stats_module.worse_test("squared", (scale * residuals(rng, n, tails)) ** 2, champion)
        false_aborts += p_equal < ALPHA
        caught += p_worse < ALPHA
    return needed, false_aborts, caught


def print_row(label: str, needed: list[int], false_aborts: int, caught: int, trials: int) -> None:
    rows = f"{np.mean(needed):7.0f} ({min(needed)}-{max(needed)})"
    print(f"{label:<40} {rows:>20} {shown(false_aborts, trials):>24} {shown(caught, trials):>24}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=4000)
    args = parser.parse_args()
    stats_module = load_statistics()
    rng = np.random.default_rng(0)
    print(f"alpha {ALPHA}, power {POWER}; {args.trials} simulated canaries per row, 95% Wilson intervals")
    header = f"{'setting':<40} {'N per version':>20} {'false aborts (equal)':>24} {'aborts (worse)':>24}"
    print("\nclassification: a canary 2 points of accuracy worse")
    print(header)
    for accuracy in (0.95, 0.8):
        for holdout_rows in (114, 1000):
            for ratio in (1, 9):
                cell = classification_cell(stats_module, rng, accuracy, holdout_rows, ratio, args.trials)
                label = f"accuracy {accuracy}, holdout {holdout_rows}, champion {ratio}xN"
                print_row(label, *cell, args.trials)
    print("\nregression (rmse): a canary whose errors are 10% larger")
    print(header)
    for tails in ("normal", "t5"):
        for holdout_rows in (89, 1000):
            for ratio in (1, 9):
                cell = regression_cell(stats_module, rng, tails, holdout_rows, ratio, args.trials)
                label = f"residuals {tails}, holdout {holdout_rows}, champion {ratio}xN"
                print_row(label, *cell, args.trials)


if __name__ == "__main__":
    main()
