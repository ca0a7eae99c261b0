"""The compliance gate: a model version may serve only when every governance rule holds.

Each rule is a small function returning (rule, passed, reason): the version has a model card;
its fairness report passed; the promotion gate passed it on the holdout (and it reaches
`governance.compliance.min_score` when set); its drift reference was saved with it; its lineage
(run, data fingerprint, code commit, dataset) is complete; and the audit trail verifies and
records its registration. The gate reports every failed rule, not only the first, so one run
tells the whole story. `python -m <package> compliance` runs it (CI/CD), and `promote` runs it
before moving the champion alias when `governance.compliance.on_promotion` is true.

Rules about other steps' outputs read MLflow artifacts of the version's run by name
(fairness.json, reference_statistics.json; the card at the path its `model_card` tag names) and
fail with "missing" when absent.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException

from . import audit, lineage, registry
from .config import Params
from .model_card import (
    CARD_TAG,
    FAIRNESS_ARTIFACT,
    REFERENCE_ARTIFACT,
    artifact_names,
    card_exists,
    load_run_json,
)
from .promotion import HIGHER_IS_BETTER
from .tracking import configure_tracking


class RuleResult(NamedTuple):
    rule: str
    passed: bool
    reason: str


@dataclass
class Candidate:
    """The version under review and what the rules read about it."""

    version: ModelVersion
    artifacts: set[str]  # file names at the root of its run's artifacts

    @property
    def run_id(self) -> str | None:
        return self.version.run_id


def model_card_rule(params: Params, candidate: Candidate) -> RuleResult:
    path = candidate.version.tags.get(CARD_TAG)
    if not path:
        return RuleResult("model_card", False, f"missing: the version has no `{CARD_TAG}` tag")
    if not card_exists(candidate.run_id or "", path):
        return RuleResult("model_card", False, f"missing: no {path} in run {candidate.run_id}")
    return RuleResult("model_card", True, f"{path} logged with run {candidate.run_id}")


def fairness_rule(params: Params, candidate: Candidate) -> RuleResult:
    report = load_run_json(candidate.run_id or "", FAIRNESS_ARTIFACT, candidate.artifacts)
    if report is None:
        return RuleResult(
            "fairness", False, f"missing: no {FAIRNESS_ARTIFACT} in run {candidate.run_id}"
        )
    passed = report.get("passed")
    if passed is True:
        return RuleResult("fairness", True, "the fairness report passed")
    if passed is False:
        return RuleResult(
            "fairness",
            False,
            f"the fairness report failed: {report.get('reason', 'see the report')}",
        )
    return RuleResult(
        "fairness",
        False,
        f"{FAIRNESS_ARTIFACT} does not say whether it passed (no boolean `passed`)",
    )


def performance_rule(params: Params, candidate: Candidate) -> RuleResult:
    tags = candidate.version.tags
    decision = tags.get("promotion.decision")
    if decision != "promoted":
        why = tags.get("promotion.reason", "the promotion gate has not run on it")
        return RuleResult("performance", False, f"the promotion gate did not pass it ({why})")
    score_text = tags.get("promotion.challenger_score", "none")
    floor = params.governance.compliance.min_score
    if floor is None:
        return RuleResult(
            "performance", True, f"passed the promotion gate ({params.metric} {score_text})"
        )
    if score_text == "none":
        return RuleResult(
            "performance", False, f"missing: no holdout {params.metric} recorded by the gate"
        )
    score = float(score_text)
    good_enough = score >= floor if HIGHER_IS_BETTER[params.metric] else score <= floor
    relation = "reaches" if good_enough else "misses"
    return RuleResult(
        "performance",
        good_enough,
        f"holdout {params.metric} {score:.4g} {relation} the floor {floor}",
    )


def drift_reference_rule(params: Params, candidate: Candidate) -> RuleResult:
    reference = load_run_json(candidate.run_id or "", REFERENCE_ARTIFACT, candidate.artifacts)
    if not reference:
        return RuleResult(
            "drift_reference", False, f"missing: no {REFERENCE_ARTIFACT} in run {candidate.run_id}"
        )
    return RuleResult(
        "drift_reference", True, f"{REFERENCE_ARTIFACT} saved with run {candidate.run_id}"
    )


def lineage_rule(params: Params, candidate: Candidate) -> RuleResult:
    try:
        found = lineage.walk_back(params, str(candidate.version.version))
    except LookupError as error:
        return RuleResult("lineage", False, f"missing: {error}")
    gaps = [
        what
        for what, present in [
            ("data fingerprint", found["data_fingerprint"]),
            ("git commit", found["git_commit"]),
            ("training dataset", found["datasets"]),
        ]
        if not present
    ]
    if gaps:
        return RuleResult("lineage", False, f"missing: the run records no {', no '.join(gaps)}")
    return RuleResult(
        "lineage",
        True,
        f"run {found['run_id']}, data {found['data_fingerprint'][:12]}, "
        f"commit {found['git_commit'][:12]}",
    )


def audit_rule(params: Params, candidate: Candidate) -> RuleResult:
    verification = audit.verify(params)
    if not verification.ok:
        return RuleResult("audit_trail", False, f"does not verify: {verification.problem}")
    store = audit.open_store(params)
    try:
        entries = store.entries()
    finally:
        store.close()
    name, version = candidate.version.name, str(candidate.version.version)
    registered = any(
        entry.event == "register"
        and entry.what.get("model") == name
        and str(entry.what.get("version")) == version
        for entry in entries
    )
    if not registered:
        return RuleResult(
            "audit_trail",
            False,
            f"missing: the trail ({store.describe()}) records no registration of version {version}",
        )
    return RuleResult(
        "audit_trail",
        True,
        f"{verification.entries} entries verify; version {version}'s registration is recorded",
    )


Rule = Callable[[Params, Candidate], RuleResult]
RULES: list[Rule] = [
    model_card_rule,
    fairness_rule,
    performance_rule,
    drift_reference_rule,
    lineage_rule,
    audit_rule,
]


def find_version(params: Params, version: str | None) -> ModelVersion:
    """A version by number or alias (champion, challenger); the challenger by default."""
    configure_tracking(params)
    wanted = version or registry.CHALLENGER
    if wanted.isdigit():
        try:
            return MlflowClient().get_model_version(params.registry.model_name, wanted)
        except MlflowException:
            raise LookupError(
                f"model '{params.registry.model_name}' has no version {wanted}"
            ) from None
    found = registry.get_version(params, wanted)
    if found is None:
        raise LookupError(f"model '{params.registry.model_name}' has no {wanted} version")
    return found


def check(params: Params, version: str | None = None) -> list[RuleResult]:
    """Every rule on one version (default: the challenger), in order; nothing stops early."""
    model_version = find_version(params, version)
    present = artifact_names(model_version.run_id) if model_version.run_id else set()
    candidate = Candidate(model_version, present)
    return [rule(params, candidate) for rule in RULES]


def run_compliance(params: Params, version: str | None = None) -> tuple[str, list[RuleResult]]:
    """Check one version and record the outcome in the audit trail; return (version, results)."""
    model_version = find_version(params, version)
    number = str(model_version.version)
    results = check(params, number)
    failed = [result.rule for result in results if not result.passed]
    audit.record(
        "compliance",
        params,
        model=params.registry.model_name,
        version=number,
        passed=not failed,
        failed=failed,
    )
    return number, results
