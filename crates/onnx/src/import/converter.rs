//! The conversion's state and the helpers every op family uses: reading a
//! node's inputs as graph tensors or import-time constants, naming the node
//! in errors, and delivering outputs.

use std::collections::{HashMap, HashSet};

use blindfold_ir::{GraphBuilder, GraphError, Tensor, Visibility};
use ndarray::ArrayD;

use super::rewrites::count_consumers;
use super::value::{ClientStep, Value};
use super::{ImportOptions, arithmetic, folding, machine_learning, reduction, structure, windows};
use crate::attributes::node_name;
use crate::error::{OnnxError, Result};
use crate::proto::NodeProto;

pub(crate) struct Converter {
    pub builder: GraphBuilder,
    pub values: HashMap<String, Value>,
    /// The owner's private inputs made from initializers.
    pub weights: HashMap<String, ArrayD<f64>>,
    pub options: ImportOptions,
    /// The model's default-domain opset (attributes became inputs over time).
    pub opset: i64,
    /// How many nodes read each value.
    pub consumers: HashMap<String, usize>,
    /// ONNX values known to hold integers (labels, indices).
    pub integral: HashSet<String>,
    /// The graph tensor made for each ONNX value that was not one yet (a
    /// weight, a public array, a deferred step, an argmax), so that every
    /// reader, and the output, shares one: a softmax read twice is computed
    /// once. The values themselves stay, for readers that need them known.
    made: HashMap<String, Tensor>,
}

impl Converter {
    pub fn new(builder: GraphBuilder, options: ImportOptions, opset: i64, nodes: &[NodeProto]) -> Converter {
        Converter {
            builder,
            values: HashMap::new(),
            weights: HashMap::new(),
            options,
            opset,
            consumers: count_consumers(nodes),
            integral: HashSet::new(),
            made: HashMap::new(),
        }
    }

    pub fn unsupported(&self, node: &NodeProto, what: &str) -> OnnxError {
        OnnxError::Unsupported {
            node: node_name(node),
            op: node.op_type.clone().unwrap_or_default(),
            what: what.into(),
        }
    }

