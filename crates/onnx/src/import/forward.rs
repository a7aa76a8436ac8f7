//! A model's forward pass built into a caller's graph, its inputs and
//! initializers bound to the caller's tensors: how training runs any
//! architecture the importer reads, one step after another on the current
//! (shared) weights. And the model written back with trained weights.

use std::collections::HashMap;

use blindfold_ir::{GraphBuilder, Tensor};
use ndarray::ArrayD;
use prost::Message;

use super::converter::Converter;
use super::value::{ClientStep, Value};
use super::{ImportOptions, input_shape, rewrites};
use crate::error::{OnnxError, Result};
use crate::proto::tensor_proto::DataType;
use crate::proto::{ModelProto, TensorProto};
use crate::tensor::to_array;

/// The tensors a model's forward pass reads: its graph inputs and the
/// initializers to train, by name. Initializers not bound stay the model
/// owner's private inputs (or public structure).
#[derive(Clone, Debug, Default)]
pub struct Bindings {
    pub inputs: HashMap<String, Tensor>,
    pub parameters: HashMap<String, Tensor>,
}

/// The forward pass's first output, before any finishing step the model
/// ends with (a final Softmax or Sigmoid: the loss's business).
#[derive(Clone, Debug)]
pub struct Forward {
    pub output: Tensor,
    pub steps: Vec<ClientStep>,
    /// Whether the model ends in a Sigmoid (the output is its logit).
    pub ends_in_sigmoid: bool,
}

/// The trainable parameters of a model: its float initializers of at least
/// one element, in the model's order.
pub fn parameters(bytes: &[u8]) -> Result<Vec<(String, ArrayD<f64>)>> {
    let model = ModelProto::decode(bytes).map_err(|e| OnnxError::Decode(e.to_string()))?;
    let graph = model.graph.ok_or_else(|| OnnxError::Decode("the model has no graph".into()))?;
    let mut out = Vec::new();
    for initializer in &graph.initializer {
        let float = matches!(
            DataType::try_from(initializer.data_type.unwrap_or(0)),
            Ok(DataType::Float | DataType::Double)
        );
        if float {
            let values = to_array(initializer)?;
            if !values.is_empty() {
                out.push((initializer.name.clone().unwrap_or_default(), values));
            }
        }
    }
    Ok(out)
}

/// The first graph input's per-row shape (after the batch dimension).
pub fn input_row_shape(bytes: &[u8]) -> Result<(String, Vec<usize>)> {
    let model = ModelProto::decode(bytes).map_err(|e| OnnxError::Decode(e.to_string()))?;
    let graph = model.graph.ok_or_else(|| OnnxError::Decode("the model has no graph".into()))?;
    let constants: Vec<&str> = graph.initializer.iter().filter_map(|i| i.name.as_deref()).collect();
    let input = graph
        .input
        .iter()
        .find(|i| !constants.contains(&i.name.as_deref().unwrap_or("")))
        .ok_or_else(|| OnnxError::Signature("the model has no input besides its weights".into()))?;
    let shape = input_shape(input, 1, true)?;
    Ok((input.name.clone().unwrap_or_default(), shape[1..].to_vec()))
}

/// Builds the model's forward pass into `builder` on `bindings`; the first
/// output's tensor. A BatchNormalization is refused when training (its
/// running statistics are not SGD's to learn): fold it into the layer
/// before it first.
pub fn forward(
    builder: &mut GraphBuilder,
    bytes: &[u8],
    options: &ImportOptions,
    bindings: &Bindings,
) -> Result<Forward> {
    let model = ModelProto::decode(bytes).map_err(|e| OnnxError::Decode(e.to_string()))?;
    let opset = super::default_opset(&model)?;
    let graph = model.graph.ok_or_else(|| OnnxError::Decode("the model has no graph".into()))?;
    if let Some(node) = graph.node.iter().find(|n| n.op_type.as_deref() == Some("BatchNormalization"))
        && !bindings.parameters.is_empty()
    {
        return Err(OnnxError::Unsupported {
            node: crate::attributes::node_name(node),
            op: "BatchNormalization".into(),
            what:
                "training a model with BatchNormalization is not supported: fold it into the layer before it"
                    .into(),
        });
    }
    let output = graph
        .output
        .first()
        .and_then(|o| o.name.clone())
        .ok_or_else(|| OnnxError::Signature("the model has no output".into()))?;
    let mut nodes = graph.node.clone();
    rewrites::pool_before_relu(&mut nodes, std::slice::from_ref(&output));
    let ends_in_sigmoid =
        nodes.iter().any(|n| n.op_type.as_deref() == Some("Sigmoid") && n.output.first() == Some(&output));
    let mut converter = Converter::new(std::mem::take(builder), options.clone(), opset, &nodes);
    for initializer in &graph.initializer {
        let name = initializer.name.clone().unwrap_or_default();
        let value = match bindings.parameters.get(&name) {
            Some(&tensor) => Value::Tensor(tensor),
            None => Value::Weight(to_array(initializer)?),
        };
        converter.values.insert(name, value);
    }
    for (name, &tensor) in &bindings.inputs {
        converter.values.insert(name.clone(), Value::Tensor(tensor));
    }
    let result = (|| {
        for node in &nodes {
            // A final Sigmoid is the loss's (its logit is the output).
            if ends_in_sigmoid && node.output.first() == Some(&output) {
                let logit = converter.value(node, 0)?;
                converter.values.insert(output.clone(), logit);
                break;
            }
            converter.convert(node)?;
            if node.output.contains(&output) {
                break;
            }
        }
        let value =
            converter.values.get(&output).cloned().ok_or_else(|| {
                OnnxError::Signature(format!("output '{output}' is not computed by the model"))
            })?;
        let (value, steps) = match value {
            Value::Deferred { tensor, steps } => (Value::Tensor(tensor), steps),
            other => (other, Vec::new()),
        };
        let node = crate::proto::NodeProto { name: Some(output.clone()), ..Default::default() };
        let tensor = converter.materialize(&node, &output, value)?;
        Ok(Forward { output: tensor, steps, ends_in_sigmoid })
    })();
    *builder = converter.builder;
    result
}

/// The model with the initializers named in `values` replaced (float32,
/// the same shapes): the trained model, the same architecture.
pub fn with_parameters(bytes: &[u8], values: &HashMap<String, ArrayD<f64>>) -> Result<Vec<u8>> {
    let mut model = ModelProto::decode(bytes).map_err(|e| OnnxError::Decode(e.to_string()))?;
    let graph = model.graph.as_mut().ok_or_else(|| OnnxError::Decode("the model has no graph".into()))?;
    for initializer in &mut graph.initializer {
        let Some(trained) = initializer.name.as_ref().and_then(|n| values.get(n)) else { continue };
        let dims: Vec<usize> = initializer.dims.iter().map(|&d| d as usize).collect();
        if trained.shape() != dims.as_slice() {
            return Err(OnnxError::Tensor {
                name: initializer.name.clone().unwrap_or_default(),
                reason: format!("trained values of shape {:?} for a tensor of {dims:?}", trained.shape()),
            });
        }
        *initializer = TensorProto {
            name: initializer.name.clone(),
            dims: initializer.dims.clone(),
            data_type: Some(DataType::Float as i32),
            raw_data: Some(trained.iter().flat_map(|&v| (v as f32).to_le_bytes()).collect()),
            ..TensorProto::default()
        };
    }
    Ok(model.encode_to_vec())
}
