"""Write the sample rows that `make predict` scores in levels 2 and up, one file per bundled dataset.

    python scripts/sample_rows.py

Each file holds five rows of the dataset's features (no target), spread over the dataset so that a
classifier sees more than one class, with the column names the generated `data.py` gives them.
Copier renders only the file of the project's dataset (its name is a condition on `dataset`);
a project trained on its own CSV file passes INPUT=rows.csv instead.
"""

from __future__ import annotations

import re
from pathlib import Path

from sklearn import datasets

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
LOADERS = {"breast_cancer": datasets.load_breast_cancer, "wine": datasets.load_wine, "diabetes": datasets.load_diabetes}
ROWS = 5


def sample_rows(dataset: str) -> str:
    features = LOADERS[dataset](as_frame=True).data
    # The generated data.py turns "mean radius" into mean_radius: the model knows that name.
    features.columns = [re.sub(r"\W+", "_", str(column)).strip("_") for column in features.columns]
    step = len(features) // ROWS
    return features.iloc[::step].head(ROWS).to_csv(index=False, float_format="%.6g")


def main() -> None:
    for level in (path for path in sorted(TEMPLATES.glob("level*")) if (path / "pyproject.toml.jinja").exists()):
        for dataset in LOADERS:
            path = level / "examples" / f"{{% if dataset == '{dataset}' %}}sample_rows.csv{{% endif %}}"
            path.parent.mkdir(exist_ok=True)
            path.write_text(sample_rows(dataset), encoding="utf-8")
            print(f"wrote {path.relative_to(TEMPLATES)}")


if __name__ == "__main__":
    main()
