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
use crate::executor::Executor;
use crate::party::{self, PartyState};

pub use beaver::MaskKey;
pub use comparison::{KEY_CHUNK_BYTES, comparison_material_bytes, comparison_material_held_bytes};

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

/// What one Pond party holds of a value: its share is one ring tensor.
pub(crate) type Local<R> = party::Local<R, RingTensor<R>>;

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
    state: PartyState<R, RingTensor<R>>,
    role: Role,
    randomness: Randomness,
    masks: beaver::Masks<R>,
}

impl<R: RingElement> PondParty<R> {
    /// The party `name` with its own `inputs` (by input name).
    pub fn new(name: &str, graph: Arc<Graph>, inputs: HashMap<String, ArrayD<f64>>) -> Self {
        PondParty {
            role: Role::of(name),
            state: PartyState::new(name, graph, inputs),
            randomness: Randomness::None,
            masks: beaver::Masks::default(),
        }
    }

    fn describe(&self, id: NodeId) -> String {
        self.state.describe(id)
    }

    fn value(&self, id: NodeId) -> &Local<R> {
        self.state.value(id)
    }

    /// The clear value of `id`, which this party must hold.
    fn clear_value(&self, id: NodeId, at: NodeId) -> Result<&RingTensor<R>> {
        self.state.clear_value(id, at)
    }

    /// This server's share of `id`.
    fn share_value(&self, id: NodeId, at: NodeId) -> Result<&RingTensor<R>> {
        self.state.share(id, at)
    }

    /// A linear op on shares: each server applies the op to its share. A
    /// public addend (add, sub, concat) counts at server0 only; a public
    /// factor (mul, matmul, conv2d by a public value) at both.
    fn linear_on_shares(&self, id: NodeId, server: usize) -> Result<Local<R>> {
        let node = self.state.graph.node(id).expect("valid id");
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
        Ok(Local::Share(clear::evaluate(&self.state.graph, id, &operands)?))
    }

    /// A node whose value is shared: each class of op by its protocol.
    fn execute_shared(
        &mut self,
        id: NodeId,
        op: &Op,
        communicator: &mut dyn Communicator,
    ) -> Result<Local<R>> {
        let is_shared = |operand: &NodeId| self.state.is_shared(*operand);
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
        for released in self.state.release(id) {
            self.masks.release(released);
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
        let graph = Arc::clone(&self.state.graph);
        let node = graph.node(id).expect("the runtime passes ids of this graph");
        let local = match &node.op {
            _ if node.ty.visibility == Visibility::Shared => {
                self.execute_shared(id, &node.op, communicator)?
            }
            Op::Reveal { source, party } => sharing::reveal(self, id, *source, party, communicator)?,
            _ => self.state.execute_unshared(id)?,
        };
        self.state.values[id.index()] = local;
        self.release(id);
        Ok(())
    }

    fn take_outputs(&mut self) -> BTreeMap<String, ArrayD<f64>> {
        self.state.take_outputs()
    }

    fn output(&self, name: &str) -> Option<&ArrayD<f64>> {
        self.state.output(name)
    }
}
