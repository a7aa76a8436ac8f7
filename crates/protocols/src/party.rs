//! What every protocol's party keeps for one session, whatever its shares
//! look like: its name, the graph, its own inputs, what it holds of each
//! value, and the outputs it received. Pond and the replicated protocol
//! differ only in the share type and in the shared ops.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use blindfold_ir::{Graph, NodeId, Op, Visibility};
use blindfold_ring::{RingElement, RingTensor};
use ndarray::ArrayD;

use crate::clear;
use crate::error::{ProtocolError, Result};
use crate::executor::last_uses;

/// What one party holds of a value: nothing, the value in the clear, or
/// its protocol's share `S`.
#[derive(Clone, Default)]
pub(crate) enum Local<R: RingElement, S> {
    /// Nothing: the party has no part in the value.
    #[default]
    Absent,
    /// The value in the clear (public, or private to this party).
    Clear(RingTensor<R>),
    /// This party's share.
    Share(S),
}

/// One party's state for one session.
pub(crate) struct PartyState<R: RingElement, S> {
    pub name: String,
    pub graph: Arc<Graph>,
    inputs: HashMap<String, ArrayD<f64>>,
    pub values: Vec<Local<R, S>>,
    last_use: Vec<usize>,
    outputs: BTreeMap<String, ArrayD<f64>>,
}

impl<R: RingElement, S: Clone> PartyState<R, S> {
    /// The party `name` with its own `inputs` (by input name).
    pub fn new(name: &str, graph: Arc<Graph>, inputs: HashMap<String, ArrayD<f64>>) -> Self {
        let count = graph.nodes().len();
        PartyState {
            name: name.to_string(),
            last_use: last_uses(&graph),
            graph,
            inputs,
            values: vec![Local::Absent; count],
            outputs: BTreeMap::new(),
        }
    }

    pub fn describe(&self, id: NodeId) -> String {
        clear::describe(&self.graph, id)
    }

    pub fn value(&self, id: NodeId) -> &Local<R, S> {
        &self.values[id.index()]
    }

    /// Whether node `id`'s value is shared.
    pub fn is_shared(&self, id: NodeId) -> bool {
        self.graph.node(id).is_some_and(|n| n.ty.visibility == Visibility::Shared)
    }

    /// The clear value of `id`, which this party must hold.
    pub fn clear_value(&self, id: NodeId, at: NodeId) -> Result<&RingTensor<R>> {
        match self.value(id) {
            Local::Clear(tensor) => Ok(tensor),
            _ => Err(ProtocolError::Configuration(format!(
                "{}: {} does not hold {} in the clear",
                self.describe(at),
                self.name,
                self.describe(id)
            ))),
        }
    }

    /// This party's share of `id`.
    pub fn share(&self, id: NodeId, at: NodeId) -> Result<&S> {
        match self.value(id) {
            Local::Share(share) => Ok(share),
            _ => Err(ProtocolError::Configuration(format!(
                "{}: {} holds no share of {}",
                self.describe(at),
                self.name,
                self.describe(id)
            ))),
        }
    }

    fn read_input(&self, id: NodeId, name: &str) -> Result<RingTensor<R>> {
        let node = self.graph.node(id).expect("valid id");
        let array = self.inputs.get(name).ok_or_else(|| ProtocolError::MissingInput {
            party: self.name.clone(),
            name: name.to_string(),
        })?;
        if array.shape() != node.ty.shape.as_slice() {
            return Err(ProtocolError::InputShape {
                party: self.name.clone(),
                name: name.to_string(),
                expected: node.ty.shape.clone(),
                got: array.shape().to_vec(),
            });
        }
        let values: Vec<f64> = array.iter().copied().collect();
        clear::encode(&self.describe(id), node.ty.dtype, &node.ty.shape, &values)
    }

    /// Whether this party computes a clear value of visibility `visibility`.
    fn holds_clear(&self, visibility: &Visibility) -> bool {
        match visibility {
            Visibility::Public => true,
            Visibility::Private(owner) => *owner == self.name,
            Visibility::Shared => false,
        }
    }

    /// A node that is neither shared nor a reveal (which is the protocol's):
    /// this party's input, an output it receives, or a clear op it computes.
    pub fn execute_unshared(&mut self, id: NodeId) -> Result<Local<R, S>> {
        let graph = Arc::clone(&self.graph);
        let node = graph.node(id).expect("the runtime passes ids of this graph");
        Ok(match &node.op {
            Op::Input { party, name } if *party == self.name => Local::Clear(self.read_input(id, name)?),
            Op::Input { .. } => Local::Absent,
            Op::Output { source, party, name } => {
                if *party == self.name {
                    let decoded = clear::decode(node.ty.dtype, self.clear_value(*source, id)?);
                    self.outputs.insert(name.clone(), decoded);
                }
                Local::Absent
            }
            _ if self.holds_clear(&node.ty.visibility) => {
                let operands = node
                    .op
                    .operands()
                    .iter()
                    .map(|&operand| self.clear_value(operand, id))
                    .collect::<Result<Vec<_>>>()?;
                Local::Clear(clear::evaluate(&graph, id, &operands)?)
            }
            _ => Local::Absent,
        })
    }

    /// Frees the values whose last reader was node `id`; returns them.
    pub fn release(&mut self, id: NodeId) -> Vec<NodeId> {
        let node = self.graph.node(id).expect("valid id");
        let released: Vec<NodeId> = node
            .op
            .operands()
            .into_iter()
            .chain([id])
            .filter(|operand| self.last_use[operand.index()] == id.index())
            .collect();
        for operand in &released {
            self.values[operand.index()] = Local::Absent;
        }
        released
    }

    pub fn take_outputs(&mut self) -> BTreeMap<String, ArrayD<f64>> {
        std::mem::take(&mut self.outputs)
    }

    pub fn output(&self, name: &str) -> Option<&ArrayD<f64>> {
        self.outputs.get(name)
    }
}
