"""The promotion gate: the challenger replaces the champion only if it is better and safe to serve.

Both models are scored on the same holdout: the one rebuilt from the data whose fingerprint the
challenger's training run recorded (same data + same seed = same split). The gate refuses when
the challenger's predictions fail sanity checks, when its input schema differs from the data or
from the champion's (clients of the service would break), or when it does not beat the champion
on the primary metric by more than `registry.promotion_margin`.

Level 4: a higher score is not enough, since an equally good model scores higher half the time.
The challenger must also win a paired significance test on the same holdout rows
(significance.py, p below `gate.significance_level`) and respect the guardrails (guardrails.py:
fairness, one-row latency, calibration). Every decision is written as tags on the challenger's
model version, and its whole evidence (test, p-value, effect, each guardrail's value and limit)
as `promotion/decision.json` and metrics on the challenger's training run.

Level 5: every promotion keeps the replaced champion as the alias `previous_champion`, the version
a rollback returns to (rollback.py). With `canary.enabled`, a challenger that passes the gates gets
the alias `canary` instead of `champion`: it serves a share of the traffic until the canary
decision (canary.py) promotes or aborts it. A version that was aborted as a canary or rolled back
as a champion is refused here, so the next `promote` cannot put it back by accident.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

import mlflow
import numpy as np
import pandas as pd
from mlflow import MlflowClient

from . import audit, guardrails, model_card, registry, significance
from .config import Params
from .data import load_training_data
from .evaluate import score
from .fairness import FairnessReport, fairness_report
from .significance import HIGHER_IS_BETTER
from .tracking import configure_tracking

DECISION_ARTIFACT = "promotion/decision.json"
# Level 5 aliases and tags (see the module docstring).
CANARY = "canary"
PREVIOUS_CHAMPION = "previous_champion"
CHAMPION_SINCE_TAG = "champion.since"  # when the version last became champion (rollback.py)


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
    # Level 4: per-row outputs for the paired test, and what the guardrails measure.
    predictions: np.ndarray | None = None
    probabilities: np.ndarray | None = None  # classifiers: predict_proba, columns in class order
    latency_p95_ms: float | None = None
    brier: float | None = None  # classifiers
    fairness: FairnessReport | None = None


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
    # Level 4: the paired test and every guardrail, with values and limits (see as_dict).
    evidence: dict = field(default_factory=dict)
    # Level 5: the alias a passing challenger got: champion, or canary with `canary.enabled`.
    alias: str = registry.CHAMPION

    def as_dict(self) -> dict:
        """The decision and its evidence as plain data: the JSON logged with the run."""
        return asdict(self)

    def as_tags(self, margin: float) -> dict[str, str]:
        test = self.evidence.get("paired_test") or {}
        failed = [
            item["name"] for item in self.evidence.get("guardrails", []) if not item["passed"]
        ]
        return {
            "promotion.test": test.get("test", "none"),
            "promotion.p_value": _fmt(test.get("p_value")),
            "promotion.guardrails_failed": ", ".join(failed) or "none",
            "promotion.decision": (
                ("canary" if self.alias == CANARY else "promoted") if self.promoted else "rejected"
            ),
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
            measure_guardrails(params, model, predictions, holdout, evaluation)
    except Exception as error:  # a model that cannot be loaded, run or scored cannot serve
        evaluation.problems.append(f"could not load, run or score it: {error}")
    return evaluation


def measure_guardrails(
    params: Params, model, predictions: np.ndarray, holdout: Holdout, evaluation: Evaluation
) -> None:
    """Keep the per-row outputs and measure latency, calibration and fairness (level 4)."""
    evaluation.predictions = predictions
    if params.task == "classification":
        evaluation.probabilities = np.asarray(model.predict_proba(holdout.x))
        evaluation.brier = guardrails.brier_score(
            holdout.y, evaluation.probabilities, model.classes_
        )
    evaluation.latency_p95_ms = guardrails.p95_latency_ms(model, holdout.x)
    evaluation.fairness = fairness_report(model, holdout.x, holdout.y, params)


def decide(
    params: Params,
    challenger: Evaluation,
    champion: Evaluation | None,
    challenger_version: str,
    champion_version: str | None,
    holdout: Holdout,
) -> Decision:
    """The gate's rule, with no I/O: promote, or refuse and say every reason why."""
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
    # Fairness and latency hold for any model that would serve, the first one included.
    checks = [
        guardrails.fairness_guardrail(challenger.fairness),
        guardrails.latency_guardrail(challenger.latency_p95_ms, params.gate.max_p95_latency_ms),
    ]
    decision.evidence["fairness"] = challenger.fairness.as_dict() if challenger.fairness else None
    if champion is None or champion.problems:
        decision.evidence["guardrails"] = [check.as_dict() for check in checks]
        failures = [f"{check.name}: {check.detail}" for check in checks if not check.passed]
        decision.promoted = not failures
        if champion is None:
            situation = "first model: no champion yet"
        else:
            # A champion that can no longer be scored should not block a sound challenger.
            situation = "champion failed checks: " + "; ".join(champion.problems)
        decision.reason = "; ".join([situation, *failures])
        return decision
    if challenger.input_schema != champion.input_schema:
        decision.reason = "input schema differs from the champion's: clients would break"
        return decision
    checks.append(
        guardrails.calibration_guardrail(
            challenger.brier, champion.brier, params.gate.max_brier_increase
        )
    )
    decision.evidence["guardrails"] = [check.as_dict() for check in checks]
    decision.champion_score = champion.metrics[metric]
    failures = compare(params, challenger, champion, holdout, decision)
    failures += [f"{check.name}: {check.detail}" for check in checks if not check.passed]
    decision.promoted = not failures
    if decision.promoted:
        decision.reason = "better: " + decision.evidence["comparison"]
    else:
        decision.reason = "; ".join(failures)
    return decision


