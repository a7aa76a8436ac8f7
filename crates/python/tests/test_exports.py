"""Models as users export them, through predict(): scikit-learn's default
skl2onnx exports (models/sklearn, made by scripts/make_sklearn_models.py)
return every output by name, onnxruntime's labels on every test row and its
probabilities within 1e-3; a model whose weights are graph inputs, and a
weightless one, run with their inputs given by name."""

import json
from pathlib import Path

import numpy as np
import onnx
import onnxruntime
import pytest
from onnx import TensorProto, helper

import blindfold as bf

MODELS = Path(__file__).resolve().parents[3] / "models" / "sklearn"


@pytest.mark.parametrize(
    "name", ["diabetes-linear", "breast-cancer-logistic", "digits-logistic", "digits-mlp", "breast-cancer-pipeline"]
)
def test_sklearn_exports_match_onnxruntime(name):
    rows = np.loadtxt(MODELS / f"{name}-rows.csv", delimiter=",", skiprows=1, ndmin=2)
    expected = json.loads((MODELS / f"{name}-expected.json").read_text())["outputs"]
    got = bf.predict((MODELS / f"{name}.onnx").read_bytes(), rows)
    if not isinstance(got, dict):
        (output,) = expected
        got = {output: got}
    for output, reference in expected.items():
        values = np.asarray(reference["values"], dtype=np.float64)
        mine = np.asarray(got[output], dtype=np.float64).reshape(values.shape)
        if reference["kind"] == "labels":
            assert got[output].dtype == np.int64
            np.testing.assert_array_equal(mine, values)
        elif reference["kind"] == "probabilities":
            assert np.abs(mine - values).max() <= 1e-3
        else:
            assert (np.abs(mine - values) / np.maximum(np.abs(values), 1.0)).max() <= 1e-3


def two_input_model():
    """y = softmax(x·w) with the weights w a graph input, and argmax labels."""
    graph = helper.make_graph(
        [
            helper.make_node("MatMul", ["x", "w"], ["scores"]),
            helper.make_node("Softmax", ["scores"], ["probabilities"], axis=1),
            helper.make_node("ArgMax", ["scores"], ["label"], axis=1, keepdims=0),
        ],
        "weights-as-input",
        [
            helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4]),
            helper.make_tensor_value_info("w", TensorProto.FLOAT, [4, 3]),
        ],
        [
            helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["N", 3]),
            helper.make_tensor_value_info("label", TensorProto.INT64, ["N"]),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def test_weights_given_as_a_graph_input_by_name():
    model = two_input_model()
    rng = np.random.default_rng(3)
    x, w = rng.normal(size=(7, 4)), rng.normal(size=(4, 3))
    session = onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    probabilities, labels = session.run(None, {"x": x.astype(np.float32), "w": w.astype(np.float32)})
    got = bf.predict(model.SerializeToString(), {"x": x, "w": w}, batch=3, input_owners={"w": "model-owner"})
    np.testing.assert_array_equal(got["label"], labels)
    assert np.abs(got["probabilities"] - probabilities).max() <= 1e-3


def test_a_missing_input_is_named():
    with pytest.raises(ValueError, match="'w'"):
        bf.predict(two_input_model().SerializeToString(), np.zeros((2, 4)))


def test_an_onnx_architecture_trains_privately():
    """kind="onnx": a one-layer model exported with its initial weights,
    trained on two owners' rows; the result is the same architecture."""
    rng = np.random.default_rng(5)
    x = rng.normal(size=(96, 4))
    y = x @ np.array([1.0, -2.0, 0.5, 3.0]) + 1.0
    w = onnx.numpy_helper.from_array(np.zeros((1, 4), dtype=np.float32), "w")
    b = onnx.numpy_helper.from_array(np.zeros(1, dtype=np.float32), "b")
    graph = helper.make_graph(
        [helper.make_node("Gemm", ["x", "w", "b"], ["y"], transB=1)],
        "linear",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 1])],
        [w, b],
    )
    init = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    init.ir_version = 8
    rows = np.column_stack([x, y])
    trained = bf.train("onnx", {"a": rows[:48], "b": rows[48:]}, model=init.SerializeToString(), test=rows,
                       epochs=5, batch_size=8, learning_rate=0.1)
    assert trained.metrics["model_kind"] == "onnx"
    assert trained.metrics["test_r2"] > 0.9
    assert abs(trained.metrics["test_r2"] - trained.metrics["plaintext_test_r2"]) < 1e-3
    session = onnxruntime.InferenceSession(trained.model, providers=["CPUExecutionProvider"])
    (predicted,) = session.run(None, {"x": x.astype(np.float32)})
    assert 1 - ((predicted.ravel() - y) ** 2).sum() / ((y - y.mean()) ** 2).sum() > 0.9


def test_calibrated_widths_and_dp_sgd_from_python():
    """calibrate= narrows the comparisons (the record says how) with the
    same outputs; dp_noise_multiplier= trains with DP-SGD and reports ε."""
    images = np.load(Path(__file__).resolve().parents[3] / "models" / "mnist-sample-images.npy")[:, None] / 255.0
    model = (Path(__file__).resolve().parents[3] / "models" / "mnist-a.onnx").read_bytes()
    exact, exact_summary = bf.predict(model, images[:8], return_summary=True)
    narrow, summary = bf.predict(model, images[:8], calibrate=images, return_summary=True)
    assert summary["comparison_widths"] == {"32": 2}
    assert summary["offline_bytes"] < exact_summary["offline_bytes"]
    np.testing.assert_array_equal(narrow.argmax(axis=1), exact.argmax(axis=1))

    rng = np.random.default_rng(9)
    x = rng.normal(size=(64, 3))
    y = (x @ np.array([1.0, -1.0, 0.5]) > 0).astype(float)
    rows = np.column_stack([x, y])
    trained = bf.train("logreg", {"a": rows[:32], "b": rows[32:]}, epochs=2, batch_size=16,
                       dp_noise_multiplier=1.0, max_grad_norm=1.0, dp_delta=1e-5)
    dp = trained.metrics["dp"]
    assert dp["noise_multiplier"] == 1.0 and dp["steps"] == 8 and 0 < dp["epsilon"] < dp["epsilon_colluding_server"]
