//! ONNX graph → blindfold graph. Every model input has an owner: the
//! initializers are the model owner's private inputs; the first graph input
//! is the client's, and any graph input can be given to any party. Every
//! model output goes to the receiver (the client by default). The ops and
//! their limits are listed in docs/onnx-support.md; each family of ops is
//! one file here.

mod arithmetic;
mod converter;
mod folding;
mod forward;
mod machine_learning;
mod reduction;
mod rewrites;
mod structure;
mod value;
mod windows;

use std::collections::HashMap;

use blindfold_ir::Inputs;
use blindfold_ir::parties::{MODEL_OWNER, PREDICTION_CLIENT};
use blindfold_ir::{Graph, GraphBuilder, Ring, SigmoidMethod};
use ndarray::ArrayD;
use prost::Message;

use crate::error::{OnnxError, Result};
use crate::proto::ModelProto;
use crate::tensor::to_array;
use converter::Converter;
pub use forward::{Bindings, Forward, forward, input_row_shape, parameters, with_parameters};
pub use value::ClientStep;
use value::Value;

/// How to import.
#[derive(Clone, Debug)]
pub struct ImportOptions {
    /// Inputs per prediction batch: the first graph input's first dimension
    /// (and any other input's symbolic first dimension).
    pub batch: usize,
    /// The party that holds the weights (the initializers).
    pub model_owner: String,
    /// The party that holds the first graph input and receives the outputs.
    pub client: String,
    /// Owners of graph inputs by name, beyond the defaults (the first graph
    /// input is the client's, any other the model owner's).
    pub input_owners: HashMap<String, String>,
    /// Share every graph input before its first use, even where its owner
    /// could compute alone (the conformance harness uses it to run every op
    /// under the protocol).
    pub share_inputs: bool,
    pub ring: Ring,
    /// How Sigmoid nodes are computed.
    pub sigmoid: SigmoidMethod,
    /// Deliver this intermediate value instead of the model's outputs (the
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
            input_owners: HashMap::new(),
            share_inputs: false,
            ring: Ring::Z64,
            sigmoid: SigmoidMethod::default(),
            output: None,
            comparison_bits: None,
        }
    }
}

/// A graph input of the model: who supplies it, and its shape in the graph.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelInput {
    pub name: String,
    pub party: String,
    pub shape: Vec<usize>,
    /// Whether the first dimension is the batch (the first input, or a
    /// symbolic first dimension): a prediction splits it into batches.
    pub batched: bool,
}

/// A model output: what its receiver gets, and how it finishes it.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelOutput {
    pub name: String,
    pub party: String,
    /// Steps the receiver applies in the clear (a final softmax, …).
    pub steps: Vec<ClientStep>,
    /// Whether ONNX declares the output an integer tensor (labels,
    /// indices): the receiver rounds the values.
    pub integer: bool,
}

impl ModelOutput {
    /// The output as the model defines it, from the revealed values.
    pub fn finish(&self, revealed: &ArrayD<f64>) -> ArrayD<f64> {
        let mut values = self.steps.iter().fold(revealed.clone(), |values, step| step.apply(&values));
        if self.integer {
            values.mapv_inplace(f64::round);
        }
        values
    }
}

/// An imported model: the graph, the owner's weights, who gives each input
/// and who gets each output.
pub struct ImportedModel {
    pub graph: Graph,
    /// The owner's inputs made from initializers, by name.
    pub weights: HashMap<String, ArrayD<f64>>,
    /// The graph inputs the model reads, in the model's order.
    pub model_inputs: Vec<ModelInput>,
    /// Every output, in the model's order.
    pub outputs: Vec<ModelOutput>,
    /// The first graph input's name and shape (the client's rows).
    pub input: String,
    pub input_shape: Vec<usize>,
    /// The first output's name.
    pub output: String,
    /// Whether a final Softmax (or another monotone finishing step) is left
    /// to the receiver: its revealed values are the logits.
    pub softmax_removed: bool,
    options: ImportOptions,
}

impl ImportedModel {
    /// A session's inputs for a model with one graph input: the owner's
    /// weights and the client's `x`.
    pub fn inputs(&self, x: ArrayD<f64>) -> Inputs {
        let mut inputs = self.weight_inputs();
        inputs.entry(self.options.client.clone()).or_default().insert(self.input.clone(), x);
        inputs
    }

