"""Level 3, exercise 2: trace the champion back to its training run and its data.

python -m pytest docs/exercises/check_level3_lineage.py --project=PATH
"""

from pathlib import Path

from mlflow import MlflowClient


def test_lineage_md_names_the_champions_run_and_data(project: Path, tracking: MlflowClient, params: dict):
    champion = tracking.get_model_version_by_alias(params["registry"]["model_name"], "champion")
    run = tracking.get_run(champion.run_id)
    note = project / "LINEAGE.md"
    assert note.is_file(), "No LINEAGE.md: write what `python -m <package> lineage` tells you about the champion."
    text = note.read_text(encoding="utf-8")
    assert run.info.run_id in text, f"LINEAGE.md does not name the champion's training run ({run.info.run_id[:8]}...)."
    fingerprint = run.data.tags["data_fingerprint"]
    assert fingerprint[:12] in text, "LINEAGE.md does not give the fingerprint of the data the champion learned from."
