//! A network for the protocol files' own tests: every party of a graph (and
//! the protocol's servers) runs in a thread of the test, over channels, and
//! each message is recorded with its node, receiver, size and traffic
//! class. It lets `beaver.rs` and `comparison.rs` test their part beside
//! their code without the runtime above them.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::time::Duration;

use blindfold_ir::{Graph, Inputs, NodeId};
use blindfold_ring::RingElement;
use ndarray::ArrayD;

use crate::communicator::{Communicator, Traffic};
use crate::error::{ProtocolError, Result};
use crate::executor::Executor;
use crate::pond::{PRODUCER, PondParty, SERVERS};
use crate::replicated::{self, ReplicatedParty};

/// One message a party sent.
#[derive(Clone, Debug)]
pub struct Sent {
    /// The node it belongs to (`None`: setup).
    pub node: Option<NodeId>,
    pub to: String,
    pub payload: Vec<u8>,
    pub traffic: Traffic,
}

/// What one party received as outputs and sent on the way.
#[derive(Debug, Default)]
pub struct PartyRun {
    pub outputs: BTreeMap<String, ArrayD<f64>>,
    pub sent: Vec<Sent>,
}

impl PartyRun {
    /// Bytes this party sent for `node` as `traffic`.
    pub fn bytes(&self, node: NodeId, traffic: Traffic) -> usize {
        self.sent
            .iter()
            .filter(|s| s.node == Some(node) && s.traffic == traffic)
            .map(|s| s.payload.len())
            .sum()
    }
}

/// A party's end of the channels.
pub struct Channels {
    node: Option<NodeId>,
    peers: HashMap<String, Sender<(String, Vec<u8>)>>,
    me: String,
    inbox: Receiver<(String, Vec<u8>)>,
    pending: HashMap<String, VecDeque<Vec<u8>>>,
    sent: Vec<Sent>,
}

impl Communicator for Channels {
    fn send(&mut self, to: &str, payload: Vec<u8>, traffic: Traffic) -> Result<()> {
        self.sent.push(Sent { node: self.node, to: to.to_string(), payload: payload.clone(), traffic });
        let peer = self.peers.get(to).ok_or_else(|| transport(to, "no such party"))?;
        peer.send((self.me.clone(), payload)).map_err(|_| transport(to, "the party has stopped"))
    }

    fn receive(&mut self, from: &str, expected_bytes: usize) -> Result<Vec<u8>> {
        loop {
            if let Some(payload) = self.pending.get_mut(from).and_then(VecDeque::pop_front) {
                if payload.len() != expected_bytes {
                    return Err(transport(from, "a message of the wrong size"));
                }
                return Ok(payload);
            }
            let (sender, payload) = self
                .inbox
                .recv_timeout(Duration::from_secs(20))
                .map_err(|_| transport(from, "nothing arrived in 20 s"))?;
            self.pending.entry(sender).or_default().push_back(payload);
        }
    }
}

fn transport(peer: &str, reason: &str) -> ProtocolError {
    ProtocolError::Transport { op: "test".into(), peer: peer.into(), reason: reason.into() }
}

/// Runs `graph` under Pond in ring `R`, each party in its own thread;
/// returns every party's outputs and messages.
pub fn run<R: RingElement>(graph: &Graph, inputs: &Inputs) -> BTreeMap<String, PartyRun> {
    let protocol_parties = [SERVERS[0], SERVERS[1], PRODUCER];
    run_parties(graph, inputs, &protocol_parties, |name, graph, own| PondParty::<R>::new(name, graph, own))
}

/// Runs `graph` under the replicated protocol in ring `R`.
pub fn run_replicated<R: RingElement>(graph: &Graph, inputs: &Inputs) -> BTreeMap<String, PartyRun> {
    run_parties(graph, inputs, &replicated::SERVERS, |name, graph, own| {
        ReplicatedParty::<R>::new(name, graph, own)
    })
}

