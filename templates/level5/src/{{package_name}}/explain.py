"""Why did the model answer this? SHAP contributions of each feature for one row.

SHAP's TreeExplainer computes exact Shapley values for tree ensembles: the forest's output for a
row is split into a base value (the average output over the training data) plus one contribution
per feature, and they add up exactly:

    base_value + sum(contributions) == output

For a classifier the output explained is the probability of the predicted class; for a regressor,
the predicted value. SHAP does not take a whole scikit-learn Pipeline, so the row goes through the
pipeline's preparation step first and the forest is explained on the prepared features: a text
feature appears once per category (`plan_pro`), a number under its own name.

Cost: `import shap` takes a few seconds, so it happens at the first explanation, not at start-up
(the first /explain answers that much later). After that one row of a 100-tree forest takes about
a millisecond; the cost grows with trees x leaves x depth^2, so deep forests on large data are
slower. The service bounds it: one explanation runs at a time, and one taking longer than
`explain.timeout_seconds` is answered with 504 (see operations.py).
"""

from __future__ import annotations

import threading
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Contribution:
    feature: str
    value: float  # the prepared feature's value for this row
    contribution: float


@dataclass(frozen=True)
class Explanation:
    explained: str  # what `output` is: "probability of class <label>" or "predicted value"
    base_value: float
    output: float
    top: list[Contribution]  # the largest contributions by size, largest first
    rest: float  # the sum of every other contribution, so the parts still add up to `output`


def prepared_names(prepare: Any) -> list[str]:
    """Names of the prepared features without the step prefix: `numbers__age` -> `age`."""
    return [str(name).split("__", 1)[-1] for name in prepare.get_feature_names_out()]


class Explainer:
    """SHAP for one fitted Pipeline ending in a forest; built at the first call, then reused."""

    def __init__(self, pipeline: Any, top_k: int) -> None:
        self.prepare = pipeline[:-1]
        self.forest = pipeline[-1]
        self.top_k = top_k
        self.names = prepared_names(self.prepare)
        self.is_classifier = hasattr(self.forest, "classes_")
        self._tree_explainer: Any = None
        self._build_lock = threading.Lock()

    @property
    def is_ready(self) -> bool:
        return self._tree_explainer is not None

    def ready(self) -> None:
        """Import SHAP and build the explainer, once; seconds the first time, nothing after."""
        with self._build_lock:
            if self._tree_explainer is None:
                import shap  # lazy: several seconds, which /predict must never pay

                self._tree_explainer = shap.TreeExplainer(self.forest)

    def explain(self, values: np.ndarray) -> Explanation:
        """Contributions for the one row of `values` (features in training order)."""
        self.ready()
        with warnings.catch_warnings():
            # Fitted on a DataFrame, given an array in the same column order (as in service.py).
            warnings.simplefilter("ignore", UserWarning)
            prepared = np.asarray(self.prepare.transform(values), dtype=np.float64)
        shap_values = np.asarray(self._tree_explainer.shap_values(prepared))
        base = np.atleast_1d(self._tree_explainer.expected_value)
        # The parts add up to the forest's output (SHAP checks it), so the output is read from
        # them rather than from a second pass through the forest.
        if self.is_classifier:
            # shap_values: (rows, features, classes); explain the class the model predicts.
            probabilities = base + shap_values[0].sum(axis=0)
            chosen = int(probabilities.argmax())
            contributions, base_value = shap_values[0, :, chosen], float(base[chosen])
            explained = f"probability of class {self.forest.classes_[chosen]}"
        else:
            contributions, base_value = shap_values[0], float(base[0])
            explained = "predicted value"
        output = base_value + float(contributions.sum())
        order = np.argsort(-np.abs(contributions), kind="stable")
        top = [
            Contribution(self.names[i], float(prepared[0, i]), float(contributions[i]))
            for i in order[: self.top_k]
        ]
        rest = float(contributions[order[self.top_k :]].sum())
        return Explanation(explained, base_value, output, top, rest)
