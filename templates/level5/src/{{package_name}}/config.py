"""Typed configuration: params.yaml loaded into pydantic models, checked before any work starts."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, model_validator

# src/<package>/config.py -> the project root is two folders up (the editable install points here).
PROJECT_ROOT = Path(__file__).resolve().parents[2]
PARAMS_FILE = PROJECT_ROOT / "params.yaml"
SQLITE_PREFIX = "sqlite:///"

Task = Literal["classification", "regression"]
Metric = Literal["f1", "accuracy", "roc_auc", "rmse", "mae", "r2"]
METRICS_BY_TASK: dict[str, tuple[str, ...]] = {
    "classification": ("f1", "accuracy", "roc_auc"),
    "regression": ("rmse", "mae", "r2"),
}


class UserError(Exception):
    """A mistake the user can fix; the message says what is wrong and how to fix it."""


class ConfigError(UserError):
    """params.yaml is missing, unreadable, or holds a wrong key or value."""


class StrictModel(BaseModel):
    # extra="forbid" turns a misspelt key into an error instead of a silently ignored setting.
    # params.yaml lists every setting, so it is the one place to look; the few fields with a default
    # are there so that a params file written before the field existed still loads.
    model_config = ConfigDict(extra="forbid")


class DataParams(StrictModel):
    source: Literal["breast_cancer", "wine", "diabetes", "csv"]
    path: Path | None
    target: str = Field(min_length=1)
    features: list[str]
    test_size: float = Field(gt=0, lt=1)
    seed: int
    # The data's fingerprint (see data.fingerprint); when set, other data is refused.
    sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")

    @model_validator(mode="after")
    def _csv_needs_a_path(self) -> DataParams:
        if self.source == "csv" and self.path is None:
            raise ValueError("data.source is csv, so data.path must give the CSV file")
        return self


class ModelParams(StrictModel):
    n_estimators: int = Field(ge=1)
    max_depth: int | None = Field(ge=1)


class TrackingParams(StrictModel):
    uri: str = Field(min_length=1)
    experiment: str = Field(min_length=1)


class RegistryParams(StrictModel):
    model_name: str = Field(min_length=1)
    # The challenger must beat the champion by more than this on the primary metric.
    promotion_margin: float = Field(default=0.0, ge=0)


class ServingParams(StrictModel):
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    max_batch_rows: int = Field(default=1000, ge=1)
    max_body_bytes: int = Field(default=1_000_000, ge=1)
    # Any SQLAlchemy URL; PREDICTION_LOG_URL overrides it (see prediction_log_url below).
    prediction_log_url: str = "sqlite:///predictions.db"
    # Level 5: hot reload, shadow and canary (reload.py, routing.py), graceful shutdown.
    reload_seconds: float = Field(default=5.0, ge=0)  # how often the aliases are polled; 0: never
    shadow: bool = False  # also score the `challenger` alias's model, logged and never returned
    canary_share: float = Field(default=0.0, ge=0, le=1)  # share of requests the `canary` answers
    sticky_key_header: str = Field(default="X-Client-Id", min_length=1)  # same key, same model
    drain_seconds: int = Field(default=30, ge=1)  # on SIGTERM, in-flight requests get this long (s)


class FeatureLimits(StrictModel):
    """Per-feature overrides of the monitoring limits; a limit left out keeps the section's."""

    effect_threshold: float | None = Field(default=None, ge=0)
    max_missing_increase: float | None = Field(default=None, ge=0, le=1)
    max_out_of_range_share: float | None = Field(default=None, ge=0, le=1)
    range_margin: float | None = Field(default=None, ge=0)
    max_unseen_share: float | None = Field(default=None, ge=0, le=1)
    max_wrong_type_share: float | None = Field(default=None, ge=0, le=1)


class MonitoringParams(StrictModel):
    """Drift and data-quality monitoring (monitor.py; the statistics in drift_statistics.py)."""

    window_rows: int = Field(default=5000, ge=1)
    min_rows: int = Field(default=100, ge=1)
    alpha: float = Field(default=0.01, gt=0, lt=1)
    effect_threshold: float = Field(default=0.05, ge=0)
    max_missing_increase: float = Field(default=0.1, ge=0, le=1)
    max_out_of_range_share: float = Field(default=0.05, ge=0, le=1)
    range_margin: float = Field(default=0.1, ge=0)
    max_unseen_share: float = Field(default=0.01, ge=0, le=1)
    max_wrong_type_share: float = Field(default=0.0, ge=0, le=1)
    # Keyed by feature name, or `prediction` for the model's output.
    features: dict[str, FeatureLimits] = Field(default_factory=dict)
    html_sample_rows: int = Field(default=5000, ge=0)  # 0: no Evidently HTML report
    # A Slack-compatible incoming webhook; MONITOR_WEBHOOK_URL overrides it (see webhook_url below).
    webhook_url: str | None = None
    webhook_attempts: int = Field(default=3, ge=1)
    webhook_backoff_seconds: float = Field(default=1.0, ge=0)
    report_dir: Path = Path("reports")  # relative to the params file's folder: params.resolve()


