//! ONNX graph → blindfold graph. The model's weights (initializers) become
//! the model owner's private inputs; the graph's input is the client's; the
//! output goes to the client. BatchNormalization is folded into the Conv or
//! Gemm before it (the owner's weights are plaintext to the owner).

use std::collections::HashMap;

use blindfold_ir::Inputs;
use blindfold_ir::parties::{MODEL_OWNER, PREDICTION_CLIENT};
use blindfold_ir::{Conv2dGeometry, Graph, GraphBuilder, Ring, SigmoidMethod, Tensor};
use ndarray::{ArrayD, Axis, IxDyn};
use prost::Message;

use crate::attributes::{attribute, float_attribute, int_attribute, ints_attribute, node_name};
use crate::error::{OnnxError, Result};
use crate::proto::{ModelProto, NodeProto, TensorProto};
use crate::tensor::to_array;

/// How to import.
#[derive(Clone, Debug)]
pub struct ImportOptions {
    /// Inputs per prediction batch (replaces the model's symbolic batch dimension).
    pub batch: usize,
    /// The party that holds the weights.
    pub model_owner: String,
    /// The party that holds the input and receives the output.
    pub client: String,
    pub ring: Ring,
    /// How Sigmoid nodes are computed.
    pub sigmoid: SigmoidMethod,
    /// Deliver this intermediate value instead of the model's output (the
    /// model's first layers as a feature extractor); nodes after it are
    /// left out.
    pub output: Option<String>,
    /// Compare on x mod 2^bits (see `GraphBuilder::set_comparison_bits`):
    /// cheaper, exact while every compared value stays below 2^(bits−1) ulps.
    /// `None`: the whole ring, exact for every value.
    pub comparison_bits: Option<u32>,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            batch: 1,
            model_owner: MODEL_OWNER.into(),
            client: PREDICTION_CLIENT.into(),
            ring: Ring::Z64,
            sigmoid: SigmoidMethod::default(),
            output: None,
            comparison_bits: None,
        }
    }
}

/// An imported model: the graph and the owner's weights.
pub struct ImportedModel {
    pub graph: Graph,
    /// The owner's inputs, by name.
    pub weights: HashMap<String, ArrayD<f64>>,
    /// The client's input's name and shape in the graph.
    pub input: String,
    pub input_shape: Vec<usize>,
    /// The output's name (the client receives it).
    pub output: String,
    /// Whether the model ended in Softmax, delivered as logits.
    pub softmax_removed: bool,
    options: ImportOptions,
}

impl ImportedModel {
    /// A session's inputs: the owner's weights and the client's `x`.
    pub fn inputs(&self, x: ArrayD<f64>) -> Inputs {
        Inputs::from([
            (self.options.model_owner.clone(), self.weights.clone()),
            (self.options.client.clone(), HashMap::from([(self.input.clone(), x)])),
        ])
    }
}

/// A value during conversion: a graph tensor, or a constant the importer
/// still holds (an initializer or a Constant node's value).
#[derive(Clone)]
enum Value {
    Tensor(Tensor),
    Constant(ArrayD<f64>),
}

