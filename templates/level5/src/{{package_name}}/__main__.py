"""The project's commands: `python -m <package> <command>`; `make` only wraps them."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from .config import Params, UserError, load_params

# Each command imports what it uses when it runs: MLflow alone takes about a second to import,
# and `monitor`, which a scheduler may run often, does not need it (nor does `--help`).
if TYPE_CHECKING:
    from .pipeline import PipelineResult
    from .promotion import Decision
    from .train import TrainResult

COMMAND = f"python -m {__package__}"


def train_command(args: argparse.Namespace) -> int:
    """Train once, log the run to MLflow and register the model as the challenger."""
    from . import registry
    from .train import train

    params = load_params(args.params)
    result = train(params)
    report_training(params, result)
    version = registry.register_challenger(params, result.model_uri)
    print(f"Registered {params.registry.model_name} version {version.version} as the challenger.")
    print(f"Let the gate decide: `{COMMAND} promote` (or run the whole `{COMMAND} pipeline`).")
    return 0


def promote_command(args: argparse.Namespace) -> int:
    """Run the promotion gate on the current challenger."""
    from . import promotion

    params = load_params(args.params)
    try:
        decision = promotion.promote(params)
    except LookupError as error:
        raise UserError(f"{error}. Fix: run `{COMMAND} train` first.") from None
    print_decision(decision)
    return 0


def pipeline_command(args: argparse.Namespace) -> int:
    """Run the Prefect flow train -> evaluate -> register -> promote."""
    params = load_params(args.params)
    result = run_pipeline(params)
    report_training(params, result.trained)
    print(f"Registered {params.registry.model_name} version {result.version} as the challenger.")
    print_decision(result.decision)
    return 0


def run_pipeline(params: Params) -> PipelineResult:
    """The flow, on Prefect's temporary local server unless PREFECT_API_URL names a real one."""
    # Offline, Prefect's telemetry prints error tracebacks. Prefect reads its settings when it is
    # imported, hence the import here, after the setting (and only for the commands that need it).
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    from .pipeline import training_pipeline

    return training_pipeline(params)


def tune_command(args: argparse.Namespace) -> int:
    """Level 5: hyperparameter trials on Dask; the best is registered and meets the gates."""
    params = load_params(args.params)
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")  # see run_pipeline
    from .tune import run_tuning

    result = run_tuning(params)
    for trial in result.trials:
        marker = "  <- best" if trial is result.best else ""
        settings = ", ".join(f"{key}={value}" for key, value in trial.model.model_dump().items())
        cv = f"cv {params.metric} {trial.cv_score:.4f}"
        print(f"  {settings:<34} {cv}  run {trial.run_id}{marker}")
    print(f"Tuning run {result.parent_run_id}: {len(result.trials)} trials (child runs).")
    print(f"Registered {params.registry.model_name} version {result.version} as the challenger.")
    print_decision(result.decision)
    return 0


def evaluate_command(args: argparse.Namespace) -> int:
    """Score a logged model (the latest run's by default) on the held-out data."""
    from .evaluate import evaluate_run

    params = load_params(args.params)
    result = evaluate_run(params, args.run_id)
    print(f"Evaluated run {result.run_id} on the held-out data")
    print_metrics(result.metrics, params.metric)
    if not result.same_data:
        print("Note: the data changed since this run trained (its fingerprint differs).")
    return 0


def predict_command(args: argparse.Namespace) -> int:
    """Score the rows of a CSV file with a logged model (the latest run's by default)."""
    from .predict import predict_csv

    params = load_params(args.params)
    result = predict_csv(params, args.input, args.output, args.run_id)
    print(f"Scored {result.rows} rows with the model of run {result.run_id}")
    print(f"Wrote {result.output}")
    return 0


def demo_command(args: argparse.Namespace) -> int:
    """Run the whole pipeline, show where the champion came from, then say how to serve it."""
    from .lineage import walk_back

    params = load_params(args.params)
    result = run_pipeline(params)
    report_training(params, result.trained)
    print("Reloaded its model from MLflow and scored it again on the held-out data")
    print_metrics(result.evaluation.metrics, params.metric)
    print(f"Registered {params.registry.model_name} version {result.version} as the challenger.")
    print_decision(result.decision)
    lineage = walk_back(params)
    print(
        f"The champion is version {lineage['version']}: run {lineage['run_id']}, "
        f"data {lineage['data_fingerprint'][:12]}, commit {lineage['git_commit']}"
    )
    address = f"http://{params.serving.host}:{params.serving.port}"
    print(f"Serve it: `{COMMAND} serve` (or `make serve`), then try /predict at {address}/docs")
    print(f"After some traffic, `{COMMAND} monitor` (or `make monitor`) writes a drift report.")
    print(f"Browse runs and model versions: `{COMMAND} ui` (or `make ui`)")
    return 0


