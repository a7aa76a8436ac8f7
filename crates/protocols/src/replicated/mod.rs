//! Replicated secret sharing among three servers (ABY3, Mohassel–Rindal
//! 2018; Falcon, Wagh et al. 2021): the same graph as Pond, no producer and
//! no dealt material at all.
//!
//! A shared x is split into three additive shares x = x0 + x1 + x2 mod 2^k,
//! and server i holds the pair (x_i, x_{i+1}) (indices mod 3): share x_j is
//! held by servers j and j − 1. Any two servers together hold all three
//! shares; one alone holds two uniformly random ring elements. Each pair of
//! servers shares a PRF key (key j is held by servers j and j − 1, like
//! share j), drawn at setup from the OS CSPRNG, so zero-sharings and fresh
//! masks cost no communication. Linear ops are local; a product is local up
//! to a 3-out-of-3 sharing that each server re-randomises and passes to its
//! predecessor (one round, one ring element per output per server);
//! truncation goes through a fresh 2-out-of-2 split; comparisons run on
//! bit-sliced boolean shares.
//!
//! Security model: semi-honest, honest majority. A single corrupted server
//! sees uniformly random shares and messages masked by PRF outputs it does
//! not know; it learns only the graph, the shapes and what is revealed to
//! it. What it does not protect: a server that deviates can change results
//! undetected (no MACs); two colluding servers learn every shared value; the
//! graph, all shapes, calibrated comparison widths and the outputs'
//! receivers are public.

mod bit_slices;
mod comparison;
mod multiplication;
mod polynomial;
mod sharing;
mod truncation;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use blindfold_ir::parties::{SERVER0, SERVER1, SERVER2};
use blindfold_ir::{Graph, NodeId, Op, ShareAction, Visibility};
use blindfold_ring::{Prg, RingElement, RingTensor, Seed};
use ndarray::ArrayD;

use crate::clear;
use crate::communicator::{Communicator, Traffic};
use crate::error::{ProtocolError, Result};
use crate::executor::Executor;
use crate::party::{self, PartyState};

pub use comparison::{and_gates, comparison_rounds};

/// The three compute servers, in share order.
pub const SERVERS: [&str; 3] = [SERVER0, SERVER1, SERVER2];

/// The server that follows `server` (it holds `server`'s second share as
/// its first).
fn next(server: usize) -> usize {
    (server + 1) % 3
}

/// The server before `server` (it holds `server`'s first share as its
/// second).
fn previous(server: usize) -> usize {
    (server + 2) % 3
}

/// What one replicated party holds of a value: its share is a pair.
pub(crate) type Local<R> = party::Local<R, Pair<R>>;

/// Server i's shares (x_i, x_{i+1}) of one value.
#[derive(Clone)]
pub(crate) struct Pair<R: RingElement> {
    pub first: RingTensor<R>,
    pub second: RingTensor<R>,
}

/// Server i's PRF keys: key i (shared with server i − 1) and key i + 1
/// (shared with server i + 1).
#[derive(Clone)]
pub(crate) struct Keys {
    pub first: Seed,
    pub second: Seed,
}

impl Keys {
    /// The stream of key `first` or `second` for `label`.
    fn stream(seed: &Seed, label: u64) -> Prg {
        Prg::new(&seed.derive(label))
    }
}

/// PRF labels: node id, then the use within the node.
pub(crate) fn label(id: NodeId, slot: u64) -> u64 {
    (id.0 as u64) << 24 | slot
}

/// One replicated party's state for one session.
pub struct ReplicatedParty<R: RingElement> {
    state: PartyState<R, Pair<R>>,
    /// `Some(i)` for server i, `None` for an input or output party.
    server: Option<usize>,
    keys: Option<Keys>,
}

impl<R: RingElement> ReplicatedParty<R> {
    /// The party `name` with its own `inputs` (by input name).
    pub fn new(name: &str, graph: Arc<Graph>, inputs: HashMap<String, ArrayD<f64>>) -> Self {
        ReplicatedParty {
            server: SERVERS.iter().position(|s| *s == name),
            state: PartyState::new(name, graph, inputs),
            keys: None,
        }
    }

    fn describe(&self, id: NodeId) -> String {
        self.state.describe(id)
    }

    fn value(&self, id: NodeId) -> &Local<R> {
        self.state.value(id)
    }

    /// The pairwise keys; only servers have them, after setup.
    fn keys(&self) -> &Keys {
        self.keys.as_ref().expect("servers hold keys after setup")
    }

    /// Fresh shares of zero, α_i = F(key i) − F(key i+1), with
    /// α0 + α1 + α2 = 0 and α_i unknown to the other servers: no
    /// communication.
    fn zero_share(&self, shape: &[usize], label: u64) -> RingTensor<R> {
        let keys = self.keys();
        let mine: RingTensor<R> = Keys::stream(&keys.first, label).ring_tensor(shape);
        let theirs: RingTensor<R> = Keys::stream(&keys.second, label).ring_tensor(shape);
        mine.sub(&theirs).expect("same shape")
    }

    /// The clear value of `id`, which this party must hold.
    fn clear_value(&self, id: NodeId, at: NodeId) -> Result<&RingTensor<R>> {
        self.state.clear_value(id, at)
    }

    /// This server's shares of `id`.
    fn shares(&self, id: NodeId, at: NodeId) -> Result<&Pair<R>> {
        self.state.share(id, at)
    }