    /// A session's inputs: the owner's weights and every graph input by
    /// name (each delivered to its owner). Every input the model reads must
    /// be given, with its shape.
    pub fn inputs_named(&self, mut given: HashMap<String, ArrayD<f64>>) -> Result<Inputs> {
        if let Some(unknown) = given.keys().find(|name| !self.model_inputs.iter().any(|i| &i.name == *name)) {
            let names: Vec<&str> = self.model_inputs.iter().map(|i| i.name.as_str()).collect();
            return Err(OnnxError::Signature(format!(
                "the model has no input '{unknown}' (it reads {names:?})"
            )));
        }
        let mut inputs = self.weight_inputs();
        for input in &self.model_inputs {
            let value = given
                .remove(&input.name)
                .ok_or_else(|| OnnxError::Signature(format!("no value given for input '{}'", input.name)))?;
            if value.shape() != input.shape.as_slice() {
                return Err(OnnxError::Signature(format!(
                    "input '{}' has shape {:?}; the model takes {:?}",
                    input.name,
                    value.shape(),
                    input.shape
                )));
            }
            inputs.entry(input.party.clone()).or_default().insert(input.name.clone(), value);
        }
        Ok(inputs)
    }

    fn weight_inputs(&self) -> Inputs {
        let mut inputs = Inputs::new();
        if !self.weights.is_empty() {
            inputs.insert(self.options.model_owner.clone(), self.weights.clone());
        }
        inputs
    }

    /// The output `name`'s definition.
    pub fn model_output(&self, name: &str) -> Option<&ModelOutput> {
        self.outputs.iter().find(|o| o.name == name)
    }
}

/// Reads an ONNX model from `bytes` and converts it.
pub fn import(bytes: &[u8], options: ImportOptions) -> Result<ImportedModel> {
    let model = ModelProto::decode(bytes).map_err(|e| OnnxError::Decode(e.to_string()))?;
    let opset = default_opset(&model)?;
    let graph = model.graph.ok_or_else(|| OnnxError::Decode("the model has no graph".into()))?;
    let mut constants: HashMap<String, ArrayD<f64>> = HashMap::new();
    for initializer in &graph.initializer {
        constants.insert(initializer.name.clone().unwrap_or_default(), to_array(initializer)?);
    }
    let graph_outputs: Vec<String> = graph.output.iter().filter_map(|o| o.name.clone()).collect();
    let mut nodes = graph.node.clone();
    rewrites::fold_batch_norms(&mut nodes, &mut constants, &graph_outputs)?;
    let kept: Vec<String> = graph_outputs.iter().cloned().chain(options.output.clone()).collect();
    rewrites::pool_before_relu(&mut nodes, &kept);

    // The graph inputs that are not initializers, with their owners.
    let mut model_inputs = Vec::new();
    for (index, input) in
        graph.input.iter().filter(|i| !constants.contains_key(i.name.as_deref().unwrap_or(""))).enumerate()
    {
        let name = input.name.clone().unwrap_or_default();
        let default_owner = if index == 0 { &options.client } else { &options.model_owner };
        let party = options.input_owners.get(&name).unwrap_or(default_owner).clone();
        let shape = input_shape(input, options.batch, index == 0)?;
        let batched = index == 0 || first_dimension_is_symbolic(input);
        model_inputs.push(ModelInput { name, party, shape, batched });
    }
    if let Some(unknown) = options.input_owners.keys().find(|n| !model_inputs.iter().any(|i| &i.name == *n)) {
        return Err(OnnxError::Signature(format!(
            "an owner was given for '{unknown}', which is not a graph input"
        )));
    }
    let output_names: Vec<String> = match &options.output {
        Some(name) => {
            if !nodes.iter().any(|n| n.output.contains(name)) {
                return Err(OnnxError::Signature(format!("no node computes '{name}'")));
            }
            vec![name.clone()]
        }
        None if graph_outputs.is_empty() => {
            return Err(OnnxError::Signature("the model has no output".into()));
        }
        None => graph_outputs.clone(),
    };

    let mut converter = Converter::new(GraphBuilder::with_ring(options.ring), options.clone(), opset, &nodes);
    converter.builder.set_comparison_bits(options.comparison_bits).map_err(|source| OnnxError::Graph {
        node: "(options)".into(),
        op: "comparison bits".into(),
        source: Box::new(source),
    })?;
    for (name, value) in constants {
        converter.values.insert(name, Value::Weight(value));
    }
    for initializer in &graph.initializer {
        if initializer.data_type.is_some_and(|t| folding::is_integer_type(t.into())) {
            converter.integral.insert(initializer.name.clone().unwrap_or_default());
        }
    }
    for input in &model_inputs {
        let tensor =
            converter.builder.private_input(&input.party, &input.name, &input.shape).map_err(|source| {
                OnnxError::Graph { node: input.name.clone(), op: "input".into(), source: Box::new(source) }
            })?;
        let tensor = if options.share_inputs {
            converter.builder.share(tensor).map_err(|source| OnnxError::Graph {
                node: input.name.clone(),
                op: "input".into(),
                source: Box::new(source),
            })?
        } else {
            tensor
        };
        converter.values.insert(input.name.clone(), Value::Tensor(tensor));
    }
    let mut remaining: Vec<&String> = output_names.iter().collect();
    for node in &nodes {
        if remaining.is_empty() {
            break;
        }
        converter.convert(node)?;
        remaining.retain(|name| !node.output.contains(name));
    }
    let integer_outputs: Vec<String> =
        graph.output.iter().filter(|o| is_integer_type(o)).filter_map(|o| o.name.clone()).collect();
    let mut outputs = Vec::new();
    for name in &output_names {
        let steps = converter.deliver(name)?;
        outputs.push(ModelOutput {
            name: name.clone(),
            party: options.client.clone(),
            steps,
            integer: integer_outputs.contains(name),
        });
    }
    let first_input = model_inputs.first().cloned();
    Ok(ImportedModel {
        graph: converter.builder.finish(),
        weights: converter.weights,
        input: first_input.as_ref().map(|i| i.name.clone()).unwrap_or_default(),
        input_shape: first_input.map(|i| i.shape).unwrap_or_default(),
        output: output_names[0].clone(),
        softmax_removed: outputs.iter().any(|o| !o.steps.is_empty()),
        model_inputs,
        outputs,
        options,
    })
}

