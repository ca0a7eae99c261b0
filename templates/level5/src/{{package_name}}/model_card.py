"""The model card: one Markdown document per registered version, saying what the model is for,
what it was trained on, how well it does (overall and per group), what drives it, how it is
watched and what the gate decided.

Its sections follow the technical documentation the EU AI Act asks for in Annex IV; each heading
names the Annex IV point it covers, in our own words (this is documentation support, not legal
advice). The card is logged in the version's training run as `model_cards/<model>-v<version>.md`
and the version is tagged `model_card` with that path, so the registry shows where it is. A path
per registered version, not one per run: the same run registered under two model names (or
twice under one) keeps one card per version instead of the last one overwriting the others.

Parts that other steps produce are read from the run's artifacts by name (`fairness.json`,
`importance.json`, `reference_statistics.json`); a missing part is rendered as "Not available",
never left out silently. skops.card is not used: it takes ~3 s, writes ~50 KB of scikit-learn
detail and has no place for the Annex IV points, which are what this card is for.
"""

from __future__ import annotations

import json
import platform
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import mlflow
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from . import audit
from .config import METRICS_BY_TASK, Params

CARD_FOLDER = "model_cards"  # in the training run's artifacts
CARD_TAG = "model_card"  # on the model version: the run artifact that holds its card
# Run artifacts written by other level-4 steps, read here and by the compliance gate.
FAIRNESS_ARTIFACT = "fairness.json"
IMPORTANCE_ARTIFACT = "importance.json"
REFERENCE_ARTIFACT = "reference_statistics.json"
SOFTWARE = ("scikit-learn", "mlflow", "pandas", "numpy")


@dataclass
class CardInputs:
    """Everything a card shows; a part that is None or empty is rendered as "Not available"."""

    model_name: str
    version: str
    task: str
    metric: str  # the primary metric
    intended_use: str = ""
    limitations: list[str] = field(default_factory=list)
    run_id: str | None = None
    trained_at: str | None = None
    git_commit: str | None = None
    data: dict[str, Any] = field(default_factory=dict)  # source, target, features, fingerprint...
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    holdout_metrics: dict[str, float] = field(default_factory=dict)
    input_schema: list[dict] = field(default_factory=list)
    gate: dict[str, str] = field(default_factory=dict)  # the promotion.* tags, prefix removed
    approvals: dict[str, str] = field(default_factory=dict)  # approval.* tags, prefix removed
    fairness: dict | None = None  # fairness.json
    importance: dict | None = None  # importance.json
    drift_reference: dict | None = None  # reference_statistics.json
    audit_events: list[dict] = field(default_factory=list)  # this version's audit entries
    software: dict[str, str] = field(default_factory=dict)


# Markdown helpers ------------------------------------------------------------------------------


def not_available(what: str) -> str:
    return f"_Not available: {what}._"


def table(rows: list[dict]) -> str:
    """A Markdown table from records sharing keys (the first record's keys are the columns)."""
    columns = list(rows[0])
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(row.get(column)) for column in columns) + " |" for row in rows]
    return "\n".join(lines)


def cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value).replace("|", "\\|").replace("\n", " ")


def facts(pairs: Mapping[str, object]) -> str:
    """A bullet list of name: value, skipping nothing (a missing value says so)."""
    return "\n".join(
        f"- **{name}**: {'not recorded' if value in (None, '') else value}"
        for name, value in pairs.items()
    )


def any_json(value: object) -> str:
    """A part whose shape we do not know: a table when it is one, else the JSON itself."""
    if isinstance(value, list) and value and all(isinstance(item, dict) for item in value):
        return table(value)
    if (
        isinstance(value, dict)
        and value
        and all(not isinstance(item, dict | list) for item in value.values())
    ):
        return table([{"name": key, "value": item} for key, item in value.items()])
    return "```json\n" + json.dumps(value, indent=2, sort_keys=True) + "\n```"


# Sections: (title, Annex IV point, renderer) ---------------------------------------------------