/// Reads an ONNX model from `bytes` and converts it.
pub fn import(bytes: &[u8], options: ImportOptions) -> Result<ImportedModel> {
    let model = ModelProto::decode(bytes).map_err(|e| OnnxError::Decode(e.to_string()))?;
    let opset = model
        .opset_import
        .iter()
        .find(|o| o.domain.as_deref().unwrap_or("").is_empty() || o.domain.as_deref() == Some("ai.onnx"))
        .and_then(|o| o.version)
        .ok_or_else(|| OnnxError::Decode("no default-domain opset".into()))?;
    if !(11..=21).contains(&opset) {
        return Err(OnnxError::Opset(opset));
    }
    let graph = model.graph.ok_or_else(|| OnnxError::Decode("the model has no graph".into()))?;
    let mut constants: HashMap<String, ArrayD<f64>> = HashMap::new();
    for initializer in &graph.initializer {
        constants.insert(initializer.name.clone().unwrap_or_default(), to_array(initializer)?);
    }
    let mut nodes = graph.node.clone();
    fold_batch_norms(
        &mut nodes,
        &mut constants,
        &graph.output.iter().filter_map(|o| o.name.clone()).collect::<Vec<_>>(),
    )?;
    let kept: Vec<String> =
        graph.output.iter().filter_map(|o| o.name.clone()).chain(options.output.clone()).collect();
    pool_before_relu(&mut nodes, &kept);

    let input = graph
        .input
        .iter()
        .find(|i| !constants.contains_key(i.name.as_deref().unwrap_or("")))
        .ok_or_else(|| OnnxError::Signature("the model has no input besides its weights".into()))?;
    let input_name = input.name.clone().unwrap_or_default();
    let input_shape = input_shape(input, options.batch)?;
    let output_name = match (graph.output.as_slice(), &options.output) {
        (_, Some(name)) => {
            if !nodes.iter().any(|n| n.output.contains(name)) {
                return Err(OnnxError::Signature(format!("no node computes '{name}'")));
            }
            name.clone()
        }
        ([single], None) => single.name.clone().unwrap_or_default(),
        (outputs, None) => {
            return Err(OnnxError::Signature(format!(
                "{} outputs; a prediction model has one",
                outputs.len()
            )));
        }
    };

    let mut converter = Converter {
        builder: GraphBuilder::with_ring(options.ring),
        values: HashMap::new(),
        weights: HashMap::new(),
        options: options.clone(),
        consumers: count_consumers(&nodes),
    };
    converter.builder.set_comparison_bits(options.comparison_bits).map_err(|source| OnnxError::Graph {
        node: "(options)".into(),
        op: "comparison bits".into(),
        source: Box::new(source),
    })?;
    for (name, value) in constants {
        converter.values.insert(name, Value::Constant(value));
    }
    let x =
        converter.builder.private_input(&options.client, &input_name, &input_shape).map_err(|source| {
            OnnxError::Graph { node: input_name.clone(), op: "input".into(), source: Box::new(source) }
        })?;
    converter.values.insert(input_name.clone(), Value::Tensor(x));
    let mut softmax_removed = false;
    for node in &nodes {
        if node.op_type.as_deref() == Some("Softmax") {
            let produces_output = node.output.first() == Some(&output_name);
            if !produces_output {
                return Err(converter.unsupported(
                    node,
                    "Softmax is supported only as the final op (the client gets the logits)",
                ));
            }
            softmax_removed = true;
        }
        converter.convert(node)?;
        if node.output.contains(&output_name) {
            break;
        }
    }
    let y = match converter.values.get(&output_name) {
        Some(Value::Tensor(t)) => *t,
        _ => {
            return Err(OnnxError::Signature(format!(
                "output '{output_name}' is not computed from the input"
            )));
        }
    };
    let client = options.client.clone();
    converter.builder.output(&client, &output_name, y).map_err(|source| OnnxError::Graph {
        node: output_name.clone(),
        op: "output".into(),
        source: Box::new(source),
    })?;
    Ok(ImportedModel {
        graph: converter.builder.finish(),
        weights: converter.weights,
        input: input_name,
        input_shape,
        output: output_name,
        softmax_removed,
        options,
    })
}

