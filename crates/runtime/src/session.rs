//! [`Session`]: a graph bound to a protocol and parties, run with every
//! party as a thread of this process over in-memory channels.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use blindfold_ir::{Graph, NodeId, Op, Ring};
use blindfold_protocols::bounds::{self, Known, KnownInputs};
use blindfold_protocols::headroom::{self, Evidence};
use blindfold_protocols::plaintext::{self, Inputs, Outputs};
use blindfold_protocols::pond::{PRODUCER, PondParty, SERVERS};
use blindfold_protocols::replicated::{self, ReplicatedParty};
use blindfold_protocols::{Communicator, Executor, ProtocolError, Traffic, float};
use blindfold_ring::RingElement;

use crate::error::{Result, RuntimeError};
use crate::link::PartyLink;
use crate::profile::{PartyProfile, Report};
use crate::transport::{Endpoint, SETUP_OP, in_process};

/// Which protocol a session runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// Two servers and a crypto producer, secret sharing.
    Pond,
    /// Three servers, replicated secret sharing, no producer.
    Replicated,
    /// The graph in the clear in fixed point (Pond's arithmetic, no sharing).
    PlaintextFixed,
    /// The graph in the clear in f64.
    PlaintextFloat,
}

impl Protocol {
    /// Every protocol, in the order they are listed to users.
    pub const ALL: [Protocol; 4] =
        [Protocol::Pond, Protocol::Replicated, Protocol::PlaintextFixed, Protocol::PlaintextFloat];

    /// The protocol's one name: on the command line, in Python, in reports.
    pub fn name(&self) -> &'static str {
        match self {
            Protocol::Pond => "pond",
            Protocol::Replicated => "replicated",
            Protocol::PlaintextFixed => "plaintext-fixed",
            Protocol::PlaintextFloat => "plaintext-f64",
        }
    }
}

/// A protocol name that is not one of [`Protocol::ALL`]'s.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("protocol '{0}': choose {names}", names = Protocol::ALL.map(|p| p.name()).join(", "))]
pub struct UnknownProtocol(pub String);

impl std::str::FromStr for Protocol {
    type Err = UnknownProtocol;

    fn from_str(name: &str) -> std::result::Result<Protocol, UnknownProtocol> {
        Protocol::ALL.into_iter().find(|p| p.name() == name).ok_or_else(|| UnknownProtocol(name.to_string()))
    }
}

/// When the producer makes its material.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OfflinePhase {
    /// Alongside the servers, running ahead within the links' memory budget.
    Overlapped,
    /// Entirely before the online phase, so that the report's `online_s`
    /// is the servers' time alone (the literature's offline/online split).
    Separate,
}

/// A failure injected into one party, to test that sessions end cleanly.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fault {
    pub party: String,
    /// The node before which the party fails.
    pub node: u32,
    pub kind: FaultKind,
}

/// How an injected fault fails.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultKind {
    /// The party's thread panics.
    Panic,
    /// The party returns early, closing its links.
    Leave,
    /// The party stops answering for twice the timeout without leaving,
    /// then leaves.
    Stall,
    /// The party sends an extra, unexpected message to every other party.
    Garbage,
}

/// A session's settings.
#[derive(Clone, Debug)]
pub struct SessionOptions {
    /// How long a party waits for a message before failing.
    pub timeout: Duration,
    /// Bytes in flight allowed per link (bounds how far the producer runs
    /// ahead).
    pub link_budget_bytes: usize,
    pub offline_phase: OfflinePhase,
    /// The input and output parties; `None` takes those the graph names.
    pub parties: Option<Vec<String>>,
    /// A fault to inject (testing).
    pub fault: Option<Fault>,
    /// Called by server0 after each node with (nodes done, nodes in all).
    pub progress: Option<ProgressHook>,
    /// Called with (party, name, value) as soon as a party receives an
    /// output, before the session ends (e.g. a loss revealed each epoch).
    pub on_output: Option<OutputHook>,
    /// When set, every party stops before its next op with an error (a
    /// caller interrupted; the session's threads end promptly).
    pub cancel: Option<Arc<AtomicBool>>,
    /// Whether a session in fixed point whose values the ring cannot hold
    /// is refused before it starts (`protocols::headroom`).
    pub overflow: OverflowPolicy,
}

