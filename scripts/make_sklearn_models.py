"""Models as scikit-learn users export them, for blindfold's tests.

Trains scikit-learn models on the datasets scikit-learn ships, exports each
with skl2onnx and its default options (no edits), and writes, in
models/sklearn/:

- NAME.onnx, the exported model;
- NAME-rows.csv, the test rows (float32 values, written exactly), with a
  header of the feature names;
- NAME-expected.json, onnxruntime's outputs on those rows: for a
  classifier the labels and the probabilities (ZipMap's dictionaries as a
  matrix in class order), for a regressor the predictions.

    python3 -m venv /tmp/sk && /tmp/sk/bin/pip install scikit-learn skl2onnx onnx==1.16.2 onnxruntime numpy
    /tmp/sk/bin/python scripts/make_sklearn_models.py

Versions used for the committed files: scikit-learn 1.9.1, skl2onnx 1.20.0,
onnx 1.16.2, onnxruntime 1.32.0.
"""

import json
from pathlib import Path

import numpy as np
import onnxruntime
from skl2onnx import to_onnx
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

OUT = Path(__file__).resolve().parent.parent / "models" / "sklearn"


def exact(value):
    """A float32 as the shortest decimal that reads back to it exactly."""
    return repr(float(np.float32(value)))


def write_rows(name, rows, columns):
    path = OUT / f"{name}-rows.csv"
    with path.open("w") as f:
        f.write(",".join(columns) + "\n")
        for row in rows:
            f.write(",".join(exact(v) for v in row) + "\n")


def expected(name, model, rows, classes=None):
    session = onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    feeds = {session.get_inputs()[0].name: rows.astype(np.float32)}
    names = [o.name for o in session.get_outputs()]
    results = dict(zip(names, session.run(None, feeds)))
    record = {"rows": f"{name}-rows.csv", "outputs": {}}
    for output, value in results.items():
        if isinstance(value, list):  # ZipMap: a dictionary per row
            keys = classes if classes is not None else sorted(value[0])
            value = [[float(row[k]) for k in keys] for row in value]
            record["outputs"][output] = {"kind": "probabilities", "values": value}
        elif value.dtype.kind in "iu":
            record["outputs"][output] = {"kind": "labels", "values": [int(v) for v in value.ravel()]}
        else:
            record["outputs"][output] = {"kind": "values", "values": value.astype(float).tolist()}
    (OUT / f"{name}-expected.json").write_text(json.dumps(record, indent=1) + "\n")


def export(name, model, train_x, test_x, columns, classes=None):
    onnx_model = to_onnx(model, train_x[:1].astype(np.float32))
    (OUT / f"{name}.onnx").write_bytes(onnx_model.SerializeToString())
    write_rows(name, test_x, columns)
    expected(name, onnx_model, test_x, classes)
    print(f"{name}: {len(test_x)} test rows, outputs {[o.name for o in onnx_model.graph.output]}")


def split(x, y, test_rows):
    x = x.astype(np.float32).astype(np.float64)
    return train_test_split(x, y, test_size=test_rows, random_state=0)


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    # Linear regression on diabetes (scikit-learn's scaled features).
    data = load_diabetes()
    train_x, test_x, train_y, _ = split(data.data, data.target, 100)
    export("diabetes-linear", LinearRegression().fit(train_x, train_y), train_x, test_x, data.feature_names)
    # Binary logistic regression on breast cancer (raw features).
    data = load_breast_cancer()
    columns = [c.replace(" ", "_") for c in data.feature_names]
    train_x, test_x, train_y, _ = split(data.data, data.target, 100)
    model = LogisticRegression(max_iter=10000).fit(train_x, train_y)
    export("breast-cancer-logistic", model, train_x, test_x, columns, classes=[0, 1])
    # StandardScaler + logistic regression, a Pipeline.
    pipeline = make_pipeline(StandardScaler(), LogisticRegression(max_iter=10000)).fit(train_x, train_y)
    export("breast-cancer-pipeline", pipeline, train_x, test_x, columns, classes=[0, 1])
    # Ten classes: logistic regression and an MLP (ReLU) on digits.
    data = load_digits()
    columns = [f"pixel_{i}" for i in range(data.data.shape[1])]
    train_x, test_x, train_y, _ = split(data.data, data.target, 100)
    classes = list(range(10))
    export("digits-logistic", LogisticRegression(max_iter=10000).fit(train_x, train_y), train_x, test_x, columns, classes)
    mlp = MLPClassifier(hidden_layer_sizes=(32,), max_iter=500, random_state=0).fit(train_x / 16.0, train_y)
    export("digits-mlp", mlp, train_x / 16.0, test_x / 16.0, columns, classes)


if __name__ == "__main__":
    main()
