"""The promotion gate: the challenger replaces the champion only if it is better and safe to serve.

Both models are scored on the same holdout: the one rebuilt from the data whose fingerprint the
challenger's training run recorded (same data + same seed = same split). The gate refuses when
the challenger's predictions fail sanity checks, when its input schema differs from the data or
from the champion's (clients of the service would break), or when it does not beat the champion
on the primary metric by more than `registry.promotion_margin`. Every decision is written as tags
on the challenger's model version, so the registry keeps the history of why.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import mlflow
import numpy as np
import pandas as pd

from . import registry
from .config import Params
from .data import load_training_data
from .evaluate import score
from .tracking import configure_tracking

# Which direction is better for each metric.
HIGHER_IS_BETTER = {
    "f1": True,
    "accuracy": True,
    "roc_auc": True,
    "rmse": False,
    "mae": False,
    "r2": True,
}


@dataclass
class Holdout:
    """The test split the gate scores on, and what plausible predictions look like on it."""

    x: pd.DataFrame
    y: pd.Series
    fingerprint: str
    known_classes: set = field(default_factory=set)
    target_range: tuple[float, float] = (-np.inf, np.inf)


@dataclass
class Evaluation:
    """One model scored on the holdout; `problems` lists every failed sanity or schema check."""

    model_uri: str
    metrics: dict[str, float] = field(default_factory=dict)
    input_schema: list[dict] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


@dataclass
class Decision:
    """What the gate decided and why; `as_tags()` is what lands on the model version."""

    promoted: bool
    reason: str
    metric: str
    challenger_version: str
    champion_version: str | None = None
    challenger_score: float | None = None
    champion_score: float | None = None
    holdout_fingerprint: str = ""

    def as_tags(self, margin: float) -> dict[str, str]:
        return {
            "promotion.decision": "promoted" if self.promoted else "rejected",
            "promotion.reason": self.reason,
            "promotion.metric": self.metric,
            "promotion.margin": str(margin),
            "promotion.challenger_score": _fmt(self.challenger_score),
            "promotion.champion_version": self.champion_version or "none",
            "promotion.champion_score": _fmt(self.champion_score),
            "promotion.holdout_fingerprint": self.holdout_fingerprint,
            "promotion.decided_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }


def is_better(metric: str, new: float, old: float, margin: float = 0.0) -> bool:
    """True when `new` beats `old` on `metric` by more than `margin`."""
    if HIGHER_IS_BETTER[metric]:
        return new > old + margin
    return new < old - margin


def _fmt(value: float | None) -> str:
    return "none" if value is None else f"{value:.6g}"


def load_holdout(params: Params) -> Holdout:
    """Rebuild the test split from the configured data, with the bounds sanity checks use."""
    data = load_training_data(params)
    target = data.frame[params.data.target]
    holdout = Holdout(x=data.split.x_test, y=data.split.y_test, fingerprint=data.fingerprint)
    if params.task == "classification":
        holdout.known_classes = set(target.unique().tolist())
    else:
        # A prediction further than one whole target span outside the seen targets is nonsense.
        low, high = float(target.min()), float(target.max())
        span = high - low
        holdout.target_range = (low - span, high + span)
    return holdout


def input_schema(model_uri: str) -> list[dict]:
    """The model's input columns as its signature recorded them (name, type, required)."""
    signature = mlflow.models.get_model_info(model_uri).signature
    return signature.inputs.to_dict() if signature is not None else []


def check_predictions(task: str, predictions: np.ndarray, holdout: Holdout) -> list[str]:
    """Sanity checks a model must pass before it may serve: count, finiteness, plausible values."""
    problems = []
    if len(predictions) != len(holdout.x):
        problems.append(f"returned {len(predictions)} predictions for {len(holdout.x)} rows")
        return problems
    if task == "classification":
        unknown = set(pd.unique(predictions).tolist()) - holdout.known_classes
        if unknown:
            problems.append(f"predicted classes never seen in training: {sorted(unknown)}")
        return problems
    values = np.asarray(predictions, dtype=float)
    if not np.isfinite(values).all():
        problems.append("predictions contain NaN or infinite values")
    elif values.min() < holdout.target_range[0] or values.max() > holdout.target_range[1]:
        low, high = holdout.target_range
        problems.append(
            f"predictions span [{values.min():.4g}, {values.max():.4g}], "
            f"outside the plausible range [{low:.4g}, {high:.4g}]"
        )
    return problems