/// What to do with a graph whose values could overflow fixed point.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OverflowPolicy {
    /// Refuse it, naming the node and the bound (the default).
    #[default]
    Refuse,
    /// Run it anyway: the caller accepts wrong results where it overflows.
    Accept,
}

/// A callback on outputs as they arrive: (party, output name, value).
#[derive(Clone)]
pub struct OutputHook(pub Arc<OutputCallback>);

/// (party, output name, value).
pub type OutputCallback = dyn Fn(&str, &str, &ndarray::ArrayD<f64>) + Send + Sync;

impl std::fmt::Debug for OutputHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OutputHook")
    }
}

/// A callback on a session's progress: (nodes done, nodes in all).
#[derive(Clone)]
pub struct ProgressHook(pub Arc<dyn Fn(usize, usize) + Send + Sync>);

impl std::fmt::Debug for ProgressHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ProgressHook")
    }
}

impl Default for SessionOptions {
    fn default() -> Self {
        SessionOptions {
            timeout: Duration::from_secs(60),
            link_budget_bytes: 256 << 20,
            offline_phase: OfflinePhase::Overlapped,
            parties: None,
            fault: None,
            progress: None,
            on_output: None,
            cancel: None,
            overflow: OverflowPolicy::Refuse,
        }
    }
}

/// What a session delivers: each party's outputs, and the profile.
#[derive(Debug)]
pub struct SessionResult {
    pub outputs: Outputs,
    pub report: Report,
}

impl SessionResult {
    /// Output `name` of `party`.
    pub fn output(&self, party: &str, name: &str) -> Option<&ndarray::ArrayD<f64>> {
        self.outputs.get(party)?.get(name)
    }
}

/// A graph, a protocol and the session's settings.
#[derive(Clone, Debug)]
pub struct Session {
    graph: Arc<Graph>,
    protocol: Protocol,
    options: SessionOptions,
}

impl Session {
    /// A Pond session with default settings.
    pub fn new(graph: Graph) -> Session {
        Session { graph: Arc::new(graph), protocol: Protocol::Pond, options: SessionOptions::default() }
    }

    pub fn protocol(mut self, protocol: Protocol) -> Session {
        self.protocol = protocol;
        self
    }

    pub fn options(mut self, options: SessionOptions) -> Session {
        self.options = options;
        self
    }

    /// The graph.
    pub fn graph(&self) -> &Graph {
        &self.graph
    }

    /// Every party of the session: the servers and the producer (for Pond),
    /// the three servers (replicated), then the input and output parties.
    pub fn parties(&self) -> Result<Vec<String>> {
        let mut parties: Vec<String> = match self.protocol {
            Protocol::Pond => SERVERS.iter().chain([&PRODUCER]).map(|s| s.to_string()).collect(),
            Protocol::Replicated => replicated::SERVERS.iter().map(|s| s.to_string()).collect(),
            _ => Vec::new(),
        };
        let others = self.options.parties.clone().unwrap_or_else(|| self.graph.parties());
        for party in others {
            if !parties.contains(&party) {
                parties.push(party);
            }
        }
        self.graph.check_parties(&parties)?;
        Ok(parties)
    }