    /// Maps a graph error to one naming `node`.
    pub fn graph_error(node: &NodeProto) -> impl Fn(GraphError) -> OnnxError + '_ {
        move |source| OnnxError::Graph {
            node: node_name(node),
            op: node.op_type.clone().unwrap_or_default(),
            source: Box::new(source),
        }
    }

    /// Whether input `index` is given (ONNX leaves optional inputs empty).
    pub fn has_input(node: &NodeProto, index: usize) -> bool {
        node.input.get(index).is_some_and(|name| !name.is_empty())
    }

    pub fn value(&self, node: &NodeProto, index: usize) -> Result<Value> {
        let name = node.input.get(index).cloned().unwrap_or_default();
        self.values.get(&name).cloned().ok_or_else(|| OnnxError::MissingValue {
            node: node_name(node),
            op: node.op_type.clone().unwrap_or_default(),
            input: name,
        })
    }

    /// Input `index` as an import-time array (a constant or what was folded
    /// from constants), or an error saying it must be one.
    pub fn array(&self, node: &NodeProto, index: usize, what: &str) -> Result<ArrayD<f64>> {
        match self.value(node, index)? {
            Value::Weight(array) | Value::Public(array) => Ok(array),
            _ => Err(self.unsupported(
                node,
                &format!("{what} must be a constant (an initializer or a Constant), not a value computed from the inputs"),
            )),
        }
    }

    /// Input `index` as integers, if given.
    pub fn integers(&self, node: &NodeProto, index: usize, what: &str) -> Result<Option<Vec<i64>>> {
        if !Self::has_input(node, index) {
            return Ok(None);
        }
        Ok(Some(self.array(node, index, what)?.iter().map(|&v| v as i64).collect()))
    }

    /// A constant as the model owner's private input (named after it).
    pub fn weight(&mut self, node: &NodeProto, name: &str, array: ArrayD<f64>) -> Result<Tensor> {
        self.encodable(name, &array)?;
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

    /// A public array as a graph constant.
    pub fn public(&mut self, node: &NodeProto, array: &ArrayD<f64>) -> Result<Tensor> {
        self.encodable(&node_name(node), array)?;
        let values: Vec<f64> = array.iter().copied().collect();
        self.builder.constant(array.shape(), &values).map_err(Self::graph_error(node))
    }

    /// Refuses a tensor that fixed point cannot hold: a value that is not
    /// finite, or one of magnitude 2^(ℓ−1−F) or more (ℓ the ring's bits,
    /// F the fractional bits: 2^47 in Z_2^64 with 16), naming the tensor.
    fn encodable(&self, name: &str, array: &ArrayD<f64>) -> Result<()> {
        let graph = self.builder.graph();
        let limit = 2f64.powi((graph.ring().bits() - 1 - graph.fractional_bits()) as i32);
        match array.iter().find(|v| !v.is_finite() || v.abs() >= limit) {
            None => Ok(()),
            Some(value) => Err(OnnxError::Tensor {
                name: name.to_string(),
                // (The value itself is not named: it may be a secret weight.)
                reason: if value.is_finite() {
                    format!(
                        "it holds a value of magnitude {limit:.3e} or more, which fixed point in Z_2^{} with {} fractional bits cannot hold",
                        graph.ring().bits(),
                        graph.fractional_bits()
                    )
                } else {
                    "it holds a value that is not a finite number".into()
                },
            }),
        }
    }

    /// `value` as a graph tensor: a weight becomes the owner's input, a
    /// public array a constant, deferred steps are computed privately.
    pub fn materialize(&mut self, node: &NodeProto, name: &str, value: Value) -> Result<Tensor> {
        let error = Self::graph_error(node);
        Ok(match value {
            Value::Tensor(t) => t,
            Value::Weight(array) => self.weight(node, name, array)?,
            Value::Public(array) => self.public(node, &array)?,
            Value::Deferred { tensor, steps } => {
                let mut current = tensor;
                for step in steps {
                    current = reduction::private_step(self, node, current, step)?;
                }
                current
            }
            Value::ArgMax { scores, axis, keep_dims, labels } => {
                let length = self.builder.ty(scores).shape.get(axis).copied().unwrap_or(0);
                let labels = labels.unwrap_or_else(|| (0..length).map(|i| i as f64).collect());
                let moved = structure::move_axis_last(self, node, scores, axis)?;
                let winners = self.builder.argmax_labelled(moved, &labels).map_err(&error)?;
                if keep_dims {
                    let mut shape = self.builder.ty(scores).shape.clone();
                    shape[axis] = 1;
                    self.builder.reshape(winners, &shape).map_err(&error)?
                } else {
                    winners
                }
            }
        })
    }

    /// Input `index` as a graph tensor (see [`materialize`](Self::materialize));
    /// the result replaces the value so that it is made once.
    pub fn tensor(&mut self, node: &NodeProto, index: usize) -> Result<Tensor> {
        let value = self.value(node, index)?;
        let name = node.input.get(index).cloned().unwrap_or_default();
        self.made_tensor(node, &name, value)
    }

    /// `value` (ONNX value `name`) as a graph tensor, made once.
    fn made_tensor(&mut self, node: &NodeProto, name: &str, value: Value) -> Result<Tensor> {
        if let Value::Tensor(tensor) = value {
            return Ok(tensor);
        }
        if let Some(&tensor) = self.made.get(name) {
            return Ok(tensor);
        }
        let tensor = self.materialize(node, name, value)?;
        self.made.insert(name.to_string(), tensor);
        Ok(tensor)
    }

    /// The shape of input `index`, whatever its kind.
    pub fn shape_of(&self, node: &NodeProto, index: usize) -> Result<Vec<usize>> {
        Ok(match self.value(node, index)? {
            Value::Tensor(t) | Value::Deferred { tensor: t, .. } => self.builder.ty(t).shape.clone(),
            Value::Weight(a) | Value::Public(a) => a.shape().to_vec(),
            Value::ArgMax { scores, axis, keep_dims, .. } => {
                let mut shape = self.builder.ty(scores).shape.clone();
                if keep_dims {
                    shape[axis] = 1;
                } else {
                    shape.remove(axis);
                }
                shape
            }
        })
    }

    /// Sets output `index` of `node`.
    pub fn set_at(&mut self, node: &NodeProto, index: usize, value: Value) {
        if let Some(name) = node.output.get(index).filter(|n| !n.is_empty()) {
            self.values.insert(name.clone(), value);
        }
    }

    pub fn set(&mut self, node: &NodeProto, tensor: Tensor) {
        self.set_at(node, 0, Value::Tensor(tensor));
    }

    /// Marks `node`'s first output as holding integers when its first input does.
    pub fn keep_integral(&mut self, node: &NodeProto) {
        if node.input.first().is_some_and(|i| self.integral.contains(i))
            && let Some(name) = node.output.first()
        {
            self.integral.insert(name.clone());
        }
    }

    /// Converts one node.
    pub fn convert(&mut self, node: &NodeProto) -> Result<()> {
        let op = node.op_type.clone().unwrap_or_default();
        let domain = node.domain.clone().unwrap_or_default();
        if domain == "ai.onnx.ml" {
            return machine_learning::convert(self, node, &op);
        }
        if !(domain.is_empty() || domain == "ai.onnx") {
            return Err(OnnxError::UnsupportedOp { node: node_name(node), op: format!("{domain}.{op}") });
        }
        if folding::fold(self, node, &op)? {
            return Ok(());
        }
        if structure::convert(self, node, &op)?
            || arithmetic::convert(self, node, &op)?
            || windows::convert(self, node, &op)?
            || reduction::convert(self, node, &op)?
        {
            return Ok(());
        }
        Err(OnnxError::UnsupportedOp { node: node_name(node), op })
    }

    /// Delivers the value `name` to the receiver as an output; returns the
    /// steps the receiver applies in the clear.
    pub fn deliver(&mut self, name: &str) -> Result<Vec<ClientStep>> {
        let value =
            self.values.get(name).cloned().ok_or_else(|| {
                OnnxError::Signature(format!("output '{name}' is not computed by the model"))
            })?;
        let node =
            NodeProto { name: Some(name.into()), op_type: Some("output".into()), ..NodeProto::default() };
        let (value, steps) = match value {
            Value::Deferred { tensor, steps } => (Value::Tensor(tensor), steps),
            other => (other, Vec::new()),
        };
        let mut tensor = self.made_tensor(&node, name, value)?;
        let receiver = self.options.client.clone();
        if matches!(&self.builder.ty(tensor).visibility, Visibility::Private(owner) if *owner != receiver) {
            tensor = self.builder.share(tensor).map_err(Self::graph_error(&node))?;
        }
        self.builder.output(&receiver, name, tensor).map_err(Self::graph_error(&node))?;
        Ok(steps)
    }
}
