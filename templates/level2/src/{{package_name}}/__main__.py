"""The project's commands: `python -m <package> <command>`; `make` only wraps them."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from .config import Params, UserError, load_params
from .evaluate import evaluate_run
from .predict import predict_csv
from .tracking import tracking_uri
from .train import TrainResult, train

COMMAND = f"python -m {__package__}"


def train_command(args: argparse.Namespace) -> int:
    """Train once and log the run to MLflow."""
    params = load_params(args.params)
    report_training(params, train(params))
    return 0


def evaluate_command(args: argparse.Namespace) -> int:
    """Score a logged model (the latest run's by default) on the held-out data."""
    params = load_params(args.params)
    result = evaluate_run(params, args.run_id)
    print(f"Evaluated run {result.run_id} on the held-out data")
    print_metrics(result.metrics, params.metric)
    if not result.same_data:
        print("Note: the data changed since this run trained (its fingerprint differs).")
    return 0


def predict_command(args: argparse.Namespace) -> int:
    """Score the rows of a CSV file with a logged model (the latest run's by default)."""
    params = load_params(args.params)
    result = predict_csv(params, args.input, args.output, args.run_id)
    print(f"Scored {result.rows} rows with the model of run {result.run_id}")
    print(f"Wrote {result.output}")
    return 0


def demo_command(args: argparse.Namespace) -> int:
    """Train, evaluate the new run, then say how to browse the runs."""
    params = load_params(args.params)
    trained = train(params)
    report_training(params, trained)
    evaluated = evaluate_run(params, trained.run_id)
    print("Reloaded its model from MLflow and scored it again on the held-out data")
    print_metrics(evaluated.metrics, params.metric)
    print(f"Browse every run: `{COMMAND} ui` (or `make ui`), then open http://127.0.0.1:5000")
    return 0


def ui_command(args: argparse.Namespace) -> int:
    """Start the MLflow UI on this project's tracking store (127.0.0.1, PORT overrides 5000)."""
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


def report_training(params: Params, result: TrainResult) -> None:
    print(f"Trained run {result.run_id}")
    # In full, to copy into data.sha256 of params.yaml when the data must stay out of git.
    print(f"Data fingerprint: {result.fingerprint}")
    print(f"Tracking store: {tracking_uri(params)}")
    print_metrics(result.metrics, params.metric)


def print_metrics(metrics: dict[str, float], primary: str) -> None:
    for name, value in metrics.items():
        marker = "  <- primary metric" if name == primary else ""
        print(f"  {name:<9} {value:.4f}{marker}")


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
    ]:
        command = commands.add_parser(name, parents=[common], help=handler.__doc__)
        command.set_defaults(handler=handler)
        if name == "evaluate":
            command.add_argument("--run-id", help="MLflow run to evaluate (default: the latest)")
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
