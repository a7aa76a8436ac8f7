"""Models shaped the way PyTorch's exporter (torch.onnx) writes them, made
with onnx.helper so that no torch is needed, for blindfold's import tests:

- depthwise: a depthwise 3x3 convolution (group = channels), ReLU, global
  average pooling and a dense layer, flattened by x.view(x.size(0), -1)'s
  Shape/Gather/Unsqueeze/Concat/Reshape chain with a dynamic batch;
- avgpool-ceil: PyTorch 2's all-zero Pad before AvgPool2d(3, stride 2,
  ceil_mode=True), count_include_pad on and off;
- batchnorm-after-relu: Conv, ReLU, then BatchNormalization (not foldable);
- softmax-middle: a softmax in the middle of the graph (attention-like
  weights that feed another layer);
- weights-as-input: no initializers; the weights are a second graph input
  (x.npy, w.npy; expected probabilities.npy and label.npy);
- cnn-init: a small CNN with PyTorch's default initialisation, to train
  (`blindfold train onnx --model`).

Writes crates/onnx/tests/fixtures/exported/NAME.onnx, NAME-input.npy
(batch 3) and NAME-expected.npy (onnxruntime's output).

    python3 scripts/make_exported_style_models.py
"""

from pathlib import Path

import numpy as np
import onnx
import onnxruntime
from onnx import TensorProto, helper, numpy_helper

OUT = Path(__file__).resolve().parent.parent / "crates" / "onnx" / "tests" / "fixtures" / "exported"
rng = np.random.default_rng(16)


def weight(name, *shape, scale=0.5):
    return numpy_helper.from_array((rng.normal(size=shape) * scale).astype(np.float32), name)


def ints(name, values):
    return numpy_helper.from_array(np.array(values, dtype=np.int64), name)


def flatten_dynamic(source, target):
    """x.view(x.size(0), -1) as torch.onnx writes it for a dynamic batch."""
    return [
        helper.make_node("Shape", [source], [f"{target}/shape"]),
        helper.make_node("Constant", [], [f"{target}/zero"], value=numpy_helper.from_array(np.array(0, dtype=np.int64))),
        helper.make_node("Gather", [f"{target}/shape", f"{target}/zero"], [f"{target}/batch"], axis=0),
        helper.make_node("Unsqueeze", [f"{target}/batch", f"{target}/axes"], [f"{target}/batch1"]),
        helper.make_node("Concat", [f"{target}/batch1", f"{target}/minus_one"], [f"{target}/dims"], axis=0),
        helper.make_node("Reshape", [source, f"{target}/dims"], [target]),
    ], [ints(f"{target}/axes", [0]), ints(f"{target}/minus_one", [-1])]