def serve_command(args: argparse.Namespace) -> int:
    """Serve the champion over HTTP (127.0.0.1:8000 by default; --port or PORT override it)."""
    params = load_params(args.params)
    port = args.port or os.environ.get("PORT") or params.serving.port
    if not str(port).isdigit():
        raise UserError(f"PORT must be a number, not {port!r}. Fix: unset PORT or set it to 8000.")
    from .service import serve

    serve(params, args.host or params.serving.host, int(port), open_access=args.open)
    return 0


def feedback_command(args: argparse.Namespace) -> int:
    """Record true labels of served predictions from a CSV (request_id, row, label)."""
    from .config import prediction_log_url
    from .feedback import LabelStore, labels_from_csv

    params = load_params(args.params)
    labels = labels_from_csv(args.labels, params.task)
    store = LabelStore(prediction_log_url(params))
    try:
        recorded = store.record(labels)
    finally:
        store.close()
    print(f"Recorded {recorded} label(s). `{COMMAND} performance` compares them with the holdout.")
    return 0


def performance_command(args: argparse.Namespace) -> int:
    """Score labelled predictions per time window against the holdout; exit 1 when degraded."""
    from . import events
    from .performance import REPORT_NAME, degraded_now, run_performance

    params = load_params(args.params)
    windows = run_performance(params)
    # Level 5: a degraded window is also a Prefect event, which can start a retrain (events.py).
    report = params.resolve(params.monitoring.report_dir) / REPORT_NAME
    events.emit(events.performance_events(params, windows, report))
    return 1 if degraded_now(windows) else 0


def monitor_command(args: argparse.Namespace) -> int:
    """Drift and data quality of recent predictions: exit 0 quiet, 1 alarm, 3 not enough data."""
    from . import events
    from .monitor import EXIT_CODES, SUMMARY_NAME, run_monitor

    params = load_params(args.params)
    summary = run_monitor(params)
    # Level 5: each crossed threshold is also a Prefect event, which can start a retrain.
    report = params.resolve(params.monitoring.report_dir) / SUMMARY_NAME
    events.emit(events.drift_events(params, summary, report))
    return EXIT_CODES[summary["status"]]


def lineage_command(args: argparse.Namespace) -> int:
    """Walk back from a model version (the champion by default) to its run, data and code."""
    from .lineage import walk_back

    params = load_params(args.params)
    try:
        lineage = walk_back(params, args.version)
    except LookupError as error:
        raise UserError(f"{error}. Fix: run `{COMMAND} pipeline` first.") from None
    print(json.dumps(lineage, indent=2))
    return 0


def ui_command(args: argparse.Namespace) -> int:
    """Start the MLflow UI on this project's tracking store (127.0.0.1, PORT overrides 5000)."""
    from .tracking import tracking_uri

    uri = tracking_uri(load_params(args.params))
    if uri.startswith(("http://", "https://")):
        print(f"Runs are tracked on the server {uri}: open it in a browser.")
        return 0
    port = os.environ.get("PORT", "5000")
    if not port.isdigit():
        raise UserError(f"PORT must be a number, not {port!r}. Fix: unset PORT or set it to 5000.")
    print(f"MLflow UI on http://127.0.0.1:{port} for {uri} (Ctrl-C stops it)", flush=True)
    command = [sys.executable, "-m", "mlflow", "ui", "--backend-store-uri", uri]
    try:
        return subprocess.call([*command, "--host", "127.0.0.1", "--port", port])
    except KeyboardInterrupt:
        return 0


