"""Paired significance tests: is the challenger better than the champion, or just luckier?

Both models predict the same holdout rows, so the fair question is about the per-row differences
between them, not about two metric values compared as if they were exact. A gate that promotes
whenever the challenger's score is higher promotes an equally good model about half the time.

Each test is one-sided and asks whether the challenger is better by more than `margin`, the
smallest improvement worth a new model (0 asks "better at all"). A margin matters on large
holdouts: two forests that differ only in their random seed really do differ a little, and a
few thousand rows are enough to show it, yet that difference vanishes at the next retraining.

One test per kind of metric:
- accuracy: McNemar's exact test. Only the rows where the two models disagree on being right carry
  evidence; under "equally good", each such row favours either model with probability 1/2.
- f1 and roc_auc: a paired bootstrap of the metric difference. These are not averages of per-row
  values, so no per-row test applies; resampling rows (the same rows for both models) does.
- rmse, mae, r2: a paired t-test on per-row losses (squared error for rmse and r2, absolute error
  for mae). On one holdout each of these metrics is a monotone function of the mean loss, so
  testing the mean loss difference tests the metric itself; it needs no random resampling, costs
  microseconds, and the benchmark measured its false-promotion rate at or below the level asked.

It uses numpy, scipy and scikit-learn only, so the repository's benchmark can load it alone.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
from scipy import stats
from sklearn import metrics

HIGHER_IS_BETTER = {
    "f1": True,
    "accuracy": True,
    "roc_auc": True,
    "rmse": False,
    "mae": False,
    "r2": True,
}


@dataclass
class PairedTest:
    """The evidence that the challenger beats the champion on one holdout."""

    test: str  # mcnemar_exact | paired_bootstrap | paired_t
    metric: str
    improvement: float  # challenger minus champion on the metric, positive = challenger better
    p_value: float  # chance of an improvement this large if both models were equally good
    rows: int
    details: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)


def paired_test(
    metric: str,
    y_true: np.ndarray,
    champion: np.ndarray,
    challenger: np.ndarray,
    margin: float = 0.0,
    rounds: int = 1000,
    seed: int = 0,
) -> PairedTest:
    """Test whether the challenger beats the champion on `metric` by more than `margin`.

    `champion` and `challenger` are predictions (labels or numbers) or, for roc_auc, the scores
    from `predict_proba`, row for row with `y_true`. `margin` is in the metric's units.
    """
    y_true, champion, challenger = np.asarray(y_true), np.asarray(champion), np.asarray(challenger)
    if metric == "accuracy":
        test = mcnemar_exact(y_true, champion, challenger, margin)
    elif metric in ("f1", "roc_auc"):
        test = paired_bootstrap(metric, y_true, champion, challenger, margin, rounds, seed)
    else:
        test = paired_t_on_losses(metric, y_true, champion, challenger, margin)
    test.details["margin"] = margin
    return test


def mcnemar_exact(
    y_true: np.ndarray, champion: np.ndarray, challenger: np.ndarray, margin: float = 0.0
) -> PairedTest:
    champion_right = champion == y_true
    challenger_right = challenger == y_true
    only_champion = int(np.sum(champion_right & ~challenger_right))
    only_challenger = int(np.sum(challenger_right & ~champion_right))
    disagreements = only_champion + only_challenger
    # Under "better by exactly the margin", the challenger wins margin x rows more of the
    # disagreements than the champion: each goes its way with this probability (1/2 at margin 0).
    chance = 0.5 + margin * len(y_true) / (2 * disagreements) if disagreements else 1.0
    p_value = 1.0
    if chance < 1:
        p_value = stats.binomtest(
            only_challenger, disagreements, chance, alternative="greater"
        ).pvalue
    return PairedTest(
        test="mcnemar_exact",
        metric="accuracy",
        improvement=(only_challenger - only_champion) / len(y_true),
        p_value=float(p_value),
        rows=len(y_true),
        details={"only_champion_right": only_champion, "only_challenger_right": only_challenger},
    )


def paired_t_on_losses(
    metric: str,
    y_true: np.ndarray,
    champion: np.ndarray,
    challenger: np.ndarray,
    margin: float = 0.0,
) -> PairedTest:
    y_true = y_true.astype(float)
    if metric == "mae":
        champion_loss, challenger_loss = np.abs(champion - y_true), np.abs(challenger - y_true)
    else:  # rmse and r2 both order models by mean squared error on the same rows
        champion_loss, challenger_loss = (champion - y_true) ** 2, (challenger - y_true) ** 2
    gain = champion_loss - challenger_loss  # positive on rows where the challenger errs less
    needed = loss_gain_for_margin(metric, margin, champion_loss.mean(), y_true)
    if np.allclose(gain, gain[0]):
        # No spread, no t statistic: a constant gain is either a sure improvement or none at all.
        p_value = 0.0 if gain[0] > needed else 1.0
    else:
        p_value = float(stats.ttest_1samp(gain, needed, alternative="greater").pvalue)
    return PairedTest(
        test="paired_t",
        metric=metric,
        improvement=_improvement(
            metric, metric_value(metric, y_true, challenger), metric_value(metric, y_true, champion)
        ),
        p_value=p_value,
        rows=len(y_true),
        details={
            "mean_loss_gain": float(gain.mean()),
            "needed_loss_gain": float(needed),
            "loss": "absolute" if metric == "mae" else "squared",
        },
    )


def loss_gain_for_margin(
    metric: str, margin: float, champion_loss: float, y_true: np.ndarray
) -> float:
    """The mean per-row loss gain that equals an improvement of `margin` on the metric."""
    if metric == "mae":
        return margin
    if metric == "r2":  # r2 = 1 - mean squared error / variance of the target
        return margin * float(np.var(y_true))
    target = np.sqrt(champion_loss) - margin  # rmse: the challenger's rmse must drop below this
    return champion_loss - target**2 if target > 0 else np.inf


def paired_bootstrap(
    metric: str,
    y_true: np.ndarray,
    champion: np.ndarray,
    challenger: np.ndarray,
    margin: float,
    rounds: int,
    seed: int,
) -> PairedTest:
    """Resample rows with replacement, the same rows for both models, and count how often the
    challenger fails to beat the champion by more than the margin: that share is the p-value."""
    classes = 0
    if metric == "f1":
        # Labels as small integers once, so each resample's F1 is one bincount (fast enough to
        # run a thousand resamples inside the gate).
        labels, codes = np.unique(
            np.concatenate([y_true, champion, challenger]), return_inverse=True
        )
        y_true, champion, challenger = np.split(codes, 3)
        classes = len(labels)

    def score(y: np.ndarray, predicted: np.ndarray) -> float:
        if classes:
            return macro_f1_of_codes(y, predicted, classes)
        return metric_value(metric, y, predicted)

    rng = np.random.default_rng(seed)
    rows = len(y_true)
    gains = np.empty(rounds)
    for index in range(rounds):
        sample = rng.integers(0, rows, rows)
        gains[index] = _improvement(
            metric,
            score(y_true[sample], challenger[sample]),
            score(y_true[sample], champion[sample]),
        )
    observed = _improvement(metric, score(y_true, challenger), score(y_true, champion))
    # +1 on both sides: the observed data count as one resample, so p is never exactly 0.
    p_value = (1 + np.sum(gains <= margin)) / (rounds + 1)
    low, high = np.quantile(gains, [0.025, 0.975])
    return PairedTest(
        test="paired_bootstrap",
        metric=metric,
        improvement=float(observed),
        p_value=float(p_value),
        rows=rows,
        details={"rounds": rounds, "seed": seed, "interval_95": [float(low), float(high)]},
    )


def macro_f1_of_codes(y_true: np.ndarray, predicted: np.ndarray, classes: int) -> float:
    """Macro F1 over the classes that occur, as scikit-learn computes it, for integer labels."""
    confusion = np.bincount(y_true * classes + predicted, minlength=classes * classes)
    confusion = confusion.reshape(classes, classes)
    hits = np.diag(confusion)
    false_alarms = confusion.sum(axis=0) - hits
    misses = confusion.sum(axis=1) - hits
    denominator = 2 * hits + false_alarms + misses
    present = denominator > 0
    return float(np.mean(2 * hits[present] / denominator[present]))


def metric_value(metric: str, y_true: np.ndarray, predicted: np.ndarray) -> float:
    """One metric of one model; `predicted` holds scores (predict_proba) for roc_auc."""
    if metric == "f1":
        return float(metrics.f1_score(y_true, predicted, average="macro", zero_division=0))
    if metric == "accuracy":
        return float(np.mean(y_true == predicted))
    if metric == "roc_auc":
        classes = np.unique(y_true)
        if len(classes) < 2:
            return 0.5  # a resample with one class says nothing about ranking
        if predicted.ndim == 2 and predicted.shape[1] == 2:
            # Columns follow the sorted classes (predict_proba's order): the second is positive.
            return binary_auc(y_true == classes[-1], predicted[:, 1])
        return float(metrics.roc_auc_score(y_true, predicted, multi_class="ovr"))
    if metric == "rmse":
        return float(np.sqrt(np.mean((predicted - y_true) ** 2)))
    if metric == "mae":
        return float(np.mean(np.abs(predicted - y_true)))
    return float(metrics.r2_score(y_true, predicted))


def binary_auc(positive: np.ndarray, scores: np.ndarray) -> float:
    """ROC AUC from ranks (the Mann-Whitney statistic): the same number as scikit-learn's,
    about thirty times faster, which a thousand bootstrap resamples need."""
    ranks = stats.rankdata(scores)
    positives = int(positive.sum())
    negatives = len(positive) - positives
    rank_sum = ranks[positive].sum() - positives * (positives + 1) / 2
    return float(rank_sum / (positives * negatives))


def error_of(metric: str, value: float) -> float:
    """How far a score is from perfect: the metric itself for rmse and mae, else 1 - score."""
    return value if not HIGHER_IS_BETTER[metric] else 1.0 - value


def _improvement(metric: str, challenger: float, champion: float) -> float:
    return challenger - champion if HIGHER_IS_BETTER[metric] else champion - challenger
