"""False rollbacks and power of level 5's automatic rollback rule (rollback.py), by simulation.

    python benchmarks/bench_rollback.py [--trials 4000]

The rule's statistics are the generated project's own: live_statistics.py is loaded from
templates/level5 and run with the project's defaults (rollback.max_relative_drop 0.1, alpha 0.05).
A champion is rolled back when the live metric of its latest window with enough labels is
significantly worse than 10% off its holdout score. Both scores are estimates: each trial draws
the holdout (its few hundred rows decide the score the rule compares with) and one window of
labelled live rows, then applies the rule. Printed per setting, with 95% Wilson intervals:

- false rollbacks: windows judged degraded when the champion is exactly as good live as it truly
  is on its holdout; and the share of champions rolled back at least once in 30 checks (a month
  of daily windows, each with fresh labels, all against the same holdout score: an unlucky holdout
  stays unlucky, so the checks are not independent);
- power: windows judged degraded when the live metric really dropped by 15%, 20% and 30%; at
  a drop of exactly 10%, the line itself, the rule is built to fire in at most `alpha` of them.

The rule judges the project's primary metric: accuracy, rmse and mae by their per-row losses (the
first two tables; mae's test is rmse's on absolute errors), f1, roc_auc and r2 by a z-test with
standard errors from the delta method (the last table), on the simulated models of
bench_canary.py: the true metric is known exactly, and a drop of 20% is a model whose true
metric is 0.8 x the holdout's (for r2: the residuals grow until it is). The r2 rows are why the
project's rollback judges rmse when the primary metric is r2 (rollback.judged_metric): r2 rolled
back 13-18% of unchanged champions within a month, where rmse rolls back 4.5% or fewer.
"""

from __future__ import annotations

import argparse

import numpy as np
from bench_canary import BINARY, confusion, residuals, true_metric
from live_rules import errors, load_statistics, shown
from scipy import optimize, stats

MAX_RELATIVE_DROP, ALPHA = 0.1, 0.05  # params.yaml rollback.max_relative_drop and rollback.alpha
DROPS = (0.1, 0.15, 0.2, 0.3)  # at -10%, right on the line, at most alpha is rolled back
CHECKS = 30  # a month of daily checks


def classification_share(stats_module, rng, accuracy, holdout_rows, labels, drop, trials, alpha, checks=1) -> int:
    """Trials in which any of `checks` windows (one holdout, fresh live labels each) is judged
    degraded, when the true live accuracy is `accuracy` x (1 - drop)."""
    fired = 0
    for _ in range(trials):
        holdout = errors(rng, holdout_rows, 1 - accuracy)
        for _ in range(checks):
            live = errors(rng, labels, 1 - accuracy * (1 - drop))
            _, _, p_value = stats_module.degradation_test("error", live, holdout, MAX_RELATIVE_DROP)
            if p_value < alpha:
                fired += 1
                break
    return fired


def regression_share(stats_module, rng, holdout_rows, labels, drop, trials, alpha, checks=1) -> int:
    """The same for rmse: a drop of 20% is errors 20% larger (normal residuals, sd 1)."""
    fired = 0
    for _ in range(trials):
        holdout = rng.normal(0, 1, holdout_rows) ** 2
        for _ in range(checks):
            live = rng.normal(0, 1 + drop, labels) ** 2
            _, _, p_value = stats_module.degradation_test("squared", live, holdout, MAX_RELATIVE_DROP)
            if p_value < alpha:
                fired += 1
                break
    return fired


