//! Dense models out as ONNX: what `blindfold train` writes for the model
//! owner, readable by `blindfold predict` and any ONNX runtime.

use ndarray::{Array1, Array2};
use prost::Message;

use crate::proto::tensor_proto::DataType;
use crate::proto::tensor_shape_proto::{Dimension, dimension};
use crate::proto::type_proto::{self, Value};
use crate::proto::{
    GraphProto, ModelProto, NodeProto, OperatorSetIdProto, TensorProto, TensorShapeProto, TypeProto,
    ValueInfoProto,
};

/// What follows the last dense layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputActivation {
    /// The layer's values (regression).
    Identity,
    /// The logistic sigmoid per output (one-vs-rest probabilities).
    Sigmoid,
}

/// A chain of dense layers, `y = x·W + b` with ReLU between them: per layer
/// (W [inputs, outputs], b [outputs]). The model takes `input` [N, inputs]
/// (float32) and gives `output` [N, outputs]; `doc` is its doc string.
pub fn dense_model(
    layers: &[(Array2<f64>, Array1<f64>)],
    activation: OutputActivation,
    input: &str,
    output: &str,
    doc: &str,
) -> Vec<u8> {
    let mut nodes = Vec::new();
    let mut initializers = Vec::new();
    let mut current = input.to_string();
    for (index, (weight, bias)) in layers.iter().enumerate() {
        let last = index + 1 == layers.len();
        let (w_name, b_name) = (format!("layer{index}.weight"), format!("layer{index}.bias"));
        initializers.push(float_tensor(&w_name, &[weight.nrows(), weight.ncols()], weight.iter()));
        initializers.push(float_tensor(&b_name, &[bias.len()], bias.iter()));
        let z = if last && activation == OutputActivation::Identity {
            output.to_string()
        } else {
            format!("z{index}")
        };
        nodes.push(node("Gemm", &[&current, &w_name, &b_name], &z));
        current = if last {
            if activation == OutputActivation::Sigmoid {
                nodes.push(node("Sigmoid", &[&z], output));
            }
            output.to_string()
        } else {
            let h = format!("h{index}");
            nodes.push(node("Relu", &[&z], &h));
            h
        };
    }
    let inputs = layers.first().map_or(0, |(w, _)| w.nrows());
    let outputs = layers.last().map_or(0, |(w, _)| w.ncols());
    let graph = GraphProto {
        node: nodes,
        name: Some("blindfold-trained".into()),
        initializer: initializers,
        input: vec![value_info(input, inputs)],
        output: vec![value_info(output, outputs)],
        ..Default::default()
    };
    let model = ModelProto {
        ir_version: Some(8),
        opset_import: vec![OperatorSetIdProto { domain: Some(String::new()), version: Some(13) }],
        producer_name: Some("blindfold".into()),
        producer_version: Some(env!("CARGO_PKG_VERSION").into()),
        doc_string: Some(doc.into()),
        graph: Some(graph),
        ..Default::default()
    };
    model.encode_to_vec()
}

fn node(op: &str, inputs: &[&str], output: &str) -> NodeProto {
    NodeProto {
        input: inputs.iter().map(|s| s.to_string()).collect(),
        output: vec![output.to_string()],
        name: Some(format!("{op}:{output}")),
        op_type: Some(op.into()),
        ..Default::default()
    }
}

fn float_tensor<'a>(name: &str, dims: &[usize], values: impl Iterator<Item = &'a f64>) -> TensorProto {
    TensorProto {
        dims: dims.iter().map(|&d| d as i64).collect(),
        data_type: Some(DataType::Float as i32),
        float_data: values.map(|&v| v as f32).collect(),
        name: Some(name.into()),
        ..Default::default()
    }
}

/// A float tensor [N, width] with a symbolic batch dimension.
fn value_info(name: &str, width: usize) -> ValueInfoProto {
    let dims = vec![
        Dimension { value: Some(dimension::Value::DimParam("N".into())), ..Default::default() },
        Dimension { value: Some(dimension::Value::DimValue(width as i64)), ..Default::default() },
    ];
    ValueInfoProto {
        name: Some(name.into()),
        r#type: Some(TypeProto {
            value: Some(Value::TensorType(type_proto::Tensor {
                elem_type: Some(DataType::Float as i32),
                shape: Some(TensorShapeProto { dim: dims }),
            })),
            ..Default::default()
        }),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ImportOptions, import};

    #[test]
    fn an_exported_model_imports_and_computes_the_same() {
        let w0 = Array2::from_shape_vec((3, 2), vec![1.0, -1.0, 0.5, 2.0, -0.25, 0.0]).unwrap();
        let b0 = Array1::from(vec![0.1, -0.2]);
        let w1 = Array2::from_shape_vec((2, 1), vec![1.5, -0.5]).unwrap();
        let b1 = Array1::from(vec![0.25]);
        let bytes = dense_model(&[(w0, b0), (w1, b1)], OutputActivation::Sigmoid, "x", "p", "test");
        let model = import(&bytes, ImportOptions { batch: 2, ..ImportOptions::default() }).unwrap();
        assert_eq!(model.input_shape, vec![2, 3]);
        assert_eq!(model.weights.len(), 4);
    }
}
