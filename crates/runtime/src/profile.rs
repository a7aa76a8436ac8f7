//! What a session measured: per party and per op, wall time, bytes,
//! messages and rounds; printed as a table, written as JSON, or as a Chrome
//! trace-event file (one track per party; open in Perfetto or
//! chrome://tracing).

use serde::{Deserialize, Serialize};

/// One party's part of one op (or of the setup step).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OpEvent {
    /// The node index (`None` for setup).
    pub node: Option<u32>,
    /// The op's name.
    pub op: String,
    /// Seconds from the session's start.
    pub start_s: f64,
    pub duration_s: f64,
    /// Online bytes this party sent (payload).
    pub bytes_sent: u64,
    /// Offline (producer material) bytes this party sent.
    pub offline_bytes_sent: u64,
    pub bytes_received: u64,
    pub messages_sent: u64,
    /// Sequential rounds of online messages within the op at this party.
    pub rounds: u32,
}

/// Everything one party measured.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PartyProfile {
    pub party: String,
    pub wall_s: f64,
    pub bytes_sent: u64,
    pub offline_bytes_sent: u64,
    pub bytes_received: u64,
    pub messages_sent: u64,
    /// This party's round clock at the end: the longest chain of online
    /// messages that led to its last step.
    pub rounds: u64,
    pub events: Vec<OpEvent>,
}

/// One op across all parties.
#[derive(Debug, Clone, Serialize)]
pub struct OpSummary {
    pub node: Option<u32>,
    pub op: String,
    /// How far the op moved the session's frontier: the latest end of this
    /// op at any party minus the latest end of the op before it. Time a
    /// party spends waiting is charged to the op it waits for, and the
    /// durations add up to the session's time.
    pub duration_s: f64,
    /// Online bytes sent, all parties.
    pub bytes_sent: u64,
    /// Offline bytes sent (the producer's material).
    pub offline_bytes_sent: u64,
    pub messages_sent: u64,
    /// The op's rounds: the most at any party.
    pub rounds: u32,
}

/// A session's profile.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub protocol: String,
    pub transport: String,
    /// Wall time of the whole session.
    pub wall_s: f64,
    /// Wall time of the online phase when the producer ran first.
    pub online_s: Option<f64>,
    /// Online bytes sent, all parties.
    pub bytes_sent: u64,
    /// Producer material bytes.
    pub offline_bytes_sent: u64,
    pub messages_sent: u64,
    /// Online rounds on the critical path.
    pub rounds: u64,
    pub ops: Vec<OpSummary>,
    pub parties: Vec<PartyProfile>,
}

impl Report {
    /// Builds the totals and per-op summaries from the parties' profiles.
    pub fn new(
        protocol: &str,
        transport: &str,
        wall_s: f64,
        online_s: Option<f64>,
        parties: Vec<PartyProfile>,
    ) -> Report {
        let mut ops: Vec<OpSummary> = Vec::new();
        let mut latest_end: Vec<(Option<u32>, f64)> = Vec::new();
        for event in parties.iter().flat_map(|p| &p.events) {
            let end = event.start_s + event.duration_s;
            match latest_end.iter_mut().find(|(node, _)| *node == event.node) {
                Some((_, latest)) => *latest = latest.max(end),
                None => latest_end.push((event.node, end)),
            }
            let summary = match ops.iter_mut().find(|s| s.node == event.node) {
                Some(summary) => summary,
                None => {
                    ops.push(OpSummary {
                        node: event.node,
                        op: event.op.clone(),
                        duration_s: 0.0,
                        bytes_sent: 0,
                        offline_bytes_sent: 0,
                        messages_sent: 0,
                        rounds: 0,
                    });
                    ops.last_mut().expect("just pushed")
                }
            };
            summary.bytes_sent += event.bytes_sent;
            summary.offline_bytes_sent += event.offline_bytes_sent;
            summary.messages_sent += event.messages_sent;
            summary.rounds = summary.rounds.max(event.rounds);
        }
        ops.sort_by_key(|s| s.node.map_or(-1, i64::from));
        latest_end.sort_by_key(|(node, _)| node.map_or(-1, i64::from));
        let mut frontier = 0.0f64;
        for (summary, (_, end)) in ops.iter_mut().zip(&latest_end) {
            summary.duration_s = (end - frontier).max(0.0);
            frontier = frontier.max(*end);
        }
        Report {
            protocol: protocol.to_string(),
            transport: transport.to_string(),
            wall_s,
            online_s,
            bytes_sent: parties.iter().map(|p| p.bytes_sent).sum(),
            offline_bytes_sent: parties.iter().map(|p| p.offline_bytes_sent).sum(),
            messages_sent: parties.iter().map(|p| p.messages_sent).sum(),
            rounds: parties.iter().map(|p| p.rounds).max().unwrap_or(0),
            ops,
            parties,
        }
    }