    /// Runs the session on `inputs` (party → input name → values).
    pub fn run(&self, inputs: Inputs) -> Result<SessionResult> {
        let parties = self.parties()?;
        if let Some(party) = inputs.keys().find(|p| !parties.contains(p)) {
            return Err(RuntimeError::UnknownInputParty { party: party.clone() });
        }
        for node in self.graph.nodes() {
            if let Op::Input { party, name } = &node.op {
                plaintext::input(&inputs, party, name, &node.ty.shape)
                    .map_err(|error| RuntimeError::Input(Box::new(error)))?;
            }
        }
        if self.protocol != Protocol::PlaintextFloat && self.options.overflow == OverflowPolicy::Refuse {
            self.check_headroom(&inputs)?;
        }
        match (self.protocol, self.graph.ring()) {
            (Protocol::Pond | Protocol::Replicated, Ring::Z64) => {
                self.run_in_process::<u64>(&parties, inputs)
            }
            (Protocol::Pond | Protocol::Replicated, Ring::Z128) => {
                self.run_in_process::<u128>(&parties, inputs)
            }
            (Protocol::PlaintextFixed, Ring::Z64) => {
                self.run_clear(plaintext::run_fixed_point::<u64>, &inputs)
            }
            (Protocol::PlaintextFixed, Ring::Z128) => {
                self.run_clear(plaintext::run_fixed_point::<u128>, &inputs)
            }
            (Protocol::PlaintextFloat, _) => self.run_clear(float::run::<f64>, &inputs),
        }
    }

    /// Every input is here: the graph's values, bounded in f64, must fit
    /// its ring ([`headroom::check`] with exact evidence).
    fn check_headroom(&self, inputs: &Inputs) -> Result<()> {
        let known: KnownInputs = inputs
            .iter()
            .flat_map(|(party, named)| {
                named
                    .iter()
                    .map(move |(name, value)| ((party.clone(), name.clone()), Known::Exact(value.clone())))
            })
            .collect();
        let bounds = bounds::propagate(&self.graph, &known).map_err(|error| {
            RuntimeError::Input(Box::new(ProtocolError::Configuration(error.to_string())))
        })?;
        headroom::check(&self.graph, &bounds, Evidence::Exact)
            .map_err(|overflow| RuntimeError::Overflow(Box::new(overflow)))?;
        Ok(())
    }

    fn run_clear(
        &self,
        run: impl Fn(&Graph, &Inputs) -> std::result::Result<Outputs, ProtocolError>,
        inputs: &Inputs,
    ) -> Result<SessionResult> {
        let started = Instant::now();
        let outputs = run(&self.graph, inputs).map_err(|error| RuntimeError::Plaintext(Box::new(error)))?;
        let report =
            Report::new(self.protocol.name(), "none", started.elapsed().as_secs_f64(), None, Vec::new());
        Ok(SessionResult { outputs, report })
    }

    /// Runs one party of a Pond or replicated session over `endpoint` (any transport):
    /// the same interpreter as the in-process session, for a party whose
    /// peers are elsewhere. `inputs` are this party's own inputs; `session`
    /// is the id every party of the session was given; `started` the
    /// instant the profile's times count from.
    pub fn run_party(
        &self,
        party: &str,
        session: u64,
        endpoint: Box<dyn Endpoint + '_>,
        inputs: HashMap<String, ndarray::ArrayD<f64>>,
        started: Instant,
    ) -> Result<PartyResult> {
        if !matches!(self.protocol, Protocol::Pond | Protocol::Replicated) {
            return Err(RuntimeError::Input(Box::new(ProtocolError::Configuration(format!(
                "a party of a {} session runs in one process, not over a transport",
                self.protocol.name()
            )))));
        }
        let parties = self.parties()?;
        if !parties.iter().any(|p| p == party) {
            return Err(RuntimeError::UnknownInputParty { party: party.to_string() });
        }
        let own = Inputs::from([(party.to_string(), inputs)]);
        for node in self.graph.nodes() {
            if let Op::Input { party: owner, name } = &node.op
                && owner == party
            {
                plaintext::input(&own, owner, name, &node.ty.shape)
                    .map_err(|error| RuntimeError::Input(Box::new(error)))?;
            }
        }
        let inputs = own.into_values().next().unwrap_or_default();
        let outcome = match self.graph.ring() {
            Ring::Z64 => self.drive_party::<u64>(party, session, endpoint, inputs, started, &parties),
            Ring::Z128 => self.drive_party::<u128>(party, session, endpoint, inputs, started, &parties),
        };
        outcome.map_err(|error| RuntimeError::Party { party: party.to_string(), error: Box::new(error) })
    }