class AuditParams(StrictModel):
    path: Path = Path("audit/audit.jsonl")  # relative to the params file's folder
    # file: the JSON-lines file above; database: the prediction log's database
    store: Literal["file", "database"] = "file"


class ModelCardParams(StrictModel):
    intended_use: str = ""  # who may use the model, and for what
    limitations: list[str] = Field(default_factory=list)


class ComplianceParams(StrictModel):
    # Run the compliance rules before `promote` moves the champion alias.
    on_promotion: bool = True
    # The primary metric the holdout must reach whatever the champion scores (null: no floor).
    min_score: float | None = None


class GovernanceParams(StrictModel):
    """Level 4: the audit trail, the model card and the compliance gate."""

    audit: AuditParams = Field(default_factory=AuditParams)
    model_card: ModelCardParams = Field(default_factory=ModelCardParams)
    compliance: ComplianceParams = Field(default_factory=ComplianceParams)


class GateParams(StrictModel):
    """Level 4's promotion gate: a paired significance test and guardrails (see promotion.py)."""

    # The challenger must beat the champion with a one-sided p-value below this (significance.py).
    significance_level: float = Field(default=0.05, gt=0, lt=1)
    # The smallest improvement worth a new model, as a share of the champion's error (1 - score,
    # or rmse/mae itself). Tested, not just compared: see significance.py for why it matters.
    min_relative_improvement: float = Field(default=0.05, ge=0, lt=1)
    # Resamples of the paired bootstrap (f1, roc_auc): more is steadier and slower.
    bootstrap_rounds: int = Field(default=1000, ge=100)
    # The 95th percentile of a one-row prediction, in milliseconds, measured by the gate. The
    # 100-tree forest takes ~5 ms on a quiet machine but 100-150 ms on an overloaded one, so the
    # default catches a model many times slower, not a busy CI runner; set your service's budget.
    max_p95_latency_ms: float = Field(default=250.0, gt=0)
    # Classifiers: the challenger's Brier score may exceed the champion's by at most this.
    max_brier_increase: float = Field(default=0.01, ge=0)


class FairnessParams(StrictModel):
    """Which columns are sensitive and how large a gap between their groups may be (fairness.py).

    `sensitive_attributes` has no default on purpose: left out (or null), the fairness check
    refuses; a dataset with none says so with `[]` and `no_sensitive_attributes_reason`."""

    sensitive_attributes: list[str] | None = None
    no_sensitive_attributes_reason: str | None = None
    max_error_gap: float = Field(default=0.1, ge=0)
    max_parity_gap: float | None = Field(default=None, ge=0)  # null: reported, not enforced
    min_group_size: int = Field(default=30, ge=1)
    bins: int = Field(default=4, ge=2)  # quantile bins for a numeric column with many values


class ImportanceParams(StrictModel):
    """Permutation importance on the holdout, logged with every trained model (importance.py)."""

    n_repeats: int = Field(default=5, ge=1, le=50)
    max_rows: int = Field(default=1000, ge=10)  # a larger holdout is sampled down to this


# Level 4: the service's explanations and the performance report once labels arrive.
class ExplainParams(StrictModel):
    top_k: int = Field(default=5, ge=1)  # contributions returned by /explain
    timeout_seconds: float = Field(default=2.0, gt=0)  # a slower explanation answers 504


class PerformanceParams(StrictModel):
    window_hours: float = Field(default=24, gt=0)  # predictions are grouped by when they were made
    min_labels: int = Field(default=200, ge=1)  # fewer labels in a window: "not enough labels"
    # A window degrades when its primary metric is worse than on the training holdout by more
    # than this share of the holdout value (0.1: 10% worse).
    max_relative_drop: float = Field(default=0.1, gt=0)