    /// A linear op on shares: the op applied to each share. A public addend
    /// (add, sub, concat) joins share 0 only; a public factor multiplies
    /// every share. No communication.
    fn linear_on_shares(&self, id: NodeId, server: usize) -> Result<Local<R>> {
        let node = self.state.graph.node(id).expect("valid id");
        let addend_only_in_share0 = matches!(node.op, Op::Add { .. } | Op::Sub { .. } | Op::Concat { .. });
        let operands = node.op.operands();
        let mut results = Vec::with_capacity(2);
        for (position, share_index) in [(0, server), (1, next(server))] {
            let zeros: Vec<Option<RingTensor<R>>> = operands
                .iter()
                .map(|&operand| match self.value(operand) {
                    Local::Clear(public) if addend_only_in_share0 && share_index != 0 => {
                        Some(RingTensor::zeros(public.shape()))
                    }
                    _ => None,
                })
                .collect();
            let tensors = operands
                .iter()
                .zip(&zeros)
                .map(|(&operand, zero)| match (zero, self.value(operand)) {
                    (Some(zero), _) => Ok(zero),
                    (None, Local::Clear(tensor)) => Ok(tensor),
                    (None, Local::Share(pair)) => Ok(if position == 0 { &pair.first } else { &pair.second }),
                    (None, Local::Absent) => self.shares(operand, id).map(|pair| &pair.first),
                })
                .collect::<Result<Vec<_>>>()?;
            results.push(clear::evaluate(&self.state.graph, id, &tensors)?);
        }
        let second = results.pop().expect("two shares");
        let first = results.pop().expect("two shares");
        Ok(Local::Share(Pair { first, second }))
    }

    /// A node whose value is shared: each class of op by its protocol.
    fn execute_shared(
        &mut self,
        id: NodeId,
        op: &Op,
        communicator: &mut dyn Communicator,
    ) -> Result<Local<R>> {
        let is_shared = |operand: &NodeId| self.state.is_shared(*operand);
        Ok(match (op.share_action(), op, self.server) {
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
            (_, _, None) => Local::Absent,
            (ShareAction::Product, Op::Mul { left, right } | Op::MatMul { left, right }, Some(server))
                if is_shared(left) && is_shared(right) =>
            {
                let (x, y) = (self.shares(*left, id)?, self.shares(*right, id)?);
                let product = multiplication::bilinear(&self.state.graph, id, x, y)?;
                Local::Share(multiplication::reshare(self, id, server, product, 0, communicator)?)
            }
            (ShareAction::Product, Op::Conv2d { input, filters, .. }, Some(server))
                if is_shared(input) && is_shared(filters) =>
            {
                let (x, y) = (self.shares(*input, id)?, self.shares(*filters, id)?);
                let product = multiplication::bilinear(&self.state.graph, id, x, y)?;
                Local::Share(multiplication::reshare(self, id, server, product, 0, communicator)?)
            }
            // A product by a public factor is linear.
            (ShareAction::Local | ShareAction::Product, _, Some(server)) => {
                self.linear_on_shares(id, server)?
            }
            (ShareAction::Truncation, Op::Truncate { source, bits }, Some(server)) => {
                let pair = self.shares(*source, id)?.clone();
                Local::Share(truncation::truncate(self, id, server, &pair, *bits, 0, communicator)?)
            }
            (ShareAction::Comparison, Op::Drelu { source }, Some(server)) => {
                Local::Share(comparison::drelu(self, id, server, *source, R::BITS, communicator)?)
            }
            (ShareAction::Comparison, Op::DreluBounded { source, bits }, Some(server)) => {
                Local::Share(comparison::drelu(self, id, server, *source, *bits, communicator)?)
            }
            (ShareAction::Polynomial, Op::Polynomial { source, coefficients }, Some(server)) => {
                Local::Share(polynomial::evaluate(self, id, server, *source, coefficients, communicator)?)
            }
            (ShareAction::Truncation | ShareAction::Comparison | ShareAction::Polynomial, _, _) => {
                return Err(ProtocolError::Configuration(format!(
                    "{}: the replicated protocol has no protocol for a shared {}",
                    self.describe(id),
                    op.name()
                )));
            }
        })
    }
}

impl<R: RingElement> Executor for ReplicatedParty<R> {
    /// Each server draws key i from the OS CSPRNG and sends it to server
    /// i − 1, so that key i is known to servers i and i − 1 alone.
    ///
    /// Communication: input-independent (reported as offline): 16 bytes
    /// per server, 48 in all.
    fn setup(&mut self, communicator: &mut dyn Communicator) -> Result<()> {
        let Some(server) = self.server else { return Ok(()) };
        let own = Seed::random().map_err(|source| ProtocolError::Ring { op: "setup".into(), source })?;
        communicator.send(SERVERS[previous(server)], own.to_bytes().to_vec(), Traffic::Offline)?;
        let received = communicator.receive(SERVERS[next(server)], Seed::BYTES)?;
        let second = Seed::from_bytes(received.try_into().expect("length checked by receive"));
        self.keys = Some(Keys { first: own, second });
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
        self.state.release(id);
        Ok(())
    }

    fn take_outputs(&mut self) -> BTreeMap<String, ArrayD<f64>> {
        self.state.take_outputs()
    }

    fn output(&self, name: &str) -> Option<&ArrayD<f64>> {
        self.state.output(name)
    }
}