/// A party's own inputs, by name.
type OwnInputs = HashMap<String, ArrayD<f64>>;

/// Runs `graph` with the protocol's parties and the graph's, each made by
/// `make` and run in its own thread.
fn run_parties<E: Executor + 'static>(
    graph: &Graph,
    inputs: &Inputs,
    protocol_parties: &[&str],
    make: fn(&str, Arc<Graph>, OwnInputs) -> E,
) -> BTreeMap<String, PartyRun> {
    let graph = Arc::new(graph.clone());
    let mut parties: Vec<String> = protocol_parties.iter().map(|s| s.to_string()).collect();
    for party in graph.parties() {
        if !parties.contains(&party) {
            parties.push(party);
        }
    }
    let (senders, inboxes): (HashMap<_, _>, Vec<_>) = parties
        .iter()
        .map(|party| {
            let (sender, inbox) = channel();
            ((party.clone(), sender), (party.clone(), inbox))
        })
        .unzip();
    let threads: Vec<_> = inboxes
        .into_iter()
        .map(|(party, inbox)| {
            let graph = Arc::clone(&graph);
            let own = inputs.get(&party).cloned().unwrap_or_default();
            let mut channels = Channels {
                node: None,
                peers: senders.clone(),
                me: party.clone(),
                inbox,
                pending: HashMap::new(),
                sent: Vec::new(),
            };
            std::thread::spawn(move || {
                let mut executor = make(&party, Arc::clone(&graph), own);
                executor.setup(&mut channels).unwrap_or_else(|e| panic!("{party}: setup: {e}"));
                for index in 0..graph.nodes().len() {
                    let node = NodeId(index as u32);
                    channels.node = Some(node);
                    executor.execute(node, &mut channels).unwrap_or_else(|e| panic!("{party}: {e}"));
                }
                (party, PartyRun { outputs: executor.take_outputs(), sent: channels.sent })
            })
        })
        .collect();
    drop(senders);
    threads.into_iter().map(|thread| thread.join().expect("a party panicked")).collect()
}

/// Channels between `names`, one end each, in order: for tests that call a
/// protocol step directly.
pub fn connected(names: &[&str]) -> Vec<Channels> {
    let (senders, inboxes): (HashMap<_, _>, Vec<_>) = names
        .iter()
        .map(|name| {
            let (sender, inbox) = channel();
            ((name.to_string(), sender), (name.to_string(), inbox))
        })
        .unzip();
    inboxes
        .into_iter()
        .map(|(me, inbox)| Channels {
            node: None,
            peers: senders.clone(),
            me,
            inbox,
            pending: HashMap::new(),
            sent: Vec::new(),
        })
        .collect()
}

/// `(party, name, values)` triples as the session's inputs.
pub fn inputs(values: Vec<(&str, &str, ArrayD<f64>)>) -> Inputs {
    let mut inputs = Inputs::new();
    for (party, name, value) in values {
        inputs.entry(party.to_string()).or_default().insert(name.to_string(), value);
    }
    inputs
}

/// DReLU of party "a"'s shared integers `x`, compared on `domain_bits`
/// (`None`: the whole ring), revealed to "a" as "positive".
pub fn drelu_graph(ring: blindfold_ir::Ring, count: usize, domain_bits: Option<u32>) -> Graph {
    let mut g = blindfold_ir::GraphBuilder::with_ring(ring);
    g.set_comparison_bits(domain_bits).unwrap();
    let x = g.private_integer_input("a", "x", &[count]).unwrap();
    let shared = g.share(x).unwrap();
    let positive = g.drelu(shared).unwrap();
    g.output("a", "positive", positive).unwrap();
    g.finish()
}

/// The first node of the graph whose op is called `name`.
pub fn node_named(graph: &Graph, name: &str) -> NodeId {
    let index = graph.nodes().iter().position(|n| n.op.name() == name).expect("the op is in the graph");
    NodeId(index as u32)
}