/// The model's default-domain opset (1 to 21).
fn default_opset(model: &ModelProto) -> Result<i64> {
    let opset = model
        .opset_import
        .iter()
        .find(|o| o.domain.as_deref().unwrap_or("").is_empty() || o.domain.as_deref() == Some("ai.onnx"))
        .and_then(|o| o.version)
        // A model of ai.onnx.ml ops alone declares no default-domain opset.
        .unwrap_or(21);
    if (1..=21).contains(&opset) { Ok(opset) } else { Err(OnnxError::Opset(opset)) }
}

/// Whether a graph output is declared with an integer or boolean element type.
fn is_integer_type(value: &crate::proto::ValueInfoProto) -> bool {
    use crate::proto::type_proto::Value as Type;
    match value.r#type.as_ref().and_then(|t| t.value.as_ref()) {
        // INT8..INT64, UINT*, BOOL (2–7, 9, 12, 13)
        Some(Type::TensorType(tensor)) => matches!(tensor.elem_type, Some(2..=7 | 9 | 12 | 13)),
        _ => false,
    }
}

/// Whether a graph input's first dimension is symbolic (a batch).
fn first_dimension_is_symbolic(input: &crate::proto::ValueInfoProto) -> bool {
    use crate::proto::tensor_shape_proto::dimension::Value as Dim;
    use crate::proto::type_proto::Value as Type;
    match input.r#type.as_ref().and_then(|t| t.value.as_ref()) {
        Some(Type::TensorType(tensor)) => tensor
            .shape
            .as_ref()
            .and_then(|s| s.dim.first())
            .is_some_and(|d| !matches!(d.value, Some(Dim::DimValue(_)))),
        _ => false,
    }
}

/// A graph input's shape: the first dimension of the first input is the
/// batch; a symbolic first dimension of another input too.
fn input_shape(input: &crate::proto::ValueInfoProto, batch: usize, first: bool) -> Result<Vec<usize>> {
    use crate::proto::tensor_shape_proto::dimension::Value as Dim;
    use crate::proto::type_proto::Value as Type;
    let name = input.name.clone().unwrap_or_default();
    let Some(Type::TensorType(tensor)) = input.r#type.as_ref().and_then(|t| t.value.as_ref()) else {
        return Err(OnnxError::Signature(format!("input '{name}' is not a tensor")));
    };
    let dims = tensor.shape.as_ref().map(|s| s.dim.as_slice()).unwrap_or_default();
    dims.iter()
        .enumerate()
        .map(|(i, d)| match d.value.as_ref() {
            Some(Dim::DimValue(_)) if i == 0 && first => Ok(batch),
            Some(Dim::DimValue(v)) if *v >= 0 => Ok(*v as usize),
            _ if i == 0 => Ok(batch),
            _ => Err(OnnxError::Signature(format!(
                "input '{name}' dimension {i} is symbolic; only the batch dimension may be"
            ))),
        })
        .collect()
}