def metric_draw(stats_module, metric: str, setting: str, level: float):
    """draw(rng, rows, drop): rows of a model whose true `metric` is `level` x (1 - drop)."""
    if metric == "f1":

        def draw(rng, rows: int, drop: float):
            target = level * (1 - drop)
            error = optimize.brentq(lambda e: true_metric("f1", confusion(BINARY, e)) - target, 0, 0.5)
            pairs = np.repeat(np.arange(4), rng.multinomial(rows, confusion(BINARY, error).ravel()))
            return stats_module.Rows(pairs // 2, pairs % 2)

    elif metric == "roc_auc":

        def draw(rng, rows: int, drop: float):
            separation = np.sqrt(2) * stats.norm.ppf(level * (1 - drop))
            truth = (rng.random(rows) < 0.37).astype(int)
            score = rng.normal(0, 1, rows) + separation * truth
            return stats_module.Rows(truth, (score > separation / 2).astype(int), np.c_[-score, score], (0, 1))

    else:  # r2: a signal of variance 1, residuals of variance 1 (r2 `level` 0.5), larger when dropped

        def draw(rng, rows: int, drop: float):
            scale = np.sqrt((1 - level * (1 - drop)) / (1 - level))
            signal, noise = rng.normal(0, 1, rows), residuals(rng, rows, setting)
            return stats_module.Rows(signal + noise, signal - (scale - 1) * noise)

    return draw


def metric_share(stats_module, rng, metric, draw, holdout_rows, labels, drop, trials, alpha, checks=1) -> int:
    """The same for f1, roc_auc and r2 (metric_degradation_test on simulated rows)."""
    fired = 0
    for _ in range(trials):
        holdout = draw(rng, holdout_rows, 0.0)
        for _ in range(checks):
            _, _, p_value = stats_module.metric_degradation_test(
                metric, draw(rng, labels, drop), holdout, MAX_RELATIVE_DROP
            )
            if p_value < alpha:
                fired += 1
                break
    return fired


def print_row(label: str, cells: list[int], trials: int) -> None:
    shares = " ".join(f"{shown(hits, trials):>20}" for hits in cells)
    print(f"{label:<34} {shares}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=4000)
    parser.add_argument("--alpha", type=float, default=ALPHA, help="rollback.alpha")
    parser.add_argument("--task", choices=["both", "classification", "regression"], default="both")
    parser.add_argument("--delta-only", action="store_true", help="only the f1, roc_auc and r2 table")
    args = parser.parse_args()
    stats_module = load_statistics()
    rng = np.random.default_rng(0)
    run = (args.trials, args.alpha)
    print(
        f"rolled back when significantly (p < {args.alpha}) worse than {MAX_RELATIVE_DROP:.0%} off the "
        f"holdout score; {args.trials} windows per cell, 95% Wilson intervals"
    )
    drops = " ".join(f"{f'power -{drop:.0%}':>20}" for drop in DROPS)
    header = f"{'setting':<34} {'false, 1 check':>20} {f'false, {CHECKS} checks':>20} {drops}"
    if args.task != "regression" and not args.delta_only:
        print_classification(stats_module, rng, header, run)
    if args.task != "classification" and not args.delta_only:
        print_regression(stats_module, rng, header, run)
    print_other_metrics(stats_module, rng, header, run, args.task)


def print_classification(stats_module, rng, header: str, run: tuple) -> None:
    print("\nclassification (accuracy)")
    print(header)
    for accuracy in (0.95, 0.8):
        for holdout_rows in (114, 1000):
            for labels in (200, 1000):
                cell = (stats_module, rng, accuracy, holdout_rows, labels)
                cells = [classification_share(*cell, drop, *run) for drop in (0.0, *DROPS)]
                cells.insert(1, classification_share(*cell, 0.0, *run, checks=CHECKS))
                print_row(f"accuracy {accuracy}, holdout {holdout_rows}, {labels} labels", cells, run[0])


def print_regression(stats_module, rng, header: str, run: tuple) -> None:
    print("\nregression (rmse, normal residuals)")
    print(header)
    for holdout_rows in (89, 1000):
        for labels in (200, 1000):
            cell = (stats_module, rng, holdout_rows, labels)
            cells = [regression_share(*cell, drop, *run) for drop in (0.0, *DROPS)]
            cells.insert(1, regression_share(*cell, 0.0, *run, checks=CHECKS))
            print_row(f"holdout {holdout_rows}, {labels} labels", cells, run[0])


def print_other_metrics(stats_module, rng, header: str, run: tuple, task: str) -> None:
    settings = []
    if task != "regression":
        settings += [("f1", "2 classes", 0.95, 114, 200), ("f1", "2 classes", 0.8, 114, 200)]
        settings += [("f1", "2 classes", 0.95, 114, 1000), ("roc_auc", "binormal", 0.95, 114, 200)]
        settings += [("roc_auc", "binormal", 0.85, 114, 200)]
    if task != "classification":
        settings += [("r2", "normal", 0.5, 89, 200), ("r2", "normal", 0.5, 89, 1000), ("r2", "t5", 0.5, 89, 200)]
    print("\nf1, roc_auc, r2 (delta method)")
    print(header)
    for metric, setting, level, holdout_rows, labels in settings:
        draw = metric_draw(stats_module, metric, setting, level)
        cell = (stats_module, rng, metric, draw, holdout_rows, labels)
        cells = [metric_share(*cell, drop, *run) for drop in (0.0, *DROPS)]
        cells.insert(1, metric_share(*cell, 0.0, *run, checks=CHECKS))
        print_row(f"{metric} {level} {setting}, holdout {holdout_rows}, {labels}", cells, run[0])


if __name__ == "__main__":
    main()
