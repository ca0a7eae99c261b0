"""Shared pieces of the benchmarks: run a command, time it, print medians and ratios."""

from __future__ import annotations

import statistics
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parents[1]
TEMPLATES = REPO / "templates"
console = Console()


def sh(*args: str, cwd: Path | None = None) -> None:
    subprocess.run(args, cwd=cwd, check=True, capture_output=True)


def timed(action: Callable[[], None]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def alternate(contenders: dict[str, tuple[Callable[[int], None], Callable[[int], None]]], rounds: int) -> dict:
    """Time each contender `rounds` times, alternating so drift in machine load hits both alike.

    Each contender is (prepare, run): prepare(i) is untimed set-up, run(i) is what is measured.
    """
    samples: dict[str, list[float]] = {name: [] for name in contenders}
    for i in range(rounds):
        for name, (prepare, run) in contenders.items():
            prepare(i)
            samples[name].append(timed(lambda run=run, i=i: run(i)))
    return samples


def report(title: str, samples: dict[str, list[float]], ours: str, theirs: str, target: str) -> float:
    table = Table(title=title)
    for column in ("contender", "median s", "min s", "max s", "runs"):
        table.add_column(column, justify="right" if column != "contender" else "left")
    for name, values in samples.items():
        figures = (statistics.median(values), min(values), max(values))
        table.add_row(name, *(f"{figure:.3f}" for figure in figures), str(len(values)))
    console.print(table)
    ratio = statistics.median(samples[ours]) / statistics.median(samples[theirs])
    console.print(f"ratio {ours} / {theirs} = [bold]{ratio:.2f}x[/]  (target: {target})")
    return ratio
