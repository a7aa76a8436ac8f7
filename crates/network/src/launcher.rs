//! `blindfold run`: an operator launches a session on running workers.
//! Every worker is sent the graph and its own part and checks it
//! (`Prepare`); only when all agreed is the session started, so that no
//! input is read anywhere unless every party approved the graph. The
//! launcher then collects each party's profile and where its outputs went;
//! it never sees inputs or outputs.

use std::collections::BTreeMap;
use std::io::Read;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use blindfold_ir::Graph;
use blindfold_runtime::Report;
use rustls::StreamOwned;

use crate::config::Config;
use crate::control::{
    self, Holdings, OverflowCheck, PartyRequest, Reply, Request, SecretSharing, SessionRequest, TableShape,
};
use crate::error::{NetworkError, Result};
use crate::frame::Role;
use crate::identity::Identity;
use crate::links::{ControlStream, Dial, connect};

/// A session to launch.
#[derive(Clone, Debug)]
pub struct Launch {
    pub graph: Graph,
    /// Every party (Pond's servers and producer, and the input and output
    /// parties).
    pub parties: Vec<String>,
    /// Each party's part (inputs to read, where outputs go).
    pub parts: BTreeMap<String, PartyRequest>,
    /// How long a party waits on a silent, idle peer.
    pub timeout: Duration,
    /// The overflow check every party runs before the session starts.
    pub overflow: OverflowCheck,
    /// The secret-sharing protocol (its servers must be among `parties`).
    pub protocol: SecretSharing,
}

/// What a finished session reports to the operator.
#[derive(Debug)]
pub struct Launched {
    pub session: u64,
    pub hash: String,
    pub report: Report,
    /// The longest party's session time (from its start to its end, after
    /// its inputs were read): the figure to set beside an in-process run.
    pub session_s: f64,
    /// The files each receiver wrote (on its own disk).
    pub outputs: BTreeMap<String, Vec<String>>,
}

/// Reads from a control stream, failing once the worker has sent nothing
/// (not even a `Working` beat) for `silence`, or once `give_up` (set when
/// the session failed elsewhere) has passed: a worker that stalls without
/// closing its connection cannot hang the launcher.
struct PatientReader<'a> {
    stream: &'a mut ControlStream,
    give_up: Arc<Mutex<Option<Instant>>>,
    silence: Duration,
    heard: Instant,
}

impl Read for PatientReader<'_> {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        loop {
            match self.stream.read(buffer) {
                Ok(read) => {
                    self.heard = Instant::now();
                    return Ok(read);
                }
                Err(error)
                    if matches!(
                        error.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    if self.heard.elapsed() > self.silence {
                        return Err(std::io::Error::new(
                            std::io::ErrorKind::TimedOut,
                            format!(
                                "{STOPPED_ANSWERING} for {:.1} s (the worker stopped or froze)",
                                self.heard.elapsed().as_secs_f64()
                            ),
                        ));
                    }
                    let deadline = *self.give_up.lock().unwrap_or_else(|p| p.into_inner());
                    if deadline.is_some_and(|d| Instant::now() > d) {
                        return Err(std::io::Error::new(
                            std::io::ErrorKind::TimedOut,
                            "no answer although the session failed elsewhere (a stalled worker?)",
                        ));
                    }
                }
                other => return other,
            }
        }
    }
}

/// How the launcher reports a worker that went silent.
const STOPPED_ANSWERING: &str = "it stopped answering: nothing came";

/// The parties whose wait chains end at them: follow each failed party to
/// the peer it waited on, and on, to one that waited on nobody (it failed
/// by itself, or stopped answering). Those explain the others' failures.
pub fn stopped_parties(failures: &[(String, String)], waiting_on: &BTreeMap<String, String>) -> Vec<String> {
    let failed: Vec<&String> = failures.iter().map(|(party, _)| party).collect();
    let mut roots = Vec::new();
    for party in &failed {
        let mut at = (*party).clone();
        let mut seen = vec![at.clone()];
        while let Some(next) = waiting_on.get(&at) {
            if seen.contains(next) {
                break; // a cycle: its first member stands for it
            }
            seen.push(next.clone());
            at = next.clone();
        }
        if !roots.contains(&at) {
            roots.push(at);
        }
    }
    roots
}

