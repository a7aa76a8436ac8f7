#!/usr/bin/env python3
"""Trains the MNIST networks of docs/benchmarks.md with numpy and exports them as ONNX.

    python3 scripts/make_mnist_models.py [--data path/to/shared/data/mnist] [NAME ...]

NAME is any of a b c d a-sigmoid c-sigmoid-avgpool (default: all).

  a  Flatten, Dense 784->128, ReLU, Dense 128->128, ReLU, Dense 128->10
  b  Conv 5x5 1->5 stride 2 pad 2, ReLU, Flatten, Dense 980->100, ReLU, Dense 100->10
  c  Conv 5x5 1->16, ReLU, MaxPool 2x2, Conv 5x5 16->16, ReLU, MaxPool 2x2,
     Flatten, Dense 256->100, ReLU, Dense 100->10
  d  LeNet: Conv 5x5 1->20, ReLU, MaxPool 2x2, Conv 5x5 20->50, ReLU, MaxPool 2x2,
     Flatten, Dense 800->500, ReLU, Dense 500->10
  a-sigmoid, c-sigmoid-avgpool
     the model adaptation of the seed: a and c with every ReLU replaced by
     the logistic sigmoid and every max-pool by an average pool, trained the
     same way (what a private-inference-friendly model looks like).

Every network: He-normal initial weights (seed 2026), SGD with momentum 0.9,
batch 64, the epochs and learning rate in NETWORKS, softmax cross-entropy, on
the 60,000 training images scaled to [0, 1]. The test accuracy on the 10,000
test images is printed after each epoch and checked again with onnxruntime
on the exported file; it is also written into the model's doc string.

Writes models/mnist-NAME.onnx, and models/mnist-sample-images.npy (the first
16 test images, uint8, 16x28x28) with models/mnist-sample-labels.npy.
"""
import argparse
import gzip
import time
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from numpy.lib.stride_tricks import sliding_window_view

root = Path(__file__).resolve().parents[1]


def idx(data, name):
    raw = gzip.open(data / name).read()
    rank = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(rank)]
    return np.frombuffer(raw[4 + 4 * rank:], dtype=np.uint8).reshape(shape)


class Conv:
    """NCHW convolution by im2col, square kernel."""

    def __init__(self, rng, cin, cout, k, stride=1, pad=0):
        self.k, self.stride, self.pad = k, stride, pad
        self.params = {
            "weight": (rng.standard_normal((cout, cin, k, k)) * np.sqrt(2 / (cin * k * k))).astype(np.float32),
            "bias": np.zeros(cout, np.float32),
        }

    def forward(self, x):
        k, s, p = self.k, self.stride, self.pad
        xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
        windows = sliding_window_view(xp, (k, k), axis=(2, 3))[:, :, ::s, ::s]
        n, c, oh, ow = windows.shape[:4]
        cols = np.ascontiguousarray(windows.transpose(0, 2, 3, 1, 4, 5)).reshape(n * oh * ow, c * k * k)
        w = self.params["weight"].reshape(len(self.params["bias"]), -1)
        out = cols @ w.T + self.params["bias"]
        self.saved = (x.shape, xp.shape, cols, oh, ow)
        return out.reshape(n, oh, ow, -1).transpose(0, 3, 1, 2)

    def backward(self, d_out):
        x_shape, xp_shape, cols, oh, ow = self.saved
        k, s, p = self.k, self.stride, self.pad
        n, c = x_shape[:2]
        d2 = d_out.transpose(0, 2, 3, 1).reshape(n * oh * ow, -1)
        w = self.params["weight"].reshape(d2.shape[1], -1)
        grads = {"weight": (d2.T @ cols).reshape(self.params["weight"].shape), "bias": d2.sum(0)}
        d_cols = (d2 @ w).reshape(n, oh, ow, c, k, k)
        d_xp = np.zeros(xp_shape, np.float32)
        for ky in range(k):
            for kx in range(k):
                d_xp[:, :, ky:ky + s * oh:s, kx:kx + s * ow:s] += d_cols[:, :, :, :, ky, kx].transpose(0, 3, 1, 2)
        return grads, d_xp[:, :, p:p + x_shape[2], p:p + x_shape[3]]

    def onnx(self, name, x, y):
        inits = [numpy_helper.from_array(self.params["weight"], f"{name}.weight"),
                 numpy_helper.from_array(self.params["bias"], f"{name}.bias")]
        node = helper.make_node("Conv", [x, f"{name}.weight", f"{name}.bias"], [y], kernel_shape=[self.k, self.k],
                                strides=[self.stride] * 2, pads=[self.pad] * 4)
        return [node], inits