def save(name, nodes, input_shape, output_shape, initializers, opset=17):
    graph = helper.make_graph(
        nodes,
        name,
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", *input_shape])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["batch", *output_shape])],
        initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    x = rng.normal(size=(3, *input_shape)).astype(np.float32)
    session = onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    (y,) = session.run(None, {"input": x})
    onnx.save(model, OUT / f"{name}.onnx")
    np.save(OUT / f"{name}-input.npy", x)
    np.save(OUT / f"{name}-expected.npy", y)
    print(f"{name}: input {x.shape}, output {y.shape}")


OUT.mkdir(parents=True, exist_ok=True)

flatten, flatten_constants = flatten_dynamic("pooled", "flat")
save(
    "depthwise",
    [
        helper.make_node("Conv", ["input", "depthwise.weight", "depthwise.bias"], ["conv"], group=4,
                         kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[1, 1], dilations=[1, 1]),
        helper.make_node("Relu", ["conv"], ["relu"]),
        helper.make_node("GlobalAveragePool", ["relu"], ["pooled"]),
        *flatten,
        helper.make_node("Gemm", ["flat", "fc.weight", "fc.bias"], ["output"], alpha=1.0, beta=1.0, transB=1),
    ],
    [4, 6, 6],
    [3],
    [weight("depthwise.weight", 4, 1, 3, 3), weight("depthwise.bias", 4, scale=0.1), weight("fc.weight", 3, 4),
     weight("fc.bias", 3, scale=0.1), *flatten_constants],
)

for include in (0, 1):
    flatten, flatten_constants = flatten_dynamic("pooled", "flat")
    save(
        f"avgpool-ceil-include-pad-{include}",
        [
            helper.make_node("Pad", ["input", "pads", "pad_value"], ["padded"], mode="constant"),
            helper.make_node("AveragePool", ["padded"], ["pooled"], kernel_shape=[3, 3], strides=[2, 2],
                             pads=[1, 1, 1, 1], ceil_mode=1, count_include_pad=include),
            *flatten,
            helper.make_node("Gemm", ["flat", "fc.weight", "fc.bias"], ["output"], transB=1),
        ],
        [2, 6, 6],
        [2],
        [ints("pads", [0] * 8), numpy_helper.from_array(np.array(0, dtype=np.float32), "pad_value"),
         weight("fc.weight", 2, 2 * 4 * 4), weight("fc.bias", 2, scale=0.1), *flatten_constants],
    )

flatten, flatten_constants = flatten_dynamic("normalized", "flat")
save(
    "batchnorm-after-relu",
    [
        helper.make_node("Conv", ["input", "conv.weight", "conv.bias"], ["conv"], kernel_shape=[3, 3]),
        helper.make_node("Relu", ["conv"], ["relu"]),
        helper.make_node("BatchNormalization", ["relu", "bn.weight", "bn.bias", "bn.running_mean", "bn.running_var"],
                         ["normalized"], epsilon=1e-5, momentum=0.9),
        *flatten,
        helper.make_node("Gemm", ["flat", "fc.weight", "fc.bias"], ["output"], transB=1),
    ],
    [1, 5, 5],
    [2],
    [weight("conv.weight", 3, 1, 3, 3), weight("conv.bias", 3, scale=0.1), weight("bn.weight", 3, scale=1.0),
     weight("bn.bias", 3, scale=0.2), weight("bn.running_mean", 3, scale=0.3),
     numpy_helper.from_array(rng.uniform(0.5, 2.0, size=3).astype(np.float32), "bn.running_var"),
     weight("fc.weight", 2, 27, scale=0.3), weight("fc.bias", 2, scale=0.1), *flatten_constants],
)

save(
    "softmax-middle",
    [
        helper.make_node("Gemm", ["input", "query.weight", "query.bias"], ["scores"], transB=1),
        helper.make_node("Softmax", ["scores"], ["attention"], axis=-1),
        helper.make_node("Mul", ["attention", "input_part"], ["weighted"]),
        helper.make_node("Gemm", ["weighted", "out.weight", "out.bias"], ["output"], transB=1),
    ],
    [5],
    [2],
    [weight("query.weight", 5, 5, scale=1.0), weight("query.bias", 5, scale=0.3),
     weight("input_part", 5, scale=1.0), weight("out.weight", 2, 5), weight("out.bias", 2, scale=0.1)],
)

# Weights as a graph input (no initializers at all): y = softmax(x·w) and
# its argmax label, each input from its own file.
graph = helper.make_graph(
    [
        helper.make_node("MatMul", ["x", "w"], ["scores"]),
        helper.make_node("Softmax", ["scores"], ["probabilities"], axis=1),
        helper.make_node("ArgMax", ["scores"], ["label"], axis=1, keepdims=0),
    ],
    "weights-as-input",
    [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4]),
     helper.make_tensor_value_info("w", TensorProto.FLOAT, [4, 3])],
    [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["N", 3]),
     helper.make_tensor_value_info("label", TensorProto.INT64, ["N"])],
)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
model.ir_version = 8
onnx.checker.check_model(model, full_check=True)
x = rng.normal(size=(6, 4)).astype(np.float32)
w = rng.normal(size=(4, 3)).astype(np.float32)
session = onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
probabilities, label = session.run(None, {"x": x, "w": w})
onnx.save(model, OUT / "weights-as-input.onnx")
np.save(OUT / "weights-as-input-x.npy", x)
np.save(OUT / "weights-as-input-w.npy", w)
np.save(OUT / "weights-as-input-probabilities.npy", probabilities)
np.save(OUT / "weights-as-input-label.npy", label)
print(f"weights-as-input: x {x.shape}, w {w.shape}")

# A small CNN to train (blindfold train onnx --model): conv 3x3 (4 filters,
# stride 2) · ReLU · max-pool 2 · dense 10 logits, as PyTorch would export
# nn.Sequential(Conv2d(1, 4, 3, stride=2), ReLU(), MaxPool2d(2), Flatten(),
# Linear(144, 10)) with its default initialisation (uniform ±1/√fan_in).
def uniform(name, *shape, fan_in):
    bound = 1.0 / np.sqrt(fan_in)
    return numpy_helper.from_array(rng.uniform(-bound, bound, size=shape).astype(np.float32), name)


graph = helper.make_graph(
    [
        helper.make_node("Conv", ["input", "0.weight", "0.bias"], ["conv"], kernel_shape=[3, 3], strides=[2, 2]),
        helper.make_node("Relu", ["conv"], ["relu"]),
        helper.make_node("MaxPool", ["relu"], ["pool"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Flatten", ["pool"], ["flat"], axis=1),
        helper.make_node("Gemm", ["flat", "4.weight", "4.bias"], ["output"], transB=1),
    ],
    "cnn-init",
    [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 1, 28, 28])],
    [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["batch", 10])],
    [uniform("0.weight", 4, 1, 3, 3, fan_in=9), uniform("0.bias", 4, fan_in=9),
     uniform("4.weight", 10, 144, fan_in=144), uniform("4.bias", 10, fan_in=144)],
)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
model.ir_version = 8
onnx.checker.check_model(model, full_check=True)
onnx.save(model, OUT / "cnn-init.onnx")
print("cnn-init: 1x28x28 -> 10 logits")