/// Launches `launch` on the workers of `config`, as `operator`.
pub fn launch(config: &Config, operator: &str, launch: Launch) -> Result<Launched> {
    let identity = Identity::load(config, operator)?;
    let session = blindfold_runtime::session_id();
    let graph_bytes = launch.graph.to_bytes();
    let hash = launch.graph.hash();
    let started = Instant::now();
    // Prepare everywhere at once.
    let prepared: Vec<(String, std::result::Result<ControlStream, String>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = launch
            .parties
            .iter()
            .map(|party| {
                let request = SessionRequest {
                    session,
                    graph: graph_bytes.clone(),
                    parties: launch.parties.clone(),
                    timeout_ms: launch.timeout.as_millis() as u64,
                    part: launch.parts.get(party).cloned().unwrap_or_default(),
                    overflow: launch.overflow.clone(),
                    protocol: launch.protocol,
                };
                let identity = &identity;
                let hash = &hash;
                (party.clone(), scope.spawn(move || prepare(config, identity, party, request, hash)))
            })
            .collect();
        handles
            .into_iter()
            .map(|(party, handle)| {
                (party, handle.join().unwrap_or_else(|_| Err("the launcher's thread panicked".into())))
            })
            .collect()
    });
    let refusals: Vec<(String, String)> = prepared
        .iter()
        .filter_map(|(party, r)| r.as_ref().err().map(|e| (party.clone(), e.clone())))
        .collect();
    let mut streams: Vec<(String, ControlStream)> =
        prepared.into_iter().filter_map(|(party, r)| r.ok().map(|s| (party, s))).collect();
    if !refusals.is_empty() {
        for (_, stream) in &mut streams {
            let _ = control::send(stream, &Request::Cancel);
        }
        return Err(NetworkError::Refused { refusals });
    }
    for (party, stream) in &mut streams {
        control::send(stream, &Request::Start)
            .map_err(|e| NetworkError::Connection { peer: party.clone(), reason: e.to_string() })?;
    }
    // Collect the answers; a worker silent for the timeout has stopped;
    // once one party failed, the others have two timeouts to answer (each
    // ends its session within one).
    let give_up: Arc<Mutex<Option<Instant>>> = Arc::new(Mutex::new(None));
    let answers: Vec<(String, std::result::Result<Reply, String>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = streams
            .iter_mut()
            .map(|(party, stream)| {
                let give_up = Arc::clone(&give_up);
                let patience = launch.timeout * 2 + Duration::from_secs(5);
                let silence = launch.timeout;
                let handle = scope.spawn(move || {
                    let _ = stream.sock.set_read_timeout(Some(Duration::from_millis(100)));
                    let mut reader = PatientReader {
                        stream,
                        give_up: Arc::clone(&give_up),
                        silence,
                        heard: Instant::now(),
                    };
                    let answer = loop {
                        match control::receive::<Reply>(&mut reader) {
                            Ok(Reply::Working) => continue,
                            other => break other,
                        }
                    }
                    .map_err(|e| match e {
                        NetworkError::Frame(reason) if reason.contains("closed") => {
                            "the worker's connection closed before it answered (did the worker die?)"
                                .to_string()
                        }
                        other => other.to_string(),
                    });
                    if !matches!(answer, Ok(Reply::Finished { .. })) {
                        let mut deadline = give_up.lock().unwrap_or_else(|p| p.into_inner());
                        deadline.get_or_insert(Instant::now() + patience);
                    }
                    answer
                });
                (party.clone(), handle)
            })
            .collect();
        handles
            .into_iter()
            .map(|(party, handle)| (party, handle.join().unwrap_or_else(|_| Err("panicked".into()))))
            .collect()
    });
    let wall_s = started.elapsed().as_secs_f64();
    let mut failures = Vec::new();
    let mut waiting_on = BTreeMap::new();
    let mut profiles = Vec::new();
    let mut outputs = BTreeMap::new();
    for (party, answer) in answers {
        match answer {
            Ok(Reply::Finished { profile, outputs: files }) => {
                profiles.push(profile);
                if !files.is_empty() {
                    outputs.insert(party, files);
                }
            }
            Ok(Reply::Failed { error, waiting_on: peer }) => {
                if let Some(peer) = peer {
                    waiting_on.insert(party.clone(), peer);
                }
                failures.push((party, error));
            }
            Ok(other) => failures.push((party, format!("an unexpected answer {other:?}"))),
            Err(error) => failures.push((party, error)),
        }
    }
    if !failures.is_empty() {
        let stopped = stopped_parties(&failures, &waiting_on);
        return Err(NetworkError::Failed { failures, stopped });
    }
    profiles.sort_by_key(|p| launch.parties.iter().position(|n| *n == p.party));
    let session_s = profiles.iter().map(|p| p.wall_s).fold(0.0, f64::max);
    let report = Report::new("pond", "tls", wall_s, None, profiles);
    Ok(Launched { session, hash, report, session_s, outputs })
}