fn input_shape(input: &crate::proto::ValueInfoProto, batch: usize) -> Result<Vec<usize>> {
    use crate::proto::tensor_shape_proto::dimension::Value as Dim;
    use crate::proto::type_proto::Value as Type;
    let Some(Type::TensorType(tensor)) = input.r#type.as_ref().and_then(|t| t.value.as_ref()) else {
        return Err(OnnxError::Signature("the input is not a tensor".into()));
    };
    let dims = tensor.shape.as_ref().map(|s| s.dim.as_slice()).unwrap_or_default();
    dims.iter()
        .enumerate()
        .map(|(i, d)| match d.value.as_ref() {
            Some(Dim::DimValue(v)) if i == 0 || *v > 0 => Ok(if i == 0 { batch } else { *v as usize }),
            _ if i == 0 => Ok(batch),
            _ => Err(OnnxError::Signature(format!(
                "input dimension {i} is symbolic; only the batch dimension may be"
            ))),
        })
        .collect()
}

fn count_consumers(nodes: &[NodeProto]) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for node in nodes {
        for input in &node.input {
            *counts.entry(input.clone()).or_insert(0) += 1;
        }
    }
    counts
}

/// Folds each BatchNormalization into the Conv or Gemm that feeds it alone:
/// with s = γ/√(var + ε), the layer's weights are scaled by s per output
/// channel and its bias becomes (b − mean)·s + β.
fn fold_batch_norms(
    nodes: &mut Vec<NodeProto>,
    constants: &mut HashMap<String, ArrayD<f64>>,
    outputs: &[String],
) -> Result<()> {
    let consumers = count_consumers(nodes);
    let mut index = 0;
    while index < nodes.len() {
        let bn = nodes[index].clone();
        if bn.op_type.as_deref() != Some("BatchNormalization") {
            index += 1;
            continue;
        }
        let unfoldable = || {
            OnnxError::Unsupported {
            node: node_name(&bn),
            op: "BatchNormalization".into(),
            what: "only a BatchNormalization right after a Conv or Gemm with constant weights (and no other reader) is supported".into(),
        }
        };
        let source = bn.input.first().cloned().unwrap_or_default();
        let producer = nodes.iter().position(|n| n.output.first() == Some(&source)).ok_or_else(unfoldable)?;
        let layer = nodes[producer].clone();
        let kind = layer.op_type.clone().unwrap_or_default();
        if !(kind == "Conv" || kind == "Gemm")
            || consumers.get(&source) != Some(&1)
            || outputs.contains(&source)
        {
            return Err(unfoldable());
        }
        let parameter =
            |i: usize| bn.input.get(i).and_then(|n| constants.get(n)).cloned().ok_or_else(unfoldable);
        let (gamma, beta, mean, variance) = (parameter(1)?, parameter(2)?, parameter(3)?, parameter(4)?);
        // ONNX: scale, B, mean and var are each [C], one per channel.
        let channels = gamma.len();
        for (name, parameter) in [("scale", &gamma), ("B", &beta), ("mean", &mean), ("var", &variance)] {
            if parameter.ndim() != 1 || parameter.len() != channels {
                return Err(OnnxError::Unsupported {
                    node: node_name(&bn),
                    op: "BatchNormalization".into(),
                    what: format!(
                        "its {name} has shape {:?}; scale, B, mean and var must each be [C] (C = {channels})",
                        parameter.shape()
                    ),
                });
            }
        }
        if variance.iter().any(|&v| !(v >= 0.0 && v.is_finite())) {
            return Err(OnnxError::Unsupported {
                node: node_name(&bn),
                op: "BatchNormalization".into(),
                what: "its var has a negative or non-finite value".into(),
            });
        }
        let epsilon = float_attribute(&bn, "epsilon", 1e-5) as f64;
        let scale: Vec<f64> =
            gamma.iter().zip(variance.iter()).map(|(g, v)| g / (v + epsilon).sqrt()).collect();
        let weight_name = layer.input.get(1).cloned().ok_or_else(unfoldable)?;
        let mut weight = constants.get(&weight_name).cloned().ok_or_else(unfoldable)?;
        // The axis of the weight that indexes output channels.
        let channel_axis = match kind.as_str() {
            "Conv" => 0,
            _ if int_attribute(&layer, "transB", 0) == 1 => 0,
            _ => 1,
        };
        if weight.shape().get(channel_axis) != Some(&scale.len()) {
            return Err(unfoldable());
        }
        for (channel, mut lane) in weight.axis_iter_mut(Axis(channel_axis)).enumerate() {
            lane.mapv_inplace(|w| w * scale[channel]);
        }
        let bias_name = layer.input.get(2).cloned().filter(|n| !n.is_empty());
        let bias: Vec<f64> = match &bias_name {
            Some(name) => constants.get(name).ok_or_else(unfoldable)?.iter().copied().collect(),
            None => vec![0.0; scale.len()],
        };
        if bias.len() != scale.len() {
            return Err(unfoldable());
        }
        let folded_bias: Vec<f64> =
            (0..scale.len()).map(|c| (bias[c] - mean[c]) * scale[c] + beta[c]).collect();
        let new_weight = format!("{weight_name}/folded-{}", node_name(&bn));
        let new_bias = format!("{new_weight}/bias");
        constants.insert(new_weight.clone(), weight);
        constants.insert(
            new_bias.clone(),
            ArrayD::from_shape_vec(IxDyn(&[scale.len()]), folded_bias).expect("length"),
        );
        let mut folded = layer;
        folded.input = vec![folded.input[0].clone(), new_weight, new_bias];
        folded.output = vec![bn.output.first().cloned().unwrap_or_default()];
        nodes[producer] = folded;
        nodes.remove(index);
    }
    Ok(())
}

