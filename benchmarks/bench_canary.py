"""False aborts and power of level 5's canary decision (canary.py), by simulation, for every
primary metric a project can choose.

    python benchmarks/bench_canary.py [--trials 4000] [--metrics accuracy,f1,...]

All six metrics at 4,000 trials took 32 minutes on two busy cores (roc_auc 14, f1 7, r2 6: their
rules sort or scan tens of thousands of rows per trial); `--metrics` runs some of them.

The decision's statistics are the generated project's own: live_statistics.py is loaded from
templates/level5 and run with the project's defaults (canary.alpha 0.025, power 0.8;
detect_worse_by 0.02, two points, for accuracy, f1, roc_auc and r2, and 0.1, a 10% higher
rmse or mae). Each simulated canary:

1. the champion's holdout is drawn (labels, predictions, scores), and the required number of
   labelled rows N is computed from it, as `canary status` does;
2. N labelled canary rows and `ratio` x N labelled champion rows are drawn from the same live
   traffic (ratio 1: the smallest champion sample the rule accepts; 9: a 10% canary share);
3. the one-sided test on the primary metric decides: abort or promote. Once with a canary exactly
   as good as the champion, once with one whose true metric is worse by detect_worse_by.

The models are simulated so that the true metric is known exactly:
- accuracy, f1: each row is right with a fixed probability per class (the confusion matrix is
  known), on 2 classes (37% positives, like breast_cancer) or 3 equal ones (like wine);
- roc_auc: the binormal model, scores N(0, 1) for negatives and N(mu, 1) for positives,
  AUC = Phi(mu / sqrt(2)); the predicted class is the score above mu / 2;
- rmse, mae, r2: the truth is a signal plus a residual (normal, or Student's t with 5 degrees
  of freedom for heavy tails) with r2 0.5; the worse canary's residuals are larger.

Printed per setting: the mean N (and its range over holdout draws), the share of equally good
canaries aborted (false aborts) and of worse ones aborted (power), each with a 95% Wilson interval.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np
from live_rules import load_statistics, shown
from scipy import optimize, stats

ALPHA, POWER = 0.025, 0.8  # params.yaml canary.alpha and canary.power
POINTS = 0.02  # canary.detect_worse_by for accuracy, f1, roc_auc, r2: two points
SHARE = 0.1  # ... for rmse and mae: 10% higher
BINARY, THREE = (0.63, 0.37), (1 / 3, 1 / 3, 1 / 3)

Draw = Callable[[np.random.Generator, int, bool], object]  # (rng, rows, worse) -> Rows


def confusion(prevalence: tuple[float, ...], error: float) -> np.ndarray:
    """The probabilities of (true class, predicted class): each class is missed with
    probability `error`, the miss spread evenly over the other classes."""
    k = len(prevalence)
    per_class = np.full((k, k), error / (k - 1))
    np.fill_diagonal(per_class, 1 - error)
    return np.asarray(prevalence)[:, None] * per_class


def true_metric(metric: str, cells: np.ndarray) -> float:
    if metric == "accuracy":
        return float(np.trace(cells))
    hits = np.diag(cells)
    return float(np.mean(2 * hits / (cells.sum(axis=0) + cells.sum(axis=1))))  # macro f1


def classes_draw(stats_module, metric: str, prevalence: tuple[float, ...], level: float) -> Draw:
    """Rows of a classifier whose true `metric` is `level` (worse: level - two points)."""

    def error_for(target: float) -> float:
        return optimize.brentq(lambda error: true_metric(metric, confusion(prevalence, error)) - target, 0, 0.5)

    cells = {False: confusion(prevalence, error_for(level)), True: confusion(prevalence, error_for(level - POINTS))}
    k = len(prevalence)

    def draw(rng, rows: int, worse: bool):
        counts = rng.multinomial(rows, cells[worse].ravel())
        pairs = np.repeat(np.arange(k * k), counts)  # the tests ignore the order of the rows
        return stats_module.Rows(pairs // k, pairs % k)

    return draw


def auc_draw(stats_module, positives: float, level: float) -> Draw:
    """Binormal scores with a true AUC of `level` (worse: two points lower)."""
    separation = {worse: np.sqrt(2) * stats.norm.ppf(level - POINTS * worse) for worse in (False, True)}

    def draw(rng, rows: int, worse: bool):
        truth = (rng.random(rows) < positives).astype(int)
        score = rng.normal(0, 1, rows) + separation[worse] * truth
        predicted = (score > separation[False] / 2).astype(int)
        return stats_module.Rows(truth, predicted, np.c_[-score, score], (0, 1))

    return draw


def residuals(rng, rows: int, tails: str) -> np.ndarray:
    """Residuals of variance 1: normal, or Student's t with 5 degrees of freedom (heavy tails)."""
    if tails == "normal":
        return rng.normal(0, 1, rows)
    return rng.standard_t(5, rows) / np.sqrt(5 / 3)