def audit_command(args: argparse.Namespace) -> int:
    """Check the audit trail's hash chain (`verify`) or print its latest entries (`show`)."""
    from . import audit

    params = load_params(args.params)
    store = audit.open_store(params)
    if args.action == "show":
        try:
            entries = store.entries()
        except audit.AuditError as error:
            raise UserError(f"{error}. Fix: `{COMMAND} audit verify` says what is wrong.") from None
        for entry in entries[-args.last :]:
            when, what = entry.at[:19], json.dumps(entry.what)
            print(f"#{entry.seq:<5} {when}  {entry.who:<24} {entry.event:<10} {what}")
        print(f"{len(entries)} entries in {store.describe()}")
        return 0
    verification = audit.verify(params)
    if not verification.ok:
        print(f"Audit trail {store.describe()} does NOT verify: {verification.problem}")
        return 1
    print(f"Audit trail {store.describe()} verifies: {verification.entries} entries, head matches.")
    return 0


def compliance_command(args: argparse.Namespace) -> int:
    """Check a model version (the challenger by default) against every compliance rule."""
    from .compliance import run_compliance

    params = load_params(args.params)
    try:
        version, results = run_compliance(params, args.version)
    except LookupError as error:
        raise UserError(
            f"{error}. Fix: run `{COMMAND} pipeline` first, or pass --version."
        ) from None
    for result in results:
        print(f"{'PASS' if result.passed else 'FAIL'}  {result.rule:<16} {result.reason}")
    failed = [result.rule for result in results if not result.passed]
    if failed:
        print(f"Version {version} is NOT compliant: {', '.join(failed)} failed.")
        return 1
    print(f"Version {version} is compliant: every rule passed.")
    return 0


def simulate_command(args: argparse.Namespace) -> int:
    """Replay a drifting stream through the loop; write a figure and a summary (level 5)."""
    from .simulate import run_simulation

    summary = run_simulation(load_params(args.params))
    return 0 if summary["passed"] else 1  # 1: a check failed; the summary names it


def canary_command(args: argparse.Namespace) -> int:
    """The canary decision: `status` (rows needed and collected) or `decide` (promote or abort)."""
    from . import canary

    params = load_params(args.params)
    decision = canary.decide(params) if args.action == "decide" else canary.evaluate(params)
    for line in canary.describe(params, decision):
        print(line)
    if args.action == "status":
        return 0
    # decide: 0 promoted (or no canary), 1 aborted, 3 keep collecting (2: a usage error).
    return {canary.ABORT: 1, canary.COLLECT: 3}.get(decision.decision, 0)


def rollback_command(args: argparse.Namespace) -> int:
    """Roll the champion back to the previous champion (`--check`: only if it degraded)."""
    from . import rollback

    params = load_params(args.params)
    if not args.check:
        if not args.reason:
            raise UserError(
                'A rollback by hand needs a reason. Fix: add --reason "what went wrong".'
            )
        version = rollback.to_previous(params, args.reason, who=args.who)
        print(f"Rolled back: version {version} is the champion again ({args.reason}).")
        return 0
    decision = rollback.check(params)
    print(f"Champion {decision.champion_version or 'none'}: {decision.verdict}: {decision.reason}")
    if decision.rolled_back:
        print(f"Rolled back to version {decision.previous_version}.")
    # --check: 0 nothing to do, 1 rolled back, 3 degraded but not rolled back (off, or no previous).
    if decision.rolled_back:
        return 1
    return 3 if decision.verdict == "degraded" else 0


def loop_command(args: argparse.Namespace) -> int:
    """Run the closed loop locally (server, deployments, worker), or `deploy` it to a server."""
    params = load_params(args.params)
    params_file = (
        str(Path(args.params).resolve()) if args.params else str(params.root / "params.yaml")
    )
    # Offline, Prefect's telemetry prints error tracebacks (see run_pipeline).
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    if args.action == "run":
        from .local_loop import run_loop

        return run_loop(params, params_file)
    from .deployments import deploy
    from .events import prefect_server

    if prefect_server() is None:
        raise UserError(
            "`loop deploy` registers the loop on the Prefect server at PREFECT_API_URL, and none "
            "answers there. Fix: export PREFECT_API_URL=http://<server>:4200/api, or run "
            f"`{COMMAND} loop` for a loop on this machine."
        )
    for deployment in deploy(params, params_file, args.pool):
        print(f"Deployed {deployment.name}: runs {deployment.when}, on work pool {args.pool}")
    print(f"Start workers where the project is installed: prefect worker start --pool {args.pool}")
    return 0


