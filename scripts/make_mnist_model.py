#!/usr/bin/env python3
"""Trains MNIST network B (BENCHMARKS.md) with numpy and exports it as ONNX.

    python3 scripts/make_mnist_model.py [path/to/shared/data/mnist]

Network B: Conv 5x5, 1->5 channels, stride 2, padding 2 (5x14x14), ReLU,
Flatten, Dense 980->100, ReLU, Dense 100->10. Trained with SGD and momentum
(batch 64, learning rate 0.05, 4 epochs, seed 2026) on the 60,000 training
images scaled to [0, 1]; the test accuracy on the 10,000 test images is
printed and checked again with onnxruntime on the exported file.

Writes models/mnist-b.onnx, and models/mnist-sample-images.npy (the first
16 test images, uint8, 16x28x28) with models/mnist-sample-labels.npy.
"""
import gzip
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

root = Path(__file__).resolve().parents[1]
data = Path(sys.argv[1]) if len(sys.argv) > 1 else root.parent / "shared/data/mnist"


def idx(name):
    raw = gzip.open(data / name).read()
    rank = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(rank)]
    return np.frombuffer(raw[4 + 4 * rank:], dtype=np.uint8).reshape(shape)


train_x = idx("train-images.idx3-ubyte.gz").astype(np.float32) / 255.0
train_y = idx("train-labels.idx1-ubyte.gz").astype(np.int64)
test_x = idx("t10k-images.idx3-ubyte.gz").astype(np.float32) / 255.0
test_y = idx("t10k-labels.idx1-ubyte.gz").astype(np.int64)


def patches(x):
    """im2col for the 5x5, stride 2, padding 2 convolution: [N*196, 25]."""
    padded = np.pad(x, ((0, 0), (2, 2), (2, 2)))
    n = x.shape[0]
    out = np.empty((n, 14, 14, 25), dtype=np.float32)
    for ky in range(5):
        for kx in range(5):
            out[:, :, :, ky * 5 + kx] = padded[:, ky:ky + 28:2, kx:kx + 28:2]
    return out.reshape(n * 196, 25)


rng = np.random.default_rng(2026)
params = {
    "conv": rng.standard_normal((25, 5)).astype(np.float32) * np.sqrt(2 / 25),
    "conv_b": np.zeros(5, np.float32),
    "w1": rng.standard_normal((980, 100)).astype(np.float32) * np.sqrt(2 / 980),
    "b1": np.zeros(100, np.float32),
    "w2": rng.standard_normal((100, 10)).astype(np.float32) * np.sqrt(2 / 100),
    "b2": np.zeros(10, np.float32),
}
params = {k: v.astype(np.float32) for k, v in params.items()}  # numpy 2 promotes to float64
velocity = {k: np.zeros_like(v) for k, v in params.items()}


def forward(x):
    n = x.shape[0]
    cols = patches(x)
    conv = cols @ params["conv"] + params["conv_b"]            # [N*196, 5]
    a1 = np.maximum(conv, 0)
    # Flatten in ONNX's NCHW order: channel-major.
    flat = a1.reshape(n, 196, 5).transpose(0, 2, 1).reshape(n, 980)
    h = flat @ params["w1"] + params["b1"]
    a2 = np.maximum(h, 0)
    logits = a2 @ params["w2"] + params["b2"]
    return cols, conv, flat, h, a2, logits


def accuracy(x, y):
    correct = 0
    for start in range(0, len(x), 1000):
        correct += int((forward(x[start:start + 1000])[-1].argmax(1) == y[start:start + 1000]).sum())
    return correct / len(x)


for epoch in range(4):
    order = rng.permutation(len(train_x))
    for start in range(0, len(order), 64):
        batch = order[start:start + 64]
        x, y = train_x[batch], train_y[batch]
        n = len(batch)
        cols, conv, flat, h, a2, logits = forward(x)
        p = np.exp(logits - logits.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        p[np.arange(n), y] -= 1
        d_logits = p / n
        grads = {"w2": a2.T @ d_logits, "b2": d_logits.sum(0)}
        d_h = (d_logits @ params["w2"].T) * (h > 0)
        grads["w1"] = flat.T @ d_h
        grads["b1"] = d_h.sum(0)
        d_flat = d_h @ params["w1"].T
        d_conv = d_flat.reshape(n, 5, 196).transpose(0, 2, 1).reshape(n * 196, 5) * (conv > 0)
        grads["conv"] = cols.T @ d_conv
        grads["conv_b"] = d_conv.sum(0)
        for k in params:
            velocity[k] = (0.9 * velocity[k] - 0.05 * grads[k]).astype(np.float32)
            params[k] += velocity[k]
    print(f"epoch {epoch + 1}: test accuracy {accuracy(test_x, test_y):.4f}")

# Export: Conv · Relu · Flatten · Gemm · Relu · Gemm.
weights = [
    numpy_helper.from_array(params["conv"].T.reshape(5, 1, 5, 5).copy(), "conv.weight"),
    numpy_helper.from_array(params["conv_b"], "conv.bias"),
    numpy_helper.from_array(params["w1"], "fc1.weight"),
    numpy_helper.from_array(params["b1"], "fc1.bias"),
    numpy_helper.from_array(params["w2"], "fc2.weight"),
    numpy_helper.from_array(params["b2"], "fc2.bias"),
]
nodes = [
    helper.make_node("Conv", ["image", "conv.weight", "conv.bias"], ["c"], kernel_shape=[5, 5], strides=[2, 2], pads=[2, 2, 2, 2]),
    helper.make_node("Relu", ["c"], ["cr"]),
    helper.make_node("Flatten", ["cr"], ["f"], axis=1),
    helper.make_node("Gemm", ["f", "fc1.weight", "fc1.bias"], ["h"]),
    helper.make_node("Relu", ["h"], ["hr"]),
    helper.make_node("Gemm", ["hr", "fc2.weight", "fc2.bias"], ["logits"]),
]
graph = helper.make_graph(nodes, "mnist-b",
                          [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 1, 28, 28])],
                          [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 10])], weights)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
model.doc_string = "MNIST network B, trained with numpy by scripts/make_mnist_model.py"
onnx.checker.check_model(model)
onnx.save(model, root / "models/mnist-b.onnx")

try:
    import onnxruntime
    session = onnxruntime.InferenceSession(str(root / "models/mnist-b.onnx"), providers=["CPUExecutionProvider"])
    logits = session.run(None, {"image": test_x[:, None]})[0]
    print(f"onnxruntime test accuracy of models/mnist-b.onnx: {(logits.argmax(1) == test_y).mean():.4f}")
except ImportError:
    pass
np.save(root / "models/mnist-sample-images.npy", idx("t10k-images.idx3-ubyte.gz")[:16])
np.save(root / "models/mnist-sample-labels.npy", test_y[:16].astype(np.uint8))