def regression_draw(stats_module, metric: str, tails: str) -> Draw:
    """A signal of variance 1 plus residuals of variance 1 (r2 0.5); the worse canary's residuals
    are 10% larger (rmse, mae) or make r2 two points lower."""
    worse_scale = 1 + SHARE if metric in ("rmse", "mae") else np.sqrt((0.5 + POINTS) / 0.5)

    def draw(rng, rows: int, worse: bool):
        signal = rng.normal(0, 1, rows)
        noise = residuals(rng, rows, tails)
        truth = signal + noise
        return stats_module.Rows(truth, signal - (worse_scale - 1) * noise * worse)

    return draw


def cell(stats_module, rng, metric: str, draw: Draw, holdout_rows: int, ratio: int, trials: int):
    """(rows needed per trial, false aborts, aborts of a worse canary)."""
    worse_by = SHARE if metric in ("rmse", "mae") else POINTS
    needed, false_aborts, caught = [], 0, 0
    for _ in range(trials):
        n = stats_module.required_rows(metric, draw(rng, holdout_rows, False), worse_by, ALPHA, POWER)
        needed.append(n)
        champion = draw(rng, n * ratio, False)
        _, p_equal = stats_module.worse_test(metric, draw(rng, n, False), champion)
        _, p_worse = stats_module.worse_test(metric, draw(rng, n, True), champion)
        false_aborts += p_equal < ALPHA
        caught += p_worse < ALPHA
    return needed, false_aborts, caught


def settings(stats_module, metric: str):
    """(label, draw, holdout rows) of each simulated project for `metric`: fewer for the metrics
    whose rule costs a sort of every sample (roc_auc) or needs tens of thousands of rows (r2)."""
    if metric in ("accuracy", "f1"):
        for name, prevalence, holdout, level in (
            ("2 classes", BINARY, 114, 0.95),
            ("2 classes", BINARY, 114, 0.8),
            ("2 classes", BINARY, 1000, 0.95),
            ("3 classes", THREE, 36, 0.95),
        ):
            yield f"{name}, {metric} {level}", classes_draw(stats_module, metric, prevalence, level), holdout
    elif metric == "roc_auc":
        for level, holdout in ((0.95, 114), (0.85, 114), (0.85, 1000)):
            yield f"auc {level}", auc_draw(stats_module, 0.37, level), holdout
    elif metric == "r2":
        for tails, holdout in (("normal", 89), ("t5", 89), ("t5", 1000)):
            yield f"residuals {tails}", regression_draw(stats_module, metric, tails), holdout
    else:
        for tails in ("normal", "t5"):
            for holdout in (89, 1000):
                yield f"residuals {tails}", regression_draw(stats_module, metric, tails), holdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=4000)
    parser.add_argument("--metrics", default="accuracy,f1,roc_auc,rmse,mae,r2")
    args = parser.parse_args()
    stats_module = load_statistics()
    rng = np.random.default_rng(0)
    print(f"alpha {ALPHA}, power {POWER}; {args.trials} simulated canaries per row, 95% Wilson intervals")
    print("worse: 2 points lower accuracy, f1, roc_auc or r2; 10% higher rmse or mae")
    header = f"{'setting':<46} {'N per version':>20} {'false aborts (equal)':>24} {'aborts (worse)':>24}"
    for metric in args.metrics.split(","):
        started = time.perf_counter()
        print(f"\n{metric}")
        print(header)
        for label, draw, holdout_rows in settings(stats_module, metric):
            for ratio in (1, 9):
                needed, false_aborts, caught = cell(stats_module, rng, metric, draw, holdout_rows, ratio, args.trials)
                rows = f"{np.mean(needed):7.0f} ({min(needed)}-{max(needed)})"
                name = f"{label}, holdout {holdout_rows}, champion {ratio}xN"
                print(f"{name:<46} {rows:>20} {shown(false_aborts, args.trials):>24} {shown(caught, args.trials):>24}")
        print(f"({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