def report_training(params: Params, result: TrainResult) -> None:
    from .tracking import tracking_uri

    print(f"Trained run {result.run_id}")
    # In full, to copy into data.sha256 of params.yaml when the data must stay out of git.
    print(f"Data fingerprint: {result.fingerprint}")
    print(f"Tracking store: {tracking_uri(params)}")
    print_metrics(result.metrics, params.metric)


def print_metrics(metrics: dict[str, float], primary: str) -> None:
    for name, value in metrics.items():
        marker = "  <- primary metric" if name == primary else ""
        print(f"  {name:<9} {value:.4f}{marker}")


def print_decision(decision: Decision) -> None:
    version = decision.challenger_version
    if decision.promoted and decision.alias == "canary":
        print(
            f"Gate: version {version} passed; it is the canary now and serves a share of the "
            f"traffic (champion stays {decision.champion_version}). `{COMMAND} canary status` "
            "says how many labelled rows the canary decision needs."
        )
    elif decision.promoted:
        print(f"Gate: version {version} is the champion now ({decision.reason})")
    else:
        kept = decision.champion_version or "none"
        print(f"Gate: version {version} not promoted ({decision.reason}); champion stays {kept}")


def build_parser() -> argparse.ArgumentParser:
    # Options shared by every command, so they go after the command name: `train --params x.yaml`.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--params", help="params file to use (default: the project's params.yaml)")

    parser = argparse.ArgumentParser(
        prog=COMMAND,
        description=f"Train, evaluate, score CSV files with and browse the runs of {__package__}.",
        epilog=f"example: {COMMAND} train --params params.yaml",
    )
    commands = parser.add_subparsers(title="commands", required=True, metavar="COMMAND")
    for name, handler in [
        ("train", train_command),
        ("evaluate", evaluate_command),
        ("predict", predict_command),
        ("demo", demo_command),
        ("ui", ui_command),
        ("pipeline", pipeline_command),
        ("promote", promote_command),
        ("serve", serve_command),
        ("monitor", monitor_command),
        ("lineage", lineage_command),
        ("audit", audit_command),
        ("compliance", compliance_command),
        ("feedback", feedback_command),
        ("performance", performance_command),
        ("simulate", simulate_command),
        ("canary", canary_command),
        ("rollback", rollback_command),
        ("tune", tune_command),
        ("loop", loop_command),
    ]:
        command = commands.add_parser(name, parents=[common], help=handler.__doc__)
        command.set_defaults(handler=handler)
        if name == "evaluate":
            command.add_argument("--run-id", help="MLflow run to evaluate (default: the latest)")
        if name == "serve":
            command.add_argument("--host", help="address to listen on (default: serving.host)")
            command.add_argument("--port", type=int, help="port (default: PORT, else serving.port)")
            command.add_argument(
                "--open",
                action="store_true",
                help="serve without API keys, on loopback only: for local development",
            )
        if name == "feedback":
            command.add_argument("labels", type=Path, help="CSV file: request_id, row, label")
        if name == "lineage":
            command.add_argument("--version", help="model version (default: the champion)")
        if name == "audit":
            command.add_argument("action", choices=["verify", "show"], help="what to do")
            command.add_argument("--last", type=int, default=20, help="entries `show` prints")
        if name == "loop":
            command.add_argument(
                "action",
                nargs="?",
                choices=["run", "deploy"],
                default="run",
                help="run: server, deployments and a worker here (default); deploy: to a server",
            )
            command.add_argument("--pool", default="loop", help="work pool of `deploy`")
        if name == "compliance":
            command.add_argument(
                "--version", help="version number or alias (default: the challenger)"
            )
        if name == "canary":
            command.add_argument("action", choices=["status", "decide"], help="what to do")
        if name == "rollback":
            command.add_argument(
                "--check", action="store_true", help="roll back only if the champion degraded"
            )
            command.add_argument("--reason", help="why (by hand: required; in the audit trail)")
            command.add_argument(
                "--who", help="who rolls back (default: AUDIT_ACTOR, else the git user)"
            )
        if name == "predict":
            command.add_argument("input", type=Path, help="CSV file with the rows to score")
            command.add_argument(
                "--output",
                type=Path,
                default=Path("predictions.csv"),
                help="where to write the scored rows (default: predictions.csv)",
            )
            command.add_argument(
                "--run-id", help="MLflow run whose model to use (default: the latest)"
            )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except UserError as error:
        # A mistake the user can fix: one clear message and exit code 2, no traceback.
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