def general_description(card: CardInputs) -> str:
    use = card.intended_use or not_available(
        "no intended use written in governance.model_card.intended_use"
    )
    return f"{use}\n\n" + facts(
        {
            "Model": f"{card.model_name}, version {card.version}",
            "Task": card.task,
            "Served as": f"models:/{card.model_name}@champion once promoted (HTTP /predict)",
            "Software": ", ".join(f"{name} {number}" for name, number in card.software.items()),
        }
    )


def development_process(card: CardInputs) -> str:
    settings = (
        any_json(card.hyperparameters)
        if card.hyperparameters
        else not_available("no parameters logged")
    )
    return (
        "A scikit-learn Pipeline (imputation and encoding, then a random forest) trained by the "
        "project's pipeline: train, evaluate on a holdout, register, gate. Every run is tracked "
        f"in MLflow. It optimises the {card.metric} metric (the primary metric).\n\n"
        + facts(
            {
                "Training run": card.run_id,
                "Trained at": card.trained_at,
                "Code commit": card.git_commit,
            }
        )
        + "\n\nSettings of the run:\n\n"
        + settings
    )


def data_section(card: CardInputs) -> str:
    if not card.data:
        return not_available("the training run recorded no data description")
    return facts(card.data)


def performance(card: CardInputs) -> str:
    if not card.holdout_metrics:
        return not_available("no holdout metrics logged")
    rows = [
        {"metric": name, "value": value, "primary": "yes" if name == card.metric else ""}
        for name, value in card.holdout_metrics.items()
    ]
    return "Scored on the held-out split (data the model never saw in training).\n\n" + table(rows)


def fairness_section(card: CardInputs) -> str:
    if card.fairness is None:
        return not_available(f"no {FAIRNESS_ARTIFACT} in the training run")
    passed = card.fairness.get("passed")
    verdict = "not stated" if passed is None else "passed" if passed is True else "failed"
    return f"Verdict: **{verdict}**.\n\n" + any_json(card.fairness)


def importance_section(card: CardInputs) -> str:
    if card.importance is None:
        return not_available(f"no {IMPORTANCE_ARTIFACT} in the training run")
    return (
        "Permutation importance on the holdout: how much the score drops when a feature's "
        "values are shuffled.\n\n" + any_json(card.importance)
    )


def monitoring_section(card: CardInputs) -> str:
    inputs = table(card.input_schema) if card.input_schema else not_available("no input signature")
    if card.drift_reference is None:
        reference = not_available(f"no {REFERENCE_ARTIFACT} in the training run")
    else:
        features = card.drift_reference.get("features", {})
        names = ", ".join(features) if isinstance(features, dict) else str(features)
        reference = (
            f"Saved with the training run ({REFERENCE_ARTIFACT}); "
            f"features: {names or 'none listed'}."
        )
    return (
        "Inputs the model accepts (its MLflow signature):\n\n"
        f"{inputs}\n\n"
        "Drift reference (what monitoring compares served inputs with):\n\n"
        f"{reference}\n\n"
        "Control: the service only serves the version holding the champion alias; the gate below "
        "moves that alias, and every step is written to the audit trail."
    )


def limitations_section(card: CardInputs) -> str:
    if not card.limitations:
        return not_available("no limitations written in governance.model_card.limitations")
    return "\n".join(f"- {item}" for item in card.limitations)


def metrics_appropriateness(card: CardInputs) -> str:
    why = {
        "f1": "macro F1 weighs every class equally, so a rare class cannot be ignored",
        "accuracy": "accuracy is the share of right answers; it fits balanced classes",
        "roc_auc": "ROC AUC measures ranking quality independent of a decision threshold",
        "rmse": "RMSE is in the target's units and punishes large errors most",
        "mae": "MAE is in the target's units and treats every error alike",
        "r2": "R² is the share of the target's variance the model explains",
    }
    others = ", ".join(name for name in METRICS_BY_TASK[card.task] if name != card.metric)
    return (
        f"Primary metric: {card.metric}: {why.get(card.metric, 'chosen in params.yaml')}. "
        f"Also reported: {others}. The gate compares versions on the primary metric, on the "
        "same holdout; fairness gaps are reported per group with the group sizes."
    )


