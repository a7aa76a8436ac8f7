"""predict() with ONNX models made here with the onnx package: the private
outputs equal onnxruntime's within the fixed-point bound."""

import numpy as np
import onnx
import onnxruntime
import pytest
from onnx import TensorProto, helper, numpy_helper

import blindfold as bf


def dense_model(seed=0):
    rng = np.random.default_rng(seed)
    w1, b1 = rng.normal(size=(6, 8)).astype(np.float32) * 0.5, rng.normal(size=8).astype(np.float32) * 0.1
    w2, b2 = rng.normal(size=(8, 3)).astype(np.float32) * 0.5, rng.normal(size=3).astype(np.float32) * 0.1
    graph = helper.make_graph(
        [
            helper.make_node("Gemm", ["x", "w1", "b1"], ["h"]),
            helper.make_node("Relu", ["h"], ["r"]),
            helper.make_node("Gemm", ["r", "w2", "b2"], ["y"]),
        ],
        "dense",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 6])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 3])],
        [numpy_helper.from_array(a, n) for a, n in [(w1, "w1"), (b1, "b1"), (w2, "w2"), (b2, "b2")]],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def conv_model(seed=1):
    rng = np.random.default_rng(seed)
    filters = rng.normal(size=(2, 1, 3, 3)).astype(np.float32) * 0.4
    bias = rng.normal(size=2).astype(np.float32) * 0.1
    dense = rng.normal(size=(18, 4)).astype(np.float32) * 0.3
    graph = helper.make_graph(
        [
            helper.make_node("Conv", ["x", "f", "fb"], ["c"], kernel_shape=[3, 3]),
            helper.make_node("Relu", ["c"], ["r"]),
            helper.make_node("MaxPool", ["r"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
            helper.make_node("Flatten", ["p"], ["flat"]),
            helper.make_node("MatMul", ["flat", "d"], ["y"]),
        ],
        "conv",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 1, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 4])],
        [numpy_helper.from_array(a, n) for a, n in [(filters, "f"), (bias, "fb"), (dense, "d")]],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def runtime(model, x):
    session = onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {"x": x.astype(np.float32)})[0]


@pytest.mark.parametrize("make, shape", [(dense_model, (10, 6)), (conv_model, (5, 1, 8, 8))])
def test_private_prediction_equals_onnxruntime(make, shape):
    model = make()
    x = np.random.default_rng(7).normal(size=shape)
    expected = runtime(model, x)
    got, summary = bf.predict(model, x, batch=4, return_summary=True)
    assert got.shape == expected.shape
    assert np.max(np.abs(got - expected)) < 2e-3
    np.testing.assert_array_equal(got.argmax(axis=1), expected.argmax(axis=1))
    assert summary["batches"] == -(-shape[0] // 4) and summary["rounds"] > 0
    clear = bf.predict(model.SerializeToString(), x, protocol="plaintext-f64")
    np.testing.assert_allclose(clear, expected, atol=1e-5)
    # Three servers with replicated shares, no producer: the same answer.
    replicated, summary = bf.predict(model, x, batch=4, protocol="replicated", return_summary=True)
    assert np.max(np.abs(replicated - expected)) < 2e-3
    np.testing.assert_array_equal(replicated.argmax(axis=1), expected.argmax(axis=1))
    assert "server2" in dict(summary["received"]) and "producer" not in dict(summary["received"])


def test_a_model_file_and_integer_inputs_work(tmp_path):
    path = tmp_path / "dense.onnx"
    onnx.save(dense_model(), path)
    x = np.arange(12, dtype=np.int64).reshape(2, 6) % 3
    np.testing.assert_allclose(bf.predict(str(path), x), runtime(dense_model(), x), atol=2e-3)


def test_bad_models_and_inputs_are_python_exceptions():
    model = dense_model()
    with pytest.raises(ValueError, match="model"):
        bf.predict(b"\x08\x07not a model at all", np.ones((1, 6)))
    with pytest.raises(ValueError, match="takes"):
        bf.predict(model, np.ones((2, 5)))
    with pytest.raises(ValueError, match="batch of inputs"):
        bf.predict(model, np.ones(6))
    with pytest.raises(TypeError, match="dtype"):
        bf.predict(model, np.array([["x"] * 6]))
    with pytest.raises(TypeError, match="model"):
        bf.predict(12345, np.ones((1, 6)))
    with pytest.raises(ValueError, match="protocol"):
        bf.predict(model, np.ones((1, 6)), protocol="magic")


class TorchLike:
    """What a torch tensor or a pandas frame offers numpy: ``__array__``."""

    def __init__(self, array):
        self.array = array

    def __array__(self, dtype=None, copy=None):
        return self.array if dtype is None else self.array.astype(dtype)


def test_array_likes_batches_and_progress(capsys):
    model = dense_model()
    x = np.random.default_rng(3).normal(size=(7, 6))
    expected = runtime(model, x)
    got, summary = bf.predict(model, TorchLike(x), batch=3, progress=True, return_summary=True)
    assert np.max(np.abs(got - expected)) < 2e-3
    assert summary["batches"] == 3 and summary["inputs"] == 7
    np.testing.assert_allclose(bf.predict(model, x.tolist(), batch=100), got, atol=2e-3)
    with pytest.raises(ValueError, match="max_rows"):
        bf.predict(model, x, max_rows=5)
    with pytest.raises(TypeError, match="numpy array"):
        bf.predict(model, True)


def test_a_model_that_would_overflow_is_refused_unless_accepted():
    model = dense_model()
    for tensor in model.graph.initializer:
        if tensor.name == "w1":
            tensor.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(tensor) * 1e6, "w1"))
    x = np.ones((2, 6))
    with pytest.raises(OverflowError, match="overflow"):
        bf.predict(model, x)
    assert bf.predict(model, x, accept_overflow=True).shape == (2, 3)
