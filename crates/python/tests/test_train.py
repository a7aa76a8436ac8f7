"""train() on the diabetes table: two hospitals' rows, a linear
regression as good as its plaintext twin, returned as ONNX that predicts."""

import numpy as np
import onnxruntime
import pytest

import blindfold as bf

from conftest import DIABETES


def test_two_owners_train_a_linear_regression_as_good_as_plaintext(diabetes):
    a, b, test = diabetes[:171], diabetes[171:342], diabetes[342:]
    result = bf.train("linreg", {"hospital-a": a, "hospital-b": b}, test=test, epochs=20, learning_rate=0.05)
    private, twin = result.metrics["test_r2"], result.metrics["plaintext_test_r2"]
    assert abs(private - twin) <= 0.01 and private > 0.5, result.metrics
    # The ONNX model takes raw features.
    session = onnxruntime.InferenceSession(result.model, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    predicted = session.run(None, {name: test[:, :10].astype(np.float32)})[0].ravel()
    residual = np.sum((test[:, 10] - predicted) ** 2)
    total = np.sum((test[:, 10] - test[:, 10].mean()) ** 2)
    assert abs((1 - residual / total) - private) < 0.01


def test_the_replicated_protocol_trains_as_pond_does(diabetes):
    a, b, test = diabetes[:171], diabetes[171:342], diabetes[342:]
    owners = {"hospital-a": a, "hospital-b": b}
    pond = bf.train("linreg", owners, test=test, epochs=5, learning_rate=0.05)
    replicated = bf.train("linreg", owners, test=test, epochs=5, learning_rate=0.05, protocol="replicated")
    assert replicated.metrics["protocol"] == "replicated"
    assert abs(replicated.metrics["test_r2"] - pond.metrics["test_r2"]) <= 0.01
    with pytest.raises(ValueError, match="pond or replicated"):
        bf.train("linreg", owners, epochs=1, protocol="plaintext-f64")


def test_csv_files_and_feature_label_pairs_train_a_classifier(diabetes):
    labels = (diabetes[:, 10] > 140).astype(float)
    features = diabetes[:, :10]
    result = bf.train(
        "logreg",
        {"a": (features[:200], labels[:200]), "b": (features[200:400], labels[200:400])},
        test=(features[400:], labels[400:]),
        epochs=5,
    )
    assert result.metrics["test_accuracy"] > 0.6
    assert abs(result.metrics["test_accuracy"] - result.metrics["plaintext_test_accuracy"]) <= 0.05
    csv = bf.train("linreg", {"a": str(DIABETES)}, labels="target", epochs=2)
    assert csv.model[:2] and csv.metrics["rows"] == 442


def test_bad_tables_are_value_and_type_errors(diabetes):
    with pytest.raises(ValueError, match="label column"):
        bf.train("linreg", {"a": str(DIABETES)}, labels="glucose", epochs=1)
    with pytest.raises(ValueError, match="columns"):
        bf.train("linreg", {"a": diabetes[:50], "b": diabetes[50:100, 1:]}, epochs=1)
    with pytest.raises(ValueError, match="kind"):
        bf.train("forest", {"a": diabetes}, epochs=1)
    with pytest.raises(TypeError, match="dtype"):
        bf.train("linreg", {"a": np.array([["x", "y"]])}, epochs=1)
    with pytest.raises(TypeError, match="data"):
        bf.train("linreg", {}, epochs=1)


class Frame:
    """A pandas-like frame: named columns and ``__array__``."""

    def __init__(self, array, columns):
        self.array, self.columns = array, columns

    def __array__(self, dtype=None, copy=None):
        return self.array if dtype is None else self.array.astype(dtype)


def test_data_frames_and_array_likes_train(diabetes):
    columns = ["age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6", "target"]
    frames = {"a": Frame(diabetes[:200], columns), "b": Frame(diabetes[200:400], columns)}
    result = bf.train("linreg", frames, labels="target", test=Frame(diabetes[400:], columns), epochs=5)
    assert result.metrics["rows"] == 400 and result.metrics["test_r2"] > 0.3
    with pytest.raises(ValueError, match="no column 'outcome'"):
        bf.train("linreg", frames, labels="outcome")