    /// One party of the session's protocol over `endpoint`, with the
    /// session's hooks and fault.
    fn drive_party<R: RingElement>(
        &self,
        name: &str,
        session: u64,
        endpoint: Box<dyn Endpoint + '_>,
        inputs: HashMap<String, ndarray::ArrayD<f64>>,
        started: Instant,
        parties: &[String],
    ) -> PartyOutcome {
        let graph = &self.graph;
        let mut party: Box<dyn Executor> = match self.protocol {
            Protocol::Replicated => Box::new(ReplicatedParty::<R>::new(name, Arc::clone(graph), inputs)),
            _ => Box::new(PondParty::<R>::new(name, Arc::clone(graph), inputs)),
        };
        let link = PartyLink::new(name, session, graph, endpoint, self.options.timeout, started);
        let fault = self.options.fault.as_ref().filter(|f| f.party == name);
        let hooks = Hooks {
            progress: self.options.progress.as_ref().filter(|_| name == SERVERS[0]),
            on_output: self.options.on_output.as_ref(),
            cancel: self.options.cancel.as_deref(),
        };
        drive(party.as_mut(), link, graph, fault, parties, self.options.timeout, hooks)
    }

    fn run_in_process<R: RingElement>(
        &self,
        parties: &[String],
        mut inputs: Inputs,
    ) -> Result<SessionResult> {
        let session = session_id();
        let budget = match self.options.offline_phase {
            OfflinePhase::Overlapped => self.options.link_budget_bytes,
            OfflinePhase::Separate => usize::MAX,
        };
        let endpoints = in_process::network(parties, budget);
        let started = Instant::now();
        let run_party = |endpoint: in_process::InProcessEndpoint, own_inputs| {
            let name = endpoint.name().to_string();
            self.drive_party::<R>(&name, session, Box::new(endpoint), own_inputs, started, parties)
        };
        let mut results: Vec<(String, std::thread::Result<PartyOutcome>)> = Vec::new();
        let mut online_start = None;
        std::thread::scope(|scope| {
            let mut pending = Vec::new();
            for endpoint in endpoints {
                let name = endpoint.name().to_string();
                let own_inputs = inputs.remove(&name).unwrap_or_default();
                let producer_first = name == PRODUCER && self.options.offline_phase == OfflinePhase::Separate;
                let handle = std::thread::Builder::new()
                    .name(format!("party {name}"))
                    .spawn_scoped(scope, || run_party(endpoint, own_inputs))
                    .expect("spawning a party thread");
                if producer_first {
                    results.push((name, handle.join()));
                    online_start = Some(Instant::now());
                } else {
                    pending.push((name, handle));
                }
            }
            for (name, handle) in pending {
                results.push((name, handle.join()));
            }
        });
        let wall_s = started.elapsed().as_secs_f64();
        let online_s = online_start.map(|start| start.elapsed().as_secs_f64());
        let mut outputs = Outputs::new();
        let mut profiles = Vec::new();
        let mut failures = Vec::new();
        for (name, result) in results {
            match result {
                Ok(Ok((party_outputs, profile))) => {
                    if !party_outputs.is_empty() {
                        outputs.insert(name, party_outputs);
                    }
                    profiles.push(profile);
                }
                Ok(Err(error)) => failures.push(RuntimeError::Party { party: name, error: Box::new(error) }),
                Err(panic) => {
                    failures.push(RuntimeError::PartyPanicked { party: name, message: panic_message(panic) })
                }
            }
        }
        if let Some(root_cause) = root_cause(failures) {
            return Err(root_cause);
        }
        profiles.sort_by_key(|p| parties.iter().position(|n| *n == p.party));
        let report = Report::new(self.protocol.name(), "in-process", wall_s, online_s, profiles);
        Ok(SessionResult { outputs, report })
    }
}