/// Rewrites MaxPool(Relu(x)) as Relu(MaxPool(x)) where the ReLU's output
/// has no other reader: the same values (ReLU is monotone, and padding never
/// wins either way), with a quarter of the comparisons for 2x2 pools.
fn pool_before_relu(nodes: &mut Vec<NodeProto>, outputs: &[String]) {
    let consumers = count_consumers(nodes);
    let mut index = 0;
    while index < nodes.len() {
        let relu = &nodes[index];
        let rectified = relu.output.first().cloned().unwrap_or_default();
        let pool = (relu.op_type.as_deref() == Some("Relu")
            && relu.input.len() == 1
            && consumers.get(&rectified) == Some(&1)
            && !outputs.contains(&rectified))
        .then(|| {
            nodes.iter().position(|n| {
                n.op_type.as_deref() == Some("MaxPool")
                    && n.input.first() == Some(&rectified)
                    && n.output.len() == 1
            })
        })
        .flatten();
        let Some(pool) = pool.filter(|&pool| pool > index) else {
            index += 1;
            continue;
        };
        let mut relu = nodes.remove(index);
        let pool = pool - 1;
        let pooled = format!("{rectified}/pooled-first");
        let pool_node = &mut nodes[pool];
        pool_node.input[0] = relu.input[0].clone();
        relu.output = vec![std::mem::replace(&mut pool_node.output[0], pooled.clone())];
        relu.input = vec![pooled];
        nodes.insert(pool + 1, relu);
    }
}

struct Converter {
    builder: GraphBuilder,
    values: HashMap<String, Value>,
    weights: HashMap<String, ArrayD<f64>>,
    options: ImportOptions,
    consumers: HashMap<String, usize>,
}

impl Converter {
    fn unsupported(&self, node: &NodeProto, what: &str) -> OnnxError {
        OnnxError::Unsupported {
            node: node_name(node),
            op: node.op_type.clone().unwrap_or_default(),
            what: what.into(),
        }
    }