class SimulationParams(StrictModel):
    """Level 5: `simulate` replays a drifting stream through the real loop (simulate.py)."""

    seed: int = 1  # the split, the stream and the models: same seed, same decisions and figure
    batches: int = Field(default=40, ge=2)
    batch_rows: int = Field(default=50, ge=1)
    drift_batch: int = Field(default=12, ge=1)  # the first batch whose feature drifts (from 0)
    # How many columns drift together: those whose drift hurts the first champion most on its
    # holdout. drift_columns names them instead.
    drift_features: int = Field(default=3, ge=1)
    drift_columns: list[str] = []
    drift_shift: float = Field(default=3.0, gt=0)  # numbers: + this many standard deviations
    label_delay: int = Field(default=2, ge=0)  # labels of batch t arrive with batch t + this
    history_share: float = Field(default=0.5, gt=0, lt=1)  # the initial champion's share of data
    holdout_share: float = Field(default=0.5, gt=0, lt=1)  # held out by every simulated training
    window_rows: int = Field(default=200, ge=1)  # monitoring window of the simulated service
    min_rows: int = Field(default=100, ge=1)  # fewer rows in the window: no alarm
    retrain_rows: int = Field(default=200, ge=10)  # labelled rows since the alarm a retrain takes
    cooldown_batches: int = Field(default=3, ge=0)  # after a retrain, the next waits this long
    min_labels: int = Field(default=100, ge=1)  # the rollback rule judges no fewer labels
    # Phase 2 starts this long after the recovery (with none: near the end, see simulate.py).
    bad_model_after: int = Field(default=4, ge=0)
    n_estimators: int = Field(default=20, ge=1)  # trees per simulated forest: it trains several
    output_dir: Path = Path("reports/simulation")  # relative to the params file's folder

    @model_validator(mode="after")
    def _drift_inside_the_stream(self) -> SimulationParams:
        if self.drift_batch >= self.batches:
            raise ValueError(
                f"simulation.drift_batch ({self.drift_batch}) must be below simulation.batches "
                f"({self.batches}), or nothing drifts"
            )
        return self


# Level 5: the canary decision and the automatic rollback (canary.py, rollback.py).
class CanaryParams(StrictModel):
    # Off: a challenger that passes both gates becomes champion at once. On: it becomes `canary`,
    # serves a share of the traffic, and `canary decide` promotes or aborts it on live labels.
    enabled: bool = False
    # The worsening of the primary metric the decision must catch with probability `power`:
    # points of f1, accuracy, roc_auc or r2 (0.02: two points); a share of rmse or mae (0.1: 10%).
    detect_worse_by: float = Field(default=0.02, gt=0, lt=1)
    # The nominal chance of aborting a canary exactly as good as the champion. The tests are normal
    # approximations that can overshoot it a little: 0.025 keeps the real rate under 5%.
    alpha: float = Field(default=0.025, gt=0, lt=0.5)
    power: float = Field(default=0.8, gt=0.5, lt=1)
    # Without enough labelled rows by then, the canary is aborted: unproven is not promoted.
    max_duration_hours: float = Field(default=72, gt=0)


class RollbackParams(StrictModel):
    # `rollback --check` (the loop runs it on a schedule) rolls back by itself only when on.
    enabled: bool = True
    window_hours: float = Field(default=24, gt=0)  # labelled rows grouped by when predicted
    min_labels: int = Field(default=200, ge=1)  # a window with fewer is not judged
    # Rolled back when the live primary metric is significantly (one-sided p < alpha) worse than
    # this share off the champion's holdout score (0.1: f1 10% lower, or rmse 10% higher).
    max_relative_drop: float = Field(default=0.1, gt=0, lt=1)
    alpha: float = Field(default=0.05, gt=0, lt=0.5)
    # Server errors (5xx) as a share of the champion's requests, read from the service's /metrics
    # at `service_url` (null: the error rate is not checked), once it counted `min_requests`.
    max_error_rate: float = Field(default=0.05, gt=0, lt=1)
    min_requests: int = Field(default=100, ge=1)
    service_url: str | None = None


# Level 5: hyperparameter trials fanned out over a Dask cluster (tune.py).
class TuningParams(StrictModel):
    # Each trial is a whole `model:` section; the best by cross-validation becomes the challenger.
    trials: list[ModelParams] = Field(
        default_factory=lambda: [
            ModelParams(n_estimators=100, max_depth=None),
            ModelParams(n_estimators=100, max_depth=8),
            ModelParams(n_estimators=200, max_depth=None),
            ModelParams(n_estimators=50, max_depth=4),
        ],
        min_length=1,
    )
    cv_folds: int = Field(default=3, ge=2)  # folds of the training split that rank the trials
    local_workers: int = Field(default=2, ge=1)  # Dask workers when DASK_SCHEDULER_ADDRESS is unset
    local_processes: bool = False  # threads of this process (false) or worker processes (true)