/// The callbacks a party thread makes.
struct Hooks<'a> {
    progress: Option<&'a ProgressHook>,
    on_output: Option<&'a OutputHook>,
    cancel: Option<&'a AtomicBool>,
}

/// What one party ends with: the outputs it received, and its profile.
pub type PartyResult = (BTreeMap<String, ndarray::ArrayD<f64>>, PartyProfile);

/// What a party thread returns.
type PartyOutcome = std::result::Result<PartyResult, ProtocolError>;

/// Runs one party over the whole graph: setup, then every node in order.
/// A party that fails tells its peers why as it leaves.
fn drive(
    party: &mut dyn Executor,
    mut link: PartyLink<'_>,
    graph: &Graph,
    fault: Option<&Fault>,
    parties: &[String],
    timeout: Duration,
    hooks: Hooks<'_>,
) -> PartyOutcome {
    match drive_nodes(party, &mut link, graph, fault, parties, timeout, hooks) {
        Ok(()) => Ok((party.take_outputs(), link.finish())),
        Err(error) => {
            link.abandon(&error.to_string());
            Err(error)
        }
    }
}

/// Setup, then every node in order.
fn drive_nodes(
    party: &mut dyn Executor,
    link: &mut PartyLink<'_>,
    graph: &Graph,
    fault: Option<&Fault>,
    parties: &[String],
    timeout: Duration,
    hooks: Hooks<'_>,
) -> std::result::Result<(), ProtocolError> {
    let total = graph.nodes().len();
    link.begin(SETUP_OP);
    party.setup(link)?;
    link.end();
    for index in 0..graph.nodes().len() as u32 {
        if hooks.cancel.is_some_and(|flag| flag.load(Ordering::Relaxed)) {
            return Err(ProtocolError::Configuration(format!(
                "the session was cancelled before node {index}"
            )));
        }
        if let Some(fault) = fault.filter(|f| f.node == index) {
            link.begin(index);
            match fault.kind {
                FaultKind::Panic => panic!("injected fault before node {index}"),
                FaultKind::Leave => {
                    return Err(ProtocolError::Configuration(format!("left before node {index} (injected)")));
                }
                FaultKind::Stall => {
                    std::thread::sleep(2 * timeout);
                    return Err(ProtocolError::Configuration(format!(
                        "stalled before node {index} (injected)"
                    )));
                }
                FaultKind::Garbage => {
                    // Best effort: a peer that already finished is not the point.
                    for peer in parties.iter().filter(|p| **p != fault.party) {
                        let _ = link.send(peer, vec![0xAB; 7], Traffic::Online);
                    }
                }
            }
        }
        link.begin(index);
        party.execute(NodeId(index), link)?;
        link.end();
        if let Some(hook) = hooks.progress {
            (hook.0)(index as usize + 1, total);
        }
        if let (Some(hook), Some(Op::Output { party: receiver, name, .. })) =
            (hooks.on_output, graph.nodes().get(index as usize).map(|n| &n.op))
            && let Some(value) = party.output(name).filter(|_| *receiver == link.party())
        {
            (hook.0)(receiver, name, value);
        }
    }
    Ok(())
}

/// The failure that explains the others: a crash first, then an error that
/// is not a consequence of another party's failure, then any.
fn root_cause(mut failures: Vec<RuntimeError>) -> Option<RuntimeError> {
    let rank = |failure: &RuntimeError| match failure {
        RuntimeError::PartyPanicked { .. } => 0,
        RuntimeError::Party { error, .. } if matches!(**error, ProtocolError::Transport { .. }) => 2,
        _ => 1,
    };
    failures.sort_by_key(rank);
    failures.into_iter().next()
}

fn panic_message(panic: Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_string())
}

/// A fresh session id from the OS CSPRNG (so concurrent sessions differ).
pub fn session_id() -> u64 {
    let seed = blindfold_ring::Seed::random().map(|s| s.to_bytes()).unwrap_or_default();
    u64::from_le_bytes(seed[..8].try_into().expect("8 bytes"))
}