def check_schema(schema: list[dict], holdout: Holdout) -> list[str]:
    if not schema:
        return ["the model was logged without an input signature"]
    names = [column.get("name") for column in schema]
    if names != list(holdout.x.columns):
        return [f"input columns {names} differ from the data's {list(holdout.x.columns)}"]
    return []


def evaluate_model(params: Params, model_uri: str, holdout: Holdout) -> Evaluation:
    """Load a model the way the service will (native scikit-learn) and score it on the holdout."""
    evaluation = Evaluation(model_uri=model_uri)
    try:
        evaluation.input_schema = input_schema(model_uri)
        model = mlflow.sklearn.load_model(model_uri)
        predictions = np.asarray(model.predict(holdout.x))
        evaluation.problems += check_schema(evaluation.input_schema, holdout)
        evaluation.problems += check_predictions(params.task, predictions, holdout)
        if not evaluation.problems:
            evaluation.metrics = score(model, params.task, holdout.x, holdout.y)
    except Exception as error:  # a model that cannot be loaded, run or scored cannot serve
        evaluation.problems.append(f"could not load, run or score it: {error}")
    return evaluation


def decide(
    params: Params,
    challenger: Evaluation,
    champion: Evaluation | None,
    challenger_version: str,
    champion_version: str | None,
    holdout: Holdout,
) -> Decision:
    """The gate's rule, with no I/O: promote, or refuse and say why."""
    metric = params.metric
    decision = Decision(
        promoted=False,
        reason="",
        metric=metric,
        challenger_version=challenger_version,
        champion_version=champion_version,
        challenger_score=challenger.metrics.get(metric),
        holdout_fingerprint=holdout.fingerprint,
    )
    if challenger.problems:
        decision.reason = "challenger failed checks: " + "; ".join(challenger.problems)
        return decision
    if champion is None:
        decision.promoted = True
        decision.reason = "first model: no champion yet"
        return decision
    if champion.problems:
        # A champion that can no longer be scored should not block a sound challenger.
        decision.promoted = True
        decision.reason = "champion failed checks: " + "; ".join(champion.problems)
        return decision
    if challenger.input_schema != champion.input_schema:
        decision.reason = "input schema differs from the champion's: clients would break"
        return decision
    decision.champion_score = champion.metrics[metric]
    margin = params.registry.promotion_margin
    comparison = (
        f"{metric} {decision.challenger_score:.4f} vs champion {decision.champion_score:.4f} "
        f"(margin {margin})"
    )
    if is_better(metric, challenger.metrics[metric], decision.champion_score, margin):
        decision.promoted = True
        decision.reason = f"better: {comparison}"
    else:
        decision.reason = f"not better: {comparison}"
    return decision


def promote(params: Params, challenger_evaluation: Evaluation | None = None) -> Decision:
    """Gate the current challenger: move `champion` if it passes, and tag the decision."""
    configure_tracking(params)
    challenger_version = registry.get_challenger(params)
    if challenger_version is None:
        raise LookupError(
            f"model '{params.registry.model_name}' has no challenger: train and register one first"
        )
    version = str(challenger_version.version)
    champion_version = registry.get_champion(params)
    if champion_version is not None and str(champion_version.version) == version:
        # Gated before: keep the tags of the decision that made it champion.
        return Decision(False, f"version {version} is already the champion", params.metric, version)
    holdout = load_holdout(params)
    # Load by version, not alias: an alias may move while the gate is running.
    challenger = challenger_evaluation or evaluate_model(
        params, registry.version_uri(params, version), holdout
    )
    trained_on = challenger_version.tags.get("data_fingerprint")
    if trained_on and trained_on != holdout.fingerprint:
        challenger.problems.append(
            f"trained on data {trained_on[:12]}, but the data now is {holdout.fingerprint[:12]}: "
            "its holdout cannot be rebuilt"
        )
    champion = None
    if champion_version is not None:
        champion_uri = registry.version_uri(params, str(champion_version.version))
        champion = evaluate_model(params, champion_uri, holdout)
    decision = decide(
        params,
        challenger,
        champion,
        challenger_version=version,
        champion_version=None if champion_version is None else str(champion_version.version),
        holdout=holdout,
    )
    registry.tag_version(params, version, decision.as_tags(params.registry.promotion_margin))
    if decision.promoted:
        registry.set_champion(params, version)
        if champion_version is not None:
            registry.tag_version(
                params, str(champion_version.version), {"promotion.replaced_by": version}
            )
    return decision