def gate_section(card: CardInputs) -> str:
    gate = (
        facts(card.gate) if card.gate else "Not decided yet: the gate has not run on this version."
    )
    approvals = (
        facts(card.approvals)
        if card.approvals
        else "No human approval recorded (version tags `approval.*`)."
    )
    return f"Automatic gate:\n\n{gate}\n\nApprovals:\n\n{approvals}"


def risk_management(card: CardInputs) -> str:
    return (
        "Risks are handled by checks that refuse, not by warnings: the promotion gate (sanity, "
        "schema, score against the champion), the compliance gate (model card, fairness, "
        "performance, drift reference, lineage, audit trail), drift and data-quality monitoring "
        "of served inputs, and an audit trail of every decision."
    )


def lifecycle_changes(card: CardInputs) -> str:
    if not card.audit_events:
        return not_available("no audit entries for this version")
    return "From the audit trail (`audit show`, `audit verify`):\n\n" + table(card.audit_events)


def standards(card: CardInputs) -> str:
    return (
        "No harmonised standard is applied by this project. Practices followed: versioned code "
        "and data fingerprints, tracked runs (MLflow), a model signature for inputs, a "
        "hash-chained audit trail (SHA-256)."
    )


def conformity(card: CardInputs) -> str:
    return (
        "Not produced by this project: the EU declaration of conformity is issued by the provider."
    )


def cybersecurity(card: CardInputs) -> str:
    return (
        "The model file is loaded with skops (no arbitrary pickle code). Access to the service "
        "and what it logs are described in the project README."
    )


def post_market_monitoring(card: CardInputs) -> str:
    return (
        "`monitor` compares a window of the prediction log with the drift reference; labels sent "
        "to /feedback measure live performance; alerts and their thresholds are in params.yaml, "
        "and alerts, feedback and service starts are written to the audit trail."
    )


Section = tuple[str, str, Callable[[CardInputs], str]]
SECTIONS: list[Section] = [
    ("General description and intended use", "Annex IV point 1", general_description),
    ("Development process and design choices", "Annex IV point 2(a)-(c)", development_process),
    ("Data and data governance", "Annex IV point 2(d)", data_section),
    ("Human oversight: gate decision and approvals", "Annex IV point 2(e)", gate_section),
    ("Validation and testing: metrics on the holdout", "Annex IV point 2(g)", performance),
    ("Fairness: metrics per group", "Annex IV points 2(g) and 3", fairness_section),
    ("Explainability: permutation importance", "Annex IV points 2(b) and 3", importance_section),
    ("Cybersecurity", "Annex IV point 2(h)", cybersecurity),
    ("Monitoring, functioning and control", "Annex IV point 3", monitoring_section),
    ("Limitations", "Annex IV point 3", limitations_section),
    ("Appropriateness of the performance metrics", "Annex IV point 4", metrics_appropriateness),
    ("Risk management", "Annex IV point 5", risk_management),
    ("Changes over the lifecycle", "Annex IV point 6", lifecycle_changes),
    ("Standards applied", "Annex IV point 7", standards),
    ("Declaration of conformity", "Annex IV point 8", conformity),
    ("Post-market monitoring plan", "Annex IV point 9", post_market_monitoring),
]


def render_card(card: CardInputs) -> str:
    """The card as Markdown: a title, then one numbered section per Annex IV point."""
    parts = [f"# Model card: {card.model_name} version {card.version}\n"]
    for number, (title, annex_point, render) in enumerate(SECTIONS, start=1):
        parts.append(f"## {number}. {title}\n\n_{annex_point}_\n\n{render(card)}\n")
    return "\n".join(parts)


# Gathering the inputs from MLflow --------------------------------------------------------------


def artifact_names(run_id: str) -> set[str]:
    """The names of the files at the root of a run's artifacts."""
    return {item.path for item in MlflowClient().list_artifacts(run_id)}


def load_run_json(run_id: str, name: str, present: set[str] | None = None) -> dict | None:
    """A JSON artifact at the root of a run, or None when the run has none by that name."""
    if name not in (artifact_names(run_id) if present is None else present):
        return None
    try:
        return mlflow.artifacts.load_dict(f"runs:/{run_id}/{name}")
    except (MlflowException, OSError, ValueError):
        return None


