"""Level 1, exercise 1: change the forest in train.py, retrain, and the saved model has your setting.

python -m pytest docs/exercises/check_level1_trees.py --project=PATH
"""

import re
from pathlib import Path

import joblib

TEMPLATE_TREES = 100


def test_train_py_asks_for_another_number_of_trees(project: Path):
    source = (project / "train.py").read_text(encoding="utf-8")
    asked = {int(n) for n in re.findall(r"n_estimators=(\d+)", source)}
    assert asked and TEMPLATE_TREES not in asked, (
        f"train.py still builds forests of {TEMPLATE_TREES} trees: change n_estimators in build_model()."
    )


def test_the_saved_model_was_trained_with_it(project: Path):
    model_file = project / "model.joblib"
    assert model_file.is_file(), "No model.joblib: run `python train.py`."
    source = (project / "train.py").read_text(encoding="utf-8")
    asked = {int(n) for n in re.findall(r"n_estimators=(\d+)", source)}
    forest = joblib.load(model_file).steps[-1][1]
    assert forest.n_estimators in asked - {TEMPLATE_TREES}, (
        f"model.joblib has {forest.n_estimators} trees, not the number in train.py: run `python train.py` again."
    )