class LoopParams(StrictModel):
    """Level 5: the closed loop on Prefect deployments (loop.py, loop_flows.py, deployments.py)."""

    # Monitoring runs every this many minutes, or on `monitor_cron` when set ("0 * * * *").
    monitor_every_minutes: float = Field(default=60, gt=0)
    monitor_cron: str | None = None
    # No retrain starts within this many minutes of the last one, whatever the events say.
    cooldown_minutes: float = Field(default=60, ge=0)
    # The events that start a retrain; anomaly.rate is left out on purpose: a data-quality alarm
    # usually means something upstream broke, and retraining on broken data does not fix it.
    retrain_on: list[Literal["drift.detected", "performance.degraded", "anomaly.rate"]] = [
        "drift.detected",
        "performance.degraded",
    ]
    # anomaly.rate is emitted when the share of columns with a data-quality alarm is above this.
    max_anomaly_share: float = Field(default=0.0, ge=0, le=1)
    canary_every_minutes: float = Field(default=10, gt=0)  # the canary decision
    rollback_every_minutes: float = Field(default=5, gt=0)  # the rollback check


class Params(StrictModel):
    task: Task
    data: DataParams
    model: ModelParams
    metric: Metric
    tracking: TrackingParams
    registry: RegistryParams
    serving: ServingParams
    monitoring: MonitoringParams
    governance: GovernanceParams = Field(default_factory=GovernanceParams)
    # Level 4 governance: the gate's test and guardrails, fairness, permutation importance.
    gate: GateParams = Field(default_factory=GateParams)
    fairness: FairnessParams | None = None  # None: the fairness check refuses (see fairness.py)
    importance: ImportanceParams = Field(default_factory=ImportanceParams)
    explain: ExplainParams = ExplainParams()  # level 4 (service)
    performance: PerformanceParams = PerformanceParams()  # level 4 (labels)
    simulation: SimulationParams = SimulationParams()  # level 5: `simulate`
    canary: CanaryParams = CanaryParams()  # level 5: the canary decision
    rollback: RollbackParams = RollbackParams()  # level 5: automatic rollback
    tuning: TuningParams = TuningParams()  # level 5: hyperparameter trials on Dask
    loop: LoopParams = Field(default_factory=LoopParams)  # level 5 (the closed loop)

    # The folder of the params file: relative paths inside it are resolved against this folder,
    # never against the current working directory.
    _root: Path = PrivateAttr(default=PROJECT_ROOT)

    @model_validator(mode="after")
    def _metric_fits_task(self) -> Params:
        allowed = METRICS_BY_TASK[self.task]
        if self.metric not in allowed:
            raise ValueError(
                f"metric {self.metric} does not fit a {self.task} task: "
                f"use one of {', '.join(allowed)}"
            )
        return self

    @property
    def root(self) -> Path:
        return self._root

    def resolve(self, path: str | Path) -> Path:
        """`path` made absolute: taken as relative to the params file's folder."""
        path = Path(path).expanduser()
        return path if path.is_absolute() else self._root / path

    def resolve_database_url(self, url: str) -> str:
        """A relative `sqlite:///file.db` made absolute against the params file's folder; any other
        URL (PostgreSQL, an absolute SQLite path) unchanged."""
        if not url.startswith(SQLITE_PREFIX):
            return url
        return SQLITE_PREFIX + self.resolve(url.removeprefix(SQLITE_PREFIX)).as_posix()


def prediction_log_url(params: Params) -> str:
    """Where served predictions are stored: PREDICTION_LOG_URL when set (PostgreSQL, say), else
    serving.prediction_log_url, so the log does not depend on the folder the service starts in."""
    return params.resolve_database_url(
        os.environ.get("PREDICTION_LOG_URL") or params.serving.prediction_log_url
    )


def load_params(path: str | Path | None = None) -> Params:
    """Read and check a params file (default: the project's); a ConfigError names a wrong key."""
    path = Path(path).resolve() if path is not None else PARAMS_FILE
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"No params file at {path}. Fix: pass --params PATH.") from None
    except yaml.YAMLError as error:
        raise ConfigError(f"{path.name} is not valid YAML ({error}). Fix the syntax.") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path.name} must map keys to values, such as `task: regression`.")
    try:
        params = Params.model_validate(raw)
    except ValidationError as error:
        raise ConfigError(describe_validation_error(error, path.name)) from None
    params._root = path.parent
    if params.data.path is not None:
        params.data.path = params.resolve(params.data.path)
    return params


def describe_validation_error(error: ValidationError, filename: str) -> str:
    """One sentence per problem, each naming its key the way it is written in the file."""
    problems = []
    for problem in error.errors():
        key = ".".join(str(part) for part in problem["loc"])
        if problem["type"] == "extra_forbidden":
            problems.append(f"unknown key '{key}': remove it or correct its spelling")
        elif problem["type"] == "missing":
            problems.append(f"missing key '{key}': add it")
        elif problem["type"] == "value_error":
            # Raised by the checks above, whose messages already name their keys.
            problems.append(problem["msg"].removeprefix("Value error, "))
        else:
            problems.append(f"'{key}': {problem['msg']} (got {problem['input']!r})")
    return f"{filename}: " + "; ".join(problems) + f". Fix {filename} and run again."