    /// The summary of node `node`.
    pub fn op(&self, node: u32) -> Option<&OpSummary> {
        self.ops.iter().find(|s| s.node == Some(node))
    }

    /// The report as a table: ops with traffic or time, then parties.
    pub fn table(&self) -> String {
        let mut out = format!(
            "{:<18} {:>10} {:>14} {:>14} {:>7}\n",
            "op", "time", "online bytes", "offline bytes", "rounds"
        );
        for op in &self.ops {
            let label = match op.node {
                Some(node) => format!("%{node} {}", op.op),
                None => op.op.clone(),
            };
            out += &format!(
                "{:<18} {:>10} {:>14} {:>14} {:>7}\n",
                label,
                seconds(op.duration_s),
                op.bytes_sent,
                op.offline_bytes_sent,
                op.rounds
            );
        }
        out += &format!(
            "{:<18} {:>10} {:>14} {:>14} {:>7}\n\n",
            "total",
            seconds(self.wall_s),
            self.bytes_sent,
            self.offline_bytes_sent,
            self.rounds
        );
        out +=
            &format!("{:<18} {:>10} {:>14} {:>14} {:>10}\n", "party", "time", "sent", "received", "messages");
        for party in &self.parties {
            out += &format!(
                "{:<18} {:>10} {:>14} {:>14} {:>10}\n",
                party.party,
                seconds(party.wall_s),
                party.bytes_sent + party.offline_bytes_sent,
                party.bytes_received,
                party.messages_sent
            );
        }
        out
    }

    /// The report as JSON.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).expect("reports serialise")
    }

    /// The Chrome trace-event form: one complete event per party and op,
    /// one thread (track) per party.
    pub fn chrome_trace(&self) -> serde_json::Value {
        let mut events = Vec::new();
        for (track, party) in self.parties.iter().enumerate() {
            events.push(serde_json::json!({
                "ph": "M", "pid": 1, "tid": track, "name": "thread_name", "args": { "name": party.party }
            }));
            for event in &party.events {
                events.push(serde_json::json!({
                    "ph": "X",
                    "pid": 1,
                    "tid": track,
                    "name": event.op,
                    "cat": "op",
                    "ts": event.start_s * 1e6,
                    "dur": event.duration_s * 1e6,
                    "args": {
                        "node": event.node,
                        "bytes_sent": event.bytes_sent,
                        "offline_bytes_sent": event.offline_bytes_sent,
                        "bytes_received": event.bytes_received,
                        "rounds": event.rounds,
                    }
                }));
            }
        }
        serde_json::json!({ "traceEvents": events, "displayTimeUnit": "ms" })
    }

    /// Writes [`Report::chrome_trace`] to `path`.
    pub fn write_chrome_trace(&self, path: &std::path::Path) -> std::io::Result<()> {
        std::fs::write(path, serde_json::to_vec(&self.chrome_trace()).expect("traces serialise"))
    }
}

/// Seconds in a readable unit.
pub fn seconds(value: f64) -> String {
    if value >= 1.0 {
        format!("{value:.3} s")
    } else if value >= 1e-3 {
        format!("{:.3} ms", value * 1e3)
    } else {
        format!("{:.1} µs", value * 1e6)
    }
}