/// Connects to `party`'s worker and asks it to prepare.
fn prepare(
    config: &Config,
    identity: &Identity,
    party: &str,
    request: SessionRequest,
    hash: &str,
) -> std::result::Result<ControlStream, String> {
    let mut stream = control_stream(config, identity, party).map_err(|e| match e {
        NetworkError::Connection { reason, .. } => reason,
        other => other.to_string(),
    })?;
    control::send(&mut stream, &Request::Prepare(request)).map_err(|e| e.to_string())?;
    match control::receive::<Reply>(&mut stream).map_err(|e| e.to_string())? {
        Reply::Prepared { hash: theirs } if theirs == hash => Ok(stream),
        Reply::Prepared { hash: theirs } => Err(format!("it computed the graph hash {theirs}, not {hash}")),
        Reply::Refused { reason } => Err(reason),
        other => Err(format!("an unexpected answer {other:?}")),
    }
}

/// A control stream to `party`'s worker, as `identity` (an operator).
pub fn control_stream(config: &Config, identity: &Identity, party: &str) -> Result<ControlStream> {
    let endpoint = &config.party(party)?.endpoint;
    let failed = |reason: String| NetworkError::Connection { peer: party.to_string(), reason };
    // A worker that does not answer within the session's timeout is as
    // stalled as one that stops mid-session.
    let handshake = config.timeout.min(config.limits.handshake_timeout);
    let (tls, tcp) = connect(identity, party, endpoint, Role::Control, config.timeout, handshake).map_err(
        |e| match e {
            Dial::Unreachable(reason) => failed(format!("{reason} (is the worker running?)")),
            Dial::Refused(reason) => failed(reason),
        },
    )?;
    let stream = StreamOwned::new(tls, tcp);
    let _ = stream.sock.set_read_timeout(Some(config.timeout));
    Ok(stream)
}

/// Asks `party`'s worker one control question, as `operator`.
fn ask(config: &Config, operator: &str, party: &str, request: &Request) -> Result<Reply> {
    let identity = Identity::load(config, operator)?;
    let mut stream = control_stream(config, &identity, party)?;
    control::send(&mut stream, request)?;
    control::receive::<Reply>(&mut stream)
}

/// The shape of the table at `path` on `party`'s disk (its column names
/// only where the file has a header).
pub fn describe(config: &Config, operator: &str, party: &str, path: &str) -> Result<TableShape> {
    let failed = |reason: String| NetworkError::Connection { peer: party.to_string(), reason };
    match ask(config, operator, party, &Request::Describe { path: path.to_string() })? {
        Reply::Described(shape) => Ok(shape),
        Reply::Refused { reason } => Err(failed(reason)),
        other => Err(failed(format!("an unexpected answer {other:?}"))),
    }
}

/// What `party`'s worker holds now.
pub fn status(config: &Config, operator: &str, party: &str) -> Result<Holdings> {
    match ask(config, operator, party, &Request::Status)? {
        Reply::Status(holdings) => Ok(holdings),
        other => Err(NetworkError::Connection {
            peer: party.to_string(),
            reason: format!("an unexpected answer {other:?}"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failures(parties: &[&str]) -> Vec<(String, String)> {
        parties.iter().map(|p| (p.to_string(), "failed".to_string())).collect()
    }

    fn edges(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
    }

    #[test]
    fn blame_follows_the_wait_chain_to_the_party_that_stopped() {
        // server1 froze: server0 waited on it, the producer was blocked
        // writing to it, the client waited on server0.
        let waits = edges(&[("server0", "server1"), ("producer", "server1"), ("client", "server0")]);
        let failed = failures(&["server0", "producer", "client", "server1"]);
        assert_eq!(stopped_parties(&failed, &waits), ["server1"]);
        // A party that failed by itself is the root, whoever else failed.
        let waits = edges(&[("server0", "owner"), ("server1", "server0")]);
        assert_eq!(stopped_parties(&failures(&["server1", "server0", "owner"]), &waits), ["owner"]);
        // Two waiting on each other: the chain stops at the cycle.
        let waits = edges(&[("a", "b"), ("b", "a")]);
        assert_eq!(stopped_parties(&failures(&["a", "b"]), &waits).len(), 2);
    }
}
