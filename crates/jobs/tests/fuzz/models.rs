//! Structure-aware mutation of ONNX models: decode a real model, edit its
//! structure (dimensions, attributes, initializer values and shapes, ops,
//! inputs), encode it again; sometimes a byte-level edit on top.

use blindfold_onnx::proto::tensor_shape_proto::dimension::Value as Dim;
use blindfold_onnx::proto::type_proto::Value as Type;
use blindfold_onnx::proto::{AttributeProto, ModelProto, attribute_proto};
use prost::Message;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// Dimensions and attribute values at edges.
const NUMBERS: [i64; 14] = [0, 1, 2, 3, -1, -2, 7, 64, 1000, 1 << 20, 1 << 31, 1 << 40, i64::MAX, i64::MIN];

/// Ops the importer reads (a node becomes another of them).
const OPS: [&str; 16] = [
    "Gemm",
    "MatMul",
    "Add",
    "Sub",
    "Mul",
    "Conv",
    "MaxPool",
    "AveragePool",
    "GlobalAveragePool",
    "Relu",
    "Sigmoid",
    "Softmax",
    "Flatten",
    "Reshape",
    "Transpose",
    "BatchNormalization",
];

/// Attributes worth setting on any node.
const ATTRIBUTES: [&str; 12] = [
    "pads",
    "strides",
    "kernel_shape",
    "dilations",
    "group",
    "axis",
    "perm",
    "transA",
    "transB",
    "epsilon",
    "alpha",
    "ceil_mode",
];

fn number(rng: &mut ChaCha8Rng) -> i64 {
    if rng.random_bool(0.5) { NUMBERS[rng.random_range(0..NUMBERS.len())] } else { rng.random_range(-4..12) }
}

/// A structural mutation of one of `seeds` (ONNX models).
pub fn mutate(rng: &mut ChaCha8Rng, seeds: &[Vec<u8>]) -> Vec<u8> {
    let seed = &seeds[rng.random_range(0..seeds.len())];
    let Ok(mut model) = ModelProto::decode(seed.as_slice()) else { return seed.clone() };
    for _ in 0..rng.random_range(1..=3) {
        edit(rng, &mut model);
    }
    let mut bytes = model.encode_to_vec();
    if rng.random_bool(0.1) {
        crate::bytes::edit(rng, &mut bytes, seeds);
    }
    bytes
}

fn edit(rng: &mut ChaCha8Rng, model: &mut ModelProto) {
    let Some(graph) = model.graph.as_mut() else { return };
    match rng.random_range(0..9) {
        // An initializer's values: scaled up, or made non-finite.
        0 | 1 if !graph.initializer.is_empty() => {
            let i = rng.random_range(0..graph.initializer.len());
            let tensor = &mut graph.initializer[i];
            let factor = [1e3f32, 1e6, 1e9, -1e6, f32::NAN, f32::INFINITY, 0.0][rng.random_range(0..7)];
            if let Some(raw) =
                tensor.raw_data.as_mut().filter(|raw| raw.len() % 4 == 0 && tensor.data_type == Some(1))
            {
                for chunk in raw.chunks_exact_mut(4) {
                    let v = f32::from_le_bytes(chunk.try_into().unwrap()) * factor;
                    chunk.copy_from_slice(&v.to_le_bytes());
                }
            }
            tensor.float_data.iter_mut().for_each(|v| *v *= factor);
        }
        // An initializer's shape.
        2 if !graph.initializer.is_empty() => {
            let i = rng.random_range(0..graph.initializer.len());
            let tensor = &mut graph.initializer[i];
            match rng.random_range(0..3) {
                0 if !tensor.dims.is_empty() => {
                    let d = rng.random_range(0..tensor.dims.len());
                    tensor.dims[d] = number(rng);
                }
                1 => tensor.dims.push(number(rng).clamp(0, 4)),
                _ => {
                    tensor.dims.pop();
                }
            }
        }
        // The input's dimensions.
        3 if !graph.input.is_empty() => {
            let input = &mut graph.input[0];
            if let Some(Type::TensorType(tensor)) = input.r#type.as_mut().and_then(|t| t.value.as_mut())
                && let Some(shape) = tensor.shape.as_mut()
                && !shape.dim.is_empty()
            {
                let d = rng.random_range(0..shape.dim.len());
                shape.dim[d].value = Some(Dim::DimValue(number(rng)));
            }
        }
        // An attribute of a node: an edge value, a new one, or dropped.
        4 | 5 if !graph.node.is_empty() => {
            let n = rng.random_range(0..graph.node.len());
            let node = &mut graph.node[n];
            let name = ATTRIBUTES[rng.random_range(0..ATTRIBUTES.len())];
            node.attribute.retain(|a| a.name.as_deref() != Some(name));
            if rng.random_bool(0.8) {
                let count = rng.random_range(0..5);
                let ints: Vec<i64> = (0..count).map(|_| number(rng)).collect();
                let attribute = if name == "epsilon" || name == "alpha" {
                    AttributeProto {
                        name: Some(name.into()),
                        r#type: Some(attribute_proto::AttributeType::Float as i32),
                        f: Some([0.0f32, -1.0, 1e30, f32::NAN][rng.random_range(0..4)]),
                        ..Default::default()
                    }
                } else if count == 1
                    && !matches!(name, "pads" | "strides" | "kernel_shape" | "dilations" | "perm")
                {
                    AttributeProto {
                        name: Some(name.into()),
                        r#type: Some(attribute_proto::AttributeType::Int as i32),
                        i: Some(ints[0]),
                        ..Default::default()
                    }
                } else {
                    AttributeProto {
                        name: Some(name.into()),
                        r#type: Some(attribute_proto::AttributeType::Ints as i32),
                        ints,
                        ..Default::default()
                    }
                };
                node.attribute.push(attribute);
            }
        }
        // A node becomes another op.
        6 if !graph.node.is_empty() => {
            let n = rng.random_range(0..graph.node.len());
            graph.node[n].op_type = Some(OPS[rng.random_range(0..OPS.len())].into());
        }
        // A node's inputs: one dropped, repeated, or renamed.
        7 if !graph.node.is_empty() => {
            let n = rng.random_range(0..graph.node.len());
            let node = &mut graph.node[n];
            match rng.random_range(0..3) {
                0 => {
                    node.input.pop();
                }
                1 if !node.input.is_empty() => {
                    let first = node.input[0].clone();
                    node.input.push(first);
                }
                _ => node.input.push(String::new()),
            }
        }
        // Nodes reordered or dropped.
        _ if graph.node.len() > 1 => {
            let (a, b) = (rng.random_range(0..graph.node.len()), rng.random_range(0..graph.node.len()));
            if rng.random_bool(0.5) {
                graph.node.swap(a, b);
            } else {
                graph.node.remove(a);
            }
        }
        _ => {}
    }
}