class Dense:
    def __init__(self, rng, fan_in, fan_out):
        self.params = {
            "weight": (rng.standard_normal((fan_in, fan_out)) * np.sqrt(2 / fan_in)).astype(np.float32),
            "bias": np.zeros(fan_out, np.float32),
        }

    def forward(self, x):
        self.saved = x
        return x @ self.params["weight"] + self.params["bias"]

    def backward(self, d_out):
        grads = {"weight": self.saved.T @ d_out, "bias": d_out.sum(0)}
        return grads, d_out @ self.params["weight"].T

    def onnx(self, name, x, y):
        inits = [numpy_helper.from_array(self.params["weight"], f"{name}.weight"),
                 numpy_helper.from_array(self.params["bias"], f"{name}.bias")]
        return [helper.make_node("Gemm", [x, f"{name}.weight", f"{name}.bias"], [y])], inits


class Stateless:
    params = {}

    def onnx(self, name, x, y):
        return [helper.make_node(self.op, [x], [y], **self.attributes)], []

    attributes = {}


class Relu(Stateless):
    op = "Relu"

    def forward(self, x):
        self.saved = x > 0
        return x * self.saved

    def backward(self, d_out):
        return {}, d_out * self.saved


class Sigmoid(Stateless):
    op = "Sigmoid"

    def forward(self, x):
        self.saved = 1 / (1 + np.exp(-x))
        return self.saved

    def backward(self, d_out):
        return {}, d_out * self.saved * (1 - self.saved)


class Flatten(Stateless):
    op = "Flatten"
    attributes = {"axis": 1}

    def forward(self, x):
        self.saved = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, d_out):
        return {}, d_out.reshape(self.saved)