    fn graph_error(node: &NodeProto) -> impl Fn(blindfold_ir::GraphError) -> OnnxError + '_ {
        move |source| OnnxError::Graph {
            node: node_name(node),
            op: node.op_type.clone().unwrap_or_default(),
            source: Box::new(source),
        }
    }

    fn value(&self, node: &NodeProto, index: usize) -> Result<Value> {
        let name = node.input.get(index).cloned().unwrap_or_default();
        self.values.get(&name).cloned().ok_or_else(|| OnnxError::MissingValue {
            node: node_name(node),
            op: node.op_type.clone().unwrap_or_default(),
            input: name,
        })
    }

    fn constant(&self, node: &NodeProto, index: usize, what: &str) -> Result<ArrayD<f64>> {
        match self.value(node, index)? {
            Value::Constant(array) => Ok(array),
            Value::Tensor(_) => {
                Err(self.unsupported(node, &format!("{what} must be a constant (an initializer)")))
            }
        }
    }

    /// A constant as the model owner's private input (named after it).
    fn weight(&mut self, node: &NodeProto, name: &str, array: ArrayD<f64>) -> Result<Tensor> {
        let owner = self.options.model_owner.clone();
        let unique = if self.weights.contains_key(name) {
            format!("{name}#{}", self.weights.len())
        } else {
            name.to_string()
        };
        let tensor =
            self.builder.private_input(&owner, &unique, array.shape()).map_err(Self::graph_error(node))?;
        self.weights.insert(unique, array);
        Ok(tensor)
    }

    /// Input `index` as a graph tensor (a constant becomes a weight).
    fn tensor(&mut self, node: &NodeProto, index: usize) -> Result<Tensor> {
        match self.value(node, index)? {
            Value::Tensor(t) => Ok(t),
            Value::Constant(array) => {
                let name = node.input.get(index).cloned().unwrap_or_default();
                let tensor = self.weight(node, &name, array)?;
                self.values.insert(name, Value::Tensor(tensor));
                Ok(tensor)
            }
        }
    }

    fn set(&mut self, node: &NodeProto, tensor: Tensor) {
        if let Some(name) = node.output.first() {
            self.values.insert(name.clone(), Value::Tensor(tensor));
        }
    }

    fn geometry(&self, node: &NodeProto) -> Result<Conv2dGeometry> {
        let auto_pad = attribute(node, "auto_pad").and_then(|a| a.s.clone()).unwrap_or_default();
        if !(auto_pad.is_empty() || auto_pad == b"NOTSET") {
            return Err(self.unsupported(node, "auto_pad is not supported: give explicit pads"));
        }
        if ints_attribute(node, "dilations").is_some_and(|d| d.iter().any(|&v| v != 1)) {
            return Err(self.unsupported(node, "dilations other than 1 are not supported"));
        }
        if int_attribute(node, "ceil_mode", 0) != 0 {
            return Err(self.unsupported(node, "ceil_mode = 1 is not supported"));
        }
        let strides = ints_attribute(node, "strides").unwrap_or_else(|| vec![1, 1]);
        let pads = ints_attribute(node, "pads").unwrap_or_else(|| vec![0, 0, 0, 0]);
        match (strides.as_slice(), pads.as_slice()) {
            (&[sy, sx], &[top, left, bottom, right])
                if sy > 0 && sx > 0 && [top, left, bottom, right].iter().all(|&p| p >= 0) =>
            {
                Ok(Conv2dGeometry {
                    stride: (sy as usize, sx as usize),
                    padding: (top as usize, left as usize, bottom as usize, right as usize),
                })
            }
            _ => Err(self.unsupported(node, "only 2-D strides and pads are supported")),
        }
    }

    fn kernel(&self, node: &NodeProto) -> Result<(usize, usize)> {
        match ints_attribute(node, "kernel_shape").as_deref() {
            Some(&[h, w]) if h > 0 && w > 0 => Ok((h as usize, w as usize)),
            _ => Err(self.unsupported(node, "kernel_shape must have two positive values")),
        }
    }

    fn convert(&mut self, node: &NodeProto) -> Result<()> {
        let op = node.op_type.clone().unwrap_or_default();
        let error = Self::graph_error(node);
        match op.as_str() {
            "Identity" | "Dropout" | "Softmax" => {
                if op == "Dropout" && node.output.get(1).is_some_and(|m| self.consumers.contains_key(m)) {
                    return Err(self.unsupported(node, "the Dropout mask output is not supported"));
                }
                if op == "Softmax" {
                    let x = self.tensor(node, 0)?;
                    let rank = self.builder.ty(x).shape.len() as i64;
                    let axis = int_attribute(node, "axis", -1);
                    if axis != -1 && axis != rank - 1 {
                        return Err(self.unsupported(node, "Softmax must be over the last axis"));
                    }
                }
                let value = self.value(node, 0)?;
                if let Some(name) = node.output.first() {
                    self.values.insert(name.clone(), value);
                }
            }
            "Constant" => {
                let tensor: &TensorProto =
                    attribute(node, "value").and_then(|a| a.t.as_ref()).ok_or_else(|| {
                        self.unsupported(node, "only a Constant with a tensor value is supported")
                    })?;
                let array = to_array(tensor)?;
                if let Some(name) = node.output.first() {
                    self.values.insert(name.clone(), Value::Constant(array));
                }
            }
            "Gemm" => {
                if int_attribute(node, "transA", 0) != 0 {
                    return Err(self.unsupported(node, "transA = 1 is not supported"));
                }
                let (alpha, beta) =
                    (float_attribute(node, "alpha", 1.0) as f64, float_attribute(node, "beta", 1.0) as f64);
                let mut b = self.constant(node, 1, "Gemm's B")?;
                if int_attribute(node, "transB", 0) == 1 {
                    b = b.t().as_standard_layout().into_owned();
                }
                b.mapv_inplace(|v| v * alpha);
                let a = self.tensor(node, 0)?;
                let b_name = format!("{}/B", node_name(node));
                let b = self.weight(node, &b_name, b)?;
                let mut y = self.builder.matmul(a, b).map_err(&error)?;
                if node.input.get(2).is_some_and(|c| !c.is_empty()) {
                    let mut c = self.constant(node, 2, "Gemm's C")?;
                    c.mapv_inplace(|v| v * beta);
                    let c = self.weight(node, &format!("{}/C", node_name(node)), c)?;
                    y = self.builder.add(y, c).map_err(&error)?;
                }
                self.set(node, y);
            }
            "MatMul" | "Add" | "Sub" | "Mul" => {
                let (a, b) = (self.tensor(node, 0)?, self.tensor(node, 1)?);
                let y = match op.as_str() {
                    "MatMul" => self.builder.matmul(a, b),
                    "Add" => self.builder.add(a, b),
                    "Sub" => self.builder.sub(a, b),
                    _ => self.builder.mul(a, b),
                }
                .map_err(&error)?;
                self.set(node, y);
            }
            "Conv" => {
                if int_attribute(node, "group", 1) != 1 {
                    return Err(self.unsupported(
                        node,
                        "group != 1 (grouped or depthwise convolution) is not supported",
                    ));
                }
                let geometry = self.geometry(node)?;
                let x = self.tensor(node, 0)?;
                let w = self.tensor(node, 1)?;
                let mut y = self.builder.conv2d(x, w, geometry).map_err(&error)?;
                if node.input.get(2).is_some_and(|b| !b.is_empty()) {
                    let bias = self.constant(node, 2, "Conv's bias")?;
                    let channels = bias.len();
                    let outputs = self.builder.ty(w).shape.first().copied();
                    if bias.ndim() != 1 || Some(channels) != outputs {
                        return Err(self.unsupported(
                            node,
                            &format!(
                                "its bias has shape {:?}; Conv's B must be [M], one per filter",
                                bias.shape()
                            ),
                        ));
                    }
                    let bias = bias
                        .into_shape_with_order(IxDyn(&[1, channels, 1, 1]))
                        .map_err(|_| self.unsupported(node, "bias shape"))?;
                    let bias = self.weight(node, &format!("{}/bias", node_name(node)), bias)?;
                    y = self.builder.add(y, bias).map_err(&error)?;
                }
                self.set(node, y);
            }
            "MaxPool" | "AveragePool" => {
                if node.output.len() > 1 {
                    return Err(self.unsupported(node, "the Indices output is not supported"));
                }
                let (kernel, geometry) = (self.kernel(node)?, self.geometry(node)?);
                let padded = geometry.padding != (0, 0, 0, 0);
                if op == "AveragePool" && padded && int_attribute(node, "count_include_pad", 0) == 0 {
                    return Err(self.unsupported(node, "padding with count_include_pad = 0 is not supported"));
                }
                let x = self.tensor(node, 0)?;
                let y = if op == "MaxPool" {
                    self.builder.max_pool2d(x, kernel, geometry)
                } else {
                    self.builder.avg_pool2d(x, kernel, geometry)
                }
                .map_err(&error)?;
                self.set(node, y);
            }
            "GlobalAveragePool" => {
                let x = self.tensor(node, 0)?;
                let y = self.builder.mean(x, &[2, 3], true).map_err(&error)?;
                self.set(node, y);
            }
            "Relu" | "Sigmoid" => {
                let x = self.tensor(node, 0)?;
                let y = match op.as_str() {
                    "Relu" => self.builder.relu(x),
                    _ => self.builder.sigmoid_by(self.options.sigmoid, x),
                }
                .map_err(&error)?;
                self.set(node, y);
            }
            "Flatten" | "Reshape" | "Transpose" => {
                let x = self.tensor(node, 0)?;
                let shape = self.builder.ty(x).shape.clone();
                let y = match op.as_str() {
                    "Flatten" => {
                        let axis = int_attribute(node, "axis", 1);
                        let axis = if axis < 0 { axis + shape.len() as i64 } else { axis } as usize;
                        let outer: usize = shape[..axis.min(shape.len())].iter().product();
                        self.builder.reshape(x, &[outer, shape.iter().product::<usize>() / outer.max(1)])
                    }
                    "Reshape" => {
                        let target = self.constant(node, 1, "Reshape's shape")?;
                        let target = reshape_target(&shape, &target).ok_or_else(|| {
                            self.unsupported(
                                node,
                                &format!(
                                    "cannot reshape {shape:?} to {:?}",
                                    target.iter().collect::<Vec<_>>()
                                ),
                            )
                        })?;
                        self.builder.reshape(x, &target)
                    }
                    _ => {
                        let permutation: Option<Vec<usize>> =
                            ints_attribute(node, "perm").map(|p| p.iter().map(|&v| v as usize).collect());
                        self.builder.transpose(x, permutation.as_deref())
                    }
                }
                .map_err(&error)?;
                self.set(node, y);
            }
            _ => return Err(OnnxError::UnsupportedOp { node: node_name(node), op }),
        }
        Ok(())
    }
}

/// ONNX Reshape's target: 0 copies the input dimension, −1 is inferred.
fn reshape_target(shape: &[usize], target: &ArrayD<f64>) -> Option<Vec<usize>> {
    let total: usize = shape.iter().product();
    let mut dims: Vec<Option<usize>> = Vec::new();
    for (i, &t) in target.iter().enumerate() {
        dims.push(match t as i64 {
            0 => Some(*shape.get(i)?),
            -1 => None,
            v if v > 0 => Some(v as usize),
            _ => return None,
        });
    }
    let known = dims.iter().flatten().try_fold(1usize, |count, &d| count.checked_mul(d))?;
    let unknown = dims.iter().filter(|d| d.is_none()).count();
    match unknown {
        0 if known == total => Some(dims.into_iter().flatten().collect()),
        1 if known > 0 && total.is_multiple_of(known) => {
            Some(dims.into_iter().map(|d| d.unwrap_or(total / known)).collect())
        }
        _ => None,
    }
}