def compare(
    params: Params,
    challenger: Evaluation,
    champion: Evaluation,
    holdout: Holdout,
    decision: Decision,
) -> list[str]:
    """The margin and the paired test; returns what failed (nothing when the challenger wins)."""
    metric = params.metric
    margin = required_improvement(params, champion.metrics[metric])
    test = run_paired_test(params, challenger, champion, holdout, margin)
    decision.evidence["paired_test"] = test.as_dict() if test else None
    comparison = (
        f"{metric} {decision.challenger_score:.4f} vs champion {decision.champion_score:.4f} "
        f"(needs an improvement over {margin:.4g})"
    )
    if test is not None:
        comparison += (
            f", {test.test} p={test.p_value:.3g} (needs < {params.gate.significance_level})"
        )
    decision.evidence["comparison"] = comparison
    if not is_better(metric, challenger.metrics[metric], champion.metrics[metric], margin):
        return [f"not better: {comparison}"]
    if test is None:
        return [f"not tested: no per-row predictions to compare; {comparison}"]
    if test.p_value >= params.gate.significance_level:
        return [f"not significantly better: {comparison}"]
    return []


def required_improvement(params: Params, champion_score: float) -> float:
    """The improvement the challenger must show, in the metric's units: the larger of
    `registry.promotion_margin` and `gate.min_relative_improvement` of the champion's error."""
    error = significance.error_of(params.metric, champion_score)
    return max(params.registry.promotion_margin, params.gate.min_relative_improvement * error)


def run_paired_test(
    params: Params, challenger: Evaluation, champion: Evaluation, holdout: Holdout, margin: float
) -> significance.PairedTest | None:
    """The paired test of significance.py on both models' outputs for the same holdout rows."""
    use_scores = params.metric == "roc_auc"
    ours = challenger.probabilities if use_scores else challenger.predictions
    theirs = champion.probabilities if use_scores else champion.predictions
    if (
        ours is None
        or theirs is None
        or len(ours) != len(holdout.y)
        or len(theirs) != len(holdout.y)
    ):
        return None
    return significance.paired_test(
        params.metric,
        np.asarray(holdout.y),
        theirs,
        ours,
        margin=margin,
        rounds=params.gate.bootstrap_rounds,
        seed=params.data.seed,
    )


def log_fairness(decision: Decision, run_id: str | None) -> None:
    """Log the gate's fairness report to the challenger's run: the compliance rules read it."""
    report = decision.evidence.get("fairness")
    if run_id and report is not None:
        mlflow.MlflowClient().log_dict(run_id, report, model_card.FAIRNESS_ARTIFACT)


