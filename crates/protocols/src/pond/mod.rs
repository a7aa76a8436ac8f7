//! Pond: two compute servers and a crypto producer (tf-encrypted's
//! protocol), semi-honest, secure as long as no two of {server0, server1,
//! producer} collude.
//!
//! A shared value x is held as additive shares x0 (server0) and x1
//! (server1), x0 + x1 = x mod 2^k; each share alone is uniformly random.
//! Linear ops are local. Products use Beaver triples from the producer, who
//! never sees data: it deals each server one 16-byte seed at setup, from which
//! the server expands its share of every mask and triple, and sends server1
//! one correction tensor per product. Masks are per value, so a value
//! multiplied several times (a weight matrix against many batches) is opened
//! once. Fixed-point products are truncated locally (SecureML).
//!
//! What it does not protect: a server that deviates from the protocol can
//! change results undetected (no MACs, semi-honest model); the shapes of all
//! values and the graph itself are public; a collusion of two of the three
//! parties learns everything; outputs reveal what they reveal.

mod beaver;
mod comparison;
mod polynomial;
mod sharing;
mod truncation;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use blindfold_ir::parties::{SERVER0, SERVER1};
use blindfold_ir::{Graph, NodeId, Op, ShareAction, Visibility};
use blindfold_ring::{RingElement, RingTensor, Seed};
use ndarray::ArrayD;

use crate::clear;
use crate::communicator::{Communicator, Traffic};
use crate::error::{ProtocolError, Result};
use crate::executor::{Executor, last_uses};

pub use beaver::MaskKey;
pub use comparison::comparison_material_bytes;

pub use blindfold_ir::parties::{PRODUCER, SERVERS};

/// What a party does in Pond.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Compute server 0 or 1.
    Server(usize),
    /// The crypto producer.
    Producer,
    /// An input or output party.
    Other,
}

impl Role {
    /// The role of the party called `name`.
    pub fn of(name: &str) -> Role {
        match name {
            SERVER0 => Role::Server(0),
            SERVER1 => Role::Server(1),
            PRODUCER => Role::Producer,
            _ => Role::Other,
        }
    }
}

/// What one party holds of a value.
#[derive(Clone, Default)]
pub(crate) enum Local<R: RingElement> {
    /// Nothing: the party has no part in the value.
    #[default]
    Absent,
    /// The value in the clear (public, or private to this party).
    Clear(RingTensor<R>),
    /// This server's additive share.
    Share(RingTensor<R>),
}

/// The party's seeds for masks and triples.
enum Randomness {
    /// Input and output parties need none beyond fresh input seeds.
    None,
    /// A server's seed from the producer.
    Server(Seed),
    /// The producer's seeds of server0 and server1.
    Producer([Seed; 2]),
}

/// One Pond party's state for one session.
pub struct PondParty<R: RingElement> {
    name: String,
    role: Role,
    graph: Arc<Graph>,
    inputs: HashMap<String, ArrayD<f64>>,
    values: Vec<Local<R>>,
    last_use: Vec<usize>,
    outputs: BTreeMap<String, ArrayD<f64>>,
    randomness: Randomness,
    masks: beaver::Masks<R>,
}

impl<R: RingElement> PondParty<R> {
    /// The party `name` with its own `inputs` (by input name).
    pub fn new(name: &str, graph: Arc<Graph>, inputs: HashMap<String, ArrayD<f64>>) -> Self {
        let count = graph.nodes().len();
        PondParty {
            name: name.to_string(),
            role: Role::of(name),
            last_use: last_uses(&graph),
            graph,
            inputs,
            values: vec![Local::Absent; count],
            outputs: BTreeMap::new(),
            randomness: Randomness::None,
            masks: beaver::Masks::default(),
        }
    }

    fn describe(&self, id: NodeId) -> String {
        clear::describe(&self.graph, id)
    }

    fn value(&self, id: NodeId) -> &Local<R> {
        &self.values[id.index()]
    }

