#!/usr/bin/env python3
"""Makes the ONNX import test fixtures (onnx + onnxruntime + numpy):

    python3 scripts/make_onnx_fixtures.py

Writes crates/onnx/tests/fixtures/NAME.onnx, NAME-input.npy (batch 3) and
NAME-expected.npy (onnxruntime's output) for small models covering every op
the importer takes, and unsupported.onnx (a Det node).
"""
from pathlib import Path

import numpy as np
import onnx
import onnxruntime
from onnx import TensorProto, helper, numpy_helper

out = Path(__file__).resolve().parents[1] / "crates/onnx/tests/fixtures"
rng = np.random.default_rng(2026)


def weight(name, *shape, scale=0.5):
    return numpy_helper.from_array((rng.standard_normal(shape) * scale).astype(np.float32), name)


def save(name, nodes, inputs_shape, initializers, output_shape, opset=13):
    graph = helper.make_graph(
        nodes, name,
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", *inputs_shape[1:]])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", *output_shape[1:]])],
        initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    onnx.checker.check_model(model)
    onnx.save(model, out / f"{name}.onnx")
    x = rng.uniform(0, 1, size=inputs_shape).astype(np.float32)
    session = onnxruntime.InferenceSession(str(out / f"{name}.onnx"), providers=["CPUExecutionProvider"])
    y = session.run(None, {"x": x})[0]
    np.save(out / f"{name}-input.npy", x)
    np.save(out / f"{name}-expected.npy", y)
    print(name, y.shape)


# A dense network: Gemm (transB), Relu, Dropout, Gemm + BatchNormalization, Softmax.
save("mlp", [
    helper.make_node("Gemm", ["x", "w1", "b1"], ["h1"], transB=1),
    helper.make_node("Relu", ["h1"], ["r1"]),
    helper.make_node("Dropout", ["r1"], ["d1"]),
    helper.make_node("Gemm", ["d1", "w2", "b2"], ["h2"]),
    helper.make_node("BatchNormalization", ["h2", "gamma", "beta", "mean", "var"], ["n2"], epsilon=1e-5),
    helper.make_node("Softmax", ["n2"], ["y"], axis=1),
], [3, 20], [
    weight("w1", 16, 20), weight("b1", 16), weight("w2", 16, 10), weight("b2", 10),
    weight("gamma", 10), weight("beta", 10), weight("mean", 10),
    numpy_helper.from_array(rng.uniform(0.5, 2, 10).astype(np.float32), "var"),
], [3, 10])

# A CNN: Conv + BatchNormalization, Relu, MaxPool, Conv (stride 2), AveragePool,
# Flatten, MatMul + Add, Softmax.
save("cnn", [
    helper.make_node("Conv", ["x", "c1", "cb1"], ["a"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
    helper.make_node("BatchNormalization", ["a", "g", "bt", "m", "v"], ["an"]),
    helper.make_node("Relu", ["an"], ["ar"]),
    helper.make_node("MaxPool", ["ar"], ["ap"], kernel_shape=[2, 2], strides=[2, 2]),
    helper.make_node("Conv", ["ap", "c2"], ["b"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 0, 0]),
    helper.make_node("AveragePool", ["b"], ["bp"], kernel_shape=[2, 2], strides=[1, 1]),
    helper.make_node("Flatten", ["bp"], ["f"], axis=1),
    helper.make_node("MatMul", ["f", "wd"], ["z"]),
    helper.make_node("Add", ["z", "bd"], ["zz"]),
    helper.make_node("Softmax", ["zz"], ["y"]),
], [3, 1, 10, 10], [
    weight("c1", 4, 1, 3, 3), weight("cb1", 4), weight("g", 4), weight("bt", 4), weight("m", 4),
    numpy_helper.from_array(rng.uniform(0.5, 2, 4).astype(np.float32), "v"),
    weight("c2", 3, 4, 3, 3), weight("wd", 3, 5), weight("bd", 5),
], [3, 5])

# Shapes and the rest: Reshape (with -1), Transpose, Identity, Sub, Mul,
# Sigmoid, GlobalAveragePool; opset 11.
save("misc", [
    helper.make_node("Reshape", ["x", "shape"], ["r"]),
    helper.make_node("Transpose", ["r"], ["t"], perm=[0, 1, 3, 2]),
    helper.make_node("Identity", ["t"], ["i"]),
    helper.make_node("Sub", ["i", "offset"], ["s"]),
    helper.make_node("Mul", ["s", "factor"], ["m"]),
    helper.make_node("Sigmoid", ["m"], ["g"]),
    helper.make_node("GlobalAveragePool", ["g"], ["p"]),
    helper.make_node("Flatten", ["p"], ["y"]),
], [3, 24], [
    numpy_helper.from_array(np.array([-1, 2, 3, 4], dtype=np.int64), "shape"),
    numpy_helper.from_array(np.float32(0.5), "offset"),
    weight("factor", 2, 4, 3, scale=2.0),
], [3, 2], opset=11)

# An op the importer does not take.
graph = helper.make_graph([helper.make_node("Det", ["x"], ["y"], name="determinant")], "unsupported",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4, 4])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N"])])
onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), out / "unsupported.onnx")
