#!/usr/bin/env python3
"""Makes the Paillier example models from the diabetes table (numpy only).

    python3 scripts/make_diabetes_models.py [path/to/diabetes.csv]

Writes, under models/:
  diabetes-linear.json    linear regression of disease progression
  diabetes-logistic.json  logistic regression of "progression above the median"
  diabetes-sample.csv     the first 8 patients' ten raw features (the input)

Both models are fitted on standardised features, then the standardisation is
folded into the weights (w / sigma, b - sum(w * mu / sigma)) so that they take
the table's raw values. The first 342 rows train, the last 100 test; the
figures are printed and stored in each file's "description".
"""
import json
import sys
from pathlib import Path

import numpy as np

source = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parents[2] / "shared/data/diabetes/diabetes.csv")
out = Path(__file__).resolve().parents[1] / "models"
table = np.genfromtxt(source, delimiter=",", names=True)
names = [n for n in table.dtype.names if n != "target"]
x = np.stack([table[n] for n in names], axis=1)
y = table["target"]
train, test = slice(0, 342), slice(342, None)
mu, sigma = x[train].mean(axis=0), x[train].std(axis=0)
z = (x - mu) / sigma


def fold(w, b):
    """Weights and bias for raw features from those for standardised ones."""
    return w / sigma, b - float(np.sum(w * mu / sigma))


def save(name, kind, w, b, description):
    w_raw, b_raw = fold(w, b)
    model = {"kind": kind, "weights": [[float(v)] for v in w_raw], "bias": [b_raw], "description": description}
    (out / name).write_text(json.dumps(model, indent=1) + "\n")
    print(name, description)


# Linear regression: least squares with an intercept.
design = np.hstack([z[train], np.ones((342, 1))])
coefficients, *_ = np.linalg.lstsq(design, y[train], rcond=None)
w, b = coefficients[:-1], float(coefficients[-1])
prediction = z[test] @ w + b
r2 = 1 - np.sum((y[test] - prediction) ** 2) / np.sum((y[test] - y[test].mean()) ** 2)
save("diabetes-linear.json", "linear", w, b, f"least squares on rows 0-341; test R^2 on rows 342-441: {r2:.3f}")

# Logistic regression: gradient descent on the mean cross-entropy.
label = (y > np.median(y[train])).astype(float)
w, b = np.zeros(len(names)), 0.0
for _ in range(5000):
    p = 1 / (1 + np.exp(-(z[train] @ w + b)))
    w -= 0.1 * z[train].T @ (p - label[train]) / 342
    b -= 0.1 * float(np.mean(p - label[train]))
accuracy = np.mean(((z[test] @ w + b) > 0) == (label[test] == 1))
save("diabetes-logistic.json", "logistic", w, b,
     f"gradient descent on rows 0-341, label: progression above the training median; test accuracy on rows 342-441: {accuracy:.3f}")

rows = ["".join([",".join(names)])] + [",".join(f"{v:g}" for v in row) for row in x[:8]]
(out / "diabetes-sample.csv").write_text("\n".join(rows) + "\n")