    /// The clear value of `id`, which this party must hold.
    fn clear_value(&self, id: NodeId, at: NodeId) -> Result<&RingTensor<R>> {
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

    /// This server's share of `id`.
    fn share_value(&self, id: NodeId, at: NodeId) -> Result<&RingTensor<R>> {
        match self.value(id) {
            Local::Share(tensor) => Ok(tensor),
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

    /// A linear op on shares: each server applies the op to its share. A
    /// public addend (add, sub, concat) counts at server0 only; a public
    /// factor (mul, matmul, conv2d by a public value) at both.
    fn linear_on_shares(&self, id: NodeId, server: usize) -> Result<Local<R>> {
        let node = self.graph.node(id).expect("valid id");
        let addend_only_at_server0 = matches!(node.op, Op::Add { .. } | Op::Sub { .. } | Op::Concat { .. });
        let zeros: Vec<Option<RingTensor<R>>> = node
            .op
            .operands()
            .iter()
            .map(|&operand| match self.value(operand) {
                Local::Clear(public) if addend_only_at_server0 && server == 1 => {
                    Some(RingTensor::zeros(public.shape()))
                }
                _ => None,
            })
            .collect();
        let operands = node
            .op
            .operands()
            .iter()
            .zip(&zeros)
            .map(|(&operand, zero)| match (zero, self.value(operand)) {
                (Some(zero), _) => Ok(zero),
                (None, Local::Clear(tensor) | Local::Share(tensor)) => Ok(tensor),
                (None, Local::Absent) => self.share_value(operand, id),
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Local::Share(clear::evaluate(&self.graph, id, &operands)?))
    }

    /// A node whose value is shared: each class of op by its protocol.
    fn execute_shared(
        &mut self,
        id: NodeId,
        op: &Op,
        communicator: &mut dyn Communicator,
    ) -> Result<Local<R>> {
        let is_shared = |operand: &NodeId| {
            self.graph.node(*operand).is_some_and(|n| n.ty.visibility == Visibility::Shared)
        };
        Ok(match (op.share_action(), op, self.role) {
            (ShareAction::Boundary, Op::Share { source }, _) => {
                sharing::share(self, id, *source, communicator)?
            }
            (ShareAction::Boundary, _, _) => {
                return Err(ProtocolError::Configuration(format!(
                    "{}: a {} cannot give a shared value",
                    self.describe(id),
                    op.name()
                )));
            }
            (ShareAction::Product, Op::Mul { left, right } | Op::MatMul { left, right }, _)
                if is_shared(left) && is_shared(right) =>
            {
                beaver::multiply(self, id, (*left, *right), communicator)?
            }
            (ShareAction::Product, Op::Conv2d { input, filters, .. }, _)
                if is_shared(input) && is_shared(filters) =>
            {
                beaver::multiply(self, id, (*input, *filters), communicator)?
            }
            // A product by a public factor is linear.
            (ShareAction::Local | ShareAction::Product, _, Role::Server(server)) => {
                self.linear_on_shares(id, server)?
            }
            (ShareAction::Local | ShareAction::Product, _, _) => Local::Absent,
            (ShareAction::Truncation, Op::Truncate { source, bits }, Role::Server(server)) => {
                Local::Share(truncation::truncate(self.share_value(*source, id)?, *bits, server))
            }
            (ShareAction::Truncation, _, _) => Local::Absent,
            (ShareAction::Comparison, Op::Drelu { source }, _) => {
                comparison::drelu(self, id, *source, R::BITS, communicator)?
            }
            (ShareAction::Comparison, Op::DreluBounded { source, bits }, _) => {
                comparison::drelu(self, id, *source, *bits, communicator)?
            }
            (ShareAction::Polynomial, Op::Polynomial { source, coefficients }, _) => {
                polynomial::evaluate(self, id, *source, coefficients, communicator)?
            }
            (ShareAction::Comparison | ShareAction::Polynomial, _, _) => {
                return Err(ProtocolError::Configuration(format!(
                    "{}: Pond has no protocol for a shared {}",
                    self.describe(id),
                    op.name()
                )));
            }
        })
    }

    /// Frees values (and masks) whose last reader was node `id`.
    fn release(&mut self, id: NodeId) {
        let node = self.graph.node(id).expect("valid id");
        for operand in node.op.operands().into_iter().chain([id]) {
            if self.last_use[operand.index()] == id.index() {
                self.values[operand.index()] = Local::Absent;
                self.masks.release(operand);
            }
        }
        self.masks.release_internal(id);
    }
}

impl<R: RingElement> Executor for PondParty<R> {
    /// The producer deals server0 and server1 one fresh seed each
    /// (16 bytes per server, offline); every mask and triple share comes
    /// from it.
    fn setup(&mut self, communicator: &mut dyn Communicator) -> Result<()> {
        let fresh = || Seed::random().map_err(|source| ProtocolError::Ring { op: "setup".into(), source });
        self.randomness = match self.role {
            Role::Producer => {
                let seeds = [fresh()?, fresh()?];
                for (server, seed) in SERVERS.iter().zip(&seeds) {
                    communicator.send(server, seed.to_bytes().to_vec(), Traffic::Offline)?;
                }
                Randomness::Producer(seeds)
            }
            Role::Server(_) => {
                let bytes = communicator.receive(PRODUCER, Seed::BYTES)?;
                Randomness::Server(Seed::from_bytes(bytes.try_into().expect("length checked by receive")))
            }
            Role::Other => Randomness::None,
        };
        Ok(())
    }

    fn execute(&mut self, id: NodeId, communicator: &mut dyn Communicator) -> Result<()> {
        let graph = Arc::clone(&self.graph);
        let node = graph.node(id).expect("the runtime passes ids of this graph");
        let shared = node.ty.visibility == Visibility::Shared;
        let local = if shared {
            self.execute_shared(id, &node.op, communicator)?
        } else {
            match &node.op {
                Op::Input { party, name } if *party == self.name => Local::Clear(self.read_input(id, name)?),
                Op::Input { .. } => Local::Absent,
                Op::Reveal { source, party } => sharing::reveal(self, id, *source, party, communicator)?,
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
            }
        };
        self.values[id.index()] = local;
        self.release(id);
        Ok(())
    }

    fn take_outputs(&mut self) -> BTreeMap<String, ArrayD<f64>> {
        std::mem::take(&mut self.outputs)
    }

    fn output(&self, name: &str) -> Option<&ArrayD<f64>> {
        self.outputs.get(name)
    }
}