def collect_inputs(params: Params, version: str) -> CardInputs:
    """Read one registered version, its run, its artifacts and its audit entries."""
    client = MlflowClient()
    name = params.registry.model_name
    model_version = client.get_model_version(name, version)
    card = CardInputs(
        model_name=name,
        version=str(version),
        task=params.task,
        metric=params.metric,
        intended_use=params.governance.model_card.intended_use.strip(),
        limitations=list(params.governance.model_card.limitations),
        software=software_versions(),
        gate=prefixed(model_version.tags, "promotion."),
        approvals=prefixed(model_version.tags, "approval."),
    )
    if model_version.run_id:
        add_run(card, model_version.run_id)
    card.audit_events = version_events(params, card)
    return card


def add_run(card: CardInputs, run_id: str) -> None:
    run = MlflowClient().get_run(run_id)
    logged = run.data.params
    card.run_id = run_id
    started = datetime.fromtimestamp(run.info.start_time / 1000, UTC)
    card.trained_at = started.isoformat(timespec="seconds")
    card.git_commit = run.data.tags.get("git_commit")
    card.hyperparameters = {key: value for key, value in logged.items() if key.startswith("model.")}
    card.holdout_metrics = {
        metric: run.data.metrics[metric]
        for metric in METRICS_BY_TASK[card.task]
        if metric in run.data.metrics
    }
    card.data = {
        "Source": logged.get("data.source"),
        "File": logged.get("data.path") if logged.get("data.source") == "csv" else "none (bundled)",
        "Target": logged.get("data.target"),
        "Features": features_text(logged.get("data.features")),
        "Holdout share": logged.get("data.test_size"),
        "Split seed": logged.get("data.seed"),
        "Fingerprint (SHA-256 of the content)": run.data.tags.get("data_fingerprint"),
    }
    try:
        card.input_schema = mlflow.models.get_model_info(
            f"models:/{card.model_name}/{card.version}"
        ).signature.inputs.to_dict()
    except (MlflowException, OSError, AttributeError):
        card.input_schema = []
    present = artifact_names(run_id)
    card.fairness = load_run_json(run_id, FAIRNESS_ARTIFACT, present)
    card.importance = load_run_json(run_id, IMPORTANCE_ARTIFACT, present)
    card.drift_reference = load_run_json(run_id, REFERENCE_ARTIFACT, present)


def features_text(logged: str | None) -> str | None:
    # An empty list in params.yaml means every column but the target (section 9 lists them).
    return "every column but the target" if logged in ("[]", "") else logged


def prefixed(tags: dict[str, str], prefix: str) -> dict[str, str]:
    return {
        key.removeprefix(prefix): value for key, value in tags.items() if key.startswith(prefix)
    }


def version_events(params: Params, card: CardInputs) -> list[dict]:
    """This version's entries of the audit trail: its run's training, then its own events."""
    store = audit.open_store(params)
    try:
        entries = store.entries()
    except audit.AuditError:
        return []
    finally:
        store.close()
    return [
        {"#": entry.seq, "when (UTC)": entry.at[:19], "who": entry.who, "event": entry.event}
        for entry in entries
        if (
            entry.what.get("model") == card.model_name
            and str(entry.what.get("version")) == card.version
        )
        or (
            card.run_id is not None
            and entry.event == "train"
            and entry.what.get("run_id") == card.run_id
        )
    ]


def software_versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for name in SOFTWARE:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            continue
    return found


def card_artifact(model_name: str, version: str) -> str:
    """Where one registered version's card lives in its run's artifacts."""
    return f"{CARD_FOLDER}/{model_name}-v{version}.md"


def card_exists(run_id: str, path: str) -> bool:
    """Whether the run holds an artifact at `path` (a card's path, from the version's tag)."""
    folder = path.rpartition("/")[0]
    return path in {item.path for item in MlflowClient().list_artifacts(run_id, folder or None)}


def write_card(params: Params, version: str) -> str:
    """Render the card of one version, log it to its run and tag the version; return the text."""
    card = collect_inputs(params, version)
    text = render_card(card)
    client = MlflowClient()
    if card.run_id:
        path = card_artifact(card.model_name, version)
        client.log_text(card.run_id, text, path)
        client.set_model_version_tag(params.registry.model_name, version, CARD_TAG, path)
    return text
