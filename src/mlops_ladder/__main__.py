"""Allow `python -m mlops_ladder`, the same as the `mlops-ladder` command."""

from mlops_ladder.cli import app

app(prog_name="mlops-ladder")
