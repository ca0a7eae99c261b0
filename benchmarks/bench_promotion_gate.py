"""The level-4 promotion gate's false-promotion rate and power, next to a margin-only gate.

    python benchmarks/bench_promotion_gate.py [--repeats 200] [--sizes 500 1000 5000] [--tasks regression]

Synthetic problems with a fixed data-generating process: one large pool of rows from which every
repetition draws a fresh training set and fresh holdouts. Per repetition and task:

- equal models: two forests trained on the same rows, differing only in their random seed. Any
  promotion of one over the other is a false promotion. The level-3 gate (margin 0: promote when
  the challenger's score is higher) is scored on the same holdouts for comparison.
- a genuinely better model: the champion is the same forest trained on half the rows (a team
  retraining on twice the data). Its true margin is measured on 20,000 unseen rows and printed;
  power is the share of holdouts on which the gate promotes it.

The gate's statistics are the generated project's own: significance.py is loaded from
templates/level4 (McNemar's exact test for accuracy, the paired bootstrap for f1, the paired t-test
on squared errors for rmse) with the project's defaults: significance level 0.05 and a required
improvement of 5% of the champion's error (gate.min_relative_improvement), tested, as
promotion.py does. The same test with no required improvement is printed too: it shows why the
margin is there (on 5,000 rows, a seed's real but fleeting difference becomes significant).
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.datasets import make_classification, make_friedman1
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

SIGNIFICANCE = Path(__file__).resolve().parents[1] / "templates/level4/src/{{package_name}}/significance.py"
LEVEL = 0.05
RELATIVE_IMPROVEMENT = 0.05
TRAIN_ROWS = 1000
TRUE_MARGIN_ROWS = 20_000
TREES = 100  # the generated project's default (params.yaml: model.n_estimators)


def load_significance():
    spec = importlib.util.spec_from_file_location("significance", SIGNIFICANCE)
    module = importlib.util.module_from_spec(spec)
    sys.modules["significance"] = module  # dataclasses look their module up while defining
    spec.loader.exec_module(module)
    return module


def pool(task: str, rows: int):
    if task == "classification":
        return make_classification(rows, n_features=20, n_informative=6, flip_y=0.05, class_sep=0.8, random_state=7)
    return make_friedman1(rows, n_features=10, noise=1.0, random_state=7)


def forest(task: str, seed: int):
    kind = RandomForestClassifier if task == "classification" else RandomForestRegressor
    return kind(n_estimators=TREES, random_state=seed, n_jobs=1)


def wilson_upper(successes: int, trials: int, z: float = 1.96) -> float:
    """Upper end of the 95% Wilson interval of a proportion."""
    share = successes / trials
    centre = share + z * z / (2 * trials)
    spread = z * math.sqrt(share * (1 - share) / trials + z * z / (4 * trials * trials))
    return (centre + spread) / (1 + z * z / trials)


def wilson_lower(successes: int, trials: int, z: float = 1.96) -> float:
    return 1 - wilson_upper(trials - successes, trials, z)


def run_task(task: str, metrics: list[str], sizes: list[int], repeats: int, significance) -> None:
    needed = TRAIN_ROWS + sum(sizes) * 2 + TRUE_MARGIN_ROWS
    x_all, y_all = pool(task, needed * 4)
    rng = np.random.default_rng(11)
    counts = {key: 0 for key in _keys(metrics, sizes)}
    true_margins = {metric: [] for metric in metrics}
    started = time.perf_counter()
    for repeat in range(repeats):
        rows = rng.permutation(len(x_all))[:needed]
        train, rest = rows[:TRAIN_ROWS], rows[TRAIN_ROWS:]
        champion = forest(task, 2 * repeat).fit(x_all[train], y_all[train])
        same_but_seed = forest(task, 2 * repeat + 1).fit(x_all[train], y_all[train])
        weaker = forest(task, 2 * repeat).fit(x_all[train[: TRAIN_ROWS // 2]], y_all[train[: TRAIN_ROWS // 2]])
        big = rest[-TRUE_MARGIN_ROWS:]
        for metric in metrics:
            true_margins[metric].append(
                significance._improvement(
                    metric,
                    significance.metric_value(metric, y_all[big], champion.predict(x_all[big])),
                    significance.metric_value(metric, y_all[big], weaker.predict(x_all[big])),
                )
            )
        offset = 0
        for size in sizes:
            holdout = rest[offset : offset + size]
            offset += size
            y = y_all[holdout]
            predicted = {
                "champion": champion.predict(x_all[holdout]),
                "seed": same_but_seed.predict(x_all[holdout]),
                "weaker": weaker.predict(x_all[holdout]),
            }
            for metric in metrics:
                equal = gate(significance, metric, y, predicted["champion"], predicted["seed"], repeat)
                better = gate(significance, metric, y, predicted["weaker"], predicted["champion"], repeat)
                counts[("margin-only false", metric, size)] += equal["higher"]
                counts[("paired false", metric, size)] += equal["promoted"]
                counts[("paired at margin 0 false", metric, size)] += equal["significant at 0"]
                counts[("paired power", metric, size)] += better["promoted"]
    elapsed = time.perf_counter() - started
    print(f"\n{task}: {repeats} repetitions, {TREES}-tree forests on {TRAIN_ROWS} rows ({elapsed:.0f} s)")
    for metric in metrics:
        test = {"accuracy": "McNemar exact", "f1": "paired bootstrap", "rmse": "paired t on squared errors"}
        margin = float(np.mean(true_margins[metric]))
        print(f"  {metric} ({test.get(metric, metric)}); better model's true margin: {margin:+.4f} {metric}")
        print(
            f"    {'holdout':>8} {'level-3 false':>14} {'level-4 false (95% upper)':>26} "
            f"{'level-4 power (95% lower)':>26} {'paired at margin 0 false':>25}"
        )
        for size in sizes:
            margin_false = counts[("margin-only false", metric, size)] / repeats
            false = counts[("paired false", metric, size)]
            power = counts[("paired power", metric, size)]
            at_zero = counts[("paired at margin 0 false", metric, size)] / repeats
            print(
                f"    {size:>8} {margin_false:>14.1%} "
                f"{false / repeats:>16.1%} ({wilson_upper(false, repeats):6.1%}) "
                f"{power / repeats:>16.1%} ({wilson_lower(power, repeats):6.1%}) {at_zero:>25.1%}"
            )


def gate(significance, metric: str, y, champion, challenger, seed: int) -> dict[str, bool]:
    """The level-3 rule (higher) and the level-4 rule (significantly better by the required
    improvement), as promotion.compare applies them, plus the paired test at margin 0."""
    champion_score = significance.metric_value(metric, y, champion)
    required = RELATIVE_IMPROVEMENT * significance.error_of(metric, champion_score)
    test = significance.paired_test(metric, y, champion, challenger, margin=required, seed=seed)
    at_zero = significance.paired_test(metric, y, champion, challenger, seed=seed)
    return {
        "higher": test.improvement > 0,
        "promoted": test.improvement > required and test.p_value < LEVEL,
        "significant at 0": at_zero.improvement > 0 and at_zero.p_value < LEVEL,
    }


def _keys(metrics: list[str], sizes: list[int]):
    for kind in ("margin-only false", "paired false", "paired at margin 0 false", "paired power"):
        for metric in metrics:
            for size in sizes:
                yield (kind, metric, size)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--sizes", type=int, nargs="+", default=[500, 1000, 5000])
    parser.add_argument("--tasks", nargs="+", default=["classification", "regression"])
    args = parser.parse_args()
    significance = load_significance()
    print(
        f"Level-4 gate: one-sided paired test at level {LEVEL} that the challenger beats the champion by "
        f"more than {RELATIVE_IMPROVEMENT:.0%} of its error; level-3 gate: promote when the score is higher."
    )
    if "classification" in args.tasks:
        run_task("classification", ["accuracy", "f1"], args.sizes, args.repeats, significance)
    if "regression" in args.tasks:
        run_task("regression", ["rmse"], args.sizes, args.repeats, significance)


if __name__ == "__main__":
    main()
