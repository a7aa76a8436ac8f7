//! [`PartyLink`]: a party's [`Communicator`] over an [`Endpoint`]. It stamps
//! every message with the session, the op, a per-peer sequence number and
//! the round clocks; checks them on receipt (a message of another session or
//! op, out of sequence, or of the wrong size is an error naming the peer);
//! and records the party's profile.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use blindfold_ir::Graph;
use blindfold_protocols::{Communicator, ProtocolError, Result, Traffic};

use crate::profile::{OpEvent, PartyProfile};
use crate::transport::{Endpoint, Message, SETUP_OP};

/// One party's communicator for one session.
pub struct PartyLink<'a> {
    party: String,
    session: u64,
    graph: &'a Graph,
    endpoint: Box<dyn Endpoint + 'a>,
    timeout: Duration,
    started: Instant,
    sent: HashMap<String, u64>,
    received: HashMap<String, u64>,
    /// Rounds on the longest chain of online messages so far.
    clock: u64,
    /// Rounds within the current op.
    op_clock: u32,
    current: Option<OpEvent>,
    op: u32,
    events: Vec<OpEvent>,
}

impl<'a> PartyLink<'a> {
    pub fn new(
        party: &str,
        session: u64,
        graph: &'a Graph,
        endpoint: Box<dyn Endpoint + 'a>,
        timeout: Duration,
        started: Instant,
    ) -> Self {
        PartyLink {
            party: party.to_string(),
            session,
            graph,
            endpoint,
            timeout,
            started,
            sent: HashMap::new(),
            received: HashMap::new(),
            clock: 0,
            op_clock: 0,
            current: None,
            op: SETUP_OP,
            events: Vec::new(),
        }
    }

    /// Starts recording node `op` (`SETUP_OP` for setup).
    pub fn begin(&mut self, op: u32) {
        self.op = op;
        self.op_clock = 0;
        let (node, name) = match self.graph.nodes().get(op as usize) {
            Some(node) => (Some(op), node.op.name().to_string()),
            None => (None, "setup".to_string()),
        };
        self.current = Some(OpEvent {
            node,
            op: name,
            start_s: self.started.elapsed().as_secs_f64(),
            duration_s: 0.0,
            bytes_sent: 0,
            offline_bytes_sent: 0,
            bytes_received: 0,
            messages_sent: 0,
            rounds: 0,
        });
    }

    /// The party this link belongs to.
    pub fn party(&self) -> &str {
        &self.party
    }

    /// Ends the current op's record, and tells the peers this party is busy.
    pub fn end(&mut self) {
        self.endpoint.heartbeat();
        if let Some(mut event) = self.current.take() {
            event.duration_s = self.started.elapsed().as_secs_f64() - event.start_s;
            event.rounds = self.op_clock;
            self.events.push(event);
        }
    }

    /// The party failed with `reason`: its peers are told as it leaves.
    pub fn abandon(&mut self, reason: &str) {
        self.endpoint.abandon(reason);
    }

    /// The party's profile, once it is done.
    pub fn finish(self) -> PartyProfile {
        let sum = |f: fn(&OpEvent) -> u64| self.events.iter().map(f).sum();
        PartyProfile {
            party: self.party.clone(),
            wall_s: self.started.elapsed().as_secs_f64(),
            bytes_sent: sum(|e| e.bytes_sent),
            offline_bytes_sent: sum(|e| e.offline_bytes_sent),
            bytes_received: sum(|e| e.bytes_received),
            messages_sent: sum(|e| e.messages_sent),
            rounds: self.clock,
            events: self.events,
        }
    }

    fn op_name(&self) -> String {
        match self.graph.nodes().get(self.op as usize) {
            Some(node) => format!("%{} ({})", self.op, node.op.name()),
            None => "setup".to_string(),
        }
    }

    fn transport_error(&self, peer: &str, reason: String) -> ProtocolError {
        ProtocolError::Transport { op: self.op_name(), peer: peer.to_string(), reason }
    }
}

impl Communicator for PartyLink<'_> {
    fn send(&mut self, to: &str, payload: Vec<u8>, traffic: Traffic) -> Result<()> {
        let sequence = self.sent.entry(to.to_string()).or_insert(0);
        let message = Message {
            session: self.session,
            op: self.op,
            sequence: *sequence,
            traffic,
            round: self.clock,
            op_round: self.op_clock,
            payload,
        };
        *sequence += 1;
        let bytes = message.payload.len() as u64;
        if let Some(event) = self.current.as_mut() {
            match traffic {
                Traffic::Online => event.bytes_sent += bytes,
                Traffic::Offline => event.offline_bytes_sent += bytes,
            }
            event.messages_sent += 1;
        }
        self.endpoint
            .send(to, message, self.timeout)
            .map_err(|error| self.transport_error(to, error.to_string()))
    }

    fn receive(&mut self, from: &str, expected_bytes: usize) -> Result<Vec<u8>> {
        let message = self
            .endpoint
            .receive(from, self.timeout)
            .map_err(|error| self.transport_error(from, error.to_string()))?;
        let sequence = self.received.entry(from.to_string()).or_insert(0);
        if message.session != self.session {
            return Err(self.transport_error(
                from,
                format!("a message of session {:#x}, not this one", message.session),
            ));
        }
        if message.op != self.op {
            let got = match self.graph.nodes().get(message.op as usize) {
                Some(node) => format!("%{} ({})", message.op, node.op.name()),
                None => "setup".into(),
            };
            return Err(self.transport_error(from, format!("a message for {got} arrived during this op")));
        }
        if message.sequence != *sequence {
            let expected = *sequence;
            return Err(self.transport_error(
                from,
                format!("message {} arrived where {expected} was due", message.sequence),
            ));
        }
        *sequence += 1;
        if message.payload.len() != expected_bytes {
            return Err(ProtocolError::MessageSize {
                op: self.op_name(),
                peer: from.to_string(),
                expected: expected_bytes,
                got: message.payload.len(),
            });
        }
        if message.traffic == Traffic::Online {
            self.clock = self.clock.max(message.round + 1);
            self.op_clock = self.op_clock.max(message.op_round + 1);
        }
        if let Some(event) = self.current.as_mut() {
            event.bytes_received += message.payload.len() as u64;
        }
        Ok(message.payload)
    }
}