class Pool2x2(Stateless):
    """2x2 windows, stride 2 (even sizes): max or average."""
    attributes = {"kernel_shape": [2, 2], "strides": [2, 2]}

    def __init__(self, kind):
        self.kind = kind
        self.op = {"max": "MaxPool", "average": "AveragePool"}[kind]

    def forward(self, x):
        n, c, h, w = x.shape
        windows = x.reshape(n, c, h // 2, 2, w // 2, 2).transpose(0, 1, 2, 4, 3, 5).reshape(n, c, h // 2, w // 2, 4)
        self.saved = x.shape
        if self.kind == "average":
            return windows.mean(-1)
        self.winner = windows.argmax(-1)
        return np.take_along_axis(windows, self.winner[..., None], -1)[..., 0]

    def backward(self, d_out):
        n, c, h, w = self.saved
        if self.kind == "average":
            d = np.repeat(d_out[..., None] / 4, 4, -1)
        else:
            d = np.zeros(d_out.shape + (4,), np.float32)
            np.put_along_axis(d, self.winner[..., None], d_out[..., None], -1)
        return {}, d.reshape(n, c, h // 2, w // 2, 2, 2).transpose(0, 1, 2, 4, 3, 5).reshape(n, c, h, w)


def network(name, rng):
    act = Sigmoid if "sigmoid" in name else Relu
    pool = "average" if "avgpool" in name else "max"
    base = name[0]
    if base == "a":
        return [Flatten(), Dense(rng, 784, 128), act(), Dense(rng, 128, 128), act(), Dense(rng, 128, 10)]
    if base == "b":
        return [Conv(rng, 1, 5, 5, stride=2, pad=2), act(), Flatten(), Dense(rng, 980, 100), act(),
                Dense(rng, 100, 10)]
    if base == "c":
        return [Conv(rng, 1, 16, 5), act(), Pool2x2(pool), Conv(rng, 16, 16, 5), act(), Pool2x2(pool), Flatten(),
                Dense(rng, 256, 100), act(), Dense(rng, 100, 10)]
    return [Conv(rng, 1, 20, 5), act(), Pool2x2(pool), Conv(rng, 20, 50, 5), act(), Pool2x2(pool), Flatten(),
            Dense(rng, 800, 500), act(), Dense(rng, 500, 10)]


# name: (epochs, learning rate)
NETWORKS = {"a": (4, 0.05), "b": (4, 0.05), "c": (3, 0.05), "d": (3, 0.05),
            "a-sigmoid": (4, 0.1), "c-sigmoid-avgpool": (3, 0.1)}


def forward(layers, x):
    for layer in layers:
        x = layer.forward(x)
    return x


def accuracy(layers, x, y):
    correct = 0
    for start in range(0, len(x), 500):
        correct += int((forward(layers, x[start:start + 500]).argmax(1) == y[start:start + 500]).sum())
    return correct / len(x)


def train(name, train_x, train_y, test_x, test_y):
    rng = np.random.default_rng(2026)
    layers = network(name, rng)
    epochs, rate = NETWORKS[name]
    velocity = [{k: np.zeros_like(v) for k, v in layer.params.items()} for layer in layers]
    started = time.time()
    for epoch in range(epochs):
        order = rng.permutation(len(train_x))
        for start in range(0, len(order), 64):
            batch = order[start:start + 64]
            logits = forward(layers, train_x[batch])
            p = np.exp(logits - logits.max(1, keepdims=True))
            p /= p.sum(1, keepdims=True)
            p[np.arange(len(batch)), train_y[batch]] -= 1
            d = (p / len(batch)).astype(np.float32)
            for layer, v in zip(reversed(layers), reversed(velocity)):
                grads, d = layer.backward(d)
                for k in grads:
                    v[k] = (0.9 * v[k] - rate * grads[k]).astype(np.float32)
                    layer.params[k] += v[k]
        test = accuracy(layers, test_x, test_y)
        print(f"{name}: epoch {epoch + 1}/{epochs}, test accuracy {test:.4f} ({time.time() - started:.0f} s)",
              flush=True)
    return layers, test


def export(name, layers, test):
    nodes, inits, x = [], [], "image"
    for i, layer in enumerate(layers):
        y = "logits" if i == len(layers) - 1 else f"t{i}"
        n, w = layer.onnx(f"layer{i}", x, y)
        nodes += n
        inits += w
        x = y
    graph = helper.make_graph(nodes, f"mnist-{name}",
                              [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 1, 28, 28])],
                              [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 10])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.doc_string = (f"MNIST network {name}, trained with numpy by scripts/make_mnist_models.py: "
                        f"test accuracy {test:.4f}")
    onnx.checker.check_model(model)
    path = root / f"models/mnist-{name}.onnx"
    onnx.save(model, path)
    return path


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=root.parent / "shared/data/mnist")
    parser.add_argument("names", nargs="*", default=list(NETWORKS))
    args = parser.parse_args()
    train_x = idx(args.data, "train-images.idx3-ubyte.gz").astype(np.float32)[:, None] / 255.0
    train_y = idx(args.data, "train-labels.idx1-ubyte.gz").astype(np.int64)
    test_images = idx(args.data, "t10k-images.idx3-ubyte.gz")
    test_x = test_images.astype(np.float32)[:, None] / 255.0
    test_y = idx(args.data, "t10k-labels.idx1-ubyte.gz").astype(np.int64)
    for name in args.names:
        layers, test = train(name, train_x, train_y, test_x, test_y)
        path = export(name, layers, test)
        try:
            import onnxruntime
            session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
            logits = session.run(None, {"image": test_x})[0]
            print(f"onnxruntime test accuracy of {path.relative_to(root)}: {(logits.argmax(1) == test_y).mean():.4f}")
        except ImportError:
            pass
    np.save(root / "models/mnist-sample-images.npy", test_images[:16])
    np.save(root / "models/mnist-sample-labels.npy", test_y[:16].astype(np.uint8))


if __name__ == "__main__":
    main()