def log_evidence(decision: Decision, run_id: str | None) -> None:
    """Log the decision's evidence to the challenger's training run: JSON plus a few metrics."""
    if not run_id:
        return
    client = mlflow.MlflowClient()
    client.log_dict(run_id, decision.as_dict(), DECISION_ARTIFACT)
    values = {"promotion.promoted": float(decision.promoted)}
    test = decision.evidence.get("paired_test") or {}
    for key in ("p_value", "improvement"):
        if test.get(key) is not None:
            values[f"promotion.{key}"] = float(test[key])
    for check in decision.evidence.get("guardrails", []):
        if isinstance(check["value"], float | int):
            values[f"promotion.{check['name']}"] = float(check["value"])
    for key, value in values.items():
        client.log_metric(run_id, key, value)


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
    canary = registry.get_version(params, CANARY)
    if canary is not None and str(canary.version) == version:
        return Decision(False, f"version {version} is already the canary", params.metric, version)
    refused = refused_before(challenger_version.tags)
    if refused:
        return Decision(
            False, f"version {version} {refused}: train a new one", params.metric, version
        )
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
    if params.canary.enabled and champion_version is not None:
        decision.alias = CANARY  # level 5; the first model has no champion to be compared with
    registry.tag_version(params, version, decision.as_tags(params.registry.promotion_margin))
    # Level 4: the fairness verdict goes with the run first, because the compliance rules read it;
    # they may still refuse; the evidence, the audit trail and the card (rewritten with the
    # decision and its audit entries) record the outcome.
    log_fairness(decision, challenger_version.run_id)
    if decision.promoted and params.governance.compliance.on_promotion:
        refuse_unless_compliant(params, decision)
    log_evidence(decision, challenger_version.run_id)
    record_decision(params, decision)
    model_card.write_card(params, version)
    if decision.promoted and decision.alias == CANARY:
        start_canary(params, version)
    elif decision.promoted:
        make_champion(params, version)
        if champion_version is not None:
            registry.tag_version(
                params, str(champion_version.version), {"promotion.replaced_by": version}
            )
    return decision


def refused_before(tags: dict[str, str]) -> str | None:
    """Level 5: why a version may not be promoted again (aborted as a canary, rolled back)."""
    if tags.get("canary.decision") == "aborted":
        return f"was aborted as a canary ({tags.get('canary.reason', 'no reason recorded')})"
    if tags.get("rollback.rolled_back_at"):
        return f"was rolled back as champion ({tags.get('rollback.reason', 'no reason recorded')})"
    return None


def make_champion(params: Params, version: str) -> None:
    """Level 5: move `champion` to `version`; the version it replaces becomes `previous_champion`.

    The previous alias moves first: should the second step fail, the champion is unchanged and
    `previous_champion` merely points at it.
    """
    current = registry.get_champion(params)
    if current is not None and str(current.version) != version:
        MlflowClient().set_registered_model_alias(
            params.registry.model_name, PREVIOUS_CHAMPION, str(current.version)
        )
    registry.set_champion(params, version)
    registry.tag_version(params, version, {CHAMPION_SINCE_TAG: datetime.now(UTC).isoformat()})


def start_canary(params: Params, version: str) -> None:
    """Level 5: give `version` the `canary` alias (replacing a running canary, if any)."""
    from .canary import STARTED_TAG

    MlflowClient().set_registered_model_alias(params.registry.model_name, CANARY, version)
    registry.tag_version(params, version, {STARTED_TAG: datetime.now(UTC).isoformat()})


def remove_alias(params: Params, alias: str) -> None:
    """Level 5: remove an alias (the canary after its decision, the previous champion after a
    rollback); nothing happens when it is not set."""
    if registry.get_version(params, alias) is not None:
        MlflowClient().delete_registered_model_alias(params.registry.model_name, alias)


def refuse_unless_compliant(params: Params, decision: Decision) -> None:
    """Level 4: turn a promotion into a refusal when a compliance rule fails, naming each one."""
    # Imported here: the compliance rules read this module's HIGHER_IS_BETTER.
    from .compliance import run_compliance

    version = decision.challenger_version
    _, results = run_compliance(params, version)
    failed = [f"{result.rule} ({result.reason})" for result in results if not result.passed]
    if failed:
        decision.promoted = False
        decision.reason = "compliance gate refused: " + "; ".join(failed)
        registry.tag_version(params, version, decision.as_tags(params.registry.promotion_margin))


def record_decision(params: Params, decision: Decision) -> None:
    """Level 4: the gate's decision, then the promotion or the rejection, in the audit trail."""
    name, version = params.registry.model_name, decision.challenger_version
    audit.record(
        "gate",
        params,
        model=name,
        version=version,
        promoted=decision.promoted,
        reason=decision.reason,
        metric=decision.metric,
        challenger_score=decision.challenger_score,
        champion_version=decision.champion_version,
        champion_score=decision.champion_score,
    )
    if decision.promoted and decision.alias == CANARY:
        audit.record(
            "canary", params, model=name, version=version, decision="started",
            champion_version=decision.champion_version,
        )  # fmt: skip
    elif decision.promoted:
        audit.record(
            "promote", params, model=name, version=version, replaces=decision.champion_version
        )
    else:
        audit.record("reject", params, model=name, version=version, reason=decision.reason)
