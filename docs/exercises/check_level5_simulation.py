"""Level 5, exercise 2: move the drift in the simulation and read how long the loop took to recover.

python -m pytest docs/exercises/check_level5_simulation.py --project=PATH
"""

import json
from pathlib import Path

DEFAULT_DRIFT_BATCH = 12  # params.yaml's simulation.drift_batch as generated


def summary(project: Path, params: dict) -> dict:
    path = project / params["simulation"]["output_dir"] / "simulation.json"
    assert path.is_file(), f"No {path.relative_to(project)}: run `make simulate` (python -m <package> simulate)."
    return json.loads(path.read_text(encoding="utf-8"))


def test_the_drift_starts_where_you_moved_it(project: Path, params: dict):
    moved_to = params["simulation"]["drift_batch"]
    assert moved_to != DEFAULT_DRIFT_BATCH, (
        f"simulation.drift_batch is still {DEFAULT_DRIFT_BATCH}: move the drift to another batch in params.yaml."
    )
    assert summary(project, params)["drift"]["onset_batch"] == moved_to, (
        "simulation.json is from another setting: run `make simulate` again after editing params.yaml."
    )


def test_recovery_txt_holds_the_batches_from_onset_to_the_new_champion(project: Path, params: dict):
    champion = summary(project, params)["new_champion"]
    assert champion is not None, "The loop did not recover in this run: give it more batches (simulation.batches)."
    note = project / "RECOVERY.txt"
    assert note.is_file(), "No RECOVERY.txt: write how many batches after the drift the new champion served."
    assert note.read_text(encoding="utf-8").split() == [str(champion["batches_after_onset"])], (
        "RECOVERY.txt should hold just that number of batches, as simulation.txt says it."
    )
